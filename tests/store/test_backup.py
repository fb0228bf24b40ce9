"""Backups of the SQLite event log (``orderdesk.store.backup``): consistent while a writer
appends, one self-contained file, verified before it is kept, and never half-written; and
restores, which keep the log they replace and refuse a running desk."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest

from orderdesk.errors import StoreError
from orderdesk.store import SqlEventStore, sqlite_url
from orderdesk.store.backup import (
    back_up,
    backup_head,
    daily_backup_path,
    prune,
    restore,
    set_aside_other_histories,
)
from orderdesk.store.desk_lock import StoreInUse, exclusive_desk
from tests.store.conftest import Lifecycle, desk_event


def rows(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT seq, hash FROM events ORDER BY seq"))


@pytest.fixture
def log(db_path: Path, lifecycle: Lifecycle) -> SqlEventStore:
    store = SqlEventStore.open(db_path)
    for n in range(20):
        store.append(lifecycle(n))
    return store


def test_a_backup_taken_while_the_desk_appends_is_one_commit_of_the_log(
    log: SqlEventStore, tmp_path: Path
) -> None:
    """Appends go on in another thread during every copy; each copy holds a whole chain that
    is a prefix of the live log, ends at its own recorded head, and opens without a -wal."""
    stop = threading.Event()
    written = threading.Event()

    def appending() -> None:
        n = 0
        while not stop.is_set():
            log.append([desk_event(n)])
            n += 1
            written.set()

    writer = threading.Thread(target=appending)
    writer.start()
    try:
        assert written.wait(10)
        reports = [back_up(log.url, tmp_path / f"copy{i}.db") for i in range(4)]
    finally:
        stop.set()
        writer.join()
    live = rows(Path(log.url.removeprefix("sqlite:///")))
    log.close()
    heads = [report.head.seq for report in reports]
    assert heads == sorted(heads)
    assert heads[-1] > 120
    for report in reports:
        copied = rows(report.path)
        assert report.rows == len(copied) == report.head.seq
        assert copied == live[: report.head.seq]
        assert (report.head.seq, report.head.hash) == copied[-1]
        assert report.size == report.path.stat().st_size
        assert not Path(f"{report.path}-wal").exists()
        with sqlite3.connect(report.path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert backup_head(report.path) == (report.rows, report.head)
    # A backup opens as a store: the desk can be restored from it.
    with SqlEventStore.open(reports[-1].path) as restored:
        assert restored.verify().ok
        assert restored.last_seq() == reports[-1].head.seq


def test_an_existing_backup_is_kept_unless_replace_is_asked(
    log: SqlEventStore, tmp_path: Path
) -> None:
    first = back_up(log.url, tmp_path / "copy.db")
    before = first.path.read_bytes()
    log.append([desk_event(99)])
    with pytest.raises(StoreError, match="already exists"):
        back_up(log.url, first.path)
    assert first.path.read_bytes() == before
    again = back_up(log.url, first.path, replace=True)
    assert again.head.seq == first.head.seq + 1
    assert sorted(p.name for p in tmp_path.iterdir() if "copy" in p.name) == ["copy.db"]


def test_a_log_with_a_broken_chain_is_not_backed_up_over_a_good_copy(
    log: SqlEventStore, tmp_path: Path
) -> None:
    good = back_up(log.url, tmp_path / "copy.db")
    before = good.path.read_bytes()
    database = Path(log.url.removeprefix("sqlite:///"))
    with sqlite3.connect(database) as db:
        db.execute("UPDATE events SET at = '2020-01-01T00:00:00.000000Z' WHERE seq = 3")
    with pytest.raises(StoreError, match="broken at event 3"):
        back_up(log.url, good.path, replace=True)
    assert good.path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if "copy" in p.name) == ["copy.db"]


@pytest.mark.parametrize(
    ("url", "destination", "says"),
    [
        ("postgresql+psycopg://desk@localhost/desk", "copy.db", "pg_dump"),
        ("sqlite:///{tmp}/absent.db", "copy.db", "no event store at"),
        ("{log}", "missing/copy.db", "no folder"),
        ("{log}", ".", "is a folder"),
        ("{log}", "{db}", "cannot be the event store itself"),
    ],
)
def test_what_cannot_be_backed_up_is_refused_by_name(
    log: SqlEventStore, tmp_path: Path, db_path: Path, url: str, destination: str, says: str
) -> None:
    values = {"tmp": str(tmp_path), "log": log.url, "db": str(db_path)}
    target = Path(destination.format(**values))
    before = sorted(tmp_path.rglob("*"))
    destination_path = target if target.is_absolute() else tmp_path / target
    with pytest.raises(StoreError, match=says):
        back_up(url.format(**values), destination_path, replace=True)
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, not even a partial file


def test_an_empty_log_backs_up_to_an_empty_chain(tmp_path: Path) -> None:
    with SqlEventStore.open(tmp_path / "empty.db") as store:
        report = back_up(store.url, tmp_path / "copy.db")
    assert (report.rows, report.head.seq) == (0, 0)
    assert backup_head(report.path)[0] == 0


def test_backup_head_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no backup at"):
        backup_head(tmp_path / "absent.db")
    (tmp_path / "notes.txt").write_text("not a database, but long enough to be read as one " * 9)
    with pytest.raises(StoreError, match="not a readable event log backup"):
        backup_head(tmp_path / "notes.txt")


def test_pruning_keeps_the_newest_daily_backups_and_nothing_else_is_touched(
    tmp_path: Path,
) -> None:
    days = [date(2026, 12, d) for d in (1, 2, 3, 4, 7)]
    for day in days:
        daily_backup_path(tmp_path, day).write_bytes(b"x")
    others = ["events-20261205T101500Z.db", "events-2026-13-40.db", "notes.txt"]
    for name in others:
        (tmp_path / name).write_bytes(b"y")
    removed = prune(tmp_path, keep=2)
    assert sorted(p.name for p in removed) == [
        "events-2026-12-01.db",
        "events-2026-12-02.db",
        "events-2026-12-03.db",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*others, "events-2026-12-04.db", "events-2026-12-07.db"]
    )
    with pytest.raises(ValueError, match="at least one"):
        prune(tmp_path, keep=0)


def crashed_writer(database: Path, count: int) -> None:
    """A desk killed mid-day: ``count`` events appended, then the process ends without closing
    the store, so its last commits are in the WAL only."""
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from orderdesk.store import SqlEventStore\n"
        "from tests.store.conftest import desk_event\n"
        "store = SqlEventStore.open(Path(sys.argv[1]))\n"
        "for n in range(int(sys.argv[2])):\n"
        "    store.append([desk_event(n)])\n"
        "os._exit(0)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(database), str(count)],
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_a_restore_keeps_the_log_it_replaces_whole_wal_and_all(
    tmp_path: Path, lifecycle: Lifecycle
) -> None:
    database = tmp_path / "data" / "events.db"
    with SqlEventStore.open(database) as store:
        store.append(lifecycle(0))
        backup = back_up(store.url, tmp_path / "monday.db")
    crashed_writer(database, 30)
    assert Path(f"{database}-wal").stat().st_size > 0  # the last commits are in the WAL only
    report = restore(sqlite_url(database), backup.path)
    assert report.replaced is not None
    assert report.replaced.name.startswith("events.db.replaced-")
    assert not Path(f"{database}-wal").exists()
    assert not Path(f"{database}-shm").exists()
    with SqlEventStore.open(database) as restored:
        assert restored.head() == backup.head == report.head
        assert restored.verify().ok
    with SqlEventStore.open(report.replaced) as replaced:
        assert replaced.last_seq() == backup.head.seq + 30  # the WAL's commits were kept
        assert replaced.verify().ok


def test_a_restore_while_a_desk_runs_or_of_a_broken_backup_changes_nothing(
    log: SqlEventStore, tmp_path: Path, db_path: Path
) -> None:
    backup = back_up(log.url, tmp_path / "copy.db")
    log.append([desk_event(1)])
    before = log.head()
    with exclusive_desk(log.url), pytest.raises(StoreInUse):
        restore(log.url, backup.path)
    with sqlite3.connect(backup.path) as db:
        db.execute("UPDATE events SET at = '2020-01-01T00:00:00.000000Z' WHERE seq = 2")
    with pytest.raises(StoreError, match="broken at event 2"):
        restore(log.url, backup.path)
    assert log.head() == before
    assert log.verify().ok
    assert sorted(p.name for p in db_path.parent.iterdir() if "replaced" in p.name) == []
    log.close()


def test_a_restore_onto_a_new_machine_makes_the_folder_and_replaces_nothing(
    log: SqlEventStore, tmp_path: Path
) -> None:
    backup = back_up(log.url, tmp_path / "copy.db")
    log.close()
    fresh = tmp_path / "new-machine" / "data" / "events.db"  # no folder yet
    report = restore(sqlite_url(fresh), backup.path)
    assert report.replaced is None
    assert report.head == backup.head
    with pytest.raises(StoreError, match="pg_restore"):
        restore("postgresql+psycopg://desk@localhost/desk", backup.path)


def test_a_damaged_log_is_restored_over_and_kept_as_it_was(
    tmp_path: Path, lifecycle: Lifecycle
) -> None:
    """A log that no longer opens (which may be why it is restored) does not stop the restore,
    and it is kept byte for byte, its WAL beside it."""
    database = tmp_path / "data" / "events.db"
    with SqlEventStore.open(database) as store:
        store.append(lifecycle(0))
        backup = back_up(store.url, tmp_path / "monday.db")
    crashed_writer(database, 5)
    damaged = b"not a database any more " * 400
    database.write_bytes(damaged)
    wal = Path(f"{database}-wal").read_bytes()
    report = restore(sqlite_url(database), backup.path)
    assert report.replaced is not None
    assert report.replaced.read_bytes() == damaged
    assert Path(f"{report.replaced}-wal").read_bytes() == wal
    with SqlEventStore.open(database) as restored:
        assert restored.head() == backup.head
        assert restored.verify().ok


def test_a_log_in_a_folder_with_uri_characters_is_backed_up(
    tmp_path: Path, lifecycle: Lifecycle
) -> None:
    """A '#' in a folder's name does not end the log's address (it starts a URI's fragment)."""
    odd = tmp_path / "trading #1"
    with SqlEventStore.open(odd / "events.db") as store:
        store.append(lifecycle(0))
        report = back_up(store.url, odd / "copy.db")
        assert report.head == store.head()
    assert backup_head(report.path) == (report.rows, report.head)


def test_the_log_its_wal_its_backups_and_a_restored_log_are_the_owners_alone(
    db_path: Path, lifecycle: Lifecycle, tmp_path: Path
) -> None:
    """The whole trading history was created world-readable (0644 under the usual umask) where
    the desk's log file and secrets are 0600."""
    store = SqlEventStore.open(db_path)
    try:
        store.append(lifecycle(0))
        copy = tmp_path / "copy.db"
        back_up(store.url, copy)
        made = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), copy]
        assert {p.name: oct(p.stat().st_mode & 0o777) for p in made} == {
            p.name: "0o600" for p in made
        }
    finally:
        store.close()
    restored = tmp_path / "restored" / "events.db"
    restored.parent.mkdir()
    restore(sqlite_url(restored), copy)
    assert oct(restored.stat().st_mode & 0o777) == "0o600"


