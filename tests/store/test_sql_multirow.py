"""SQLite appends in multi-row INSERT statements, and the store's own WAL checkpoints.

On SQLite ``_DriverInsert`` writes rows 256 to a statement (the tail in halving power-of-two
sizes) instead of ``executemany``; other parameter styles keep ``executemany``. With SQLite's
automatic checkpoint turned off, the store copies the write-ahead log into the database itself
once ``CHECKPOINT_ROWS`` rows were appended, from ``append`` or from the async writer after it
has answered its callers. Checkpoints are observed through file sizes: until one runs, commits
only grow the ``-wal`` file; a checkpoint copies the pages into the main file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.engine import Connection

from orderdesk.domain import Event
from orderdesk.store import AsyncEventWriter, Head, SqlEventStore, sql
from orderdesk.store.chain import Row, encode_events, link
from orderdesk.store.codec import canonical_text

Lifecycle = Callable[[int], list[Event]]

SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES = 1000
"""SQLite's own checkpoint threshold (WAL frames), which the store turns off."""


class Events:
    """Distinct events on demand: consecutive order lifecycles, cut to the count asked for."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self._lifecycle = lifecycle
        self._next_order = 0

    def take(self, count: int) -> list[Event]:
        events: list[Event] = []
        while len(events) < count:
            events.extend(self._lifecycle(self._next_order))
            self._next_order += 1
        return events[:count]


@pytest.fixture
def make_events(lifecycle: Lifecycle) -> Events:
    """A source of fresh events for one test."""
    return Events(lifecycle)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The SQLite file of a test's store."""
    return tmp_path / "x.db"


@pytest.fixture
def store(db: Path) -> Iterator[SqlEventStore]:
    """A fresh store in an SQLite file, closed after the test."""
    opened = SqlEventStore.open(db)
    yield opened
    opened.close()


def wal(db: Path) -> Path:
    """The write-ahead log next to ``db``."""
    return db.with_name(db.name + "-wal")


def size(path: Path) -> int:
    return path.stat().st_size


# -- multi-row statements ----------------------------------------------------------------------

STATEMENTS = {
    1: [1],
    255: [128, 64, 32, 16, 8, 4, 2, 1],
    256: [256],
    257: [256, 1],
    300: [256, 32, 8, 4],
    700: [256, 256, 128, 32, 16, 8, 4],
    512: [256, 256],
    2: [2],
}
"""Append sizes around the 256-row statement, and the statements each should take."""


