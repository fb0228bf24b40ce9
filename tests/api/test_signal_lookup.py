"""From a signal to its order and back: the order carries its signal id and tag, orders are
found by (strategy, signal id), and ``/api/health`` says whether the desk is quiet."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.client import DeskClient
from tests.api.conftest import TOKEN, Api
from tests.api.test_routes import LIMIT_BUY

THURSDAY, FRIDAY = date(2026, 12, 3), date(2026, 12, 4)


async def submit(api: Api, **overrides: Any) -> dict[str, Any]:
    async with api.client.post("/api/signals", json={**LIMIT_BUY, **overrides}) as response:
        assert response.status == 201, await response.text()
        order: dict[str, Any] = (await response.json())["order"]
        return order


async def orders(api: Api, query: str) -> tuple[int, Any]:
    async with api.client.get(f"/api/orders{query}") as response:
        return response.status, await response.json()


async def test_an_order_carries_its_signal_id_and_tag(api: Api) -> None:
    """The submit reply, the order list and the order itself name the signal id and tag."""
    placed = await submit(api, strategy="alpha", signal_id="a-1", tag="swing7")
    assert (placed["strategy"], placed["signal_id"], placed["tag"]) == ("alpha", "a-1", "swing7")
    _, listed = await orders(api, "")
    assert [(o["signal_id"], o["tag"]) for o in listed] == [("a-1", "swing7")]
    async with api.client.get(f"/api/orders/{placed['order_id']}") as response:
        assert (await response.json())["signal_id"] == "a-1"


async def test_orders_are_found_by_strategy_and_signal_id(api: Api) -> None:
    """``strategy`` and ``signal_id`` narrow the list; a signal that became no order finds
    nothing, and the same signal id of another strategy is another order."""
    alpha = await submit(api, strategy="alpha", signal_id="s-1")
    beta = await submit(api, strategy="beta", signal_id="s-1")
    await submit(api, strategy="alpha", signal_id="s-2")
    _, found = await orders(api, "?strategy=alpha&signal_id=s-1")
    assert [o["order_id"] for o in found] == [alpha["order_id"]]
    _, found = await orders(api, "?strategy=beta&signal_id=s-1")
    assert [o["order_id"] for o in found] == [beta["order_id"]]
    _, found = await orders(api, "?signal_id=s-1")
    assert {o["strategy"] for o in found} == {"alpha", "beta"}
    _, found = await orders(api, "?strategy=alpha")
    assert sorted(o["signal_id"] for o in found) == ["s-1", "s-2"]
    _, found = await orders(api, "?strategy=alpha&signal_id=never-sent")
    assert found == []


async def test_the_lookup_finds_an_order_of_an_earlier_day(api: Api) -> None:
    """(strategy, signal id) finds its order after the day has turned, as a re-submission of
    the same signal would (today's list alone no longer holds it)."""
    api.desk.open_day(THURSDAY)
    placed = await submit(api, strategy="alpha", signal_id="thu-1")
    api.desk.next_day(FRIDAY)
    assert (await orders(api, ""))[1] == []
    _, found = await orders(api, "?strategy=alpha&signal_id=thu-1")
    assert [o["order_id"] for o in found] == [placed["order_id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [("?signal_id=has%20space", "signal_id"), ("?strategy=" + "x" * 33, "strategy")],
)
async def test_a_malformed_filter_is_422_naming_it(api: Api, query: str, field: str) -> None:
    """A filter no signal could carry is refused with the parameter named."""
    status, body = await orders(api, query)
    assert status == 422
    assert [f["field"] for f in body["fields"]] == [field]


async def test_health_is_quiet_only_without_an_order_in_flight(api: Api) -> None:
    """A resting order leaves the desk quiet; a cancel the broker has not answered does not."""
    placed = await submit(api)

    async def health() -> dict[str, Any]:
        async with api.client.get("/api/health") as response:
            body: dict[str, Any] = await response.json()
            return body

    assert ((await health())["quiet"], (await health())["in_flight_orders"]) == (True, 0)
    api.desk.cancel_unanswered(placed["order_id"])
    quiet = await health()
    assert (quiet["quiet"], quiet["in_flight_orders"], quiet["open_orders"]) == (False, 1, 1)


async def test_client_finds_the_order_of_a_signal_and_waits_for_quiet(api: Api) -> None:
    """DeskClient: ``order_for_signal`` answers the order or None, ``orders`` filters,
    ``quiet`` and ``wait_quiet`` read the health; a wait that cannot end times out."""
    placed = await submit(api, strategy="alpha", signal_id="c-1")
    async with DeskClient(api.server.url, TOKEN) as client:
        found = await client.order_for_signal("alpha", "c-1")
        missing = await client.order_for_signal("alpha", "c-2")
        mine = await client.orders(strategy="alpha")
        assert await client.quiet()
        health = await client.wait_quiet(timeout=5)
        api.desk.cancel_unanswered(placed["order_id"])
        assert not await client.quiet()
        with pytest.raises(TimeoutError):
            await client.wait_quiet(timeout=0.3, interval=0.05)
    assert found is not None
    assert (found.order_id, found.signal_id) == (placed["order_id"], "c-1")
    assert missing is None
    assert [o.order_id for o in mine] == [placed["order_id"]]
    assert health.quiet
    assert found.price == Decimal("1500.05")
