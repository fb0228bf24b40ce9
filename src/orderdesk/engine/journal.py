"""Where the engine's events go: the event log first, then whoever subscribed.

The engine takes the store through the :class:`~orderdesk.ports.store.EventStore` port, plus an
optional :class:`EventWriter` (the store package's ``AsyncEventWriter`` fits) that gives many
concurrent decisions one shared commit. Without a writer each append is a direct, synchronous
store call — right for the in-memory store and for tests, too slow for a durable one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from orderdesk.domain.events import Event
from orderdesk.ports.store import EventStore

log = logging.getLogger(__name__)


class EventWriter(Protocol):
    """Group commit over an event store."""

    async def write(
        self,
        events: Sequence[Event],
        *,
        durable: bool = True,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        """Commit ``events`` after every call made before this one, synced to disk, and call
        ``on_commit``. ``durable=False`` (news): the commit is only handed to the operating
        system and synced soon after, and may be made later, with the next commit: the call
        then returns at once and ``on_commit`` is called when it is made."""

    async def flushed(self) -> None:
        """Return once everything written so far is committed (news riding included)."""


class Journal:
    """Appends events durably: through the writer when there is one, else to the store."""

    def __init__(self, store: EventStore, writer: EventWriter | None = None) -> None:
        self.store = store
        self._writer = writer

    async def append(
        self,
        events: Sequence[Event],
        *,
        durable: bool = True,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        """Write ``events``, then call ``on_commit``. ``durable=False`` for broker news, which
        the broker can tell again (the desk reconciles at start-up): its commit need not wait
        for the disk, and with a writer it may ride with the next commit, this returning
        before it and ``on_commit`` called once it is made. Intents and the desk's own
        decisions are durable before the desk acts on them."""
        if not events:
            return
        if self._writer is not None:
            await self._writer.write(events, durable=durable, on_commit=on_commit)
            return
        self.store.append(events)
        if on_commit is not None:
            on_commit()

    async def flushed(self) -> None:
        """Return once the log holds every event written so far (news riding included)."""
        if self._writer is not None:
            await self._writer.flushed()


class Subscribers:
    """Fan-out of recorded events to async iterators, one unbounded queue per subscriber.

    Unbounded because dropping an event would make a subscriber's picture wrong without telling
    it; a subscriber that stops reading should leave its ``async for`` (which unsubscribes).
    """

    def __init__(self) -> None:
        # Each subscriber's queue, and the kinds of event it wants (None: every event).
        self._queues: dict[asyncio.Queue[Event | None], tuple[type[Event], ...] | None] = {}

    def publish(self, events: Sequence[Event]) -> None:
        for queue, kinds in self._queues.items():
            for event in events:
                if kinds is None or isinstance(event, kinds):
                    queue.put_nowait(event)

    def close(self) -> None:
        """End every subscription (their iterators finish)."""
        for queue in self._queues:
            queue.put_nowait(None)

    def subscribe(self, only: tuple[type[Event], ...] | None = None) -> AsyncIterator[Event]:
        """Events recorded from now on (only those of the kinds in ``only``, when given: a
        subscriber waiting for a rare event is not woken by every order's); registered at
        once, before the first ``__anext__``."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._queues[queue] = only
        return self._drain(queue)

    async def _drain(self, queue: asyncio.Queue[Event | None]) -> AsyncIterator[Event]:
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._queues.pop(queue, None)


__all__ = ["EventWriter", "Journal", "Subscribers"]
