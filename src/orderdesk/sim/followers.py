"""Desks that keep this simulator's time (``clock = "simulator"``), so a clock move reaches them
before the news it makes.

A desk following the clock reads ``GET /_sim/clock?follower=<id>`` every 0.2 s
(:mod:`orderdesk.sim_time`). A move across 15:20 squares positions off at once and pushes the
broker's orders over the ticker; a desk that had not read the move yet stamped them with its old
time (the broker's square-off, adopted at "09:20"), or, across a night, gave them to the day
before. So ``POST /_sim/clock`` sets the clock, then waits until every follower that has read it
lately has read it again (at most :data:`WAIT_SECONDS`), and only then runs the milestones it
crossed; the housekeeping tick leaves them alone meanwhile (:attr:`ClockFollowers.moving`). A
follower's read is counted once its answer is written, before the milestones' pushes.
"""

from __future__ import annotations

import asyncio
import time

FRESH_SECONDS = 2.0
"""A follower that read the clock this recently is waited for: ten of its reads."""
WAIT_SECONDS = 2.0
"""The longest a clock move waits for its followers (one that stopped is not waited for long)."""


class ClockFollowers:
    """When each follower last read the clock; waits for them after a move."""

    def __init__(self) -> None:
        self._reads: dict[str, float] = {}
        self._read = asyncio.Event()
        self.moving = 0
        """Clock moves waiting for their followers: their milestones are not run yet."""

    def read(self, follower: str) -> None:
        """``follower`` has the clock as it now is (its answer is on its way)."""
        now = time.monotonic()
        self._reads[follower] = now
        for name, at in list(self._reads.items()):
            if now - at > FRESH_SECONDS:
                del self._reads[name]  # a desk that stopped following
        self._read.set()

    async def caught_up(self) -> None:
        """Return once every follower that read the clock lately has read it since this call
        began, or after :data:`WAIT_SECONDS`."""
        moved = time.monotonic()
        waiting = {name for name, at in self._reads.items() if moved - at <= FRESH_SECONDS}
        self.moving += 1
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                while any(self._reads.get(name, moved) < moved for name in waiting):
                    self._read.clear()
                    await self._read.wait()
        except TimeoutError:
            pass
        finally:
            self.moving -= 1


__all__ = ["FRESH_SECONDS", "WAIT_SECONDS", "ClockFollowers"]
