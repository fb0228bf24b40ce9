"""``AsyncEventWriter``: group commit, per-caller results, failure isolation, lifecycle."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import pytest

from orderdesk.domain import Event, KillSwitchChanged
from orderdesk.errors import StoreError
from orderdesk.ports.store import StoredEvent, VerifyReport
from orderdesk.store import AsyncEventWriter, InMemoryEventStore, SqlEventStore, WriterState

Lifecycle = Callable[[int], list[Event]]


class GatedStore:
    """A plain ``EventStore`` (no encoded fast path) whose first append waits for a gate.

    Holding the first commit open lets the test queue many calls behind it deterministically,
    the way a slow fsync would.
    """

    def __init__(self) -> None:
        self.inner = InMemoryEventStore()
        self.gate = threading.Event()
        self.started = threading.Event()
        self.batch_sizes: list[int] = []

    def append(self, events: Sequence[Event]) -> list[StoredEvent]:
        self.started.set()
        self.gate.wait(timeout=10)
        self.batch_sizes.append(len(events))
        return self.inner.append(events)

    def read(self, **query: Any) -> Iterator[StoredEvent]:
        return self.inner.read(**query)

    def latest(self, kind: str) -> StoredEvent | None:
        return self.inner.latest(kind)

    def verify(self) -> VerifyReport:
        return self.inner.verify()

    def close(self) -> None:
        self.inner.close()


async def test_concurrent_appends_share_commits(lifecycle: Lifecycle) -> None:
    """Calls queued behind a commit in flight are written together in the next one."""
    store = GatedStore()
    async with AsyncEventWriter(store) as writer:
        first = asyncio.create_task(writer.append(lifecycle(0)))
        await asyncio.to_thread(store.started.wait, 5)
        rest = [asyncio.create_task(writer.append(lifecycle(n))) for n in range(1, 21)]
        await asyncio.sleep(0)  # let every task enqueue before the gate opens
        store.gate.set()
        await asyncio.gather(first, *rest)
    assert store.batch_sizes == [6, 120]
    assert writer.commits == 2
    assert store.verify().ok


async def test_each_caller_gets_its_own_rows_in_order(lifecycle: Lifecycle) -> None:
    """Every caller's rows are its own events, contiguous and in the order given."""
    store = InMemoryEventStore()
    async with AsyncEventWriter(store) as writer:
        results = await asyncio.gather(*(writer.append(lifecycle(n)) for n in range(30)))
    for n, rows in enumerate(results):
        assert [row.event() for row in rows] == lifecycle(n)
        assert [row.seq for row in rows] == list(range(rows[0].seq, rows[0].seq + 6))
    assert store.last_seq() == 180
    assert store.verify().ok


async def test_max_batch_bounds_a_commit(lifecycle: Lifecycle) -> None:
    """No commit holds more events than ``max_batch`` (whole calls are never split)."""
    store = GatedStore()
    async with AsyncEventWriter(store, max_batch=12) as writer:
        first = asyncio.create_task(writer.append(lifecycle(0)))
        await asyncio.to_thread(store.started.wait, 5)
        rest = [asyncio.create_task(writer.append(lifecycle(n))) for n in range(1, 6)]
        await asyncio.sleep(0)
        store.gate.set()
        await asyncio.gather(first, *rest)
    assert store.batch_sizes == [6, 12, 12, 6]


async def test_an_unencodable_event_fails_only_its_caller(lifecycle: Lifecycle) -> None:
    """A naive datetime raises in its own caller; the other callers' events are written."""
    store = InMemoryEventStore()
    bad = KillSwitchChanged(at=datetime(2026, 1, 5, 9, 15), engaged=True, reason="naive")
    async with AsyncEventWriter(store) as writer:
        outcomes = await asyncio.gather(
            writer.append(lifecycle(0)),
            writer.append([bad]),
            writer.append(lifecycle(1)),
            return_exceptions=True,
        )
    assert isinstance(outcomes[1], ValueError)
    assert store.last_seq() == 12
    assert store.verify().ok


async def test_a_failed_batch_is_retried_call_by_call(lifecycle: Lifecycle) -> None:
    """When a shared commit fails, each call is retried alone, so only the culprit fails."""

    class Picky(GatedStore):
        def append(self, events: Sequence[Event]) -> list[StoredEvent]:
            if any(getattr(e, "order_id", "") == lifecycle(2)[0].stream for e in events):
                raise StoreError("refused")
            return super().append(events)

    store = Picky()
    async with AsyncEventWriter(store) as writer:
        first = asyncio.create_task(writer.append(lifecycle(0)))
        await asyncio.to_thread(store.started.wait, 5)
        queued = [asyncio.create_task(writer.append(lifecycle(n))) for n in (1, 2, 3)]
        await asyncio.sleep(0)
        store.gate.set()
        outcomes = await asyncio.gather(first, *queued, return_exceptions=True)
    assert [isinstance(o, StoreError) for o in outcomes] == [False, False, True, False]
    assert store.inner.last_seq() == 18


