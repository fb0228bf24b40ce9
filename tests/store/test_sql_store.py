"""``SqlEventStore`` on both backends (an SQLite file, a PostgreSQL database): round trips,
reading, reopening, several writers sharing one log; and SQLite's durability settings and
migrations."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from orderdesk.domain import Event
from orderdesk.errors import StoreError
from orderdesk.store import GENESIS_HASH, SqlEventStore, sql
from orderdesk.store.migrate import HEAD_REVISION, MIGRATIONS, script_head

Lifecycle = Callable[[int], list[Event]]


def test_append_returns_rows_that_decode_to_the_same_events(
    sql_store: SqlEventStore, lifecycle: Lifecycle
) -> None:
    """What append returns and what read gives back both decode to the events written."""
    events = lifecycle(0)
    appended = sql_store.append(events)
    read = list(sql_store.read())
    assert [s.event() for s in appended] == events
    assert [s.event() for s in read] == events
    assert read == appended


def test_appends_continue_one_chain(sql_store: SqlEventStore, lifecycle: Lifecycle) -> None:
    """A second append starts at the next seq and links to the first append's last hash."""
    first = sql_store.append(lifecycle(0))
    second = sql_store.append(lifecycle(1))
    assert first[0].prev_hash == GENESIS_HASH
    assert second[0].seq == 7
    assert second[0].prev_hash == first[-1].hash
    assert sql_store.last_seq() == 12
    assert sql_store.head().hash == second[-1].hash


def test_an_empty_append_writes_nothing(sql_store: SqlEventStore) -> None:
    """Appending no events returns no rows and leaves the log empty."""
    assert sql_store.append([]) == []
    assert sql_store.last_seq() == 0


def test_read_filters_by_stream_and_position(
    sql_store: SqlEventStore, lifecycle: Lifecycle, desk: Callable[[int], Event]
) -> None:
    """``stream`` keeps one order's history and ``after`` skips what was already seen."""
    sql_store.append([*lifecycle(0), desk(0), *lifecycle(1)])
    second = lifecycle(1)[0].stream
    assert [s.seq for s in sql_store.read(stream=second)] == list(range(8, 14))
    assert [s.seq for s in sql_store.read(stream="desk")] == [7]
    assert [s.seq for s in sql_store.read(after=10)] == [11, 12, 13]
    assert [s.seq for s in sql_store.read(stream=second, after=10)] == [11, 12, 13]


def test_read_pages_through_a_log_longer_than_one_page(
    sql_store: SqlEventStore, lifecycle: Lifecycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row comes back once, in order, when the log spans several read pages."""
    monkeypatch.setattr(sql, "READ_PAGE", 4)
    for n in range(3):
        sql_store.append(lifecycle(n))
    assert [s.seq for s in sql_store.read()] == list(range(1, 19))
    assert [s.seq for s in sql_store.read(after=4)] == list(range(5, 19))


def test_the_log_survives_reopening(store_url: str, lifecycle: Lifecycle) -> None:
    """A new store on the same database sees the old rows and continues their chain."""
    with SqlEventStore(store_url) as store:
        store.append(lifecycle(0))
    with SqlEventStore(store_url) as store:
        store.append(lifecycle(1))
        assert store.last_seq() == 12
        assert store.verify().ok


def test_sqlite_runs_in_wal_mode_with_the_chosen_durability(db_path: Path) -> None:
    """The file is in WAL mode and each connection applies the synchronous level asked for."""
    for level, code in (("FULL", 2), ("NORMAL", 1)):
        with SqlEventStore.open(db_path, synchronous=level) as store:
            with store._engine.connect() as connection:
                pragmas = [
                    connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "synchronous", "busy_timeout")
                ]
            assert pragmas == ["wal", code, 5000]


def test_opening_creates_the_folder_and_migrates_to_head(db_path: Path) -> None:
    """A path in a folder that does not exist yet becomes a database at the newest revision."""
    assert not db_path.parent.exists()
    SqlEventStore.open(db_path).close()
    with closing(sqlite3.connect(db_path)) as db:
        version = db.execute("SELECT version_num FROM alembic_version").fetchone()
        head = db.execute("SELECT seq, hash FROM chain_head").fetchall()
    assert version == (HEAD_REVISION,)
    assert head == [(0, GENESIS_HASH)]


def test_the_migrations_live_inside_the_package() -> None:
    """The alembic scripts ship under ``orderdesk/store`` (no alembic.ini needed at runtime)."""
    assert MIGRATIONS.parent.name == "store"
    assert (MIGRATIONS / "env.py").is_file()
    assert list((MIGRATIONS / "versions").glob("0001_*.py"))
    assert script_head() == HEAD_REVISION


def test_a_closed_store_refuses_use(store_url: str, lifecycle: Lifecycle) -> None:
    """After close every operation raises StoreError instead of reconnecting."""
    store = SqlEventStore(store_url)
    store.close()
    with pytest.raises(StoreError) as exc_info:
        store.append(lifecycle(0))
    assert "closed" in str(exc_info.value)


def test_a_file_that_is_not_a_database_raises_store_error(tmp_path: Path) -> None:
    """Opening garbage fails with the store's own error, naming the URL."""
    path = tmp_path / "events.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as exc_info:
        SqlEventStore.open(path)
    assert str(path) in str(exc_info.value)


def test_writers_on_separate_connections_keep_one_chain(
    store_url: str, lifecycle: Lifecycle
) -> None:
    """Threads appending through their own stores (own connections) interleave safely."""
    SqlEventStore(store_url).close()
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            with SqlEventStore(store_url, synchronous="NORMAL") as store:
                for n in range(k * 10, k * 10 + 10):
                    store.append(lifecycle(n))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with SqlEventStore(store_url) as store:
        report = store.verify()
        rows = list(store.read())
    assert (report.ok, report.rows) == (True, 240)
    # Each append stays contiguous: an order's six events are never split by another writer.
    for i in range(0, 240, 6):
        assert len({r.stream for r in rows[i : i + 6]}) == 1


def test_processes_appending_to_one_log_keep_one_chain(store_url: str, tmp_path: Path) -> None:
    """Three OS processes creating one fresh log and appending to it leave one valid chain."""
    script = tmp_path / "child.py"
    script.write_text(
        "import sys\n"
        "from datetime import UTC, datetime, timedelta\n"
        "from orderdesk.domain import KillSwitchChanged\n"
        "from orderdesk.store import SqlEventStore\n"
        "start = datetime(2026, 1, 5, tzinfo=UTC)\n"
        "with SqlEventStore(sys.argv[1], synchronous='NORMAL') as store:\n"
        "    for n in range(30):\n"
        "        at = start + timedelta(seconds=n)\n"
        "        store.append([KillSwitchChanged(at=at, engaged=bool(n % 2), reason=sys.argv[2])"
        " for _ in range(3)])\n"
    )
    names = ("left", "middle", "right")
    children = [subprocess.Popen([sys.executable, str(script), store_url, n]) for n in names]
    assert [child.wait(timeout=60) for child in children] == [0, 0, 0]
    with SqlEventStore(store_url) as store:
        report = store.verify()
        reasons = [s.payload["reason"] for s in store.read()]
    assert (report.ok, report.rows) == (True, 270)
    assert sorted(set(reasons)) == sorted(names)
