"""A desk order modified outside orderdesk that fills before the desk hears of the modify: the
desk learns the new terms and the trades together (at its next start, or from one report of
the stream), takes the terms before the trades, and judges the terms by the risk limits
however much has filled.

The fake broker modifies the order as Kite web would (``modify_order`` with no desk told: the
stream is muted, or no desk is running), then fills it."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderType, Product, Variety
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.reconcile import MODIFIED
from orderdesk.ports.broker import OrderChanges
from orderdesk.ports.notifier import Alert, Severity
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

MODIFIED_OUTSIDE = "Order modified outside orderdesk"
BEYOND_LIMITS = "Order modified outside orderdesk beyond the risk limits"
FILL_REFUSED = "Fill refused"
UPDATE_REFUSED = "Order update refused"


async def _resting(desk: OrderDesk, quantity: int) -> str:
    """A working LIMIT buy of ``quantity`` INFY CNC at 1,490 (the market at 1,500)."""
    await settled(desk)
    handle = await desk.submit(
        signal(
            quantity=quantity,
            order_type=OrderType.LIMIT,
            price=Decimal(1490),
            product=Product.CNC,
            signal_id=f"rest{quantity}",
        )
    )
    await eventually(lambda: handle.status is OrderStatus.OPEN, what="resting")
    return handle.order_id


async def _modified_and_filled_unseen(broker: FakeBroker, broker_order_id: str, to: int) -> None:
    """``kite.modify_order(quantity=to)`` from outside, then a full fill, pushed to no one."""
    broker.stream_muted = True
    await broker.modify_order(broker_order_id, Variety.REGULAR, OrderChanges(quantity=to))
    broker.fill(broker_order_id)
    broker.stream_muted = False


def _outside_alerts(notifier: RecordingNotifier, order_id: str) -> list[Alert]:
    return [
        a
        for a in notifier.alerts
        if a.title in (MODIFIED_OUTSIDE, BEYOND_LIMITS) and order_id in a.body
    ]


async def test_a_quantity_raised_past_the_limit_and_filled_unseen_is_critical_at_start(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Raised outside from 10 to 1,500 (max_quantity 1,000) and filled while the desk was
    stopped, the order's new terms are judged at the next start as they would be unfilled:
    CRITICAL, beyond max_quantity (not "cannot be judged" and only a warning)."""
    broker = FakeBroker()
    limits = RiskLimits(max_quantity=1000)
    async with OrderDesk(broker, store, notifier=notifier, config=FAST, limits=limits) as desk:
        order_id = await _resting(desk, 10)
        broker_order_id = desk.order(order_id).broker_order_id
    assert broker_order_id is not None
    await _modified_and_filled_unseen(broker, broker_order_id, 1500)

    async with OrderDesk(broker, store, notifier=notifier, config=FAST, limits=limits) as desk:
        await settled(desk)
        order = desk.order(order_id)
        assert (order.status, order.quantity, order.fill_quantity) == (
            OrderStatus.FILLED,
            1500,
            1500,
        )
    alerts = _outside_alerts(notifier, order_id)
    assert [(a.severity, a.title) for a in alerts] == [(Severity.CRITICAL, BEYOND_LIMITS)]
    assert "quantity 10 → 1500" in alerts[0].body
    assert "max_quantity" in alerts[0].body


async def test_a_quantity_raised_and_filled_unseen_is_taken_before_its_trade_at_start(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Raised outside from 30 to 40 and filled while the desk was stopped, the order is seen at
    the next start modified and filled with its trade in one go: no fill refused, no position
    difference found beyond the fill the stream could not tell, and the modification."""
    broker = FakeBroker()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        order_id = await _resting(desk, 30)
        broker_order_id = desk.order(order_id).broker_order_id
    assert broker_order_id is not None
    await _modified_and_filled_unseen(broker, broker_order_id, 40)

    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        report = desk.startup_report
        assert report is not None
        # What any fill made while the desk was stopped finds, and the modification; no
        # trade refused, no position short of the broker's.
        assert [(r.kind, r.order_id) for r in report.rows] == [
            (MODIFIED, order_id),
            ("status", order_id),
            ("missed_fill", order_id),
        ]
        order = desk.order(order_id)
        assert (order.status, order.quantity, order.fill_quantity) == (OrderStatus.FILLED, 40, 40)
        assert desk.book.positions.get(INFY, Product.CNC).quantity == 40
        await desk.idle()
    assert FILL_REFUSED not in notifier.titles()
    assert UPDATE_REFUSED not in notifier.titles()
    assert "OrderTransitionRefused" not in store.types(order_id)
    alerts = _outside_alerts(notifier, order_id)
    assert [(a.severity, a.title) for a in alerts] == [(Severity.WARNING, MODIFIED_OUTSIDE)]
    assert "quantity 30 → 40" in alerts[0].body


async def test_a_stream_report_of_a_quantity_raised_and_filled_takes_the_terms_first(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """One report of the stream showing an order raised outside from 30 to 40 and filled (the
    reports between were lost) reads the trade and records the new terms before it: the order
    is filled with its trade and position at once, with no fill refused."""
    order_id = await _resting(desk, 30)
    order = desk.order(order_id)
    assert order.broker_order_id is not None
    await _modified_and_filled_unseen(broker, order.broker_order_id, 40)

    await desk.news.put(broker.report(order.broker_order_id))
    await desk.news.idle()
    assert (order.status, order.quantity, order.fill_quantity) == (OrderStatus.FILLED, 40, 40)
    assert desk.book.positions.get(INFY, Product.CNC).quantity == 40
    assert FILL_REFUSED not in notifier.titles()
    assert "OrderTransitionRefused" not in store.types(order_id)
    alerts = _outside_alerts(notifier, order_id)
    assert [(a.severity, a.title) for a in alerts] == [(Severity.WARNING, MODIFIED_OUTSIDE)]
