"""The simulator's clock: Kite's naive IST wall time, shiftable by tests.

Kite speaks IST without a zone marker, so every timestamp the simulator writes comes from here.
Tests move time forward (TTL expiry, token expiry, market sessions) with :meth:`SimClock.advance`
instead of waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30), "IST")
KITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

NSE_OPEN = time(9, 15)
NSE_CLOSE = time(15, 30)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SimClock:
    """Naive IST "now", offset by however far a test has advanced it."""

    __slots__ = ("_offset", "_source")

    def __init__(self, source: Callable[[], datetime] = _utc_now) -> None:
        self._source = source
        self._offset = timedelta()

    def now(self) -> datetime:
        """The current simulated time as a naive IST datetime."""
        return (self._source() + self._offset).astimezone(IST).replace(tzinfo=None)

    def stamp(self) -> str:
        """``now()`` as Kite writes timestamps: ``YYYY-MM-DD HH:MM:SS``."""
        return self.now().strftime(KITE_TIME_FORMAT)

    def advance(self, seconds: float) -> None:
        """Move simulated time forward (never backward: expiries are one-way)."""
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        self._offset += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        """Jump to an IST wall time (tests of market sessions); may move backward."""
        self._offset = timedelta()
        self._offset = when.replace(tzinfo=IST) - self._source()

    def reset(self) -> None:
        """Back to real time."""
        self._offset = timedelta()


def next_token_expiry(login: datetime) -> datetime:
    """The next 06:00 IST after ``login`` (Kite's regulatory daily expiry).

    A login before 06:00 expires the same morning: the rule is "the next 6 AM", which is the
    next day's only for logins during the trading day.
    """
    six = datetime.combine(login.date(), time(6, 0))
    return six if login < six else six + timedelta(days=1)


def is_nse_session(when: datetime) -> bool:
    """True inside NSE's normal session on a weekday (holidays are not modelled)."""
    return when.weekday() < 5 and NSE_OPEN <= when.time() < NSE_CLOSE


def fmt(when: datetime | None) -> str | None:
    """Kite's timestamp text, or ``None``."""
    return None if when is None else when.strftime(KITE_TIME_FORMAT)


__all__ = [
    "IST",
    "KITE_TIME_FORMAT",
    "SimClock",
    "fmt",
    "is_nse_session",
    "next_token_expiry",
]
