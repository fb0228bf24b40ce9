"""Crash recovery: the desk's state is the replay of its log since the latest day checkpoint.

The newest :class:`~orderdesk.domain.events.DayOpened` holds what the day began with: the
positions carried in (valued at the previous close) and each strategy's share of them, the
holdings, the kill switch, and the ids of orders still alive then, whose own histories are read
by id. Everything after it is applied
exactly as it was live (``Order.apply``, then the book's bookkeeping), so start-up reads one day
of the log however many months it holds. A log written before the desk had days has no
checkpoint and is replayed whole; the first day the desk opens writes one.

What happened at the broker meanwhile is the job of resolution and reconciliation, which run
right after. An order replayed MODIFY_PENDING had a modify on its way when the last process
stopped: no answer will come to this one, and no report settles it, so the order's row at the
broker does (``Commands.settle_interrupted``, as for a modify whose outcome is unknown). Exits
the last process was still escalating (an ``ExitStarted`` without its ``ExitUnfilled``) are
handed back with the re-prices they had, for the desk to resume.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from orderdesk.domain.errors import ValidationError
from orderdesk.domain.events import (
    DayClosed,
    DayOpened,
    ExitRepriced,
    ExitStarted,
    ExitUnfilled,
    KillSwitchChanged,
    OrderCreated,
    OrderEvent,
    PositionConverted,
)
from orderdesk.domain.order import Order
from orderdesk.domain.position import PositionBook
from orderdesk.engine.book import OrderBook
from orderdesk.engine.days import DayState
from orderdesk.engine.risk import KillSwitch
from orderdesk.ports.store import EventStore

log = logging.getLogger(__name__)

CHECKPOINT = DayOpened.__name__


@dataclass(frozen=True, slots=True)
class ExitInProgress:
    """An exit the last process was escalating when it stopped."""

    started: ExitStarted
    reprices: int
    """Re-prices it had made (the last ``ExitRepriced``'s attempt)."""


@dataclass(frozen=True, slots=True)
class Replayed:
    """What start-up read back."""

    events: int
    """Rows read after the checkpoint (plus the carried orders' own histories)."""
    day: DayState
    checkpoint_seq: int = 0
    exits: tuple[ExitInProgress, ...] = ()
    """Exits started today that had not ended, oldest first."""
    loss_limit_acted_at: datetime | None = None
    """When the day's loss limit last engaged the kill switch, since the checkpoint."""


def replay(store: EventStore, book: OrderBook, switch: KillSwitch) -> Replayed:
    """Rebuild ``book`` and ``switch`` from ``store``, starting at the latest checkpoint."""
    day = DayState()
    after = 0
    count = 0
    exits: dict[str, ExitInProgress] = {}
    loss_limit_acted_at: datetime | None = None
    checkpoint = store.latest(CHECKPOINT)
    if checkpoint is not None:
        opened = checkpoint.event()
        assert isinstance(opened, DayOpened)
        after = checkpoint.seq
        positions = PositionBook.opening(p.position() for p in opened.positions)
        book.start_day(
            positions,
            opened.holdings,
            set(opened.carried_orders),
            opening=opened.positions,
            shares=opened.strategy_positions,
        )
        switch.engaged, switch.reason = opened.kill_switch, opened.kill_switch_reason
        day = DayState(opened.day, False)
        for order_id in opened.carried_orders:
            history = [row.event() for row in store.read(stream=order_id, before=after)]
            count += len(history)
            events = [event for event in history if isinstance(event, OrderEvent)]
            # Fills from before the day are in the carried positions already.
            book.add(Order.from_events(events), with_fills=False)
    for stored in store.read(after=after):
        count += 1
        event = stored.event()
        if isinstance(event, OrderCreated):
            book.add(Order.from_events([event]))
        elif isinstance(event, OrderEvent):
            order = book.orders.get(event.order_id)
            if order is None:
                log.warning("event %d: order %s is not held today", stored.seq, event.order_id)
                continue
            bound_before = order.broker_order_id
            order.apply(event)
            book.applied(order, event, bound_before)
        elif isinstance(event, PositionConverted):
            book.conversions.append((event.at, event.conversion))
            try:
                book.positions.convert(event.conversion)
            except ValidationError as exc:
                # Live, this one was alerted and left to reconciliation; so it is again.
                log.warning("event %d: conversion not applied: %s", stored.seq, exc)
        elif isinstance(event, KillSwitchChanged):
            switch.engaged, switch.reason = event.engaged, event.reason
            if event.by_loss_limit:
                loss_limit_acted_at = event.at
        elif isinstance(event, DayClosed) and event.day == day.day:
            day.closed = True
        elif isinstance(event, ExitStarted):
            exits[event.order_id] = ExitInProgress(event, 0)
        elif isinstance(event, ExitRepriced) and event.order_id in exits:
            exits[event.order_id] = ExitInProgress(exits[event.order_id].started, event.attempt)
        elif isinstance(event, ExitUnfilled):
            exits.pop(event.order_id, None)
    return Replayed(count, day, after, tuple(exits.values()), loss_limit_acted_at)


__all__ = ["CHECKPOINT", "ExitInProgress", "Replayed", "replay"]
