"""One desk per event store: the lock a desk takes before it replays or connects.

Two desks on one log would each replay it, each place through the broker and append to the same
chain; the second one sees the first one's orders as external. So a desk holds its store
exclusively from before it reads a row until it stops, and a second desk fails at once, naming
the first, instead of replaying the log and logging in to the broker only to fail later on the
busy API port.

- **SQLite**: an advisory ``flock`` on ``events.db.lock`` beside the database file, holding the
  holder's pid. The kernel drops the lock when its process ends, however it ends, so a desk that
  crashed never leaves a stale lock behind; the file itself stays (removing it would race a desk
  that is opening it).
- **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) on a connection held
  open for the desk's lifetime; the server drops it with the connection.
- An in-memory SQLite store belongs to its process: nothing to lock.

Readers — ``orderdesk audit``, exports, another process's ``SqlEventStore`` used for reading —
take no lock: the store's own transactions keep them consistent while a desk writes.
:func:`desk_holds` asks, without waiting and without creating anything, whether a desk holds a
store now: the proof ``orderdesk login`` wants before it hands a desk a secret (a process that
merely listens on the configured port holds no lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from orderdesk.errors import StoreError
from orderdesk.store.location import make_private_dir, sqlite_file

PG_DESK_LOCK = 4242000002
"""The advisory lock key of "a desk runs on this database" (the migrations use ...001)."""


class StoreInUse(StoreError):
    """Another desk already runs on this event store."""


def lock_path(database: Path) -> Path:
    """The lock file of an SQLite store: ``events.db.lock`` beside ``events.db``."""
    return database.with_name(database.name + ".lock")


@contextlib.contextmanager
def exclusive_desk(url: str) -> Iterator[None]:
    """Hold the store at ``url`` for one desk until the block ends; :class:`StoreInUse` at once
    if another desk holds it."""
    database = sqlite_file(url)
    if database is not None:
        with _sqlite_lock(database):
            yield
    elif make_url(url).get_backend_name() == "postgresql":
        with _postgres_lock(url):
            yield
    else:
        yield


def desk_holds(url: str) -> bool:
    """Whether a desk holds the store at ``url`` now (a non-blocking probe that creates
    nothing). False for a store no desk could hold: in-memory, or a lock file that does not
    exist; a PostgreSQL server that cannot be asked counts as not held."""
    database = sqlite_file(url)
    if database is not None:
        return _sqlite_held(lock_path(database))
    if make_url(url).get_backend_name() == "postgresql":
        return _postgres_held(url)
    return False


def _sqlite_held(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False  # no lock file: no desk has ever held this store (or it is not readable)
    try:
        try:
            # Shared, so two probes never stand in each other's way; a desk's exclusive lock
            # refuses it.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _postgres_held(url: str) -> bool:
    # pg_locks shows a bigint advisory key as classid (high half) and objid (low half).
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = :high AND objid = :low AND objsubid = 1"
    )
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            held = connection.execute(
                query, {"high": PG_DESK_LOCK >> 32, "low": PG_DESK_LOCK & 0xFFFFFFFF}
            ).scalar()
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()
    return bool(held)


@contextlib.contextmanager
def _sqlite_lock(database: Path) -> Iterator[None]:
    path = lock_path(database)
    try:
        make_private_dir(path.parent)  # the desk's data: a folder made here is its owner's alone
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(
            f"cannot make the event store's lock {path}: {exc.strerror or exc}"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            raise StoreInUse(_busy(str(database), f"pid {holder}" if holder else "")) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _postgres_lock(url: str) -> Iterator[None]:
    shown = make_url(url).render_as_string(hide_password=True)
    engine = create_engine(url, poolclass=NullPool)
    try:
        try:
            connection = engine.connect()
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": PG_DESK_LOCK}
            ).scalar()
            connection.commit()  # a session lock: no transaction stays open while it is held
        except SQLAlchemyError as exc:
            raise StoreError(f"could not lock the event store {shown}: {exc}") from None
        try:
            if not taken:
                raise StoreInUse(_busy(shown, ""))
            yield
        finally:
            with contextlib.suppress(SQLAlchemyError):
                connection.close()  # the server drops a session's advisory locks with it
    finally:
        engine.dispose()


def _busy(store: str, holder: str) -> str:
    by = f" ({holder})" if holder else ""
    return (
        f"another orderdesk is already running on the event store {store}{by}; one desk per "
        "store: stop that one first, talk to it through its API (the CLI, orderdesk.DeskClient), "
        "or give this one its own [store] url or data_dir"
    )


__all__ = ["PG_DESK_LOCK", "StoreInUse", "desk_holds", "exclusive_desk", "lock_path"]
