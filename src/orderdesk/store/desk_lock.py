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
  open for the desk's lifetime; the server drops it with the connection. A server that restarts
  (or an idle connection cut by the network) drops it too, while the store reconnects and the
  desk trades on: so a running desk watches its lock (:meth:`DeskLock.watched`, every few
  seconds, never on the order path) and takes it again on a new connection when the server is
  back. If another desk took it in between, this one is told (a CRITICAL alert) and stopped
  with :class:`DeskLockLost`, as it would have been refused at start.
- An in-memory SQLite store belongs to its process: nothing to lock.

Readers — ``orderdesk audit``, exports, another process's ``SqlEventStore`` used for reading —
take no lock: the store's own transactions keep them consistent while a desk writes.
:func:`desk_holds` asks, without waiting and without creating anything, whether a desk holds a
store now: the proof ``orderdesk login`` wants before it hands a desk a secret (a process that
merely listens on the configured port holds no lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from orderdesk.errors import StoreError
from orderdesk.ports.notifier import Severity
from orderdesk.store.location import make_private_dir, shown_store_url, sqlite_file

log = logging.getLogger(__name__)

PG_DESK_LOCK = 4242000002
"""The advisory lock key of "a desk runs on this database" (the migrations use ...001)."""

_HOLDERS = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND classid = :high AND objid = :low AND objsubid = 1"
)
"""The sessions holding the desk lock: pg_locks shows a bigint advisory key as classid (its
high half) and objid (its low half), given by :data:`_KEY_HALVES`."""
_KEY_HALVES = {"high": PG_DESK_LOCK >> 32, "low": PG_DESK_LOCK & 0xFFFFFFFF}

KEEP_EVERY = 5.0
"""Seconds between two checks of a running desk's PostgreSQL lock: a lost lock is taken again
(or found taken) within this long of the server's return."""


class StoreInUse(StoreError):
    """Another desk already runs on this event store."""


class DeskLockLost(StoreInUse):
    """A running desk's lock was dropped (its PostgreSQL server restarted) and another desk
    took it before this one could take it again."""


class AlertSink(Protocol):
    """Where :meth:`DeskLock.watched` raises its alert: the engine's ``desk.alerts``."""

    async def raise_(
        self, severity: Severity, title: str, body: str, *, key: str, order_id: str | None = None
    ) -> None: ...


class DeskLock:
    """The lock a desk holds on its store, as :func:`exclusive_desk` yields it.

    SQLite's file lock (and an in-memory store's nothing) lasts as long as the process: there is
    nothing to keep, and :meth:`watched` watches nothing.
    """

    def keep(self) -> bool:
        """Make sure the lock is still held, taking it again if it was dropped; True when it
        had to be taken again. :class:`DeskLockLost` if another desk holds it now,
        :class:`~orderdesk.errors.StoreError` if the store cannot be asked (yet). Blocking: a
        database round trip, for a worker thread."""
        return False

    @property
    def can_be_lost(self) -> bool:
        """Whether the lock can go while its process lives (and so is worth watching)."""
        return False

    @contextlib.asynccontextmanager
    async def watched(self, alerts: AlertSink, *, every: float = KEEP_EVERY) -> AsyncIterator[None]:
        """Keep the lock for the block, checking it every ``every`` seconds on a worker thread.

        A lock another desk took is a CRITICAL alert, then the task that entered the block is
        cancelled and the block raises :class:`DeskLockLost`, ending ``orderdesk run`` with the
        same kind of one-line message as a desk refused at start. Stopping, rather than pausing:
        the log is now the other desk's too, so this desk can no longer write anything to it
        safely (not even a kill switch's event), its view of the orders may already be wrong,
        and ``orderdesk login`` hands the session to the desk that holds the lock, not to this
        one. Which of the two should run is the operator's call; the orders stay at the broker.
        """
        if not self.can_be_lost:
            yield
            return
        host = asyncio.current_task()
        assert host is not None, "watched() is entered from a task"
        lost: list[DeskLockLost] = []

        async def watch() -> None:
            unreachable = False
            while True:
                await asyncio.sleep(every)
                try:
                    if await asyncio.to_thread(self.keep):
                        log.warning("took the event store's desk lock again after losing it")
                    unreachable = False
                except DeskLockLost as exc:
                    lost.append(exc)
                    await _alert_lost(alerts, exc)
                    host.cancel()
                    return
                except StoreError as exc:
                    # The server is away: the store cannot write either, and the lock is taken
                    # again at the first check after it is back. Said once per absence.
                    if not unreachable:
                        log.warning("cannot check the event store's desk lock: %s", exc)
                    unreachable = True

        watcher = asyncio.create_task(watch(), name="desk lock watcher")
        try:
            yield
        except asyncio.CancelledError:
            # Our own cancel (and no one else's) becomes the reason the desk stops.
            if lost and host.uncancel() == 0:
                raise lost[0] from None
            raise
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)


