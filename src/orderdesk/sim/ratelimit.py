"""Kite's request-rate limits and order quotas, enforced the way a client would meet them.

Per-second limits use a sliding log, not a fixed window: a window aligned to wall-clock seconds
lets a burst straddle the boundary (10 at x.99 s plus 10 at x+1.01 s = 20 in 20 ms), which breaks
the promise "never more than N in any one-second span". Per-minute and per-day order quotas are
fixed windows, as Kite documents them ("429 till the minute ends"). Only accepted requests count.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from orderdesk.domain.calendar import IST
from orderdesk.sim.envelope import RateLimitError


class EndpointClass(StrEnum):
    """Kite's rate-limit buckets."""

    QUOTE = "quote"
    HISTORICAL = "historical"
    ORDERS = "orders"
    OTHER = "other"


PER_SECOND: dict[EndpointClass, int] = {
    EndpointClass.QUOTE: 1,
    EndpointClass.HISTORICAL: 3,
    EndpointClass.ORDERS: 10,
    EndpointClass.OTHER: 10,
}


def classify(method: str, path: str) -> EndpointClass:
    """Which bucket a request falls in."""
    if path.startswith("/quote"):
        return EndpointClass.QUOTE
    if path.startswith("/instruments/historical"):
        return EndpointClass.HISTORICAL
    if method in ("POST", "PUT", "DELETE") and path.startswith("/orders"):
        return EndpointClass.ORDERS
    return EndpointClass.OTHER


class SlidingLog:
    """At most ``limit`` events in any span of ``window`` seconds."""

    __slots__ = ("_events", "limit", "window")

    def __init__(self, limit: int, window: float = 1.0) -> None:
        self.limit = limit
        self.window = window
        self._events: deque[float] = deque()

    def try_acquire(self, now: float) -> bool:
        """Record an event at ``now`` if the limit allows it."""
        events = self._events
        while events and now - events[0] >= self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True


@dataclass(slots=True)
class _FixedWindow:
    limit: int
    key: int = -1
    count: int = 0

    def try_acquire(self, key: int) -> bool:
        if key != self.key:
            self.key, self.count = key, 0
        if self.count >= self.limit:
            return False
        self.count += 1
        return True


class RateLimiter:
    """All of Kite's limits for one simulator; ``enabled=False`` lets everything through."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        orders_per_second: int = PER_SECOND[EndpointClass.ORDERS],
        orders_per_minute: int = 400,
        orders_per_day: int = 5000,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.enabled = enabled
        self._per_second = dict(PER_SECOND)
        self._per_second[EndpointClass.ORDERS] = orders_per_second
        self._logs: dict[tuple[str, EndpointClass], SlidingLog] = {}
        self._minute: dict[str, _FixedWindow] = {}
        self._day: dict[str, _FixedWindow] = {}
        self._orders_per_minute = orders_per_minute
        self._orders_per_day = orders_per_day
        self._monotonic = monotonic
        self._wall = wall

    def check_request(self, api_key: str, endpoint: EndpointClass) -> None:
        """Count one request against its per-second bucket; raise 429 when over."""
        if not self.enabled:
            return
        log = self._logs.get((api_key, endpoint))
        if log is None:
            log = self._logs[(api_key, endpoint)] = SlidingLog(self._per_second[endpoint])
        if not log.try_acquire(self._monotonic()):
            raise RateLimitError()

    def check_order_quota(self, user_id: str, *, placement: bool) -> None:
        """Count an order request (place, modify, cancel) against the minute and day quotas.

        Modifications and cancellations share the per-minute bucket with placements (staff,
        forum comment/51959); the daily cap counts placements only.
        """
        if not self.enabled:
            return
        wall = self._wall()
        minute = self._minute.setdefault(user_id, _FixedWindow(self._orders_per_minute))
        if placement:
            day = self._day.setdefault(user_id, _FixedWindow(self._orders_per_day))
            # Check the day cap first without consuming it, so a minute-limited request does
            # not eat into the daily allowance.
            # Kite's day is the IST calendar day.
            day_key = datetime.fromtimestamp(wall, IST).toordinal()
            if day.key == day_key and day.count >= day.limit:
                raise RateLimitError()
            if not minute.try_acquire(int(wall // 60)):
                raise RateLimitError()
            day.try_acquire(day_key)
        elif not minute.try_acquire(int(wall // 60)):
            raise RateLimitError()

    def reset(self) -> None:
        """Forget every count (``/_sim/reset``)."""
        self._logs.clear()
        self._minute.clear()
        self._day.clear()


__all__ = ["PER_SECOND", "EndpointClass", "RateLimiter", "SlidingLog", "classify"]
