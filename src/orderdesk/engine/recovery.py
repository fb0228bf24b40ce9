"""Crash recovery: the desk's state is the replay of its log.

Order events are grouped by stream (the client order id) and folded with
``Order.from_events``; positions come back with the recorded fills; the kill switch comes back
in the state its last ``KillSwitchChanged`` left it. What happened at the broker meanwhile is
the job of resolution and reconciliation, which run right after.
"""

from __future__ import annotations

from collections import defaultdict

from orderdesk.domain.events import KillSwitchChanged, OrderEvent
from orderdesk.domain.order import Order
from orderdesk.engine.book import OrderBook
from orderdesk.engine.risk import KillSwitch
from orderdesk.ports.store import EventStore


def replay(store: EventStore, book: OrderBook, switch: KillSwitch) -> int:
    """Rebuild ``book`` and ``switch`` from ``store``; returns how many events were read."""
    streams: defaultdict[str, list[OrderEvent]] = defaultdict(list)
    count = 0
    for stored in store.read():
        count += 1
        event = stored.event()
        if isinstance(event, OrderEvent):
            streams[event.stream].append(event)
        elif isinstance(event, KillSwitchChanged):
            switch.engaged = event.engaged
            switch.reason = event.reason
    for events in streams.values():
        book.add(Order.from_events(events))
    return count


__all__ = ["replay"]
