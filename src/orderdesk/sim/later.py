"""Work the simulator owes for later, due at instants of its own clock.

Kite's order path is not always quick (KITE_API.md §14.2): a placement answered "Order request
timed out" can still produce its order seconds later, and an order can sit in ``PUT ORDER REQ
RECEIVED`` for a long time before its validation. The exchange schedules both here.

Work is due at an instant of the simulated clock, so a test that moves the clock
(``POST /_sim/clock``, whose sweep calls :meth:`SimTimers.run_due`) sees it happen at once,
and the same seed gives the same delays. Left alone, the clock follows real time: scheduling
also asks the running event loop to call :meth:`SimTimers.run_due` when the delay has passed,
so the work is not late by up to a housekeeping tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from orderdesk.sim.clock import SimClock

log = structlog.get_logger(__name__)

# The loop's timer and the wall clock the simulated one follows can disagree by microseconds;
# firing a little late makes sure the work is due when the timer runs.
_LATE = 0.002


class SimTimers:
    """A queue of actions, each due at an instant of the simulated clock."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._queue)

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        """Run ``action`` once ``seconds`` of simulated time have passed."""
        due = self._clock.now() + timedelta(seconds=seconds)
        heapq.heappush(self._queue, (due, next(self._order), action))
        with contextlib.suppress(RuntimeError):  # no running loop: the clock's sweeps run it
            asyncio.get_running_loop().call_later(seconds + _LATE, self.run_due)

    def run_due(self) -> None:
        """Run every action that is due, earliest first (ties in the order scheduled)."""
        now = self._clock.now()
        while self._queue and self._queue[0][0] <= now:
            _, _, action = heapq.heappop(self._queue)
            try:
                action()
            except Exception:  # one failed action must not keep the others from running
                log.exception("sim.later.action_failed")

    def clear(self) -> None:
        """Forget everything still due (``/_sim/reset``)."""
        self._queue.clear()


__all__ = ["SimTimers"]
