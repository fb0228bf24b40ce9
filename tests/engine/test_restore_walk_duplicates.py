"""Reconciliation flags a tag of the desk's found on two or more of the broker's orders.

The operator walk: after ``orderdesk restore`` of an older backup the broker held two live
buys under one tag and ``reconcile`` said the books agreed. The duplicate check only saw rows
that were news and grouped them by the order they matched; the two orders were each bound to
an order of the desk's already (or both adopted, under different ids), so no batch showed both.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderType, Product, Side, client_order_id
from orderdesk.domain.events import ReconciliationMismatch
from orderdesk.domain.status import BrokerStatus
from orderdesk.engine import OrderDesk
from orderdesk.engine.reconcile import ReconciliationReport
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, FakeOrder, MemoryStore, RecordingNotifier, signal

LIMIT = {"order_type": OrderType.LIMIT, "price": Decimal("1490"), "product": Product.CNC}


def duplicates(report: ReconciliationReport) -> list[tuple[str | None, str]]:
    return [(row.order_id, row.detail) for row in report.rows if row.kind == "duplicate"]


async def test_a_second_broker_order_under_a_bound_orders_tag_is_flagged(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The desk's order rests under its tag; the broker then shows another order carrying the
    same tag (a placement Kite created late, or a second desk's): a CRITICAL finding naming
    both broker orders, recorded in the log, and the books are not "in agreement"."""
    first = await desk.submit(signal(signal_id="d3-tcs-lim", strategy="s1", **LIMIT))
    await first.wait(lambda h: h.status is OrderStatus.OPEN)
    assert first.order.broker_order_id is not None
    broker.stream_muted = True  # the desk learns of the second only from the books
    second = broker.create(first.order.signal, tag=first.order_id)

    report = await desk.reconcile()

    found = duplicates(report)
    assert [order_id for order_id, _ in found] == [first.order_id]
    detail = found[0][1]
    assert first.order.broker_order_id in detail
    assert second in detail
    assert not report.ok
    assert "Reconciliation: duplicate" in notifier.titles(Severity.CRITICAL)
    recorded = [e for e in store.events() if isinstance(e, ReconciliationMismatch)]
    assert [e.kind for e in recorded if e.kind == "duplicate"] == ["duplicate"]


async def test_a_restored_log_holding_neither_order_still_flags_their_tag(
    broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """The log is restored from a backup taken before the desk placed a signal twice (both
    live at the broker): the start-up reconciliation says so, whatever the two are adopted
    as."""
    tag = client_order_id("s1", "d3-tcs-lim")
    placed = signal(signal_id="d3-tcs-lim", strategy="s1", **LIMIT)
    broker_ids = [broker.create(placed, tag=tag), broker.create(placed, tag=tag)]
    restored = MemoryStore()  # the older backup: it holds none of the day's orders

    async with OrderDesk(broker, restored, notifier=notifier, config=FAST) as desk:
        assert desk.startup_report is not None
        found = duplicates(desk.startup_report)

    assert len(found) == 1
    assert all(broker_id in found[0][1] for broker_id in broker_ids)
    assert tag in found[0][1]


async def test_orders_that_share_a_tag_by_design_are_not_duplicates(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """A cover order's stop leg and an autoslice child carry their parent's tag, an order
    cancelled before any fill moved no money (the operator's fix for a duplicate), and labels
    that are not the desk's (Kite web's) may repeat: none of them is a duplicate."""
    first = await desk.submit(signal(signal_id="shared", **LIMIT))
    await first.wait(lambda h: h.status is OrderStatus.OPEN)
    parent = first.order.broker_order_id
    assert parent is not None
    broker.stream_muted = True
    rows = [
        replace(broker.report(parent), broker_order_id="leg1", parent_order_id=parent),
        replace(broker.report(parent), broker_order_id="slice1", slice_of="autoslice9"),
        replace(
            broker.report(parent),
            broker_order_id="cancelled1",
            status=BrokerStatus.CANCELLED,
            broker_status_text="CANCELLED",
            pending_quantity=0,
            cancelled_quantity=first.order.signal.quantity,
        ),
    ]
    for row in rows:
        broker.book[row.broker_order_id] = FakeOrder(row)
    manual = signal(side=Side.SELL, tag="manual", **LIMIT)
    broker.create(manual, tag="manual")
    broker.create(manual, tag="manual")

    report = await desk.reconcile()

    assert duplicates(report) == []
