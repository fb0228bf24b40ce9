"""The one path by which anything changes: decide, append to the log, apply, publish.

Every change to an order is ``events = order.<decision>(...)``; the events are written to the
event log, and only then applied to the order and shown to subscribers. Broker news is the one
nuance: its write may return before its commit, which rides with the desk's next one
(``orderdesk.store.writer``); it is applied at once, and shown to subscribers once committed,
so whatever a subscriber is shown is in the log, and nothing is in the log that was not
applied. Each order's events are shown in the log's order (its lock orders them); news riding
with a commit may be shown a moment before another order's events that the log holds just
ahead of it.

If the order's state machine refuses (``InvalidTransition``), the refusal itself is recorded
and alerted — never a crash. A per-order lock makes decide-then-append-then-apply atomic for
that order, because the append awaits (group commit) and another update for the same order
must not decide against the state from before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from orderdesk.domain.errors import InvalidTransition
from orderdesk.domain.events import Event, OrderCreated, OrderEvent
from orderdesk.domain.order import Order
from orderdesk.domain.refusals import describe_refusal
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.book import OrderBook
from orderdesk.engine.journal import Journal, Subscribers
from orderdesk.errors import StoreError
from orderdesk.ports.clock import Clock
from orderdesk.ports.notifier import Severity

STORE_ALERT_TITLE = "Event log cannot be written"

Decide = Callable[[Order], list[OrderEvent]]
"""A decision: what an order says a command or report means, as events."""


@dataclass(slots=True)
class Outcome:
    """What one decision recorded; ``refused`` carries the state machine's objection."""

    order: Order
    events: list[OrderEvent]
    refused: InvalidTransition | None = None


