"""Reconciliation flags an order the desk holds as ended while the broker shows it live (or with
another filled quantity): a final report the broker never made was taken (a postback replayed
with a forged status, say). The order stays where it is, its end being final, but the desk's
cancel, cancel-all and kill switch pass it by, so the row is alerted CRITICAL with what to do.
A book read before the stream's news of a genuine end is no such difference."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.status import BrokerStatus
from orderdesk.engine import OrderDesk
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import settled
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

FINAL_BUT_LIVE = "final_here_live_at_broker"
TITLE = f"Reconciliation: {FINAL_BUT_LIVE}"


@dataclass
class LaggingBroker(FakeBroker):
    """Its next order-book reads answer these books first (a read that trails the stream)."""

    stale: list[list[OrderStatusReport]] = field(default_factory=list)

    async def orders(self) -> list[OrderStatusReport]:
        if self.stale:
            return self.stale.pop(0)
        return await super().orders()


@pytest.fixture
def broker() -> LaggingBroker:
    return LaggingBroker()


async def resting(desk: OrderDesk, signal_id: str) -> tuple[str, str]:
    """A LIMIT buy of 10 below the price, resting OPEN: (order id, broker order id)."""
    await settled(desk)
    handle = await desk.submit(
        signal(signal_id=signal_id, order_type=OrderType.LIMIT, price=Decimal("1400"))
    )
    order = handle.order
    await eventually(lambda: order.status is OrderStatus.OPEN, what="resting")
    assert order.broker_order_id is not None
    return order.order_id, order.broker_order_id


def forged_cancel(broker: FakeBroker, broker_order_id: str) -> OrderStatusReport:
    """CANCELLED as a replayed postback would say it, while the broker's book is unchanged."""
    return replace(
        broker.report(broker_order_id),
        status=BrokerStatus.CANCELLED,
        broker_status_text="CANCELLED",
        pending_quantity=0,
        status_message="cancelled outside orderdesk",
    )


async def test_an_order_cancelled_here_but_open_at_the_broker_is_flagged_critical(
    desk: OrderDesk, broker: LaggingBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    order_id, broker_order_id = await resting(desk, "forged")
    broker.push(forged_cancel(broker, broker_order_id))
    await eventually(
        lambda: desk.order(order_id).status is OrderStatus.CANCELLED, what="the forged cancel"
    )
    assert broker.report(broker_order_id).status is BrokerStatus.OPEN

    report = await desk.reconcile()

    assert [(row.kind, row.order_id) for row in report.rows] == [(FINAL_BUT_LIVE, order_id)]
    assert not report.ok
    [row] = report.rows
    assert broker_order_id in row.detail
    assert "OPEN" in row.detail
    assert "cancel it there" in row.detail
    [alert] = [a for a in notifier.alerts if a.title == TITLE]
    assert alert.severity is Severity.CRITICAL
    assert alert.order_id == order_id
    assert "ReconciliationMismatch" in store.types()
    # Its end is final: reported, not moved back; and nothing of the desk's cancels it.
    assert desk.order(order_id).status is OrderStatus.CANCELLED
    assert order_id not in await desk.cancel_all()


async def test_another_filled_quantity_at_the_broker_is_flagged(
    desk: OrderDesk, broker: LaggingBroker, notifier: RecordingNotifier
) -> None:
    """Cancelled here with nothing filled; the broker filled 4 of it and holds the rest open."""
    order_id, broker_order_id = await resting(desk, "partly")
    broker.push(forged_cancel(broker, broker_order_id))
    await eventually(
        lambda: desk.order(order_id).status is OrderStatus.CANCELLED, what="the forged cancel"
    )
    broker.stream_muted = True
    broker.fill(broker_order_id, 4)

    report = await desk.reconcile()

    assert (FINAL_BUT_LIVE, order_id) in [(row.kind, row.order_id) for row in report.rows]
    assert TITLE in notifier.titles(Severity.CRITICAL)


async def test_a_book_read_before_a_genuine_cancel_arrived_is_no_difference(
    desk: OrderDesk, broker: LaggingBroker, notifier: RecordingNotifier
) -> None:
    """The book was read with the order OPEN, the stream then told of its real cancel: read
    again, the broker shows it cancelled, so nothing is flagged."""
    order_id, _ = await resting(desk, "genuine")
    before = await broker.orders()
    await desk.cancel(order_id)
    await eventually(
        lambda: desk.order(order_id).status is OrderStatus.CANCELLED, what="the cancel"
    )
    broker.stale.append(before)

    report = await desk.reconcile()

    assert FINAL_BUT_LIVE not in [row.kind for row in report.rows]
    assert TITLE not in notifier.titles()
    assert not broker.stale  # the trailing book was the one reconciled


async def test_a_trade_book_behind_the_order_book_is_the_missed_fills_not_this(
    desk: OrderDesk, broker: LaggingBroker, notifier: RecordingNotifier
) -> None:
    """Cancelled here with 3 filled; the broker's book says cancelled with 5 (two more filled
    before the cancel, their trades not yet in its trade book, as Kite's lags its order book).
    That is fills still to come, the missed-fill path's, not an end the broker never made: no
    CRITICAL telling the operator to cancel at Kite an order that is cancelled there."""
    order_id, broker_order_id = await resting(desk, "lagging")
    broker.fill(broker_order_id, 3)
    await eventually(lambda: desk.order(order_id).filled_quantity == 3, what="3 filled")
    await desk.cancel(order_id)
    await eventually(
        lambda: desk.order(order_id).status is OrderStatus.CANCELLED, what="the cancel"
    )
    ahead = replace(
        broker.report(broker_order_id), status=BrokerStatus.CANCELLED, filled_quantity=5
    )
    book = [ahead if r.broker_order_id == broker_order_id else r for r in await broker.orders()]
    broker.stale += [book, book]

    report = await desk.reconcile()

    assert FINAL_BUT_LIVE not in [row.kind for row in report.rows]
    assert TITLE not in notifier.titles()
