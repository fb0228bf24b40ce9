"""SQLite's hot paths on the driver: the append and the paged read, statements prepared once.

The desk appends twice or three times per order, and reads an order's stream back on every new
signal (is it a signal of an earlier day?). Through SQLAlchemy's ``Connection`` each paid for a
pool checkout, the ``begin`` hook, the statement's cache key and a result proxy: an append of
two events took 191 µs of CPU and 64 µs on the driver (``synchronous=NORMAL``, so without the
fsync that both wait for), a read of an absent stream 167 µs and 16 µs, pool checkout included
(measured side by side in one process). The statements are still SQLAlchemy's compilation of the
Core tables, so schema and migrations stay with SQLAlchemy and alembic; PostgreSQL keeps the Core
path. sqlite3 keeps each statement text prepared in its cache, so running one is a bind and a
step.

Appends go on a connection of their own, held for the store's life and used by one thread at a
time (the event loop, the async writer's worker, or a caller of ``append``); ``BEGIN IMMEDIATE``
still takes the database's write lock, so other processes appending to the same file keep one
chain, and the durability is the connection's ``synchronous`` setting, as before. An append
asked not to wait gives way (None) when that lock, or the connection, is taken. Reads check a
connection out of the engine's pool for each page, as before, so they never wait behind a
commit's fsync.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from orderdesk.errors import StoreError
from orderdesk.store.chain import Encoded, Head, Row, link
from orderdesk.store.schema import KINDS_BY_TYPE, events, of_type

RELAXED = "NORMAL"
"""What a commit that need not survive a power cut is written with: in WAL mode, through the
operating system without waiting for the disk."""


class MultirowInsert(Protocol):
    """What the driver needs of the store's compiled INSERT (``sql._DriverInsert``)."""

    def multirow(self, rows: Sequence[Row]) -> Iterator[tuple[str, tuple[Any, ...]]]: ...


class Compiled:
    """A Core statement compiled once for a qmark driver: its text and its parameters' order."""

    def __init__(self, statement: ClauseElement, engine: Engine) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self._names = tuple(compiled.positiontup or ())
        self._defaults = dict(compiled.params)

    def parameters(self, **values: Any) -> tuple[Any, ...]:
        merged = self._defaults | values
        return tuple(merged[name] for name in self._names)


def _page(*, stream: bool, kind: bool, kept: bool, before: bool, limit: int) -> ClauseElement:
    query = select(events).where(events.c.seq > bindparam("after"))
    if before:
        query = query.where(events.c.seq < bindparam("before"))
    if stream:
        query = query.where(events.c.stream == bindparam("stream"))
    if kind:
        query = query.where(of_type(bindparam("kind"), kept=kept))
    return query.order_by(events.c.seq).limit(limit)


