"""Earlier trading days, read back from the event log (memory holds today only).

A day is the stretch of the log from its :class:`~orderdesk.domain.events.DayOpened` checkpoint
to the next one; its :class:`~orderdesk.domain.events.DayClosed` (the latest, when a day was
closed twice) holds its positions and P&L. Orders are rebuilt from their own events, found by
the stream index, so none of this walks the whole log.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from orderdesk.domain.events import DayClosed, DayOpened, OrderCreated, OrderEvent
from orderdesk.domain.order import Order
from orderdesk.ports.store import EventStore

PAST_ORDERS_KEPT = 256
"""Orders of earlier days kept after being read back, for the next ask."""


@dataclass(frozen=True, slots=True)
class PastDay:
    """One trading day of the log: how it opened and (if it was closed) how it closed."""

    opened: DayOpened
    closed: DayClosed | None
    first_seq: int
    """The seq of its checkpoint."""
    end_seq: int | None
    """The seq of the next day's checkpoint (None for the latest day)."""

    @property
    def day(self) -> date:
        return self.opened.day


class DayHistory:
    """Past days and past orders, from the store."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._orders: OrderedDict[str, Order] = OrderedDict()
        self._children: OrderedDict[str, list[Order]] = OrderedDict()

    def days(self) -> list[PastDay]:
        """Every day in the log, oldest first."""
        checkpoints = [(row.seq, row.event()) for row in self._store.read(kind=DayOpened.__name__)]
        closes: dict[date, DayClosed] = {}
        for row in self._store.read(kind=DayClosed.__name__):
            event = row.event()
            if isinstance(event, DayClosed):
                closes[event.day] = event
        days: list[PastDay] = []
        for index, (seq, event) in enumerate(checkpoints):
            if not isinstance(event, DayOpened):
                continue
            end = checkpoints[index + 1][0] if index + 1 < len(checkpoints) else None
            days.append(PastDay(event, closes.get(event.day), seq, end))
        return days

    def day(self, day: date) -> PastDay | None:
        return next((past for past in self.days() if past.day == day), None)

    def orders(self, past: PastDay) -> list[Order]:
        """The orders created during ``past``, as their events left them by its end."""
        streams: dict[str, list[OrderEvent]] = {}
        rows = self._store.read(after=past.first_seq, before=past.end_seq)
        for row in rows:
            event = row.event()
            if isinstance(event, OrderCreated):
                streams[event.order_id] = [event]
            elif isinstance(event, OrderEvent) and event.order_id in streams:
                streams[event.order_id].append(event)
        return [Order.from_events(events) for events in streams.values()]

    def children(self, parent: Order) -> list[Order]:
        """The children of a sliced parent of an earlier day, as that day left them: the day
        holding the parent's ``OrderCreated`` is read whole (for one order a person asks about,
        never on a hot path; kept, as an earlier day no longer changes)."""
        kept = self._children.get(parent.order_id)
        if kept is not None:
            self._children.move_to_end(parent.order_id)
            return kept
        children: list[Order] = []
        created = next(iter(self._store.read(stream=parent.order_id)), None)
        seq = created.seq if created is not None else 0
        held = [day for day in self.days() if day.first_seq < seq < (day.end_seq or seq + 1)]
        if held:
            children = [o for o in self.orders(held[0]) if o.parent_id == parent.order_id]
        self._children[parent.order_id] = children
        if len(self._children) > PAST_ORDERS_KEPT:
            self._children.popitem(last=False)
        return children

    def order(self, order_id: str) -> Order | None:
        """An order of any day, by id (None if the log has no such order)."""
        order = self._orders.get(order_id)
        if order is not None:
            self._orders.move_to_end(order_id)
            return order
        events = [row.event() for row in self._store.read(stream=order_id)]
        history = [event for event in events if isinstance(event, OrderEvent)]
        if not history or not isinstance(history[0], OrderCreated):
            return None
        order = Order.from_events(history)
        self._orders[order_id] = order
        if len(self._orders) > PAST_ORDERS_KEPT:
            self._orders.popitem(last=False)
        return order


__all__ = ["PAST_ORDERS_KEPT", "DayHistory", "PastDay"]