def test_backups_of_another_history_are_set_aside_and_left_out_of_pruning(
    tmp_path: Path, lifecycle: Lifecycle
) -> None:
    """Monday's and Tuesday's backups, Monday's restored, then Wednesday's of the history that
    goes on (its events differ from Tuesday's from Monday's head on): Tuesday's is of the
    replaced history, renamed; pruning to two keeps Monday's and Wednesday's."""
    database, folder = tmp_path / "data" / "events.db", tmp_path / "backups"
    folder.mkdir()
    with SqlEventStore.open(database) as store:
        store.append(lifecycle(0))
        monday = back_up(store.url, daily_backup_path(folder, date(2026, 12, 7)))
        store.append(lifecycle(1))
        tuesday = back_up(store.url, daily_backup_path(folder, date(2026, 12, 8)))
    restore(sqlite_url(database), monday.path)
    (aside,) = set_aside_other_histories(folder, database)
    assert aside.name.startswith("events-2026-12-08.db.other-history-")
    assert not tuesday.path.exists()
    with SqlEventStore.open(database) as store:
        store.append(lifecycle(2))
        back_up(store.url, daily_backup_path(folder, date(2026, 12, 9)))
    assert set_aside_other_histories(folder, database) == []  # Monday's is its beginning
    assert prune(folder, keep=2) == []
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["events-2026-12-07.db", "events-2026-12-09.db", aside.name]
    )