class SqliteDriver:
    """The append and read paths of an SQLite event store, on ``sqlite3`` directly."""

    def __init__(
        self,
        engine: Engine,
        insert: MultirowInsert,
        *,
        head: ClauseElement,
        move_head: ClauseElement,
        page_rows: int,
        busy_timeout_ms: int,
        synchronous: str = "FULL",
    ) -> None:
        self._engine = engine
        self._insert = insert
        self._head = Compiled(head, engine)
        self._move_head = Compiled(move_head, engine)
        self._pages: dict[tuple[bool, bool, bool, bool], Compiled] = {}
        self._page_rows = page_rows
        # Ours until close(); the engine's connect hook configured it like any other (WAL,
        # synchronous, busy timeout, no implicit transactions). An in-memory database is its
        # one connection (StaticPool): that is shared, not taken from the pool.
        self._pooled = engine.raw_connection()
        connection = self._pooled.driver_connection
        assert isinstance(connection, sqlite3.Connection)
        self._shared = isinstance(engine.pool, StaticPool)
        if not self._shared:
            self._pooled.detach()
        self._db = connection
        self._lock = threading.Lock()
        # Reads get a connection of their own too, so the one a new signal makes (is it a signal
        # of an earlier day?) skips the pool: its checkout and return cost more than the query
        # (a third of the read). Taken without waiting; a read on another thread meanwhile
        # checks one out of the pool as before.
        self._reader: sqlite3.Connection | None = None
        if not self._shared:
            pooled = engine.raw_connection()
            reader = pooled.driver_connection
            assert isinstance(reader, sqlite3.Connection)
            pooled.detach()
            self._reader = reader
        self._reader_lock = threading.Lock()
        self._closed = False
        self._busy_timeout_ms = busy_timeout_ms
        self._waits = True
        """Whether the connection's busy timeout is on (``busy_timeout_ms``) or 0."""
        self._synchronous = synchronous
        """The store's durability, which a ``durable`` append gets; one that need not be
        durable against a power cut is committed with ``NORMAL`` (see ``append``)."""
        self._sync_now = synchronous
        """The connection's ``synchronous`` setting as last set."""

    def append(
        self, encoded: Sequence[Encoded], *, wait: bool = True, durable: bool = True
    ) -> list[Row] | None:
        """Link ``encoded`` onto the head and commit them in one write transaction.

        With ``wait=False`` nothing waits: None when the connection is in use on another
        thread or another connection (process) holds the database's write lock. With
        ``durable=False`` the commit does not wait for the disk (``synchronous=NORMAL``): it
        survives the process being killed, and a power cut loses it only with every commit
        after the last durable one, as the write-ahead log is synced as a whole.
        """
        if not self._lock.acquire(blocking=wait):
            return None
        try:
            db = self._check()
            if self._waits != wait:
                db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms if wait else 0}")
                self._waits = wait
            synchronous = self._synchronous if durable else RELAXED
            if self._sync_now != synchronous:
                db.execute(f"PRAGMA synchronous = {synchronous}")
                self._sync_now = synchronous
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if not wait and exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                    return None
                raise
            try:
                found = db.execute(self._head.sql, self._head.parameters()).fetchone()
                if found is None:
                    raise StoreError("the event store has no chain_head row (was it deleted?)")
                rows, new_head = link(encoded, Head(*found))
                for statement, parameters in self._insert.multirow(rows):
                    db.execute(statement, parameters)
                db.execute(
                    self._move_head.sql,
                    self._move_head.parameters(new_seq=new_head.seq, new_hash=new_head.hash),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        finally:
            self._lock.release()
        return rows

    def read(
        self, *, after: int, before: int | None, stream: str | None, kind: str | None
    ) -> list[Row]:
        """One page of rows with ``after < seq`` (and the other filters), in seq order."""
        shape = (stream is not None, kind is not None, kind in KINDS_BY_TYPE, before is not None)
        page = self._pages.get(shape)
        if page is None:
            page = self._pages[shape] = Compiled(
                _page(
                    stream=shape[0],
                    kind=shape[1],
                    kept=shape[2],
                    before=shape[3],
                    limit=self._page_rows,
                ),
                self._engine,
            )
        parameters = page.parameters(after=after, before=before, stream=stream, kind=kind)
        reader = self._reader
        if reader is not None and self._reader_lock.acquire(blocking=False):
            try:
                self._check()
                return [Row(*found) for found in reader.execute(page.sql, parameters).fetchall()]
            finally:
                self._reader_lock.release()
        return self._with_pooled(lambda db: db.execute(page.sql, parameters).fetchall())

    def checkpoint(self) -> None:
        """``PRAGMA wal_checkpoint(PASSIVE)`` on the append connection, outside a transaction."""
        with self._lock:
            self._check().execute("PRAGMA wal_checkpoint(PASSIVE)").close()

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                if self._shared:
                    self._pooled.close()  # back to the engine, which closes it
                else:
                    self._db.close()
                    with self._reader_lock:
                        if self._reader is not None:
                            self._reader.close()

    def _check(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the event store is closed")
        return self._db

    def _with_pooled(self, work: Callable[[sqlite3.Connection], list[Any]]) -> list[Row]:
        pooled = self._engine.raw_connection()
        try:
            connection = pooled.driver_connection
            assert isinstance(connection, sqlite3.Connection)
            return [Row(*found) for found in work(connection)]
        finally:
            pooled.close()


__all__ = ["RELAXED", "Compiled", "MultirowInsert", "SqliteDriver"]
