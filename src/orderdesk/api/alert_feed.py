"""Alerts for the dashboard: a :class:`Notifier` that remembers recent alerts and streams them.

The daemon hands the engine a :class:`~orderdesk.notify.fanout.FanoutNotifier` of apprise (or
the log) and this feed, so what reaches the operator's phone also shows on the dashboard.
Unlike apprise, the feed is not throttled: it is a bounded list on a screen, not a pager.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.notifier import Alert


@dataclass(frozen=True, slots=True)
class FeedEntry:
    alert: Alert
    at: datetime


class AlertFeed:
    """The last ``size`` alerts, plus live delivery to subscribers (bounded queues)."""

    def __init__(self, *, size: int = 50, clock: Clock | None = None) -> None:
        self._recent: deque[FeedEntry] = deque(maxlen=size)
        self._clock: Clock = clock or SystemClock()
        self._queues: set[asyncio.Queue[FeedEntry]] = set()

    async def notify(self, alert: Alert) -> None:
        entry = FeedEntry(alert=alert, at=self._clock.now())
        self._recent.append(entry)
        for queue in self._queues:
            if queue.full():
                # A stalled dashboard loses its oldest alerts, not the desk its memory.
                queue.get_nowait()
            queue.put_nowait(entry)

    def recent(self) -> list[FeedEntry]:
        return list(self._recent)

    def subscribe(self) -> AsyncIterator[FeedEntry]:
        """Alerts from now on; registered at once, before the first ``__anext__``."""
        queue: asyncio.Queue[FeedEntry] = asyncio.Queue(maxsize=self._recent.maxlen or 50)
        self._queues.add(queue)
        return self._drain(queue)

    async def _drain(self, queue: asyncio.Queue[FeedEntry]) -> AsyncIterator[FeedEntry]:
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)


__all__ = ["AlertFeed", "FeedEntry"]
