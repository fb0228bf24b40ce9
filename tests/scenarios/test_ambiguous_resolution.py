"""Issue 13: Kite's "Order request timed out" 400 through the real Kite adapter on the simulator.

The reply proves nothing (KITE_API.md §14.2): the desk resolves it by the book, and the order
the simulator creates seconds later is the desk's own order, placed once; when it never comes,
the signal ends as not placed, said to the strategy and alerted, and nothing is sent again.
The simulator's clock moves the late order along; the official client referees its book.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from kiteconnect import KiteConnect

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.events import Doubt
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk
from orderdesk.ports.notifier import Severity
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import (
    SCENARIO_CONFIG,
    BrokerView,
    ListNotifier,
    SimAddress,
    open_desk,
    running_sim,
)
from tests.support import eventually


def resting_buy(signal_id: str) -> Signal:
    """A LIMIT buy below the market: it rests, so nothing but the book tells of it."""
    return Signal(
        instrument=InstrumentKey.parse("NSE:INFY"),
        side=Side.BUY,
        quantity=2,
        order_type=OrderType.LIMIT,
        price=Decimal("1400"),
        product=Product.CNC,
        strategy="amb",
        signal_id=signal_id,
    )


async def referee_rows(address: SimAddress, tag: str) -> list[dict[str, Any]]:
    """The simulator's rows with ``tag``, read by the official client."""

    def read() -> list[dict[str, Any]]:
        kite = KiteConnect(address.api_key, root=address.rest_root, timeout=10)
        kite.set_access_token(address.access_token)
        return [row for row in kite.orders() if row["tag"] == tag]

    return await asyncio.to_thread(read)


async def sim_orders(address: SimAddress) -> int:
    """How many orders the simulator holds, all users and tags (``GET /_sim/state``)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{address.rest_root}/_sim/state") as reply,
    ):
        return int((await reply.json())["data"]["orders"])


async def unsure(desk: OrderDesk, order_id: str) -> bool:
    order = desk.order(order_id)
    return order.status is OrderStatus.SUBMIT_UNKNOWN and order.doubt is Doubt.BROKER_UNSURE


async def test_late_order_after_the_ambiguous_400_is_the_desks_order_placed_once(
    tmp_path: Path,
) -> None:
    """The 400 leaves the order unknown, not rejected; the order the simulator creates once its
    clock passes the delay is bound to the desk's order, and the simulator holds one order."""
    notifier = ListNotifier()
    config = replace(SCENARIO_CONFIG, late_order_window=30.0)
    async with (
        running_sim(seed=131, rate_limits=False) as (_, address),
        open_desk(
            address, sqlite_url(tmp_path / "desk.db"), tmp_path, notifier=notifier, config=config
        ) as desk,
    ):
        view = BrokerView(address)
        await view.faults(ambiguous_timeout=1.0)
        handle = await desk.submit(resting_buy("late"))
        await view.faults(ambiguous_timeout=0.0)
        await eventually(lambda: unsure(desk, handle.order_id), what="the unsure outcome")
        assert await referee_rows(address, handle.order_id) == []
        # Kite's "seconds later": the simulator's clock passes the longest delay it draws.
        await view.control("clock", {"advance_seconds": 10})
        await handle.wait(lambda h: h.is_resolved, timeout=20)
        assert handle.status is OrderStatus.OPEN  # resting at the broker, as its row says
        rows = await referee_rows(address, handle.order_id)
        assert len(rows) == 1
        assert handle.order.broker_order_id == rows[0]["order_id"]
        assert await sim_orders(address) == 1  # placed once, never sent again
    titles = notifier.titles()
    assert "Placement outcome unknown" in titles
    assert "Order rejected" not in titles
    assert "Order not placed" not in titles


