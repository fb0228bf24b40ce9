"""Earlier trading days, read back from the event log (memory holds today only).

A day is the stretch of the log from its :class:`~orderdesk.domain.events.DayOpened` checkpoint
to the next one; its :class:`~orderdesk.domain.events.DayClosed` (the latest, when a day was
closed twice) holds its positions and P&L. A day's orders are those its live book held: the
ones carried into it (``DayOpened.carried_orders``: an evening AMO, an order the broker kept
working) and the ones created during it, each as the day's end left it. An order carried
across days is each of those days' order, and its fills are shown on the day that recorded
them and on the later days it is carried into, as the live book and the close count them.
An order created after a day's close for a later session (an evening AMO) and not traded
before the next day opened is that next day's alone: it is carried into it, and was counted
under both (the close's "5 orders", then ``days`` 7 for the same evening).
Orders are rebuilt from the day's stretch of the log and the carried orders' own events,
found by the stream index, so none of this walks the whole log.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from orderdesk.domain.calendar import SEGMENT_OF, TradingCalendar
from orderdesk.domain.events import (
    DayClosed,
    DayOpened,
    Event,
    OrderCreated,
    OrderEvent,
    OrderFillRecorded,
)
from orderdesk.domain.order import Order
from orderdesk.domain.signal import Signal
from orderdesk.engine.book import OrderBook
from orderdesk.ports.store import EventStore

V = TypeVar("V")

PAST_ORDERS_KEPT = 256
"""Orders of earlier days (and parents' children) kept after being read back, for the next
ask."""
ABSENT_KEPT = 10_000
"""Order ids found absent from the log, kept for the next ask (more than a day's signals:
Kite takes 5,000 orders a day)."""


class _Kept(Generic[V]):
    """The last :data:`PAST_ORDERS_KEPT` answers read back from the log, the least recently
    asked dropped first (an earlier day no longer changes, so a kept answer stays true)."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, V] = OrderedDict()

    def get(self, key: str) -> V | None:
        value = self._kept.get(key)
        if value is not None:
            self._kept.move_to_end(key)
        return value

    def keep(self, key: str, value: V) -> V:
        self._kept[key] = value
        if len(self._kept) > PAST_ORDERS_KEPT:
            self._kept.popitem(last=False)
        return value


@dataclass(frozen=True, slots=True)
class PastDay:
    """One trading day of the log: how it opened and (if it was closed) how it closed."""

    opened: DayOpened
    closed: DayClosed | None
    first_seq: int
    """The seq of its checkpoint."""
    end_seq: int | None
    """The seq of the next day's checkpoint (None for the latest day)."""
    closed_seq: int | None = None
    """The seq of ``closed`` (None without a close)."""

    @property
    def day(self) -> date:
        return self.opened.day


class DayHistory:
    """Past days and past orders, from the store."""

    def __init__(
        self,
        store: EventStore,
        book: OrderBook | None = None,
        calendar: TradingCalendar | None = None,
    ) -> None:
        self._store = store
        self._book = book
        self._calendar = calendar
        """The desk's trading days: which session an order created after a close is for
        (None: a desk without days, whose days never close)."""
        self._absent: set[str] = set()
        """Ids :meth:`order` found no order for while the book held its current day
        (``_absent_day``): a new signal is looked up twice (the API asks whether it was sent
        before, the desk whether to place it), and the second read of the log cost as much
        as the first. An id gets an order only through the book, which holds it until its
        day ends, so an absence stays true until the book starts another day."""
        self._absent_day = -1
        self._orders: _Kept[Order] = _Kept()
        self._children: _Kept[list[Order]] = _Kept()
        # The checkpoints and closes read so far, and the seq each kind was read up to: the
        # log only grows, so the next listing reads what was written since. Decoding every
        # one each time took 20 ms for a year of days, on the loop, per `orderdesk days`.
        self._checkpoints: list[tuple[int, Event]] = []
        self._closes: dict[date, tuple[int, DayClosed]] = {}
        self._read_up_to = {DayOpened.__name__: 0, DayClosed.__name__: 0}
        self._created_after_close: dict[tuple[date, int], int] = {}
        """Per (day, seq of its close): the orders created after that close, once the next day
        has opened (the stretch no longer grows)."""
        self._lock = threading.Lock()  # listed on the loop and on worker threads alike

    def days(self) -> list[PastDay]:
        """Every day in the log, oldest first."""
        with self._lock:
            self._checkpoints += self._written_since(DayOpened.__name__)
            for seq, event in self._written_since(DayClosed.__name__):
                if isinstance(event, DayClosed):
                    self._closes[event.day] = (seq, event)  # the latest, when closed twice
            checkpoints = list(self._checkpoints)
            closes = dict(self._closes)
        days: list[PastDay] = []
        for index, (seq, event) in enumerate(checkpoints):
            if not isinstance(event, DayOpened):
                continue
            end = checkpoints[index + 1][0] if index + 1 < len(checkpoints) else None
            closed_seq, closed = closes.get(event.day, (None, None))
            days.append(PastDay(event, closed, seq, end, closed_seq))
        return days

    def order_count(self, past: PastDay) -> int | None:
        """How many orders :meth:`orders` finds for ``past``, from its close, without reading
        them back; None for a day without a close.

        The close counted the orders in the desk's book then: those carried into the day and
        those created since its opening, which are the day's. Those created after the close
        (evening AMOs, commodity orders, anything after ``close_at``) are added: their
        ``OrderCreated`` rows between the close and the next day's checkpoint, found by
        reading that stretch of the log (an order's events are not in the (type, seq) index)
        and counted undecoded. That count is kept once the next day has
        opened, when the stretch can no longer grow: a listing costs one such look per closed
        day the first time, then none but for a latest day that has closed."""
        closed, closed_seq = past.closed, past.closed_seq
        if closed is None or closed_seq is None:
            return None
        key = (past.day, closed_seq)
        after = self._created_after_close.get(key)
        if after is None:
            rows = self._store.read(
                kind=OrderCreated.__name__, after=closed_seq, before=past.end_seq
            )
            after = sum(1 for row in rows if not self._next_days(past, row.event()))
            if past.end_seq is not None:
                self._created_after_close[key] = after
        return closed.orders + after

    def _written_since(self, kind: str) -> list[tuple[int, Event]]:
        """The events of ``kind`` after those read before (all decoded, or none kept)."""
        read = [
            (row.seq, row.event())
            for row in self._store.read(kind=kind, after=self._read_up_to[kind])
        ]
        if read:
            self._read_up_to[kind] = read[-1][0]
        return read

    def day(self, day: date) -> PastDay | None:
        return next((past for past in self.days() if past.day == day), None)

    def orders(self, past: PastDay) -> list[Order]:
        """The orders of ``past``, as its live book held them: those carried into it, then
        those created during it, each as its events left it by the day's end.

        A carried order's events before the day are read by its stream (one index look each,
        for the few orders a day carries), the rest with the day's stretch of the log."""
        streams: dict[str, list[OrderEvent]] = {
            order_id: self._before(order_id, past.first_seq)
            for order_id in past.opened.carried_orders
        }
        rows = self._store.read(after=past.first_seq, before=past.end_seq)
        later: set[str] = set()
        for row in rows:
            event = row.event()
            if isinstance(event, OrderCreated):
                streams[event.order_id] = [event]
                if past.closed_seq is not None and row.seq > past.closed_seq:
                    later.add(event.order_id)
            elif isinstance(event, OrderEvent) and event.order_id in streams:
                streams[event.order_id].append(event)
        orders = [
            Order.from_events(events)
            for events in streams.values()
            if events and isinstance(events[0], OrderCreated)
        ]
        return [o for o in orders if o.order_id not in later or not self._for_later(past, o)]

    def _next_days(self, past: PastDay, event: Event) -> bool:
        """Whether the order ``event`` (an ``OrderCreated`` after ``past``'s close) is a later
        day's: see :meth:`_for_later`; its fills, if any, are read from its own events."""
        if not isinstance(event, OrderCreated) or not self._later_session(
            past, event.signal, event.at
        ):
            return False
        traded = self._store.read(stream=event.order_id, before=past.end_seq)
        return not any(isinstance(row.event(), OrderFillRecorded) for row in traded)

    def _for_later(self, past: PastDay, order: Order) -> bool:
        """Whether ``order``, created after ``past``'s close, is a later day's: placed for a
        later session (an evening AMO) and not traded in ``past``'s stretch of the log."""
        return not order.fills and self._later_session(past, order.signal, order.created_at)

    def _later_session(self, past: PastDay, signal: Signal, at: datetime) -> bool:
        """Whether ``signal``, created ``at``, is for a session after ``past``'s day."""
        if self._calendar is None:
            return False
        segment = SEGMENT_OF[signal.instrument.exchange]
        return self._calendar.session_of(at, segment) > past.day

    def _before(self, order_id: str, seq: int) -> list[OrderEvent]:
        """``order_id``'s events recorded before ``seq``."""
        rows = self._store.read(stream=order_id, before=seq)
        return [event for row in rows if isinstance(event := row.event(), OrderEvent)]

    def children(self, parent: Order) -> list[Order]:
        """The children of a sliced parent of an earlier day, as that day left them: the day
        holding the parent's ``OrderCreated`` is read whole (for one order a person asks about,
        never on a hot path; kept, as an earlier day no longer changes)."""
        kept = self._children.get(parent.order_id)
        if kept is not None:
            return kept
        children: list[Order] = []
        created = next(iter(self._store.read(stream=parent.order_id)), None)
        seq = created.seq if created is not None else 0
        held = [day for day in self.days() if day.first_seq < seq < (day.end_seq or seq + 1)]
        if held:
            children = [o for o in self.orders(held[0]) if o.parent_id == parent.order_id]
        return self._children.keep(parent.order_id, children)

    def order(self, order_id: str) -> Order | None:
        """An order of any day, by id (None if the log has no such order).

        With the desk's book: for an id the book does not hold (the desk asks the book
        first)."""
        order = self._orders.get(order_id)
        if order is not None:
            return order
        day = self._book.days_started if self._book is not None else None
        if day == self._absent_day and order_id in self._absent:
            return None
        events = [row.event() for row in self._store.read(stream=order_id)]
        history = [event for event in events if isinstance(event, OrderEvent)]
        if not history or not isinstance(history[0], OrderCreated):
            if day is not None:
                if day != self._absent_day or len(self._absent) >= ABSENT_KEPT:
                    self._absent, self._absent_day = set(), day
                self._absent.add(order_id)
            return None
        return self._orders.keep(order_id, Order.from_events(history))


__all__ = ["PAST_ORDERS_KEPT", "DayHistory", "PastDay"]
