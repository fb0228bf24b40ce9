"""Cover orders end to end on the simulator: the stop leg the broker places is tracked as the
cover order's second leg, the stop can be moved, and exiting the cover order (cancelling its
leg) closes the position at market, with positions equal to the broker's (issue 14)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal, Variety
from orderdesk.domain.values import InstrumentKey
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import BrokerView, ListNotifier, compare, open_desk, running_sim
from tests.support import eventually

INFY = InstrumentKey.parse("NSE:INFY")


async def test_a_cover_order_is_tracked_moved_and_exited(tmp_path: Path) -> None:
    """Entry fills, its stop leg is the desk's own (no refusal, no duplicate, no external
    order), the stop moves, the exit fills at market, and desk and broker agree at flat."""
    notifier = ListNotifier()
    async with (
        running_sim(seed=81, rate_limits=False) as (_, address),
        open_desk(address, sqlite_url(tmp_path / "desk.db"), tmp_path, notifier=notifier) as desk,
    ):
        view = BrokerView(address)
        await view.control("prices", {"NSE:INFY": 1500})
        cover = await desk.submit(
            Signal(
                instrument=INFY,
                side=Side.BUY,
                quantity=2,
                order_type=OrderType.MARKET,
                product=Product.MIS,
                variety=Variety.CO,
                trigger_price=Decimal("1450"),
                signal_id="co-1",
            )
        )
        await cover.wait(timeout=10)
        assert cover.status is OrderStatus.FILLED
        leg_id = await eventually(lambda: desk.book.legs.get(cover.order_id), what="the leg")
        leg = desk.order(leg_id)
        await eventually(lambda: leg.status is OrderStatus.TRIGGER_PENDING, what="the stop rests")
        assert leg.leg_of == cover.order_id
        assert (leg.signal.side, leg.signal.quantity) == (Side.SELL, 2)
        assert desk.position(INFY, Product.CO).quantity == 2  # Kite books cover orders as CO

        await desk.modify(leg_id, trigger_price=Decimal("1460"))
        books = await view.books()
        (row,) = [r for r in books.orders if r["order_id"] == leg.broker_order_id]
        assert row["trigger_price"] == 1460

        await desk.cancel(cover.order_id)  # exiting a filled cover order exits its leg
        await eventually(lambda: leg.status is OrderStatus.FILLED, what="the exit filled")
        await eventually(lambda: desk.position(INFY, Product.CO).quantity == 0, what="flat locally")
        report = await desk.reconcile()
        assert report.ok, report.rows
        assert not compare(desk, await view.books())
        titles = notifier.titles()
        assert "Order update refused" not in titles
        assert not [t for t in titles if t.startswith("Reconciliation")]