async def test_placement_that_got_no_reply_is_not_sent_again_before_its_late_order_shows(
    tmp_path: Path,
) -> None:
    """The desk's own timeout ends the placement before the simulator answers, and the
    simulator creates the order after it (slow_placement_ms): the desk watches the book over
    the late-order window instead of counting absences at once, binds the order that appears,
    and never sends a second one. (Counting absences at once, it sent the order again about
    half a second after the timeout, and the simulator held two.)"""
    notifier = ListNotifier()
    config = replace(SCENARIO_CONFIG, late_order_window=10.0)
    async with (
        running_sim(seed=134, rate_limits=False) as (_, address),
        open_desk(
            address,
            sqlite_url(tmp_path / "desk.db"),
            tmp_path,
            notifier=notifier,
            config=config,
            timeout_seconds=1.0,  # its other reads must not time out on a loaded machine
        ) as desk,
    ):
        view = BrokerView(address)
        await view.faults(slow_placement_ms=3_000)
        handle = await desk.submit(resting_buy("no-reply"))
        await view.faults(slow_placement_ms=0)  # a second send would be created at once
        assert handle.status is OrderStatus.SUBMIT_UNKNOWN
        assert handle.order.doubt is Doubt.NO_REPLY
        await handle.wait(lambda h: h.is_resolved, timeout=20)
        assert handle.status is OrderStatus.OPEN
        rows = await referee_rows(address, handle.order_id)
        assert len(rows) == 1
        assert handle.order.broker_order_id == rows[0]["order_id"]
        assert await sim_orders(address) == 1
        assert handle.order.submit_attempts == 1
    assert "Placement outcome unknown" in notifier.titles()


async def test_ambiguous_400_whose_order_never_comes_is_not_placed(tmp_path: Path) -> None:
    """With ambiguous_timeout_drop the book never shows the order: after the late-order window
    the signal ends REJECTED as not placed, the strategy reads why, an alert says so, and the
    simulator saw one placement only."""
    notifier = ListNotifier()
    window = 1.0  # nothing ever comes in this test; the other one shows the window's use
    config = replace(SCENARIO_CONFIG, late_order_window=window)
    async with (
        running_sim(seed=132, rate_limits=False) as (_, address),
        open_desk(
            address, sqlite_url(tmp_path / "desk.db"), tmp_path, notifier=notifier, config=config
        ) as desk,
    ):
        view = BrokerView(address)
        await view.faults(ambiguous_timeout=1.0, ambiguous_timeout_drop=1.0)
        handle = await desk.submit(resting_buy("never"))
        await eventually(lambda: unsure(desk, handle.order_id), what="the unsure outcome")
        unknown_at = time.monotonic()
        await handle.wait(timeout=20)
        waited = time.monotonic() - unknown_at
        await view.calm()
        order = handle.order
        assert order.status is OrderStatus.REJECTED
        assert order.reason is not None
        assert order.reason.startswith("not placed:")
        assert "not sent again" in order.reason
        assert waited >= window
        assert await referee_rows(address, handle.order_id) == []
        assert await sim_orders(address) == 0
        assert order.submit_attempts == 1
    alerts = notifier.about(handle.order_id)
    assert [a.title for a in alerts if a.severity is Severity.WARNING] == [
        "Placement outcome unknown",
        "Order not placed",
    ]
    assert "Order request timed out" in alerts[-1].body


async def test_order_lingering_in_put_order_req_received_is_followed_to_its_fill(
    tmp_path: Path,
) -> None:
    """With slow_validation_ms the reply carries the id while Kite's book still says PUT ORDER
    REQ RECEIVED; the desk takes the order as accepted, neither unknown nor placed again, and
    follows it to its fill once the simulator's clock lets validation go on."""
    notifier = ListNotifier()
    async with (
        running_sim(seed=133, rate_limits=False) as (_, address),
        open_desk(address, sqlite_url(tmp_path / "desk.db"), tmp_path, notifier=notifier) as desk,
    ):
        view = BrokerView(address)
        await eventually(lambda: desk.stream_connected, what="stream up")
        await view.faults(slow_validation_ms=90_000)
        handle = await desk.submit(
            Signal(
                instrument=InstrumentKey.parse("NSE:INFY"),
                side=Side.BUY,
                quantity=3,
                order_type=OrderType.MARKET,
                product=Product.MIS,
                strategy="amb",
                signal_id="slow",
            )
        )
        await view.calm()
        assert handle.status is OrderStatus.ACCEPTED
        (row,) = await referee_rows(address, handle.order_id)
        assert row["status"] == "PUT ORDER REQ RECEIVED"
        await view.control("clock", {"advance_seconds": 91})
        await handle.wait(timeout=20)
        assert handle.status is OrderStatus.FILLED
        assert handle.order.fill_quantity == 3
        assert await sim_orders(address) == 1
    assert "Placement outcome unknown" not in notifier.titles()
