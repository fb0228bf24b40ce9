"""SQLite's hot paths on the driver: appends that never wait on the event loop, and the writer
that commits there when it can and on a worker thread when it would have to wait."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from orderdesk.domain import Event
from orderdesk.store import AsyncEventWriter, SqlEventStore, writer
from orderdesk.store.chain import encode_events

Lifecycle = Callable[[int], list[Event]]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
def store(db: Path) -> Iterator[SqlEventStore]:
    opened = SqlEventStore.open(db)
    yield opened
    opened.close()


@pytest.fixture
def other(db: Path, store: SqlEventStore) -> Iterator[sqlite3.Connection]:
    """Another connection to the same file (another process, as far as SQLite can tell)."""
    with closing(sqlite3.connect(db, isolation_level=None, timeout=0)) as connection:
        yield connection


def test_append_now_gives_way_to_a_writer_elsewhere(
    store: SqlEventStore, other: sqlite3.Connection, lifecycle: Lifecycle
) -> None:
    """While another connection holds the write lock, ``append_now`` writes nothing and says
    so (None) at once; once the lock is free it appends onto the same chain."""
    events = lifecycle(1)
    other.execute("BEGIN IMMEDIATE")
    assert store.append_now(encode_events(events)) is None
    other.execute("COMMIT")
    rows = store.append_now(encode_events(events))
    assert rows is not None
    assert [row.seq for row in rows] == list(range(1, len(events) + 1))
    assert [stored.event() for stored in store.read()] == events
    assert store.verify().ok


async def test_the_writer_commits_on_the_loop_when_nothing_is_in_the_way(
    store: SqlEventStore, lifecycle: Lifecycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the write lock free the writer's commit needs no worker thread: the events are
    durable when ``write`` returns, and no thread was asked for."""

    async def no_thread(*_args: Any) -> Any:
        raise AssertionError("a worker thread was used")

    monkeypatch.setattr(writer.asyncio, "to_thread", no_thread)
    events = lifecycle(1)
    async with AsyncEventWriter(store) as events_writer:
        await events_writer.write(events)
    assert [stored.event() for stored in store.read()] == events


class Watched:
    """The driver's connection, telling when a write transaction is asked for."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._asked = 0
        self._changed = threading.Condition()

    @property
    def in_transaction(self) -> bool:
        return self._connection.in_transaction

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        if sql == "BEGIN IMMEDIATE":
            with self._changed:
                self._asked += 1
                self._changed.notify_all()
        return self._connection.execute(sql, parameters)

    def close(self) -> None:
        self._connection.close()

    def asked(self, times: int) -> bool:
        """Wait (5 s at most) until a write transaction was asked for ``times`` times."""
        with self._changed:
            return self._changed.wait_for(lambda: self._asked >= times, timeout=5)


async def test_the_writer_hands_a_locked_commit_to_a_thread_that_waits(
    store: SqlEventStore, other: sqlite3.Connection, lifecycle: Lifecycle
) -> None:
    """With another connection holding the write lock, the writer's commit gives way on the
    loop and goes to a worker thread, which waits for the lock (it does not fail at once, as
    the loop's attempt does) and writes once the lock is let go."""
    assert store._driver is not None
    watched = Watched(store._driver._db)
    store._driver._db = watched  # type: ignore[assignment]
    events = lifecycle(1)
    other.execute("BEGIN IMMEDIATE")
    async with AsyncEventWriter(store) as events_writer:
        writing = asyncio.create_task(events_writer.write(events))
        # The loop's own attempt gives way at once; the thread's then waits on the lock.
        assert await asyncio.to_thread(watched.asked, 2)
        assert not writing.done()
        other.execute("COMMIT")
        await writing
    assert [stored.event() for stored in store.read()] == events
    assert store.verify().ok


def test_reads_on_the_driver_page_by_stream_and_kind(
    store: SqlEventStore, lifecycle: Lifecycle
) -> None:
    """Reads through the driver filter by stream, type and position exactly as the log holds
    them, across pages."""
    written = store.append([event for n in range(3) for event in lifecycle(n)])
    stream = written[0].stream
    assert list(store.read(stream=stream)) == [s for s in written if s.stream == stream]
    kind = written[1].type
    assert list(store.read(kind=kind, after=1)) == [
        s for s in written if s.type == kind and s.seq > 1
    ]
    assert list(store.read(after=2, before=5)) == written[2:4]


def test_a_relaxed_append_skips_the_disk_and_the_next_durable_one_waits_for_it(
    store: SqlEventStore, db: Path, lifecycle: Lifecycle
) -> None:
    """A commit with ``durable=False`` runs at ``synchronous=NORMAL`` (no fsync of the log);
    the store's own setting (FULL) is back for the next durable commit, and both land on one
    chain that another connection reads."""
    driver = store._driver
    assert driver is not None
    level = lambda: driver._db.execute("PRAGMA synchronous").fetchone()[0]  # noqa: E731
    store.append_encoded(encode_events(lifecycle(0)))
    assert level() == 2  # FULL
    store.append_encoded(encode_events(lifecycle(1)), durable=False)
    assert level() == 1  # NORMAL
    assert store.append_now(encode_events(lifecycle(2))) is not None
    assert level() == 2
    store.sync()
    with closing(sqlite3.connect(db)) as reader:
        assert reader.execute("SELECT count(*) FROM events").fetchone()[0] == 18
    assert store.verify().ok
