"""An order given up as not placed that the broker shows after all is taken back, and the
desk's own re-prices are not alerted as outside modifications when their reports come stale.

The scripted fake broker: the ambiguous 400 (Kite's "Order request timed out") and the late
order the test creates once the desk has given the placement up."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.order import Terms
from orderdesk.engine import OrderDesk
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.engine.test_late_orders import UnsureBroker
from tests.support import eventually

REFUSED = "Order update refused"
TAKEN_BACK_TITLE = "Order given up as not placed is at the broker after all"
"""``engine.news.TAKEN_BACK_TITLE`` (said here, so the test runs against code without it)."""
TAKEN_BACK = "not_placed_at_broker"
"""``engine.reconcile.TAKEN_BACK``, the finding's kind."""
MODIFIED_OUTSIDE = "Order modified outside orderdesk"


async def _given_up(desk: OrderDesk, broker: UnsureBroker, **terms: object) -> str:
    """Submit a signal the broker answers "cannot tell" for; return once it is given up."""
    broker.unsure = 1
    handle = await desk.submit(signal(**terms))
    await handle.wait(timeout=5)
    order = handle.order
    assert order.status is OrderStatus.REJECTED
    assert order.reason is not None
    assert order.reason.startswith("not placed:")
    return handle.order_id


def _taken_back_alerts(notifier: RecordingNotifier, order_id: str) -> list[str]:
    return [
        a.body
        for a in notifier.alerts
        if a.title == TAKEN_BACK_TITLE and a.severity is Severity.CRITICAL and order_id in a.body
    ]


async def test_a_cancel_asked_while_unresolved_is_carried_out_when_taken_back(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Cancelled while its placement was unresolved, then given up, the order shows up late:
    taken back live, it is cancelled then, as an order found in time is (the cancel was
    dropped, leaving live at the broker an order its owner had cancelled)."""
    broker = UnsureBroker()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await settled(desk)
        broker.unsure = 1
        handle = await desk.submit(
            signal(signal_id="unwanted", order_type=OrderType.LIMIT, price=Decimal("1400"))
        )
        assert handle.order.is_unresolved
        await desk.cancel(handle.order_id)  # asked while unresolved: done once found
        await handle.wait(timeout=5)
        order = handle.order
        assert order.status is OrderStatus.REJECTED  # given up
        broker.create(order.signal, tag=order.order_id)  # after the window: late
        await eventually(lambda: order.status is OrderStatus.CANCELLED, what="cancelled")
        await desk.idle()
    assert len(broker.placements) == 1
    assert _taken_back_alerts(notifier, order.order_id)


async def test_a_late_order_shown_by_the_stream_is_taken_back_and_can_be_cancelled(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    broker = UnsureBroker()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await settled(desk)
        order_id = await _given_up(
            desk, broker, signal_id="late", order_type=OrderType.LIMIT, price=Decimal("1400")
        )
        order = desk.order(order_id)
        broker_id = broker.create(order.signal, tag=order_id)  # after the window: late
        await eventually(lambda: order.status is OrderStatus.OPEN, what="taken back")
        assert order.broker_order_id == broker_id
        assert order.is_open
        bodies = await eventually(lambda: _taken_back_alerts(notifier, order_id))
        assert "OPEN, nothing of 10 filled" in bodies[0]
        assert "if you sent it again, you now hold two" in bodies[0]
        assert store.types(order_id)[-2:] == ["OrderAccepted", "OrderStatusChanged"]
        # A working order of the desk's again: cancelled through the desk.
        await desk.cancel(order_id)
        await eventually(lambda: order.status is OrderStatus.CANCELLED, what="cancelled")
        await desk.idle()
    assert len(broker.placements) == 1  # nothing placed again by taking it back
    assert REFUSED not in notifier.titles()
    assert "Order cancelled outside orderdesk" not in notifier.titles()


async def test_a_late_order_filled_unseen_is_taken_back_by_reconciliation(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The stream silent, the late order fills at the broker: reconciliation does not say the
    books agree; it takes the order back FILLED with its trade, and the next pass agrees."""
    broker = UnsureBroker()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await settled(desk)
        order_id = await _given_up(desk, broker, signal_id="filled")
        order = desk.order(order_id)
        broker.stream_muted = True
        broker.create(order.signal, tag=order_id)  # a MARKET order: filled at once
        report = await desk.reconcile()
        assert not report.ok
        assert [(r.kind, r.order_id) for r in report.rows] == [(TAKEN_BACK, order_id)]
        assert "FILLED, 10 of 10 filled" in report.rows[0].detail
        assert order.status is OrderStatus.FILLED
        assert (order.filled_quantity, order.fill_quantity) == (10, 10)
        assert desk.book.positions.get(INFY, order.signal.product).quantity == 10
        assert _taken_back_alerts(notifier, order_id)
        assert (await desk.reconcile()).ok
        assert "ReconciliationMismatch" in store.types()
    assert len(broker.placements) == 1
    assert REFUSED not in notifier.titles()


async def test_the_desks_own_reprices_reported_stale_are_not_outside_modifications(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Kite's updates come out of order and twice: the broker's rows of the desk's earlier
    prices arriving after its last modify neither alert nor roll the order back; a price the
    desk never set still does."""
    broker = FakeBroker()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await settled(desk)
        handle = await desk.submit(
            signal(signal_id="exit", order_type=OrderType.LIMIT, price=Decimal("1427.10"))
        )
        order = handle.order
        await eventually(lambda: order.status is OrderStatus.OPEN, what="resting")
        assert order.broker_order_id is not None
        rows = []
        for price in ("1427.15", "1427.40"):
            await desk.modify(order.order_id, price=Decimal(price))
            rows.append(broker.report(order.broker_order_id))
        await desk.idle()
        first = replace(rows[0], price=Decimal("1427.10"))  # the row before any modify, late
        for stale in (rows[0], first, rows[0]):
            broker.push(stale)
        await desk.idle()
        assert order.terms == Terms(10, OrderType.LIMIT, Decimal("1427.40"), None)
        assert MODIFIED_OUTSIDE not in notifier.titles()
        assert (await desk.reconcile()).ok

        broker.push(replace(rows[1], price=Decimal("1431")))  # changed on Kite web
        await eventually(lambda: order.price == Decimal("1431"), what="the outside price")
        await desk.idle()
        assert notifier.titles().count(MODIFIED_OUTSIDE) == 1


async def test_a_late_order_taken_back_under_the_kill_switch_is_cancelled(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Given up, the order was no open order for the kill switch to cancel; when the broker
    shows it after all, the switch still engaged, it is cancelled as one the switch would
    refuse (it stayed live at the broker, the switch engaged, and nothing said so but the
    taken-back alert)."""
    broker = UnsureBroker()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await settled(desk)
        order_id = await _given_up(
            desk, broker, signal_id="late", order_type=OrderType.LIMIT, price=Decimal("1400")
        )
        await desk.engage_kill_switch("loss", cancel_open=True)
        order = desk.order(order_id)
        broker.create(order.signal, tag=order_id)
        await eventually(lambda: order.status is OrderStatus.CANCELLED, what="cancelled")
        await desk.idle()
    assert len(broker.placements) == 1
    assert _taken_back_alerts(notifier, order_id)
    assert any(
        a.title == "Order taken back cancelled" and order_id in a.body for a in notifier.alerts
    )
