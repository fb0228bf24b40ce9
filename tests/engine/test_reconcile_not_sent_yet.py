"""An order the desk has not sent yet (waiting in its own rate limiter) is no reconciliation
difference: the broker cannot hold what has not reached it, and the placement path records
what becomes of it. An order whose placement is unknown, and missing from the book, still is."""

from __future__ import annotations

import asyncio

from orderdesk.domain import OrderStatus
from orderdesk.engine import OrderDesk
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import (
    UNKNOWN_BEFORE,
    FakeBroker,
    MemoryStore,
    QueuedBroker,
    RecordingNotifier,
    signal,
)
from tests.support import eventually


async def test_an_order_still_queued_in_the_desk_is_not_unresolved(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    broker = QueuedBroker()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        sending = [asyncio.create_task(desk.submit(signal(signal_id=f"q{n}"))) for n in range(3)]
        await eventually(lambda: broker.waiting == 3, what="three placements queued")
        queued = [o for o in desk.book.orders.values() if o.status is OrderStatus.SUBMITTING]
        assert len(queued) == 3

        report = await desk.reconcile()

        assert [row for row in report.rows if row.kind == "unresolved"] == []
        assert not [t for t in notifier.titles(Severity.WARNING) if "unresolved" in t]
        assert "ReconciliationMismatch" not in store.types()
        broker.gate.set()
        handles = await asyncio.gather(*sending)
        assert all(h.order.broker_order_id is not None for h in handles)
        assert len(broker.placements) == 3


async def test_an_unknown_placement_missing_from_the_book_is_still_a_difference(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A placement whose outcome is unknown has left (or may have): its absence is said."""
    broker.orders_fail = 1_000  # the resolver cannot read the book: the order stays unknown
    broker.script = [UNKNOWN_BEFORE]
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(signal(signal_id="lost"))
        assert handle.status is OrderStatus.SUBMIT_UNKNOWN
        broker.orders_fail = 0
        rows = desk.reconciler._missing([])
        assert [(row.kind, row.order_id) for row in rows] == [("unresolved", handle.order_id)]