async def test_a_cancelled_caller_still_has_its_events_written(lifecycle: Lifecycle) -> None:
    """Cancelling the awaiting task does not take its events out of the log."""
    store = GatedStore()
    async with AsyncEventWriter(store) as writer:
        task = asyncio.create_task(writer.append(lifecycle(0)))
        await asyncio.to_thread(store.started.wait, 5)
        task.cancel()
        store.gate.set()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert store.inner.last_seq() == 6


async def test_close_drains_then_refuses(lifecycle: Lifecycle) -> None:
    """Calls made before close are written; calls after it raise StoreError."""
    store = InMemoryEventStore()
    writer = AsyncEventWriter(store)
    pending = asyncio.create_task(writer.append(lifecycle(0)))
    await asyncio.sleep(0)
    await writer.aclose()
    assert len(await pending) == 6
    assert writer.state is WriterState.CLOSED
    with pytest.raises(StoreError) as exc_info:
        await writer.append(lifecycle(1))
    assert "closed" in str(exc_info.value)


async def test_the_writer_commits_to_a_real_store(store_url: str, lifecycle: Lifecycle) -> None:
    """Through the real store, many concurrent callers give one intact chain in few commits."""
    with SqlEventStore(store_url) as store:
        async with AsyncEventWriter(store) as writer:
            await asyncio.gather(*(writer.append(lifecycle(n)) for n in range(50)))
        report = store.verify()
    assert (report.ok, report.rows) == (True, 300)
    assert writer.commits < 50


def test_max_batch_must_be_positive() -> None:
    """A writer that could never take a call is refused at construction."""
    with pytest.raises(ValueError, match="max_batch") as exc_info:
        AsyncEventWriter(InMemoryEventStore(), max_batch=0)
    assert "at least 1" in str(exc_info.value)


class WatchedStore(InMemoryEventStore):
    """A store that records each commit (its durability, its events' streams) and each sync the
    writer asks for; its commits can be awaited, and made to fail while ``failing`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.durable: list[bool] = []
        self.commits: list[list[str]] = []
        """Each commit's events, by stream."""
        self.committed = asyncio.Event()
        self.failing = False
        self.syncs = 0
        self.synced = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def append_encoded(self, encoded: Sequence[Any], *, durable: bool = True) -> list[Any]:
        if self.failing:
            raise StoreError("disk full")
        self.durable.append(durable)
        rows = super().append_encoded(encoded, durable=durable)
        self.commits.append([row.stream for row in rows])
        self._loop.call_soon_threadsafe(self.committed.set)
        return rows

    def sync(self) -> None:
        self.syncs += 1
        self._loop.call_soon_threadsafe(self.synced.set)


async def test_a_relaxed_commit_is_synced_soon_after(lifecycle: Lifecycle) -> None:
    """News (``durable=False``) is committed without the disk, then synced off the loop."""
    store = WatchedStore()
    async with AsyncEventWriter(store, sync_after=0.0) as writer:
        await writer.write(lifecycle(0), durable=False)
        await writer.flushed()
        assert store.durable == [False]
        await asyncio.wait_for(store.synced.wait(), timeout=5)
    assert store.syncs == 1


async def test_a_durable_commit_covers_the_relaxed_ones_before_it(lifecycle: Lifecycle) -> None:
    """The log is synced as a whole: after a durable commit nothing is left to sync, and a
    batch holding one durable call is durable."""
    store = WatchedStore()
    async with AsyncEventWriter(store, sync_after=3600.0) as writer:
        await writer.write(lifecycle(0), durable=False)
        await writer.flushed()
        await writer.write(lifecycle(1))
        await asyncio.gather(
            writer.write(lifecycle(2), durable=False), writer.write(lifecycle(3), durable=True)
        )
    assert store.durable[:2] == [False, True]
    assert store.durable[-1] is True
    assert store.syncs == 0  # closing found nothing unsynced


async def test_closing_syncs_what_is_not_yet_synced(lifecycle: Lifecycle) -> None:
    """A relaxed commit is never left unsynced by a clean shutdown."""
    store = WatchedStore()
    async with AsyncEventWriter(store, sync_after=3600.0) as writer:
        await writer.write(lifecycle(0), durable=False)
        assert store.syncs == 0
    assert store.syncs == 1


async def test_relaxed_commits_reach_the_real_store(store_url: str, lifecycle: Lifecycle) -> None:
    """SQLite (synchronous=NORMAL for the commit) and PostgreSQL (synchronous_commit=off)
    both keep relaxed and durable commits in one intact chain; sync() makes them durable."""
    with SqlEventStore(store_url) as store:
        async with AsyncEventWriter(store, sync_after=0.0) as writer:
            await asyncio.gather(
                *(writer.write(lifecycle(n), durable=n % 2 == 0) for n in range(10))
            )
        store.sync()
        report = store.verify()
    assert (report.ok, report.rows) == (True, 60)


