"""Where the event store lives: an explicit URL or path, the environment, or the data dir.

Precedence, most specific first: a URL given by the caller, a path given by the caller,
``ORDERDESK_STORE__URL`` (the same variable the config module reads, double underscore for
nesting), then ``events.db`` in the platform's per-user data directory.

A URL is said to people (errors, ``config check``, ``doctor``) only as
:func:`shown_store_url` renders it, a PostgreSQL password hidden.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import stat
from collections.abc import Mapping
from pathlib import Path

import platformdirs
from sqlalchemy.engine import make_url

from orderdesk.config import shown_store_url, sqlite_url
from orderdesk.errors import StoreError

URL_ENV = "ORDERDESK_STORE__URL"
APP_NAME = "orderdesk"
DB_NAME = "events.db"


def default_db_path() -> Path:
    """``events.db`` under the user's data directory (e.g. ``~/.local/share/orderdesk``)."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / DB_NAME


def resolve_url(
    *,
    url: str | None = None,
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The store URL to use, by the precedence in the module docstring."""
    if url:
        return url
    if path is not None:
        return sqlite_url(path)
    env = os.environ if environ is None else environ
    if env.get(URL_ENV):
        return env[URL_ENV]
    return sqlite_url(default_db_path())


def sqlite_file(url: str) -> Path | None:
    """The file behind an SQLite URL; None for other backends and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def refuse_empty_log(path: Path) -> None:
    """A :class:`~orderdesk.errors.StoreError` if ``path`` is an existing file of 0 bytes.

    SQLite takes an empty file for an empty database, so a log truncated to nothing (a full
    disk, a bad copy) would open as a new, empty history: verified intact, restored as
    "0 events", and written over by the desk as though its past had never been. Every file
    SQLite has made a database of holds at least its header (the store has it written the
    moment it makes the file, :func:`create_log`), so an empty one is no log. (A file that
    does not exist is not refused: it is made on the first run.)"""
    try:
        size = path.stat().st_size
    except OSError:
        return  # absent: made on the first open; unreadable: opening it says why, as it did
    if size == 0:
        raise StoreError(
            f"{path} is empty (0 bytes), not an event log: restore it from a backup "
            "(`orderdesk restore`)"
        )


def create_private(path: Path) -> None:
    """Create ``path`` empty, readable by its owner alone, unless it exists: the log is the
    account's whole trading history. SQLite gives its WAL and shared-memory files the mode of
    the database file, so they follow.

    An existing file keeps its mode: the event log is opened this way by readers too (an audit
    of a copy that is not the reader's own). A file about to be *overwritten* with the history
    (an export, a copy) is opened with :func:`open_private` instead."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def create_log(path: Path) -> None:
    """Make ``path`` an empty SQLite database in WAL mode, readable by its owner alone, unless
    it exists.

    The database is made whole under a name of its own and then linked into place, so no other
    process ever sees the log as the 0-byte file :func:`refuse_empty_log` refuses: three desks
    or CLI commands opening a fresh log at once each either find it complete or make it. (Made
    in place, a second process could look between the first's create and its header and
    refuse a log that was only being born: CI caught it.)"""
    if path.exists():
        return
    draft = path.with_name(f".{path.name}.{os.getpid()}.new")
    with contextlib.suppress(FileNotFoundError):
        draft.unlink()  # left by a process of this pid that died making it
    create_private(draft)
    try:
        with contextlib.closing(sqlite3.connect(draft)) as connection:
            connection.execute("PRAGMA journal_mode = WAL")  # writes the header: 4,096 bytes
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: theirs is as good
        except OSError:
            # A filesystem without hard links: created in place, the window back but narrow.
            create_private(path)
            if path.stat().st_size == 0:
                shutil.copyfile(draft, path)
    finally:
        draft.unlink()


def open_private(path: Path) -> int:
    """A descriptor to write ``path`` from its start, the file readable by its owner alone
    before a byte is written: created ``0600``, or an existing regular file made ``0600`` and
    emptied. (Not a regular file, such as ``/dev/stdout`` or a FIFO: opened as it is.)

    The mode is set on the descriptor that is written, so nothing swapped in at the path
    between a check and the write escapes it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, 0o600)
            os.ftruncate(fd, 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def make_private_dir(path: Path) -> None:
    """Make the folder ``path`` and any missing parents ``0700`` (the desk's data: its owner's
    alone). A folder that exists is left as it is: it is the user's, and its mode their
    choice."""
    missing: list[Path] = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    if not path.is_dir():  # a race lost to a file of that name, or never made at all
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))


__all__ = [
    "URL_ENV",
    "create_log",
    "create_private",
    "default_db_path",
    "make_private_dir",
    "open_private",
    "refuse_empty_log",
    "resolve_url",
    "shown_store_url",
    "sqlite_file",
    "sqlite_url",
]
