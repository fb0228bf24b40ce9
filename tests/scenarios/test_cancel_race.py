"""A cancel that loses the race to a fill, on the simulator through the HTTP API: the caller
gets a 409 saying the order is filled, the fill is recorded, the order carries no complaint, and
no alert pages the operator (the alert "Order update refused" or "Cancel failed" did)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk
from orderdesk.store.location import sqlite_url
from tests.api.conftest import AUTH, TOKEN
from tests.scenarios.harness import BrokerView, ListNotifier, open_desk, running_sim

INFY = InstrumentKey.parse("NSE:INFY")
PAGES = ("Order update refused", "Cancel failed")


@dataclass
class Desk:
    """The desk on the simulator, its API, and what it alerted."""

    desk: OrderDesk
    view: BrokerView
    notifier: ListNotifier
    client: aiohttp.ClientSession

    async def cancel(self, order_id: str) -> tuple[int, dict[str, Any]]:
        async with self.client.delete(f"/api/orders/{order_id}") as response:
            return response.status, await response.json()

    async def order(self, order_id: str) -> dict[str, Any]:
        async with self.client.get(f"/api/orders/{order_id}") as response:
            assert response.status == 200
            body: dict[str, Any] = await response.json()
            return body


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    """A desk on an in-process simulator (INFY at 1500), its API served on 127.0.0.1:0."""
    notifier = ListNotifier()
    async with (
        running_sim(seed=7, rate_limits=False) as (_, address),
        open_desk(address, sqlite_url(tmp_path / "desk.db"), tmp_path, notifier=notifier) as desk,
    ):
        view = BrokerView(address)
        await view.control("prices", {"NSE:INFY": 1500})
        server = await serve_api(create_app(EngineDesk(desk), token=TOKEN), "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client:
                yield Desk(desk, view, notifier, client)
        finally:
            await server.stop()


def buy(price: str, signal_id: str) -> Signal:
    return Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=2,
        order_type=OrderType.LIMIT,
        price=Decimal(price),
        product=Product.CNC,
        signal_id=signal_id,
    )


async def test_a_cancel_after_the_fill_is_a_409_and_pages_nobody(desk: Desk) -> None:
    """A marketable LIMIT fills; cancelling it answers 409 "filled; nothing to cancel"."""
    handle = await desk.desk.submit(buy("1510", "filled-first"))
    await handle.wait(timeout=10)
    assert handle.status is OrderStatus.FILLED
    status, body = await desk.cancel(handle.order_id)
    assert (status, body["error"]) == (409, "conflict")
    assert body["message"] == f"order {handle.order_id} is filled; nothing to cancel"
    assert not [t for t in desk.notifier.titles() if t in PAGES]


async def test_a_cancel_the_broker_refuses_for_a_fill_not_yet_streamed(desk: Desk) -> None:
    """The order fills at the simulator while its update is held back; the cancel the broker
    refuses is answered 409 "filled", the fill is in the desk's order, and no complaint or
    alert is left behind."""
    handle = await desk.desk.submit(buy("1490", "lost-race"))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN, timeout=10)
    await desk.view.faults(update_delay_ms=5_000)  # the stream is told long after the test
    await desk.view.control("prices", {"NSE:INFY": 1480})  # it fills at the simulator now
    (row,) = (await desk.view.books()).by_tag(handle.order_id)
    assert row["status"] == "COMPLETE"

    status, body = await desk.cancel(handle.order_id)
    assert (status, body["error"]) == (409, "conflict")
    assert body["message"] == f"order {handle.order_id} is filled; nothing to cancel"
    order = await desk.order(handle.order_id)
    assert (order["status"], order["filled_quantity"], order["reason"]) == ("FILLED", 2, None)
    assert handle.order.fill_quantity == 2
    assert desk.desk.position(INFY, Product.CNC).quantity == 2
    assert not [t for t in desk.notifier.titles() if t in PAGES]