def _streams(events: Sequence[Event]) -> list[str]:
    return [getattr(event, "order_id", "") for event in events]


async def test_news_rides_with_the_next_commit(lifecycle: Lifecycle) -> None:
    """A placement's answer and the next intent share one commit: the news is queued, applied
    by its caller at once, and written with whatever is committed next, in order."""
    store = WatchedStore()
    async with AsyncEventWriter(store, news_hold=3600.0) as writer:
        await writer.write(lifecycle(0), durable=False)
        assert store.commits == []  # returned before any commit
        await writer.write(lifecycle(1))
        assert store.commits == [_streams(lifecycle(0)) + _streams(lifecycle(1))]
    assert writer.commits == 1
    assert store.verify().ok


async def test_news_alone_is_committed_once_its_hold_is_over(lifecycle: Lifecycle) -> None:
    """With nothing else to ride with, news gets a commit of its own after ``news_hold``."""
    store = WatchedStore()
    async with AsyncEventWriter(store, news_hold=0.01) as writer:
        await writer.write(lifecycle(0), durable=False)
        await writer.write(lifecycle(1), durable=False)
        await asyncio.wait_for(store.committed.wait(), timeout=5)
        assert store.commits == [_streams(lifecycle(0)) + _streams(lifecycle(1))]


async def test_flushed_commits_the_riding_news_at_once(lifecycle: Lifecycle) -> None:
    """A reader that must see every applied event awaits ``flushed()``: it does not wait out
    the hold."""
    store = WatchedStore()
    async with AsyncEventWriter(store, news_hold=3600.0) as writer:
        await writer.write(lifecycle(0), durable=False)
        await asyncio.wait_for(writer.flushed(), timeout=5)
        assert [row.event() for row in store.read()] == lifecycle(0)
        await writer.flushed()  # nothing left: returns at once
    assert writer.commits == 1


async def test_closing_writes_the_riding_news(lifecycle: Lifecycle) -> None:
    """A clean shutdown never leaves news unwritten."""
    store = WatchedStore()
    async with AsyncEventWriter(store, news_hold=3600.0) as writer:
        await writer.write(lifecycle(0), durable=False)
    assert [row.event() for row in store.read()] == lifecycle(0)


async def test_a_failed_commit_writes_nothing_past_the_news(lifecycle: Lifecycle) -> None:
    """The desk applied the news already: when its commit fails, the intent after it fails too
    (its caller hears why), news waits for its own commit meanwhile (so its caller hears too),
    and once the store takes commits again the news goes first."""
    store = WatchedStore()
    async with AsyncEventWriter(store, news_hold=3600.0) as writer:
        await writer.write(lifecycle(0), durable=False)
        store.failing = True
        with pytest.raises(StoreError, match="disk full"):
            await writer.write(lifecycle(1))
        with pytest.raises(StoreError, match="disk full"):
            await writer.write(lifecycle(2), durable=False)
        assert store.commits == []
        store.failing = False
        await writer.write(lifecycle(3))
        assert store.commits == [_streams(lifecycle(0)) + _streams(lifecycle(3))]
        await writer.write(lifecycle(4), durable=False)  # healthy again: it rides
        assert len(store.commits) == 1
    assert [row.stream for row in store.read()] == [
        *_streams(lifecycle(0)),
        *_streams(lifecycle(3)),
        *_streams(lifecycle(4)),
    ]
    assert store.verify().ok


async def test_without_a_hold_news_waits_for_its_commit(lifecycle: Lifecycle) -> None:
    """``news_hold=0``: every write returns only after its own commit."""
    store = WatchedStore()
    async with AsyncEventWriter(store, news_hold=0) as writer:
        await writer.write(lifecycle(0), durable=False)
        assert store.commits == [_streams(lifecycle(0))]


def test_news_hold_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="news_hold"):
        AsyncEventWriter(InMemoryEventStore(), news_hold=-1)


async def test_a_failing_announcement_is_no_failure_of_the_log(lifecycle: Lifecycle) -> None:
    """``on_commit`` raising (a subscriber's fault) is logged: the write still succeeds, durable
    or riding, and the writer goes on."""

    def broken() -> None:
        raise RuntimeError("subscriber broke")

    store = WatchedStore()
    async with AsyncEventWriter(store, news_hold=3600.0) as writer:
        await writer.write(lifecycle(0), durable=False, on_commit=broken)
        await writer.write(lifecycle(1), on_commit=broken)
        await writer.write(lifecycle(2))
    assert [row.stream for row in store.read()] == [
        *_streams(lifecycle(0)),
        *_streams(lifecycle(1)),
        *_streams(lifecycle(2)),
    ]
