"""A reconciliation that finds an order whose placement is unknown missing from the broker's book
lists it, but alerts it only when nothing else has told the operator: a placement that alerted
"Placement outcome unknown" is being settled and says so when it is, so a third alert between
the two repeated the first and promised nothing new. One no alert of this process told of (left
unresolved by the last process) is still alerted by the reconciliation."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.signal import Signal
from orderdesk.engine import OrderDesk
from orderdesk.errors import AmbiguousReply
from orderdesk.ports.notifier import Alert, Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import FailingBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

UNKNOWN = "Placement outcome unknown"
SETTLED = "Placement outcome settled"
RECONCILED = "Reconciliation: unresolved"
# The resolver's first look waits this long: the order stays unresolved while the test acts.
STILL = replace(FAST, resolve_first_delay=60.0)


def resting(signal_id: str) -> Signal:
    """A LIMIT buy below the price: it rests OPEN at the broker once placed."""
    return signal(signal_id=signal_id, order_type=OrderType.LIMIT, price=Decimal("1400"))


def about(alerts: list[Alert], order_id: str) -> list[str]:
    return [a.title for a in alerts if a.order_id == order_id]


async def test_an_unknown_placement_being_settled_is_listed_not_alerted_again(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Kite's "Order request timed out": the operator hears it is unknown, then how it settled;
    the reconciliation run between them lists the order, recorded, without a third alert."""
    broker = FailingBroker()
    broker.error = AmbiguousReply("Order request timed out.", tag="t", http_status=400)
    async with OrderDesk(broker, store, notifier=notifier, config=STILL) as desk:
        handle = await desk.submit(resting("walk"))
        order = desk.order(handle.order_id)
        assert order.status is OrderStatus.SUBMIT_UNKNOWN

        report = await desk.reconcile()

        rows = [(row.kind, row.order_id) for row in report.rows]
        assert rows == [("unresolved", order.order_id)]
        assert store.types().count("ReconciliationMismatch") == 1
        assert about(notifier.alerts, order.order_id) == [UNKNOWN]
        # The broker's book shows it late: the placement's own watch says it settled.
        broker.create(order.signal, tag=order.order_id)
        await eventually(lambda: SETTLED in notifier.titles(), what="the settled alert")
    assert order.status is OrderStatus.OPEN
    assert about(notifier.alerts, order.order_id) == [UNKNOWN, SETTLED]


async def test_an_unknown_placement_left_by_the_last_process_is_still_alerted(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Unknown before a restart: this process's placement never told the operator of it and
    will not say when it settles, so the start-up reconciliation's alert is the one said."""
    broker = FailingBroker()
    broker.error = AmbiguousReply("Order request timed out.", tag="t", http_status=400)
    async with OrderDesk(broker, store, notifier=notifier, config=STILL) as desk:
        handle = await desk.submit(resting("left"))
        assert desk.order(handle.order_id).status is OrderStatus.SUBMIT_UNKNOWN
    order_id = handle.order_id
    earlier = len(notifier.alerts)

    async with OrderDesk(broker, store, notifier=notifier, config=STILL) as desk:
        assert desk.order(order_id).status is OrderStatus.SUBMIT_UNKNOWN
        assert desk.startup_report is not None
        rows = [(row.kind, row.order_id) for row in desk.startup_report.rows]
        assert rows == [("unresolved", order_id)]
    (alert,) = [a for a in notifier.alerts[earlier:] if a.order_id == order_id]
    assert alert.title == RECONCILED
    assert alert.severity is Severity.WARNING
    assert alert.body == f"{order_id}: not in the book yet"
