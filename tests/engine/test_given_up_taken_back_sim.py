"""The operator's walk against the simulator: Kite's "Order request timed out" 400, the desk
gives the placement up as not placed after its late-order window, and the order appears at the
broker after all (``ambiguous_timeout`` with a long ``ambiguous_delay_max_ms``). The desk takes
it back: one resting is open and cancelled through the desk, one marketable is filled with its
trade; each alerted CRITICAL, nothing placed again, and reconciliation agrees afterwards.
Before, both stayed REJECTED "not placed", the fill's report was refused, and reconciliation
said the books agreed."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.values import InstrumentKey
from orderdesk.ports.notifier import Severity
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import (
    SCENARIO_CONFIG,
    BrokerView,
    ListNotifier,
    open_desk,
    running_sim,
)
from tests.scenarios.test_ambiguous_resolution import referee_rows, sim_orders
from tests.support import eventually

INFY = InstrumentKey.parse("NSE:INFY")
TAKEN_BACK_TITLE = "Order given up as not placed is at the broker after all"
"""``engine.news.TAKEN_BACK_TITLE`` (said here, so the test runs against code without it)."""
TAKEN_BACK = "not_placed_at_broker"
"""``engine.reconcile.TAKEN_BACK``, the finding's kind."""


def buy(signal_id: str, price: str) -> Signal:
    return Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=2,
        order_type=OrderType.LIMIT,
        price=Decimal(price),
        product=Product.MIS,
        strategy="amb",
        signal_id=signal_id,
    )


async def test_orders_given_up_that_appear_late_are_taken_back_on_the_simulator(
    tmp_path: Path,
) -> None:
    notifier = ListNotifier()
    config = replace(SCENARIO_CONFIG, late_order_window=0.5)
    async with (
        running_sim(seed=211, rate_limits=False) as (_, address),
        open_desk(
            address, sqlite_url(tmp_path / "desk.db"), tmp_path, notifier=notifier, config=config
        ) as desk,
    ):
        view = BrokerView(address)
        await view.control("prices", {"NSE:INFY": 1500})
        await eventually(lambda: desk.stream_connected, what="stream up")
        # Each order appears up to ten simulated minutes after its 400: after the window.
        await view.faults(
            ambiguous_timeout=1.0, ambiguous_timeout_drop=0.0, ambiguous_delay_max_ms=600_000
        )
        resting = await desk.submit(buy("resting", "1400"))
        marketable = await desk.submit(buy("marketable", "1600"))
        await view.faults(ambiguous_timeout=0.0)
        for handle in (resting, marketable):
            await handle.wait(timeout=20)
            assert handle.status is OrderStatus.REJECTED
            assert handle.order.reason is not None
            assert handle.order.reason.startswith("not placed:")
        assert await sim_orders(address) == 0

        await view.control("clock", {"advance_seconds": 601})  # Kite creates them after all
        # The fill is pushed: the stream's news takes the marketable one back.
        await marketable.wait(lambda h: h.status is OrderStatus.FILLED, timeout=20)
        await desk.idle()
        # An order merely resting is pushed by nobody (nor by Kite): the next reconciliation
        # finds it, says so rather than that the books agree, and takes it back.
        report = await desk.reconcile()
        assert [(r.kind, r.order_id) for r in report.rows] == [(TAKEN_BACK, resting.order_id)]
        assert resting.status is OrderStatus.OPEN
        for handle in (resting, marketable):
            rows = await referee_rows(address, handle.order_id)
            assert len(rows) == 1
            assert handle.order.broker_order_id == rows[0]["order_id"]
        filled = marketable.order
        assert (filled.filled_quantity, filled.fill_quantity) == (2, 2)
        assert desk.book.positions.get(INFY, Product.MIS).quantity == 2

        await desk.cancel(resting.order_id)
        await resting.wait(lambda h: h.status is OrderStatus.CANCELLED, timeout=20)
        assert (await referee_rows(address, resting.order_id))[0]["status"] == "CANCELLED"
        assert (await desk.reconcile()).ok
        assert await sim_orders(address) == 2  # each placed once, nothing sent again

    for handle, state in ((resting, "OPEN, nothing of 2 filled"), (marketable, "FILLED, 2 of 2")):
        alerts = [a for a in notifier.about(handle.order_id) if a.title == TAKEN_BACK_TITLE]
        assert [a.severity for a in alerts] == [Severity.CRITICAL]
        assert state in alerts[0].body
        assert "if you sent it again, you now hold two" in alerts[0].body
    assert "Order update refused" not in notifier.titles()


async def test_the_desks_reprices_with_updates_reordered_and_repeated_are_quiet_on_the_simulator(
    tmp_path: Path,
) -> None:
    """Every order update held back behind the next and sent twice (``update_reorder`` and
    ``update_duplicate`` at 1): the stale rows of the desk's own earlier prices come while the
    order works, and are neither alerted as modifications outside orderdesk nor taken. (Before,
    "price 1427.60 → 1427.55" and back were alerted as outside modifications.)"""
    notifier = ListNotifier()
    async with (
        running_sim(seed=212, rate_limits=False) as (_, address),
        open_desk(address, sqlite_url(tmp_path / "desk.db"), tmp_path, notifier=notifier) as desk,
    ):
        view = BrokerView(address)
        await view.control("prices", {"NSE:INFY": 1500})
        await eventually(lambda: desk.stream_connected, what="stream up")
        handle = await desk.submit(buy("exit", "1427.10"))
        order = handle.order
        await eventually(lambda: order.status is OrderStatus.OPEN, what="resting")
        await view.faults(update_reorder=1.0, update_duplicate=1.0)
        for price in ("1427.15", "1427.40", "1427.55", "1427.60"):
            await desk.modify(order.order_id, price=Decimal(price))
            await eventually(lambda: order.status is OrderStatus.OPEN, what="modified")
        # The last update held back goes out behind the next one's (or after half a second).
        await desk.cancel(order.order_id)
        await eventually(lambda: order.status is OrderStatus.CANCELLED, what="cancelled")
        await desk.idle()
        assert order.price == Decimal("1427.60")  # never rolled back to an earlier price
    assert "Order modified outside orderdesk" not in notifier.titles()