async def _alert_lost(alerts: AlertSink, lost: DeskLockLost) -> None:
    try:
        await alerts.raise_(
            Severity.CRITICAL,
            "Event store taken by another desk",
            str(lost),
            key="desk_lock_lost",
        )
    except Exception:
        # Stopping the desk matters more than the alert saying so.
        log.exception("could not deliver the lost desk lock's alert")


CLOSE_WAIT = 2.0
"""Seconds a stopping desk waits for a check of its lock still running on its thread."""

CONNECT_TIMEOUT = 10
"""Seconds libpq waits for the server when the lock is taken (again): a check against a host
that does not answer gives up instead of hanging its thread."""


class _PostgresDeskLock(DeskLock):
    """A session advisory lock on one connection, taken again on a new connection when the
    server dropped it."""

    def __init__(self, engine: Engine, shown: str) -> None:
        self._engine = engine
        self._shown = shown
        self._connection: Connection | None = None
        self._mutex = threading.Lock()  # the watcher's thread and the closing task
        self._closed = threading.Event()  # set by close(), seen by a check on its thread

    @property
    def can_be_lost(self) -> bool:
        return True

    def take(self) -> bool:
        """Connect and try the lock once: whether it was granted."""
        try:
            self._connection = self._engine.connect()
            taken = self._connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": PG_DESK_LOCK}
            ).scalar()
            self._connection.commit()  # a session lock: no transaction stays open while held
        except SQLAlchemyError as exc:
            self._drop()
            raise StoreError(f"could not lock the event store {self._shown}: {exc}") from None
        return bool(taken)

    def keep(self) -> bool:
        with self._mutex:
            if self._closed.is_set() or self._still_held():
                return False
            self._drop()
            if not self.take():
                self._drop()  # a connection holding nothing is no use to the next check
                raise DeskLockLost(
                    f"this desk's lock on the event store {self._shown} was dropped (the "
                    "PostgreSQL server restarted, or its connection was cut) and another "
                    "orderdesk took it before this one could take it again; two desks must "
                    "not write one log, so this one stops and the other keeps the store"
                )
            if self._closed.is_set():  # the desk stopped while this check waited on the server
                self._drop()
                return False
            return True

    def close(self) -> None:
        self._closed.set()
        # A check stuck on an unanswering server must not hold the desk's stop up: it finds
        # the lock closed when it returns, and its connection ends with the process.
        if self._mutex.acquire(timeout=CLOSE_WAIT):
            try:
                self._drop()  # the server drops a session's advisory locks with it
            finally:
                self._mutex.release()

    def _still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            held = self._connection.execute(
                text(f"{_HOLDERS} AND pid = pg_backend_pid()"), _KEY_HALVES
            ).scalar()
            self._connection.commit()
        except SQLAlchemyError:
            return False  # a dead connection: its session, and the lock, are gone
        return bool(held)

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.close()
            self._connection = None


def lock_path(database: Path) -> Path:
    """The lock file of an SQLite store: ``events.db.lock`` beside ``events.db``."""
    return database.with_name(database.name + ".lock")


@contextlib.contextmanager
def exclusive_desk(url: str) -> Iterator[DeskLock]:
    """Hold the store at ``url`` for one desk until the block ends; :class:`StoreInUse` at once
    if another desk holds it. The :class:`DeskLock` it gives is for a running desk to keep
    (:meth:`DeskLock.watched`)."""
    database = sqlite_file(url)
    if database is not None:
        with _sqlite_lock(database):
            yield DeskLock()
    elif make_url(url).get_backend_name() == "postgresql":
        with _postgres_lock(url) as lock:
            yield lock
    else:
        yield DeskLock()


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
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            held = connection.execute(text(_HOLDERS), _KEY_HALVES).scalar()
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
def _postgres_lock(url: str) -> Iterator[_PostgresDeskLock]:
    parsed = make_url(url)
    shown = shown_store_url(url)  # the one form a store URL is said in (a ?password= too)
    libpq = parsed.get_driver_name() in {"psycopg", "psycopg2"} and not any(
        key.lower() == "connect_timeout" for key in parsed.query
    )
    connect_args = {"connect_timeout": CONNECT_TIMEOUT} if libpq else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    lock = _PostgresDeskLock(engine, shown)
    try:
        if not lock.take():
            raise StoreInUse(_busy(shown, ""))
        yield lock
    finally:
        lock.close()
        engine.dispose()


def _busy(store: str, holder: str) -> str:
    by = f" ({holder})" if holder else ""
    return (
        f"another orderdesk is already running on the event store {store}{by}; one desk per "
        "store: stop that one first, talk to it through its API (the CLI, orderdesk.DeskClient), "
        "or give this one its own [store] url or data_dir"
    )


__all__ = [
    "KEEP_EVERY",
    "PG_DESK_LOCK",
    "AlertSink",
    "DeskLock",
    "DeskLockLost",
    "StoreInUse",
    "desk_holds",
    "exclusive_desk",
    "lock_path",
]
