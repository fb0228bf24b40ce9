"""Backups of an SQLite event log: one consistent, verified file, written while the desk runs;
and restores.

The event log is everything the desk knows of the past (every day's orders, fills and P&L, the
audit trail), and it lives in one SQLite file in WAL mode. Copying that file with ``cp`` while a
desk writes can catch the database and its ``-wal`` at different moments, a copy that opens
corrupt or without its last commits. A backup here is instead:

- **consistent**: SQLite's online backup copies every page inside one read transaction, so the
  copy is the log as of one commit, whatever the desk appends meanwhile (a WAL reader does not
  hold the writer up);
- **one file**: the copy is switched to a rollback journal, so it opens on its own, without a
  ``-wal`` beside it, and can be restored by putting it where ``events.db`` was;
- **verified**: the copy's hash chain is walked to its recorded head before the copy is kept; a
  log whose chain is broken is not backed up over good copies, and the failure names the row;
- **all or nothing**: written to a hidden temporary file in the destination's folder, synced,
  then renamed into place, so a failure (a full disk, a broken chain) leaves no file behind and
  an earlier backup of the same name as it was.

:func:`restore` puts a backup back in place of the log, while no desk runs on it, keeping the log
it replaces beside it. PostgreSQL has its own tools for both (``pg_dump``, ``pg_restore``), so
only SQLite stores are backed up and restored here.

Daily copies after each trading day's close are kept as ``events-<day>.db`` in one folder
(:func:`daily_backup_path`); :func:`prune` keeps the newest of them and leaves any other file in
the folder alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from orderdesk.errors import StoreError
from orderdesk.store.chain import Head, Row, verify_rows
from orderdesk.store.location import create_private, refuse_empty_log, sqlite_file
from orderdesk.store.schema import HEAD_ID

BUSY_TIMEOUT_MS = 10_000
"""How long the copy waits for the desk's writer to let it start its read."""
DAILY_NAME = re.compile(r"^events-(\d{4}-\d{2}-\d{2})\.db$")
BACKUP_NAME = re.compile(r"^events-[0-9TZ-]+\.db$")
"""The daily backups' names and ``orderdesk backup``'s (``events-YYYYMMDDTHHMMSSZ.db``)."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What a backup holds: its file, its events and the head of its chain."""

    path: Path
    rows: int
    head: Head
    size: int
    """Bytes of the backup file."""
    seconds: float


