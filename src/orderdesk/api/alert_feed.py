"""Alerts for the dashboard: a :class:`Notifier` that remembers recent alerts and streams them.

The daemon hands the engine a :class:`~orderdesk.notify.fanout.FanoutNotifier` of apprise (or
the log) and this feed, so what reaches the operator's phone also shows on the dashboard.
Unlike apprise, the feed is not throttled: it is a bounded list on a screen, not a pager. An
alert raised again (its key and title) replaces its earlier entry, counted in ``repeats``: a
storm of one alert (the stream dropping every second) would otherwise push every other alert,
the day's close warning too, out of the list. The feed lives in memory: it starts empty at each
start of the desk (every alert is in the desk's log and went to the notifiers).
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
    """When it was last raised."""
    repeats: int = 1
    """How many times it was raised while in the feed (its key and title)."""


class AlertFeed:
    """The last ``size`` alerts, plus live delivery to subscribers (bounded queues)."""

    def __init__(self, *, size: int = 50, clock: Clock | None = None) -> None:
        self._recent: deque[FeedEntry] = deque(maxlen=size)
        self._clock: Clock = clock or SystemClock()
        self._queues: set[asyncio.Queue[FeedEntry]] = set()

    async def notify(self, alert: Alert) -> None:
        repeats = 1
        for earlier in self._recent:
            if (earlier.alert.key, earlier.alert.title) == (alert.key, alert.title):
                self._recent.remove(earlier)
                repeats += earlier.repeats
                break
        entry = FeedEntry(alert=alert, at=self._clock.now(), repeats=repeats)
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