def test_appends_across_statement_boundaries_read_back_in_order(
    store: SqlEventStore, db: Path, make_events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Appends of sizes around 256 rows per statement go in full statements plus halving
    tails, keep every row in seq order in one intact chain, and read back exactly as append
    returned them."""
    statements: list[int] = []
    build = store._insert._statement

    def spy(rows: int) -> str:
        statements.append(rows)
        return build(rows)

    monkeypatch.setattr(store._insert, "_statement", spy)
    written: list[Event] = []
    appended = []
    for count, parts in STATEMENTS.items():
        events = make_events.take(count)
        statements.clear()
        rows = store.append(events)
        assert statements == parts
        assert [row.seq for row in rows] == list(range(len(written) + 1, len(written) + count + 1))
        written += events
        appended += rows

    read = list(store.read())
    assert read == appended
    assert [stored.seq for stored in read] == list(range(1, len(written) + 1))
    assert [stored.event() for stored in read] == written
    with closing(sqlite3.connect(db)) as raw:
        texts = [text for (text,) in raw.execute("SELECT payload FROM events ORDER BY seq")]
    assert texts == [canonical_text(event) for event in written]
    assert store.head().hash == read[-1].hash
    report = store.verify()
    assert (report.ok, report.rows) == (True, len(written))


def test_a_full_statement_fits_sqlites_variable_limit() -> None:
    """256 rows of 7 columns stay under the number of parameters this SQLite allows."""
    with closing(sqlite3.connect(":memory:")) as raw:
        limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    assert sql._DriverInsert.ROWS_PER_STATEMENT * len(Row._fields) <= limit


class RecordingConnection:
    """Stands in for a Connection: records what the insert hands to the driver."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def exec_driver_sql(self, statement: str, parameters: Any) -> None:
        self.calls.append((statement, parameters))


def rows_for(events: Sequence[Event]) -> list[Row]:
    return link(encode_events(events), Head())[0]


def test_postgresql_keeps_one_executemany_of_every_row(make_events: Events) -> None:
    """On psycopg (pyformat parameters) the insert stays one statement executed with a list
    of per-row parameters, the single-row INSERT SQLAlchemy compiled, whatever the count."""
    insert = sql._DriverInsert(psycopg.dialect())
    rows = rows_for(make_events.take(300))
    connection = RecordingConnection()
    insert.write(cast("Connection", connection), rows)
    assert len(connection.calls) == 1
    statement, parameters = connection.calls[0]
    assert statement == insert.sql
    assert statement.count("VALUES") == 1
    assert statement.count("%(seq)s") == 1
    assert parameters == [row._asdict() for row in rows]


def test_sqlite_splits_rows_into_multirow_statements(make_events: Events) -> None:
    """On SQLite (qmark parameters) the same rows go as a few multi-row statements whose
    flattened parameters are the rows' columns in order."""
    insert = sql._DriverInsert(sqlite.dialect())
    rows = rows_for(make_events.take(300))
    connection = RecordingConnection()
    insert.write(cast("Connection", connection), rows)
    columns = len(Row._fields)
    assert [len(parameters) // columns for _, parameters in connection.calls] == [256, 32, 8, 4]
    for statement, parameters in connection.calls:
        assert statement.count("?") == len(parameters)
    flat = [value for _, parameters in connection.calls for value in parameters]
    assert flat == [value for row in rows for value in row]


# -- checkpoints -------------------------------------------------------------------------------


def pragma(store: SqlEventStore, name: str) -> int:
    """A PRAGMA's value on the store's own (pooled) connection."""
    raw = store._engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"PRAGMA {name}")
        row = cursor.fetchone()
        cursor.close()
    finally:
        raw.close()
    assert row is not None
    return int(row[0])


def test_commits_never_checkpoint_by_themselves(
    store: SqlEventStore, db: Path, make_events: Events
) -> None:
    """SQLite's automatic checkpoint is off: a commit that takes the log past SQLite's
    default threshold still leaves the database file as it was."""
    assert pragma(store, "wal_autocheckpoint") == 0
    before = size(db)
    # append_encoded: the store's own checkpoint (which append() would run) stays out of it.
    store.append_encoded(encode_events(make_events.take(12_000)))
    frames = size(wal(db)) // (pragma(store, "page_size") + 24)
    assert frames > 1.5 * SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES
    assert size(db) == before


def test_checkpoint_if_due_copies_the_log_once_enough_rows_were_appended(
    store: SqlEventStore, db: Path, make_events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below CHECKPOINT_ROWS a checkpoint is not due and the database file stays put; once
    appends reach it, checkpoint_if_due copies the log in; the count then starts again."""
    monkeypatch.setattr(sql, "CHECKPOINT_ROWS", 60)
    start = size(db)
    store.append_encoded(encode_events(make_events.take(40)))
    store.checkpoint_if_due()
    assert size(db) == start
    store.append_encoded(encode_events(make_events.take(20)))
    assert size(db) == start  # appending alone never checkpoints
    store.checkpoint_if_due()
    grown = size(db)
    assert grown > start
    store.append_encoded(encode_events(make_events.take(59)))
    store.checkpoint_if_due()
    assert size(db) == grown  # 59 rows since the last checkpoint: not due yet
    store.append_encoded(encode_events(make_events.take(1)))
    store.checkpoint_if_due()
    assert size(db) > grown
    assert store.verify().ok


def test_append_checkpoints_when_due(
    store: SqlEventStore, db: Path, make_events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """append() runs the due checkpoint itself, so a store used without the writer does not
    grow its log without bound."""
    monkeypatch.setattr(sql, "CHECKPOINT_ROWS", 60)
    start = size(db)
    store.append(make_events.take(59))
    assert size(db) == start
    store.append(make_events.take(1))
    assert size(db) > start


async def test_the_writer_checkpoints_after_its_commits(
    store: SqlEventStore, db: Path, make_events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes through AsyncEventWriter past CHECKPOINT_ROWS have the log copied into the
    database by the time the writer is closed (which waits for its flusher)."""
    monkeypatch.setattr(sql, "CHECKPOINT_ROWS", 60)
    start = size(db)
    writer = AsyncEventWriter(store)
    await writer.write(make_events.take(40))
    assert size(db) == start
    await writer.write(make_events.take(40))
    await writer.aclose()
    assert writer.commits == 2
    assert size(db) > start  # asserted before store.close(), which would checkpoint anyway
    assert store.verify().ok


async def test_writer_write_returns_none_once_durable_without_decoding(
    store: SqlEventStore, db: Path, make_events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write() returns None once the events are committed: another connection to the file
    reads them back exactly, and no row was decoded on the way."""

    def refuse(_row: Row) -> None:
        raise AssertionError("write() decoded a row")

    monkeypatch.setattr(Row, "to_stored", refuse)
    events = make_events.take(300)
    async with AsyncEventWriter(store) as writer:
        assert await writer.write(events[:100]) is None
        with closing(sqlite3.connect(db)) as raw:
            count = raw.execute("SELECT count(*) FROM events").fetchone()[0]
        assert count == 100
        assert await writer.write(events[100:]) is None
        with closing(sqlite3.connect(db)) as raw:
            stored = raw.execute("SELECT seq, type, payload FROM events ORDER BY seq").fetchall()
    assert stored == [
        (seq, type(event).__name__, canonical_text(event))
        for seq, event in enumerate(events, start=1)
    ]
    monkeypatch.undo()
    assert [s.event() for s in store.read()] == events
    assert store.verify().ok
