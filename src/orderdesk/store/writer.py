"""``AsyncEventWriter``: group commit for many asyncio tasks sharing one event store.

Every durable commit costs an fsync, whatever it holds. Tasks that append concurrently are
therefore queued and written together: one flusher task takes everything that is waiting (up to
``max_batch`` events), writes it in one transaction (``append_encoded`` when the store takes
encoded events, else ``append``), and resolves each caller's future with its own rows. While a
commit is in flight the next batch gathers by itself, so there is no timer and no added latency
when the writer is idle. A store with ``checkpoint_if_due`` (SQLite) is given its housekeeping
after the callers have their answer, before the next batch is written.

Where the commit runs: a store that offers ``append_now`` (SQLite) commits on the event loop's
own thread whenever it need not wait for the write lock, and on a worker thread otherwise
(another process appending, a checkpoint running; PostgreSQL always). The loop then stands
still for the commit's fsync (0.2 ms on a quiet machine of ours, 0.5 ms under load), but the
hop cost more: with the desk, a strategy and the broker sharing two cores, handing each commit
to a worker thread and back (the GIL with it) cost 0.45 ms of CPU and 0.6 ms of latency per
order, p50 2.8 against 2.2 ms (three alternating runs each of ``bench_api_path``'s daemon;
several milliseconds more under load). Batching is unchanged: what arrives during a commit is
read once it ends and goes into the next one.

Durable and relaxed appends: ``write(events, durable=False)`` is for what the desk can learn
again from the broker (its news: acceptances, fills, statuses). Such a commit does not wait for
the disk, only for the operating system (it survives the daemon being killed, not a power cut),
and the writer syncs the log within ``sync_after`` seconds of it, off the loop; a durable commit
(an intent, before it goes out; any desk decision) syncs it at once, since the log is synced as a
whole. So a power cut can lose at most the last second of broker news, which start-up
reconciliation reads back from the broker, and never an intent the desk acted on. A batch is
durable if any of its calls is. What it buys: the placement's reply no longer waits for an
fsync on a strategy's path (``bench_api_path``): a commit of two events took 233 µs of wall time
and 118 µs of CPU at ``synchronous=FULL`` against 42 and 34 µs at ``NORMAL`` on this machine's
ext4 (2,000 commits in a loop, sqlite3 alone).

Riding with the next commit: ``write(events, durable=False)`` (news, which the broker can tell
again) does not wait for a commit of its own. Its events are queued, in order with everything
else, and go out with the next commit the writer makes: the next intent's, which follows within
milliseconds when signals keep coming, or a commit of their own ``news_hold`` seconds later. The
caller applies them at once. A placement's answer was a commit of its own, about 0.1 ms of the
desk's CPU per order of its 1 (``bench_api_path``'s daemon: 0.93-0.97 ms per order against
0.83-0.91 riding, three alternating runs of 1,500 signals each); riding with the next intent it
costs nearly nothing. What it gives up: a killed daemon loses the news of its last
``news_hold`` seconds as a power cut loses that of its last second, and start-up
reconciliation reads both back from the broker. The log stays a prefix of what the desk
applied: a commit that fails keeps the riding events first in line, so nothing is written past
them, and until a commit succeeds again news waits for its own commit (so its caller hears of
the failure, as before). A reader of the log that must see every event applied so far awaits
:meth:`AsyncEventWriter.flushed` first.

Guarantees a caller can lean on:

- ``await writer.append(events)`` returns only after the commit holding those events (synced
  to disk unless ``durable=False``); so does ``write``, but for news, which rides with the next
  commit (above);
- one call's events stay together and in order; calls are written in the order they arrive;
- a call that has been made is written even if the awaiting task is then cancelled — the
  engine records intent before acting, so a half-known write would be worse than a late one;
- one caller's bad event (say, a naive datetime) fails that caller only: events are encoded
  on the caller's own task, before they join a batch (so tasks that are not waiting on the
  commit in flight can encode while it fsyncs); should a batch still fail, its calls are
  retried one transaction each.

Throughput is that of a batched ``append`` less the per-call asyncio cost; what the writer
buys is that many independent tasks share commits without coordinating (see
``bench/bench_store.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from orderdesk.domain.events import Event
from orderdesk.errors import StoreError
from orderdesk.ports.store import EventStore, StoredEvent
from orderdesk.store.chain import EncodedAppender, Row, encode_events

DEFAULT_MAX_BATCH = 2000
DEFAULT_SYNC_AFTER = 1.0
"""Seconds within which a relaxed (``durable=False``) commit is synced to disk."""
DEFAULT_NEWS_HOLD = 0.05
"""Seconds news written with ``write(durable=False)`` waits for a commit to ride with."""
RETRY_AFTER = 1.0
"""Seconds before news whose commit failed is tried again when nothing else is written."""

log = logging.getLogger(__name__)


class WriterState(StrEnum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(slots=True)
class _Request:
    items: list[Any]
    """Encoded events when the store takes them (:class:`EncodedAppender`), else the events."""
    future: asyncio.Future[list[Any]] | None
    """Resolved with the rows written (:class:`Row`, or the store's ``StoredEvent``); None for
    news riding with the next commit, which nobody waits for."""
    durable: bool
    on_commit: Callable[[], None] | None = None
    """For news riding with a later commit: called by the writer once that commit is made."""


class AsyncEventWriter:
    """Batches concurrent appends into shared transactions; use as ``async with``."""

    def __init__(
        self,
        store: EventStore,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        sync_after: float = DEFAULT_SYNC_AFTER,
        news_hold: float = DEFAULT_NEWS_HOLD,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if news_hold < 0:
            raise ValueError("news_hold must not be negative")
        self._encode: Callable[[Sequence[Event]], list[Any]]
        self._write: Callable[[list[Any], bool], list[Row] | list[StoredEvent]]
        if isinstance(store, EncodedAppender):
            appender = store
            self._encode = encode_events
            self._write = lambda items, durable: appender.append_encoded(items, durable=durable)
        else:
            self._encode, self._write = list, lambda items, _durable: store.append(items)
        self._max_batch = max_batch
        self._append_now: Callable[..., list[Row] | None] | None = getattr(
            store, "append_now", None
        )
        self._sync: Callable[[], None] | None = getattr(store, "sync", None)
        self._sync_after = sync_after
        self._syncing: asyncio.Task[None] | None = None
        self._unsynced = False
        """A relaxed commit has been made that no sync or durable commit has covered yet."""
        self._checkpoint: Callable[[], None] | None = getattr(store, "checkpoint_if_due", None)
        self._checkpoint_due: Callable[[], bool] = getattr(store, "checkpoint_due", _always)
        self._pending: deque[_Request] = deque()
        self._news_hold = news_hold
        self._riding = 0
        """Requests in ``_pending`` that ride with the next commit (nobody waits for them)."""
        self._awaited = 0
        """Requests in ``_pending`` whose callers wait for their commit."""
        self._ride_now = False
        """The hold is over: the riding requests are written even if nothing else is."""
        self._hold: asyncio.TimerHandle | None = None
        self._failed: Exception | None = None
        """Why the last commit failed, until one succeeds: news then waits for its commit."""
        self._busy = False
        """A batch is being written."""
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.state = WriterState.OPEN
        self.commits = 0
        """Transactions written so far (appends divided by this is the batching achieved)."""

    async def __aenter__(self) -> Self:
        self._start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def append(self, events: Sequence[Event], *, durable: bool = True) -> list[StoredEvent]:
        """Store ``events`` (together, in order) and return their rows once committed."""
        rows = await self._submit(events, durable)
        assert rows is not None  # only news written with write() rides
        return [row.to_stored() if isinstance(row, Row) else row for row in rows]

    async def write(
        self,
        events: Sequence[Event],
        *,
        durable: bool = True,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        """Store ``events`` (together, in order) and return once committed: :meth:`append`
        without decoding the rows again, for a caller that holds the events already.
        ``durable=False`` (news the broker can tell again): queued to ride with the next
        commit, made within ``news_hold`` seconds, without waiting for the disk, and synced
        within ``sync_after`` seconds of it (see the module's doc). ``on_commit`` is called
        once the events are committed: before this returns, or by the writer when news rides
        with a later commit (so what it announces is always in the log)."""
        if await self._submit(events, durable, ride=not durable, on_commit=on_commit) is None:
            return  # riding: on_commit is the writer's to call
        if on_commit is not None:
            _announce(on_commit)  # what it announces failing is no failure of the log

    async def flushed(self) -> None:
        """Return once every event written so far is committed, the news riding with the next
        commit included: for a reader of the log that must find all that the desk applied."""
        if self.state is WriterState.OPEN and (self._pending or self._busy):
            await self._submit((), False, barrier=True)

    async def _submit(
        self,
        events: Sequence[Event],
        durable: bool,
        *,
        ride: bool = False,
        barrier: bool = False,
        on_commit: Callable[[], None] | None = None,
    ) -> list[Row] | list[StoredEvent] | None:
        """The rows once committed; None for news queued to ride with a later commit."""
        if self.state is not WriterState.OPEN:
            raise StoreError("the event writer is closed")
        if not events and not barrier:
            return []
        items = self._encode(events)
        wakeup = self._start()
        if ride and self._news_hold > 0 and self._failed is None:
            self._pending.append(_Request(items, None, durable, on_commit))
            self._riding += 1
            if self._hold is None:
                self._hold = asyncio.get_running_loop().call_later(self._news_hold, self._ride)
            return None
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Request(items, future, durable))
        self._awaited += 1
        wakeup.set()
        # Shielded: cancelling the caller must not pull events out of a batch being written.
        return await asyncio.shield(future)

    def _ride(self) -> None:
        """The hold is over: write the riding news even though nothing else came."""
        self._hold = None
        self._ride_now = True
        if self._wakeup is not None:
            self._wakeup.set()

    async def aclose(self) -> None:
        """Write everything already accepted, then stop; later appends raise StoreError."""
        if self.state is WriterState.CLOSED:
            return
        self.state = WriterState.CLOSING
        if self._task is not None and self._wakeup is not None:
            self._wakeup.set()
            await self._task
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
        if self._syncing is not None:
            self._syncing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._syncing
        if self._unsynced:
            await self._sync_now()
        self.state = WriterState.CLOSED

    # -- the flusher ---------------------------------------------------------------------------

    def _start(self) -> asyncio.Event:
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(self._wakeup), name="orderdesk-event-writer"
            )
        return self._wakeup

    async def _run(self, wakeup: asyncio.Event) -> None:
        try:
            while True:
                await wakeup.wait()
                wakeup.clear()
                while self._pending and (
                    self._awaited or self._ride_now or self.state is not WriterState.OPEN
                ):
                    self._busy = True
                    try:
                        await self._flush(self._take())
                    finally:
                        self._busy = False
                    if not self._riding and self._hold is not None:
                        self._hold.cancel()  # the next news is held afresh
                        self._hold = None
                if not self._riding:
                    self._ride_now = False
                if self.state is not WriterState.OPEN:
                    return
        finally:
            # Only reached with requests left if the flusher itself was cancelled or broke:
            # never leave a caller waiting forever.
            lost = 0
            while self._pending:
                request = self._pending.popleft()
                if request.future is None:
                    lost += len(request.items)
                elif not request.future.done():
                    request.future.set_exception(StoreError("the event writer stopped"))
            if lost:
                log.error(
                    "%d events of broker news were not written (the writer stopped); the next "
                    "start's reconciliation reads them from the broker again",
                    lost,
                )

    def _take(self) -> list[_Request]:
        batch = [self._pending.popleft()]
        size = len(batch[0].items)
        while self._pending and size + len(self._pending[0].items) <= self._max_batch:
            request = self._pending.popleft()
            batch.append(request)
            size += len(request.items)
        for request in batch:
            if request.future is None:
                self._riding -= 1
            else:
                self._awaited -= 1
        return batch

    async def _flush(self, batch: list[_Request]) -> None:
        items = [item for request in batch for item in request.items]
        if not items:
            for request in batch:
                _settle(request, [])
            return
        durable = any(request.durable for request in batch)
        riding = [request for request in batch if request.future is None]
        try:
            rows = await self._commit(items, durable)
        except Exception as exc:
            if riding:
                self._failed_with_news(batch, riding, exc)
                return
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            for request in batch:
                try:
                    _settle(request, await self._commit(request.items, request.durable))
                except Exception as single_exc:
                    _settle(request, single_exc)
            return
        self._failed = None
        start = 0
        for request in batch:
            end = start + len(request.items)
            _settle(request, rows[start:end])
            start = end
            if request.on_commit is not None:
                _announce(request.on_commit)
        if self._checkpoint is not None and self._checkpoint_due():
            # After the callers have their answer: the copy overlaps what they do next. Asked
            # first, as most commits have none due: a thread hop for nothing was a second hop
            # per commit.
            try:
                await asyncio.to_thread(self._checkpoint)
            except Exception:
                log.warning("checkpointing the event store failed", exc_info=True)

    def _failed_with_news(
        self, batch: list[_Request], riding: list[_Request], exc: Exception
    ) -> None:
        """A batch holding news that was applied already failed: the news stays first in line
        (nothing may be written past it, or the log would skip what the desk applied), the
        callers waiting in the batch hear why, and news waits for its own commit until one
        succeeds. Closing, the news is given up: the next start's reconciliation reads it back."""
        for request in batch:
            if request.future is not None:
                _settle(request, exc)
        lost = sum(len(request.items) for request in riding)
        if self.state is not WriterState.OPEN:
            log.error(
                "%d events of broker news could not be written before closing (%s); the next "
                "start's reconciliation reads them from the broker again",
                lost,
                exc,
            )
            return
        if self._failed is None:
            log.error(
                "%d events of broker news could not be written (%s); they are tried again "
                "before anything else is written",
                lost,
                exc,
            )
        self._failed = exc
        self._pending.extendleft(reversed(riding))
        self._riding += len(riding)
        self._ride_now = False
        if self._hold is None:
            self._hold = asyncio.get_running_loop().call_later(RETRY_AFTER, self._ride)

    async def _commit(self, items: list[Any], durable: bool) -> list[Row] | list[StoredEvent]:
        now = self._append_now(items, durable=durable) if self._append_now is not None else None
        # A worker thread when the commit would wait for a lock: that must not stall the loop.
        rows = now if now is not None else await asyncio.to_thread(self._write, items, durable)
        self.commits += 1
        if durable:
            self._unsynced = False  # the log is synced as a whole: earlier commits with it
        elif self._sync is not None:
            self._unsynced = True
            if self._syncing is None or self._syncing.done():
                self._syncing = asyncio.get_running_loop().create_task(
                    self._sync_soon(), name="orderdesk-event-sync"
                )
        return rows

    async def _sync_soon(self) -> None:
        await asyncio.sleep(self._sync_after)
        if self._unsynced:
            await self._sync_now()

    async def _sync_now(self) -> None:
        assert self._sync is not None
        self._unsynced = False  # cleared first: a relaxed commit made meanwhile sets it again
        try:
            await asyncio.to_thread(self._sync)
        except Exception:
            self._unsynced = True
            log.warning("syncing the event store failed", exc_info=True)


def _always() -> bool:
    return True


def _announce(on_commit: Callable[[], None]) -> None:
    try:
        on_commit()
    except Exception:
        log.exception("announcing committed news failed")


def _settle(request: _Request, outcome: list[Any] | Exception) -> None:
    future = request.future
    if future is None or future.done():
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


__all__ = [
    "DEFAULT_MAX_BATCH",
    "DEFAULT_NEWS_HOLD",
    "DEFAULT_SYNC_AFTER",
    "AsyncEventWriter",
    "WriterState",
]
