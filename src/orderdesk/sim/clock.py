"""The simulator's clock: Kite's naive IST wall time, shiftable by tests.

Kite speaks IST without a zone marker, so every timestamp the simulator writes comes from here.
Tests move time forward (TTL expiry, token expiry, market sessions, whole trading days) with
:meth:`SimClock.advance` or :meth:`SimClock.set` instead of waiting.

While the trading-day machine (:mod:`orderdesk.sim.days`) processes a milestone it *pins* the
clock to the milestone's instant (:meth:`SimClock.pinned`), so an order squared off at 15:20
reads 15:20:00 even when the clock was moved from 14:00 to the next Monday in one call.

IST is :mod:`orderdesk.domain.calendar`'s (re-exported here for the simulator's modules), as is
the 06:00 token expiry the session store uses: one definition for the desk and the simulator.

:func:`parse_wall_time` reads the times an operator hands ``POST /_sim/clock``: Kite's own
``YYYY-MM-DD HH:MM:SS`` and ISO 8601, so a time pasted from a log or a ``date -Iseconds`` works.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from orderdesk.domain.calendar import IST

KITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

_WALL_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", re.ASCII
)
"""What :func:`parse_wall_time` takes. A date alone is refused: midnight is seldom what is meant."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SimClock:
    """Naive IST "now", offset by however far a test has advanced it."""

    __slots__ = ("_offset", "_pinned", "_source")

    def __init__(self, source: Callable[[], datetime] = _utc_now) -> None:
        self._source = source
        self._offset = timedelta()
        self._pinned: datetime | None = None

    def now(self) -> datetime:
        """The current simulated time as a naive IST datetime (the pinned instant, if any)."""
        if self._pinned is not None:
            return self._pinned
        return (self._source() + self._offset).astimezone(IST).replace(tzinfo=None)

    @property
    def offset_seconds(self) -> float:
        """How far the simulated clock runs ahead of real time (negative: behind)."""
        return self._offset.total_seconds()

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

    @contextlib.contextmanager
    def pinned(self, when: datetime) -> Iterator[None]:
        """Read ``when`` (naive IST) as "now" for the length of the block.

        Only synchronous work may run inside: the event loop's other tasks would see the pin.
        """
        previous = self._pinned
        self._pinned = when
        try:
            yield
        finally:
            self._pinned = previous


def parse_wall_time(text: str) -> datetime:
    """``text`` as a naive IST wall time: Kite's ``YYYY-MM-DD HH:MM:SS`` or ISO 8601 (``T`` or a
    space between date and time, seconds optional). A time without an offset is IST already, as
    everything Kite writes; one with an offset (``+05:30``, ``Z``) is converted to IST.

    Raises :class:`ValueError` naming the accepted forms for anything else.
    """
    expected = "expected YYYY-MM-DD HH:MM:SS (IST) or ISO 8601 such as 2026-12-07T08:30:00+05:30"
    if _WALL_TIME.fullmatch(text) is None:
        raise ValueError(f"Cannot read {text!r} as a time: {expected}.")
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:  # the right shape, but no such day or hour (2026-02-30)
        raise ValueError(f"Cannot read {text!r} as a time ({exc}): {expected}.") from None
    if when.tzinfo is None:
        return when
    return when.astimezone(IST).replace(tzinfo=None)


def fmt(when: datetime | None) -> str | None:
    """Kite's timestamp text, or ``None``."""
    return None if when is None else when.strftime(KITE_TIME_FORMAT)


__all__ = [
    "IST",
    "KITE_TIME_FORMAT",
    "SimClock",
    "fmt",
    "parse_wall_time",
]
