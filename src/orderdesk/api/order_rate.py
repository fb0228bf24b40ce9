"""Order-rate headroom: the desk's own order requests this second, minute and day.

Kite counts place, modify and cancel together against one account's limits (10 a second, 400
a minute, 5,000 a day; KITE_API.md §14.2). The dashboard shows how close the desk is, so the
counter reads the requests the desk records (``OrderSubmitting``, ``OrderModifyRequested``,
``OrderCancelRequested``) as they pass on the event stream. The day's count starts from the
orders the desk holds for today when this process starts (their placements and
modifications; cancels sent before the start are not in an order's state, so the day may read a
little low after a restart), and starts again at the next trading day.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from orderdesk.domain.calendar import IST
from orderdesk.domain.events import (
    Event,
    OrderCancelRequested,
    OrderModifyRequested,
    OrderSubmitting,
)
from orderdesk.domain.order import Order

PER_SECOND = 10
PER_MINUTE = 400
PER_DAY = 5_000


def rate_day(trading_day: date | None, at: datetime) -> date:
    """The day Kite's daily order count belongs to: the desk's trading day, else IST's date."""
    return trading_day or at.astimezone(IST).date()


_REQUESTS = (OrderSubmitting, OrderModifyRequested, OrderCancelRequested)
_MINUTE = timedelta(minutes=1)


def counts_toward_rate(event: Event) -> bool:
    """Whether ``event`` is an order request Kite counts (a placement, a modify, a cancel)."""
    return isinstance(event, _REQUESTS)


@dataclass(frozen=True, slots=True)
class RateUse:
    """Requests sent in the last second, the last minute and today, with Kite's limits."""

    second: int
    minute: int
    day: int
    second_limit: int = PER_SECOND
    minute_limit: int = PER_MINUTE
    day_limit: int = PER_DAY


class OrderRate:
    """Fed with every event; answers how many order requests fell in each window."""

    def __init__(self) -> None:
        self._recent: deque[datetime] = deque()
        self._day: date | None = None
        self._today = 0

    def seed(self, orders: Iterable[Order], day: date | None) -> None:
        """Start the day's count from the orders the desk holds for ``day``."""
        self._day = day
        self._today = sum(
            order.submit_attempts + order.modifications for order in orders if not order.external
        )

    def observe(self, event: Event, day: date | None) -> None:
        if not counts_toward_rate(event):
            return
        if day != self._day:
            self._day, self._today = day, 0
        self._today += 1
        self._recent.append(event.at)
        self._forget(event.at)

    def use(self, now: datetime, day: date | None) -> RateUse:
        """The counts at ``now``, on ``day`` (a day with no request yet counts none)."""
        self._forget(now)
        second = sum(1 for at in self._recent if now - at < timedelta(seconds=1))
        today = self._today if day == self._day else 0
        return RateUse(second=second, minute=len(self._recent), day=today)

    def _forget(self, now: datetime) -> None:
        while self._recent and now - self._recent[0] >= _MINUTE:
            self._recent.popleft()


__all__ = [
    "PER_DAY",
    "PER_MINUTE",
    "PER_SECOND",
    "OrderRate",
    "RateUse",
    "counts_toward_rate",
    "rate_day",
]
