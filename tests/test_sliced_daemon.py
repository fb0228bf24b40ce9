"""An order above the freeze quantity, seen from outside the desk: the HTTP API, a strategy's
``DeskClient`` and the CLI show the parent through its children (status, filled quantity,
average price), so waiting on the order a signal became ends when its children do.

The parent holds the intent and is never an order at Kite itself; shown as it is, it read
``INITIALIZED`` with nothing filled after its children had all filled, and ``DeskClient.wait``
on it never returned.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from kiteconnect import KiteConnect

from orderdesk.client import DeskClient
from orderdesk.config import EngineSettings, RiskSettings
from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.values import InstrumentKey
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.test_triggers_daemon import cli, desk_opener

NO_SIZE_LIMITS = RiskSettings(
    max_quantity=None, max_order_value=None, price_band_percent=None, daily_loss_limit=None
)


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            del os.environ[name]
    config = SimConfig(port=0, seed=17, price_tick_interval=None, opening_cash=Decimal(10**8))
    async with SimServer(config) as server:
        yield server


def _nifty_future(sim: SimServer) -> str:
    """The nearest NIFTY future's ``NFO:SYMBOL``, as the official client lists it."""
    kite = KiteConnect(sim.config.api_key, root=sim.rest_root)
    kite.set_access_token(sim.issue_access_token())
    futures = [
        row
        for row in kite.instruments("NFO")
        if row["name"] == "NIFTY" and row["instrument_type"] == "FUT"
    ]
    nearest = min(futures, key=lambda row: row["expiry"])
    return f"NFO:{nearest['tradingsymbol']}"


@pytest.mark.parametrize("slicing", ["kite", "desk"])
async def test_a_sliced_order_is_shown_and_waited_on_through_its_children(
    sim: SimServer, tmp_path: Path, slicing: str
) -> None:
    open_desk = desk_opener(
        sim, tmp_path, engine=EngineSettings(slicing=slicing), risk=NO_SIZE_LIMITS
    )
    symbol = await asyncio.to_thread(_nifty_future, sim)
    signal = Signal(
        instrument=InstrumentKey.parse(symbol),
        side=Side.BUY,
        quantity=4095,  # 63 lots of 65, freeze 1,800: children of 1,755, 1,755 and 585
        order_type=OrderType.MARKET,
        product=Product.NRML,
        strategy="bigone",
        signal_id="big",
    )
    async with open_desk() as runtime:
        assert runtime.api is not None
        async with DeskClient(runtime.api.url, runtime.token) as desk:
            reply = await desk.submit(signal)
            assert reply.order is not None
            parent_id = reply.order.order_id
            done = await desk.wait(parent_id, timeout=30)
            assert (done.status, done.filled_quantity) == (OrderStatus.FILLED, 4095)
            assert done.average_price > 0
            shown = await desk.order(parent_id)
            assert (shown.status, shown.filled_quantity) == (OrderStatus.FILLED, 4095)
            listed = {o.order_id: o for o in await desk.orders(strategy="bigone")}
            children = [o for o in listed.values() if o.parent_id == parent_id]
            assert sorted(o.quantity for o in children) == [585, 1755, 1755]
            assert listed[parent_id].status is OrderStatus.FILLED
            spent = sum(o.average_price * o.filled_quantity for o in children)
            assert done.average_price == (spent / 4095).quantize(Decimal("0.0001"))
        (row,) = [o for o in await cli(runtime, tmp_path, "orders") if o["order_id"] == parent_id]
        assert (row["status"], row["filled_quantity"]) == ("FILLED", 4095)