def back_up(url: str, destination: Path, *, replace: bool = False) -> BackupReport:
    """Copy the SQLite event log at ``url`` to ``destination`` (see the module docstring).

    ``replace``: an existing ``destination`` is replaced (atomically); otherwise it is an error.
    Every failure is a :class:`~orderdesk.errors.StoreError` saying what went wrong.
    """
    source = sqlite_file(url)
    if source is None:
        raise StoreError(
            "only an SQLite event store is backed up by orderdesk; back up a PostgreSQL one "
            "with pg_dump"
        )
    if not source.is_file():
        raise StoreError(f"no event store at {source}")
    refuse_empty_log(source)
    destination = destination.expanduser()
    if destination.is_dir():
        raise StoreError(f"{destination} is a folder: name the backup file")
    if destination.resolve() == source.resolve():
        raise StoreError("the backup cannot be the event store itself")
    if destination.exists() and not replace:
        raise StoreError(f"{destination} already exists (--replace to overwrite it)")
    if not destination.parent.is_dir():
        raise StoreError(f"no folder {destination.parent} for the backup")
    started = time.perf_counter()
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    try:
        copy_log(source, partial)
        rows, head = _verified(
            partial,
            broken="the event log's chain",
            not_done="not backed up (`orderdesk audit verify` says the same)",
        )
        sync_path(partial)
        partial.replace(destination)
        sync_path(destination.parent)
    except sqlite3.Error as exc:
        raise StoreError(f"backup of {source} failed: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"backup to {destination} failed: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupReport(
        destination, rows, head, destination.stat().st_size, time.perf_counter() - started
    )


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a restore put in place, and where the log it replaced was kept."""

    path: Path
    rows: int
    head: Head
    replaced: Path | None
    """The log that was in place, kept beside it (None: there was none)."""


def restore(
    url: str, backup: Path, confirm: Callable[[int, Head], object] | None = None
) -> RestoreReport:
    """Put ``backup`` in place as the SQLite event log at ``url``, while no desk runs on it.

    ``confirm`` is asked (with the backup's rows and head) once the store is held, so a person
    is not asked to confirm a restore that a running desk then refuses; it raises to stop.

    The backup's chain is walked first. The log in place, if any, is not deleted: it is renamed
    ``<name>.replaced-<UTC time>`` beside it, its WAL with it, so a restore can itself be
    undone. The backup is copied in under a temporary name and renamed into place, so
    a failure leaves the log as it was. A running desk holds the store's lock and is refused
    (:class:`~orderdesk.store.desk_lock.StoreInUse`).
    """
    from orderdesk.store.desk_lock import exclusive_desk

    database = sqlite_file(url)
    if database is None:
        raise StoreError(
            "only an SQLite event store is restored by orderdesk; restore a PostgreSQL one "
            "with pg_restore"
        )
    rows, head = backup_head(backup, not_done="not restored")
    if database.exists() and backup.resolve() == database.resolve():
        raise StoreError("the backup is the event store itself")
    partial = database.with_name(f".{database.name}.{os.getpid()}.partial")
    replaced: Path | None = None
    with exclusive_desk(url):  # creates the folder too: a restore onto a new machine
        if confirm is not None:
            confirm(rows, head)
        try:
            _copy_file(backup, partial)
            if database.exists():
                stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
                replaced = database.with_name(f"{database.name}.replaced-{stamp}")
                _set_aside(database, replaced)
            Path(f"{database}-shm").unlink(missing_ok=True)
            partial.replace(database)
            sync_path(database.parent)
        except OSError as exc:
            raise StoreError(f"restore to {database} failed: {exc.strerror or exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
    return RestoreReport(database, rows, head, replaced)


def set_aside_other_histories(folder: Path, log: Path) -> list[Path]:
    """Rename the backups in ``folder`` that hold no beginning of the event log at ``log``
    (just restored): taken of the history the restore replaced, after the backup restored,
    they look like good backups of the log that goes on, and the daily pruning would keep them
    over the ones that are. Each is renamed ``<name>.other-history-<UTC time>``: kept, to be
    restored by name should the restore be undone, but neither listed nor pruned as a daily
    backup. The renamed paths; a file that is no backup is left alone."""
    if not folder.is_dir():
        return []
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    moved: list[Path] = []
    with _connection(_read_only(log), uri=True) as restored:
        for path in sorted(folder.iterdir()):
            if not (path.is_file() and BACKUP_NAME.match(path.name)):
                continue
            head = _recorded_head(path)
            if head is None or head.seq == 0:
                continue  # no backup, or an empty one: the beginning of every log
            found = restored.execute(
                "SELECT hash FROM events WHERE seq = ?", (head.seq,)
            ).fetchone()
            if found is not None and found[0] == head.hash:
                continue
            target = path.with_name(f"{path.name}.other-history-{stamp}")
            path.replace(target)
            moved.append(target)
    return moved


def _recorded_head(path: Path) -> Head | None:
    """The chain head a backup records (its chain not walked: only which history it is of
    is asked); None for a file that is no event log."""
    try:
        with _connection(_read_only(path), uri=True) as db:
            found = db.execute(
                "SELECT seq, hash FROM chain_head WHERE id = ?", (HEAD_ID,)
            ).fetchone()
    except sqlite3.Error:
        return None
    return None if found is None else Head(found[0], found[1])


def daily_backup_path(folder: Path, day: date) -> Path:
    """Where the backup taken after ``day``'s close is kept."""
    return folder / f"events-{day.isoformat()}.db"


def daily_backups(folder: Path) -> list[tuple[date, Path]]:
    """The daily backups in ``folder``, oldest first (files of other names are not ours)."""
    if not folder.is_dir():
        return []
    found: list[tuple[date, Path]] = []
    for path in folder.iterdir():
        match = DAILY_NAME.match(path.name)
        if match is None or not path.is_file():
            continue
        with contextlib.suppress(ValueError):  # a name like events-2026-13-40.db is not a day
            found.append((date.fromisoformat(match.group(1)), path))
    return sorted(found)


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` daily backups in ``folder``; the deleted paths."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    old = [path for _, path in daily_backups(folder)[:-keep]]
    for path in old:
        path.unlink(missing_ok=True)
    return old


# -- internals -------------------------------------------------------------------------------


def copy_log(source: Path, target: Path) -> None:
    """``source`` (an SQLite log, as last committed) copied whole into ``target``: one file
    with no ``-wal``, its owner's alone (a backup, or the copy kept before a migration)."""
    with contextlib.suppress(FileNotFoundError):
        target.unlink()  # left by a process that died mid-copy
    create_private(target)
    # Read-only: the copy takes no part in the desk's writes, and cannot change the store even
    # by mistake.
    with _connection(_read_only(source), uri=True) as reader:
        reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        with _connection(str(target)) as copy:
            reader.backup(copy)  # every page in one step: one read transaction, one commit
            mode = copy.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
            if mode != "delete":
                raise StoreError(f"the backup's journal stayed {mode}")


def backup_head(path: Path, *, not_done: str = "not used") -> tuple[int, Head]:
    """A backup's events and the head of its chain, once the chain is walked; a
    :class:`~orderdesk.errors.StoreError` if it is not a backup or its chain is broken, which
    names the backup and ends with what the caller therefore did not do (``not_done``: "not
    restored")."""
    if not path.is_file():
        raise StoreError(f"no backup at {path}")
    refuse_empty_log(path)
    try:
        return _verified(path, broken=f"the backup {path}'s chain", not_done=not_done)
    except sqlite3.Error as exc:
        raise StoreError(f"{path} is not a readable event log backup: {exc}") from exc


@contextlib.contextmanager
def backup_hashes(path: Path) -> Iterator[Callable[[int], str | None]]:
    """For the block: the hash a backup holds for an event by seq (None: no such event).
    The backup is opened read-only, once, for every lookup."""
    with _connection(_read_only(path), uri=True) as db:

        def hash_of(seq: int) -> str | None:
            found = db.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
            return None if found is None else str(found[0])

        yield hash_of


def _copy_file(source: Path, target: Path) -> None:
    create_private(target)
    with source.open("rb") as reading, target.open("wb") as writing:
        shutil.copyfileobj(reading, writing, 1 << 20)
        writing.flush()
        os.fsync(writing.fileno())


def _set_aside(database: Path, replaced: Path) -> None:
    """Rename the log in place to ``replaced`` as it is, byte for byte, its WAL beside it under
    the matching name (SQLite reads the pair as one log again). Nothing is folded in first: the
    log may be damaged, which may be why it is being restored, and is kept as evidence."""
    database.replace(replaced)
    wal = Path(f"{database}-wal")
    if wal.exists():
        wal.replace(Path(f"{replaced}-wal"))


def _verified(copy: Path, *, broken: str, not_done: str) -> tuple[int, Head]:
    """The events in ``copy`` and its head, its chain walked; a broken chain is a
    :class:`~orderdesk.errors.StoreError` saying whose chain it is (``broken``: "the backup
    X's chain") and what was therefore not done (``not_done``), as callers differ in both."""
    with _connection(_read_only(copy), uri=True) as db:
        found = db.execute("SELECT seq, hash FROM chain_head WHERE id = ?", (HEAD_ID,)).fetchone()
        head = Head() if found is None else Head(found[0], found[1])
        rows = db.execute(
            "SELECT seq, stream, type, at, payload, prev_hash, hash FROM events ORDER BY seq"
        )
        report = verify_rows((Row(*row) for row in rows), head)
    if not report.ok:
        raise StoreError(
            f"{broken} is broken at event {report.first_bad_seq}: {report.reason}; {not_done}"
        )
    return report.rows, head


def _read_only(path: Path) -> str:
    # As a URI, percent-encoded: a folder named with "?" or "#" would end a bare file: URI.
    return f"{path.resolve().as_uri()}?mode=ro"


@contextlib.contextmanager
def _connection(database: str, *, uri: bool = False) -> Iterator[sqlite3.Connection]:
    # sqlite3's own context manager commits but does not close.
    connection = sqlite3.connect(database, uri=uri, isolation_level=None)
    try:
        yield connection
    finally:
        connection.close()


def sync_path(path: Path) -> None:
    """The file's (or folder's) contents on disk before the backup is called written."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = [
    "BackupReport",
    "RestoreReport",
    "back_up",
    "backup_hashes",
    "backup_head",
    "copy_log",
    "daily_backup_path",
    "daily_backups",
    "prune",
    "restore",
    "set_aside_other_histories",
    "sync_path",
]