class Recorder:
    """Decides, writes, applies and publishes; owns the per-order locks and waiters."""

    def __init__(
        self,
        journal: Journal,
        book: OrderBook,
        subscribers: Subscribers,
        clock: Clock,
        alerts: Alerts,
    ) -> None:
        self.journal = journal
        self.book = book
        self.subscribers = subscribers
        self.clock = clock
        self.alerts = alerts
        self._locks: dict[str, asyncio.Lock] = {}
        self._changed: dict[str, asyncio.Event] = {}
        self._unwritable = False
        """The last append failed: the next one that succeeds says the log is back."""

    # -- waiting -------------------------------------------------------------------------------

    def changed(self, order_id: str) -> asyncio.Event:
        """An event set (and replaced) every time ``order_id`` or one of its children changes."""
        event = self._changed.get(order_id)
        if event is None:
            event = self._changed[order_id] = asyncio.Event()
        return event

    def _notify(self, order: Order) -> None:
        for key in (order.order_id, order.parent_id):
            if key is not None and (event := self._changed.pop(key, None)) is not None:
                event.set()

    def forget_except(self, keep: set[str]) -> None:
        """Drop the locks and waiters of orders no longer held in memory (a new day)."""
        self._locks = {
            oid: lock for oid, lock in self._locks.items() if oid in keep or lock.locked()
        }
        for oid in [oid for oid in self._changed if oid not in keep]:
            self._changed.pop(oid).set()  # a waiter re-reads the order and finds it gone

    # -- recording -----------------------------------------------------------------------------

    async def desk_event(self, event: Event) -> None:
        """Record a desk-level event (denials, kill switch, reconciliation)."""
        await self.desk_events([event])

    async def desk_events(self, events: Sequence[Event]) -> None:
        """Record several desk-level events in one append."""
        await self._write(events)

    async def create(self, created: OrderCreated, then: Decide | None = None) -> Outcome:
        """Bring an order into being and, in the same append, take its first decision."""
        (outcome,) = await self.create_many([(created, then)])
        return outcome

    async def create_many(
        self, items: Sequence[tuple[OrderCreated, Decide | None]], *, durable: bool = True
    ) -> list[Outcome]:
        """Create several orders in one append (adoption during reconciliation).

        ``durable=False`` (here and below) for broker news only: see :meth:`Journal.append`."""
        outcomes: list[Outcome] = []
        written: list[Event] = []
        for created, then in items:
            order = Order.from_events([created])
            outcome = self._decide(order, then) if then else Outcome(order, [])
            outcome.events.insert(0, created)
            outcomes.append(outcome)
            written += outcome.events
        await self._write(written, durable=durable)
        for outcome in outcomes:
            order = outcome.order
            self.book.add(order)
            self._apply(order, outcome.events[1:])
            self._notify(order)
        await self._alert_refusals(outcomes)
        return outcomes

    async def decide(self, order: Order, decide: Decide, *, durable: bool = True) -> Outcome:
        """Take one decision for one order and record what it produced."""
        async with self.lock(order.order_id):
            outcome = await self.decide_held(order, decide, durable=durable)
        await self._alert_refusals([outcome])
        return outcome

    def lock(self, order_id: str) -> asyncio.Lock:
        """The order's lock, for a caller that must read the broker between deciding steps
        (e.g. fetch the trades a report implies) without another update overtaking it."""
        lock = self._locks.get(order_id)
        if lock is None:
            lock = self._locks[order_id] = asyncio.Lock()
        return lock

    async def decide_held(self, order: Order, decide: Decide, *, durable: bool = True) -> Outcome:
        """:meth:`decide` for a caller already holding :meth:`lock`; refusals are not alerted
        here (the caller does it with :meth:`alert_refusals` once the lock is released)."""
        outcome = self._decide(order, decide)
        if outcome.events:
            await self._write(outcome.events, durable=durable)
            self._apply(order, outcome.events)
        return outcome

    async def alert_refusals(self, outcomes: Sequence[Outcome]) -> None:
        await self._alert_refusals(outcomes)

    async def decide_many(
        self, items: Sequence[tuple[Order, Decide]], *, durable: bool = True
    ) -> list[Outcome]:
        """One decision for each of many distinct orders, written in a single append.

        Reconciliation touches thousands of orders and the stream applier a batch of updates;
        one commit for all of them is what keeps them within their CPU budget. Locks are taken in
        id order so two batches cannot deadlock.
        """
        orders = {order.order_id: order for order, _ in items}
        if len(orders) != len(items):
            raise ValueError("decide_many takes one decision per order")
        locks = [self.lock(order_id) for order_id in sorted(orders)]
        for lock in locks:
            await lock.acquire()
        try:
            outcomes = [self._decide(order, decide) for order, decide in items]
            written: list[Event] = [event for outcome in outcomes for event in outcome.events]
            if written:
                await self._write(written, durable=durable)
                for outcome in outcomes:
                    self._apply(outcome.order, outcome.events)
        finally:
            for lock in locks:
                lock.release()
        await self._alert_refusals(outcomes)
        return outcomes

    # -- internals -----------------------------------------------------------------------------

    async def _write(self, events: Sequence[Event], *, durable: bool = True) -> None:
        """Append to the log, and publish once committed (the caller applies the events as soon
        as this returns, before any subscriber runs); a log that cannot be written is alerted
        at once (CRITICAL, one key, so the channels' throttling keeps it to one message a
        while) and raised as :class:`~orderdesk.errors.StoreError`: nothing of the batch is
        applied or published, and an intent that was not written is not sent."""
        try:
            await self.journal.append(
                events, durable=durable, on_commit=partial(self.subscribers.publish, events)
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._unwritable = True
            reason = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
            await self.alerts.raise_(
                Severity.CRITICAL,
                STORE_ALERT_TITLE,
                f"{reason}; the desk can record, send or follow nothing until it can (a "
                "PostgreSQL server down? an SQLite log's disk full? a signal sent again with "
                "the same id is then placed once)",
                key="store:write",
            )
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"the event log cannot be written: {reason}") from exc
        if self._unwritable:
            self._unwritable = False
            await self.alerts.raise_(
                Severity.WARNING,
                "Event log writable again",
                "the desk records, sends and follows again; a signal refused meanwhile (503 "
                "store_unavailable) was not placed: send it again (the same id is placed once)",
                # Its own key: the outage's throttled alert must not swallow the recovery.
                key="store:writable",
            )

    def _decide(self, order: Order, decide: Decide) -> Outcome:
        try:
            return Outcome(order, decide(order))
        except InvalidTransition as error:
            return Outcome(order, [order.refused(error, self.clock.now())], error)

    def _apply(self, order: Order, events: Sequence[OrderEvent]) -> None:
        if not events:
            return
        bound_before = order.broker_order_id
        for event in events:
            order.apply(event)
            self.book.applied(order, event, bound_before)
        self._notify(order)

    async def _alert_refusals(self, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.refused is not None:
                await self.alerts.raise_(
                    Severity.WARNING,
                    "Order update refused",
                    f"order {outcome.order.order_id} {describe_refusal(outcome.refused)}",
                    key=f"refused:{outcome.order.order_id}",
                    order_id=outcome.order.order_id,
                )


__all__ = ["STORE_ALERT_TITLE", "Decide", "Outcome", "Recorder"]
