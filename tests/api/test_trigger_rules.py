"""``POST /api/gtt`` and ``/api/price-alerts`` over a real desk: a GTT or an ATO whose order the
broker would refuse when it fires (off the tick, or in part of a lot) is refused now with the
answer a signal gets for the same fault, 400 ``invalid_signal`` naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.engine import OrderDesk
from tests.api.conftest import AUTH, TOKEN
from tests.engine.fakes import MemoryStore
from tests.engine.trigger_broker import NFO_LOT, TriggerBroker

TICK = "is not a multiple of the tick 0.05"


def _gtt(*, trigger: str = "1400", price: str = "1399") -> dict[str, Any]:
    """A stop on INFY: SELL 10 at ``price`` when the price reaches ``trigger``."""
    return {
        "instrument": "NSE:INFY",
        "trigger_values": [trigger],
        "last_price": "1500",
        "orders": [{"side": "SELL", "quantity": 10, "price": price}],
        "strategy": "swing",
    }


def _future_gtt(*, quantity: int, trigger: str = "23500", price: str = "23490") -> dict[str, Any]:
    """A stop on the NIFTY future: SELL ``quantity`` at ``price``."""
    return {
        "instrument": "NFO:NIFTY26DECFUT",
        "trigger_values": [trigger],
        "last_price": "24000",
        "orders": [{"side": "SELL", "quantity": quantity, "price": price, "product": "NRML"}],
    }


def _ato(*, price: str = "1401") -> dict[str, Any]:
    """BUY 5 INFY at ``price`` when its price falls to 1400."""
    return {
        "name": "buy the dip",
        "instrument": "NSE:INFY",
        "operator": "<=",
        "value": "1400",
        "basket": [{"side": "BUY", "quantity": 5, "price": price}],
        "strategy": "meanrev",
    }


@dataclass
class RealDesk:
    """The app over a desk whose broker only counts the triggers that reach it."""

    broker: TriggerBroker
    client: aiohttp.ClientSession

    async def post(self, path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
        async with self.client.post(path, json=body) as response:
            reply: dict[str, Any] = await response.json()
            assert response.status == status, reply
        return reply


@pytest.fixture
async def real() -> AsyncIterator[RealDesk]:
    """A real desk (instrument list: tick 0.05; NIFTY in lots of 65) behind the real app, fitted
    to it as ``orderdesk run`` fits it."""
    broker = TriggerBroker()
    async with OrderDesk(broker, MemoryStore()) as desk:
        server = await serve_api(create_app(EngineDesk(desk), token=TOKEN), "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client:
                yield RealDesk(broker, client)
        finally:
            await server.stop()


def _field(reply: dict[str, Any]) -> tuple[str, str, str]:
    (problem,) = reply["fields"]
    return reply["error"], problem["field"], problem["reason"]


async def test_a_gtt_off_the_tick_or_lot_gets_a_signals_answer(real: RealDesk) -> None:
    """A GTT leg priced between ticks, a trigger value between ticks and an F&O leg in part of
    a lot are each 400 invalid_signal naming the field, as a signal at that price is; none
    reaches the broker or the desk's list."""
    signal = {
        "instrument": "NSE:INFY",
        "side": "SELL",
        "quantity": 10,
        "order_type": "LIMIT",
        "product": "CNC",
        "price": "1399.03",
    }
    refusals = [
        await real.post("/api/signals", signal, 400),
        await real.post("/api/gtt", _gtt(price="1399.03"), 400),
        await real.post("/api/gtt", _gtt(trigger="1400.01"), 400),
        await real.post("/api/gtt", _future_gtt(quantity=10), 400),
    ]
    assert [_field(reply) for reply in refusals] == [
        ("invalid_signal", "price", f"1399.03 {TICK}"),
        ("invalid_signal", "orders[0].price", f"1399.03 {TICK}"),
        ("invalid_signal", "trigger_values[0]", f"1400.01 {TICK}"),
        ("invalid_signal", "orders[0].quantity", f"10 is not a multiple of lot {NFO_LOT}"),
    ]
    assert real.broker.sent == []
    async with real.client.get("/api/gtt") as response:
        assert await response.json() == []


async def test_an_ato_basket_off_the_tick_gets_a_signals_answer(real: RealDesk) -> None:
    """An ATO whose basket order is priced between ticks is 400 invalid_signal naming the basket
    order's price, and nothing reaches the broker."""
    reply = await real.post("/api/price-alerts", _ato(price="1401.01"), 400)
    assert _field(reply) == ("invalid_signal", "basket[0].price", f"1401.01 {TICK}")
    assert real.broker.sent == []
    async with real.client.get("/api/price-alerts") as response:
        assert await response.json() == []


async def test_valid_triggers_are_still_placed_and_changed(real: RealDesk) -> None:
    """On the tick and in whole lots, a GTT, an F&O GTT and an ATO are 201 active, and a GTT's
    new terms on the tick are taken."""
    gtt = await real.post("/api/gtt", _gtt(), 201)
    future = _future_gtt(quantity=2 * NFO_LOT, trigger="23500.05", price="23490.35")
    fo = await real.post("/api/gtt", future, 201)
    ato = await real.post("/api/price-alerts", _ato(), 201)
    assert (gtt["state"], fo["state"], ato["state"]) == ("active", "active", "active")
    async with real.client.put(f"/api/gtt/{gtt['id']}", json=_gtt(trigger="1400.05")) as response:
        assert response.status == 200
    assert real.broker.sent == ["place_gtt", "place_gtt", "create_alert", "modify_gtt"]


async def test_a_gtt_whose_last_price_would_fire_it_at_once_is_refused(real: RealDesk) -> None:
    """A BUY GTT on INFY (at 1500) sent with last price 100 and trigger 200, and a GTT moved
    onto the NIFTY future (at 24000) keeping last price 1500 and trigger 1600, would each fire
    at once: both are 400 invalid_signal naming ``last_price``, and neither reaches the
    broker."""
    wrong = {**_gtt(trigger="200"), "last_price": "100"}
    wrong["orders"] = [{"side": "BUY", "quantity": 5, "price": "200"}]
    placed = await real.post("/api/gtt", wrong, 400)
    kept = await real.post("/api/gtt", _gtt(), 201)
    moved = {**_future_gtt(quantity=NFO_LOT, trigger="1600", price="1601"), "last_price": "1500"}
    moved["orders"][0]["side"] = "BUY"
    async with real.client.put(f"/api/gtt/{kept['id']}", json=moved) as response:
        modified = await response.json()
        assert response.status == 400, modified
    assert _field(placed) == (
        "invalid_signal",
        "last_price",
        "100 makes the GTT fire when the price rises to 200, and NSE:INFY trades at 1500: "
        "it would fire at once",
    )
    assert _field(modified)[:2] == ("invalid_signal", "last_price")
    assert real.broker.sent == ["place_gtt"]


async def test_a_price_alert_on_an_unknown_instrument_gets_a_signals_answer(
    real: RealDesk,
) -> None:
    """A simple alert on NSE:FOOBAR, which the instrument list does not hold, is 400
    invalid_signal naming ``instrument`` (as a GTT on it is), not sent to the broker."""
    alert = {"name": "watch", "instrument": "NSE:FOOBAR", "operator": ">=", "value": "10"}
    reply = await real.post("/api/price-alerts", alert, 400)
    assert _field(reply) == ("invalid_signal", "instrument", "unknown instrument NSE:FOOBAR")
    assert real.broker.sent == []
