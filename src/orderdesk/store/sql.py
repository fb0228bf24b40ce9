"""``SqlEventStore``: the hash-chained log on SQLAlchemy Core, in SQLite or PostgreSQL.

The database URL picks the backend (``sqlite:///…`` or ``postgresql+psycopg://…``); both run the
same alembic migrations. One writer at a time, enforced by the database rather than by this
process, so several processes appending to one log keep a single unbroken chain. An append is
one transaction:

1. encode the events (outside any lock — it is the slow part);
2. take the write lock: ``BEGIN IMMEDIATE`` on SQLite; on PostgreSQL ``SELECT … FOR UPDATE`` of
   the ``chain_head`` row (SQLite's compiler leaves the ``FOR UPDATE`` out), which a second
   writer waits on and then reads as the first one left it;
3. read the head, hash the rows onto it, insert them, move the head; commit.

On SQLite the append and the paged reads run on the driver itself (:mod:`.driver`, with the
statements compiled here). SQLite runs in WAL mode so readers (``read``, ``verify``) never block
the writer. Durability is ``synchronous=FULL`` by default: every commit fsyncs the WAL, so a
committed append survives a power cut, not only a killed process. ``NORMAL`` (durable against a
process crash such as SIGKILL, but the last commits may be lost on power loss) is available for
throwaway stores; group commits — :class:`~orderdesk.store.writer.AsyncEventWriter` or one
``append`` per batch — are how FULL stays fast. On PostgreSQL durability is the server's
(``synchronous_commit``), and ``verify`` reads in one REPEATABLE READ snapshot so appends made
meanwhile are not half seen.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal, Self

from sqlalchemy import Engine, bindparam, create_engine, event, insert, select, text, update
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from orderdesk.config import shown_store_url, store_url_passwords, store_url_problem
from orderdesk.domain.events import Event
from orderdesk.errors import StoreError
from orderdesk.ports.store import StoredEvent, VerifyReport
from orderdesk.redaction import register_secret
from orderdesk.store import migrate
from orderdesk.store.chain import (
    ChainVerifier,
    Encoded,
    Head,
    Row,
    encode_events,
    link,
)
from orderdesk.store.driver import SqliteDriver
from orderdesk.store.location import create_log, refuse_empty_log, sqlite_file, sqlite_url
from orderdesk.store.migrate import current_revision
from orderdesk.store.schema import HEAD_ID, KINDS_BY_TYPE, chain_head, events, of_type

log = logging.getLogger(__name__)

Synchronous = Literal["FULL", "NORMAL"]

CHECKPOINT_ROWS = 500
"""Rows appended between checkpoints of the SQLite write-ahead log. Each commit adds the pages
it changed (the row's, its two indexes', the chain head's: some 16 KB), so the log reaches half
a megabyte when commits carry many rows and a few megabytes (7.5 at most) when each carries
one, as a light day's do; the file is reused from its start after each checkpoint, so that is
its size for good.

Small on purpose: a checkpoint lets the next commit start the log again from its beginning,
overwriting blocks the file already has, and syncing those is cheaper than syncing a log that
grows. Durable commits of two 400-byte rows, the first 2,000 on a fresh database (sqlite3 alone,
this machine's ext4, three alternating runs each): checkpointing every 500 rows cost 74-98 µs of
system CPU and 237-254 µs of wall time per commit, checkpoints included, against 139-156 µs and
369-385 µs every 4,000 rows. The desk makes one durable commit per order, on the event loop."""

READ_PAGE = 1000
"""Rows per query when reading: pages keep no cursor open while the caller works."""

_APPEND = "append to"
_KINDS = {_APPEND: "write", "read": "read", "verify": "read"}
"""What a failure of each action of :meth:`SqlEventStore._errors` says of the log: it cannot
be written, or cannot be read (a checkpoint's failure says neither)."""

_WRITE = "orderdesk_write"
"""Execution option that makes the SQLite ``begin`` hook take the write lock up front."""

# Built once: constructing Core statements costs more than executing them on a small append.
_INSERT = insert(events)
_HEAD = select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == HEAD_ID)
_HEAD_LOCKED = _HEAD.with_for_update()
_MOVE_HEAD = (
    update(chain_head)
    .where(chain_head.c.id == HEAD_ID)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
_ALL = select(events).order_by(events.c.seq)

_MIGRATION_LOCK = text("SELECT pg_advisory_xact_lock(4242000001)")
"""PostgreSQL has no table to lock before the tables exist: two processes opening a fresh
database serialise their migrations on this transaction-scoped advisory lock instead."""


def _sqlite_engine(
    url: str, synchronous: Synchronous, busy_timeout_ms: int, *, read_only: bool = False
) -> Engine:
    file = sqlite_file(url)
    if file is not None:
        refuse_empty_log(file)
        if not read_only:
            file.parent.mkdir(parents=True, exist_ok=True)
            create_log(file)
    # The async writer runs appends on a worker thread; the pool hands a connection to one
    # thread at a time, so sqlite3's same-thread check only gets in the way.
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if file is None:
        # An in-memory database lives and dies with its connection: share exactly one.
        options["poolclass"] = StaticPool
    elif read_only:
        # SQLite itself refuses every write on the connection (and makes no file that is not
        # there): an audit cannot change the log it proves, even by creating its tables.
        read_only_uri = f"{file.resolve().as_uri()}?mode=ro"
        options["creator"] = lambda: sqlite3.connect(
            read_only_uri, uri=True, check_same_thread=False
        )
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Leave transactions to the "begin" hook below: pysqlite's own implicit BEGIN is
        # deferred and only issued before DML, which would let two writers read the same head.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if not read_only:  # both write the file; a reader takes the log as it is
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
        # Checkpoints are the store's to run (checkpoint_if_due), not the committing append's.
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class _DriverInsert:
    """The row INSERT compiled once for the dialect, executed through the driver.

    Going through Core per row costs as much as hashing and writing it; the statement is still
    SQLAlchemy's own compilation, so it stays right for each backend's parameter style.

    On SQLite the rows go in multi-row statements (``VALUES (…), (…), …``) rather than through
    ``executemany``: sqlite3 releases the GIL around every step, and ``executemany`` steps once
    per row, so a writer thread had to win the GIL back from the event loop once per row. With
    the loop busy, a row took 60–80× as long that way (``make bench ARGS=store``: the
    ``store_append_thread_*`` rows); with the loop idle the two cost about the same.
    """

    ROWS_PER_STATEMENT = 256
    """1,792 parameters: within SQLite's limit since 3.32 (32,766; 999 before)."""

    def __init__(self, dialect: Dialect) -> None:
        compiled = _INSERT.compile(dialect=dialect)
        self.sql = str(compiled)
        names = tuple(compiled.positiontup or ()) if compiled.positional else None
        # Rows are tuples in column order: when the driver wants exactly that, pass them as is.
        self._as_is = names == Row._fields
        self._pick = attrgetter(*names) if names and not self._as_is else None
        self._multirow = self._as_is and dialect.paramstyle == "qmark"
        self._rows_per_statement = self.ROWS_PER_STATEMENT
        if getattr(dialect.dbapi, "sqlite_version_info", (3, 32)) < (3, 32):
            self._rows_per_statement = 999 // len(Row._fields)
        head, _, values = self.sql.partition(" VALUES ")
        self._head, self._values = f"{head} VALUES ", values
        self._statements: dict[int, str] = {}

    def write(self, connection: Connection, rows: Sequence[Row]) -> None:
        """Insert ``rows`` on ``connection`` (inside its transaction)."""
        if not self._multirow:
            connection.exec_driver_sql(self.sql, self.parameters(rows))
            return
        for statement, parameters in self.multirow(rows):
            connection.exec_driver_sql(statement, parameters)

    def multirow(self, rows: Sequence[Row]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """The multi-row statements (qmark drivers) that insert ``rows``, with parameters."""
        start, size = 0, self._rows_per_statement
        while start < len(rows):
            # Full statements, then the tail in halving sizes: a handful of statement texts
            # serve every batch length.
            while size > len(rows) - start:
                size //= 2
            part = rows[start : start + size]
            yield self._statement(size), tuple(chain.from_iterable(part))
            start += size

    def _statement(self, rows: int) -> str:
        statement = self._statements.get(rows)
        if statement is None:
            statement = self._statements[rows] = self._head + ",".join([self._values] * rows)
        return statement

    def parameters(self, rows: Sequence[Row]) -> Sequence[tuple[Any, ...]] | list[dict[str, Any]]:
        if self._as_is:
            return rows
        if self._pick is not None:
            pick = self._pick
            return [pick(row) for row in rows]
        return [row._asdict() for row in rows]


class SqlEventStore:
    """The event store on a SQLAlchemy URL; creates and migrates the schema when opened."""

    def __init__(
        self,
        url: str,
        *,
        synchronous: Synchronous = "FULL",
        busy_timeout_ms: int = 5000,
        read_only: bool = False,
    ) -> None:
        """``read_only``: an SQLite log is opened as it is, for reading alone (an audit): it
        must exist and hold the tables, and nothing is created or migrated in it."""
        self.url = url
        self.shown_url = shown_store_url(url)
        """The URL as errors and people say it: a PostgreSQL password in it is ``***``."""
        for password in store_url_passwords(url):
            # A driver's own message could quote it; the log masks it wherever it appears.
            register_secret(password)
        self._closed = False
        self._since_checkpoint = 0
        self._failures: dict[str, str] = {}
        """The last failure of an append (``write``) and of a read (``read``), each kept
        until one of its kind succeeds: what :attr:`failure` tells the desk's health."""
        problem = store_url_problem(url)
        if problem is not None:  # SQLAlchemy would answer with a ValueError or an ImportError
            raise StoreError(f"cannot open the event store at {self.shown_url}: {problem}")
        try:
            self.backend = make_url(url).get_backend_name()
            read_only = read_only and sqlite_file(url) is not None
            if self.backend == "sqlite":
                self._engine = _sqlite_engine(
                    url, synchronous, busy_timeout_ms, read_only=read_only
                )
            else:
                self._engine = create_engine(url, pool_pre_ping=True)
            self._insert = _DriverInsert(self._engine.dialect)
            if read_only:
                self._check_readable()
            else:
                self._migrate()
            self._driver = (
                SqliteDriver(
                    self._engine,
                    self._insert,
                    head=_HEAD,
                    move_head=_MOVE_HEAD,
                    page_rows=READ_PAGE,
                    busy_timeout_ms=busy_timeout_ms,
                    synchronous=synchronous,
                )
                if self.backend == "sqlite"
                else None
            )
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the event store at {self.shown_url}: {_said(exc)}"
            ) from exc

    def _check_readable(self) -> None:
        """Refuse to read, as is, a log with no event tables or one a newer orderdesk wrote."""
        file = sqlite_file(self.url)
        try:
            with self._transaction() as connection:
                revision = current_revision(connection)
                if revision is None:
                    raise StoreError(f"{file} is not an event log (it holds no event tables)")
                migrate.refuse_newer(revision, f"the event log {file}")
        except StoreError:
            self._engine.dispose()
            raise

    def _migrate(self) -> None:
        """Bring the schema to head in one write transaction (see :func:`migrate.upgrade`:
        an existing SQLite log is copied beside itself first), and say so when a log was
        migrated: the version that wrote it cannot read it any more."""
        file = sqlite_file(self.url)
        try:
            with self._transaction(write=True) as connection:
                if self.backend == "postgresql":
                    connection.execute(_MIGRATION_LOCK)
                migrated = migrate.upgrade(
                    connection, log=f"the event log {file or self.shown_url}", file=file
                )
        except StoreError:  # a newer orderdesk's log, or no copy could be kept: nothing written
            self._engine.dispose()
            raise
        if migrated is None:
            return
        if migrated.copy is not None:
            kept = f"the log as it was is kept at {migrated.copy}"
        else:
            kept = "no copy kept (pg_dump makes one of a PostgreSQL store)"
        log.warning(
            "event log %s migrated from schema %s to %s; %s",
            file or self.shown_url,
            migrated.old,
            migrate.HEAD_REVISION,
            kept,
        )

    @classmethod
    def open(cls, path: Path, **options: Any) -> Self:
        """The store in the SQLite file ``path`` (created, with its folder, if absent)."""
        return cls(sqlite_url(path), **options)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the EventStore protocol ---------------------------------------------------------------

    def append(self, events_: Sequence[Event]) -> list[StoredEvent]:
        """Write ``events_`` in one transaction after everything already stored."""
        rows = self.append_encoded(encode_events(events_))
        self.checkpoint_if_due()
        return [row.to_stored() for row in rows]

    def append_encoded(self, encoded: Sequence[Encoded], *, durable: bool = True) -> list[Row]:
        """Append events already encoded by :func:`~orderdesk.store.chain.encode_events`;
        returns the rows as written. ``durable=False``: the commit need not survive a power
        cut, only a killed process (SQLite ``synchronous=NORMAL`` for it, PostgreSQL
        ``synchronous_commit=off``); the next durable commit makes it durable too."""
        if not encoded:
            return []
        if self._driver is not None:
            with self._errors(_APPEND):
                rows = self._driver.append(encoded, durable=durable)
            assert rows is not None  # a waiting append waits
            self._since_checkpoint += len(rows)
            return rows
        with self._errors(_APPEND), self._transaction(write=True) as connection:
            if not durable and self.backend == "postgresql":
                connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            head = self._head(connection, lock=True)
            rows, new_head = link(encoded, head)
            self._insert.write(connection, rows)
            connection.execute(_MOVE_HEAD, {"new_seq": new_head.seq, "new_hash": new_head.hash})
        self._since_checkpoint += len(rows)
        return rows

    def append_now(self, encoded: Sequence[Encoded], *, durable: bool = True) -> list[Row] | None:
        """:meth:`append_encoded` on the calling thread if it need not wait: None when the
        write lock is taken (another process appending, a checkpoint running) or the store is
        not SQLite. The async writer tries this on the event loop before it hands an append to
        a worker thread (see :mod:`orderdesk.store.writer`)."""
        if self._driver is None or not encoded:
            return None
        with self._errors(_APPEND):
            rows = self._driver.append(encoded, wait=False, durable=durable)
        if rows is not None:
            self._since_checkpoint += len(rows)
        return rows

    def sync(self) -> None:
        """Make every commit so far durable, those written with ``durable=False`` too.

        SQLite: an fsync of the write-ahead log, which holds every commit not yet copied into
        the database (a checkpoint would sync it as well, but copies only what no reader still
        needs, and syncs only what it copies). PostgreSQL syncs asynchronous commits by itself
        (its WAL writer, within ``3 × wal_writer_delay``, 600 ms by default); nothing to do.
        """
        if self._driver is None or self._closed:
            return
        wal = sqlite_file(self.url)
        if wal is None:
            return  # in memory: nothing to sync
        try:
            fd = os.open(f"{wal}-wal", os.O_RDONLY)
        except FileNotFoundError:
            return  # no write-ahead log: every commit went into the database itself
        except OSError as exc:
            raise StoreError(f"cannot sync the event store at {self.shown_url}: {exc}") from exc
        try:
            os.fsync(fd)
        except OSError as exc:
            raise StoreError(f"cannot sync the event store at {self.shown_url}: {exc}") from exc
        finally:
            os.close(fd)

    def checkpoint_due(self) -> bool:
        """Whether :meth:`checkpoint_if_due` has work to do (the writer asks before it hands
        the checkpoint to a thread, as most commits have none)."""
        return self._driver is not None and self._since_checkpoint >= CHECKPOINT_ROWS

    def checkpoint_if_due(self) -> None:
        """Copy the SQLite write-ahead log back into the database once it has grown.

        SQLite would do this inside whichever commit crossed its threshold, making that append
        (and whoever awaits it) wait for a few megabytes of copying. The async writer calls this
        once its callers have their answer instead, so the copy overlaps their next decisions.
        PASSIVE: it never waits for readers, and what it cannot copy now is copied next time.
        """
        if self._driver is None or not self.checkpoint_due():
            return
        self._since_checkpoint = 0
        with self._errors("checkpoint"):
            self._driver.checkpoint()

    def read(
        self,
        *,
        stream: str | None = None,
        kind: str | None = None,
        after: int = 0,
        before: int | None = None,
    ) -> Iterator[StoredEvent]:
        """Stored events with ``after < seq < before``, oldest first, fetched a page at a time
        (optionally of one stream or one type, each served by an index)."""
        while True:
            if self._driver is not None:
                if self._closed:
                    raise StoreError("the event store is closed")
                with self._errors("read"):
                    page = self._driver.read(after=after, before=before, stream=stream, kind=kind)
                yield from (row.to_stored() for row in page)
                if len(page) < READ_PAGE:
                    return
                after = page[-1].seq
                continue
            query = select(events).where(events.c.seq > after)
            if before is not None:
                query = query.where(events.c.seq < before)
            if stream is not None:
                query = query.where(events.c.stream == stream)
            if kind is not None:
                query = query.where(of_type(kind, kept=kind in KINDS_BY_TYPE))
            query = query.order_by(events.c.seq).limit(READ_PAGE)
            with self._errors("read"), self._transaction() as connection:
                page = [Row(*r) for r in connection.execute(query)]
            for row in page:
                yield row.to_stored()
            if len(page) < READ_PAGE:
                return
            after = page[-1].seq

    def latest(self, kind: str) -> StoredEvent | None:
        """The newest event of type ``kind``: one step down the (type, seq) index for the
        desk's kinds (:data:`~orderdesk.store.schema.KINDS_BY_TYPE`), a walk back through the
        log for an order's."""
        query = (
            select(events)
            .where(of_type(kind, kept=kind in KINDS_BY_TYPE))
            .order_by(events.c.seq.desc())
            .limit(1)
        )
        with self._errors("read"), self._transaction() as connection:
            found = connection.execute(query).one_or_none()
        return None if found is None else Row(*found).to_stored()

    def verify(self) -> VerifyReport:
        """Walk every row in seq order inside one snapshot and check it against the head."""
        verifier = ChainVerifier()
        with self._errors("verify"), self._transaction(snapshot=True) as connection:
            head = self._head(connection)
            result = connection.execution_options(yield_per=READ_PAGE).execute(_ALL)
            for r in result:
                if not verifier.feed(Row(*r)):
                    break
            result.close()
        return verifier.finish(head)

    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            if self._driver is not None:
                self._driver.close()
            self._engine.dispose()

    # -- extras --------------------------------------------------------------------------------

    def last_seq(self) -> int:
        """The seq of the newest event (0 when the log is empty)."""
        with self._errors("read"), self._transaction() as connection:
            return self._head(connection).seq

    def head(self) -> Head:
        """The recorded end of the chain, worth noting down outside the database: a copy kept
        elsewhere is what proves that no one rewrote the whole chain and its head together."""
        with self._errors("read"), self._transaction() as connection:
            return self._head(connection)

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, *, write: bool = False, snapshot: bool = False) -> Iterator[Connection]:
        if self._closed:
            raise StoreError("the event store is closed")
        with self._engine.connect() as connection:
            if write:
                connection.execution_options(**{_WRITE: True})
            if snapshot and self.backend == "postgresql":
                # READ COMMITTED would let rows committed during the walk appear after the head
                # was read. (SQLite's WAL read transaction is a snapshot already.)
                connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection

    @property
    def failure(self) -> str | None:
        """Why the event log cannot be used now: the last append's failure until an append
        succeeds (a full disk fails appends while reads go on), else the last read's until a
        read succeeds (a stopped database fails both, and a signal reads its stream first);
        None when neither failed since. The desk's health says degraded while it is set."""
        return self._failures.get("write") or self._failures.get("read")

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        # The one place where SQLAlchemy's exceptions become orderdesk's, and where the
        # store learns it cannot be used (and can be again).
        kind = _KINDS.get(action)
        try:
            yield
        except (SQLAlchemyError, sqlite3.Error) as exc:
            error = StoreError(f"cannot {action} the event store at {self.shown_url}: {_said(exc)}")
            if kind is not None:
                self._failures[kind] = str(error)
            raise error from exc
        if kind is not None:
            self._failures.pop(kind, None)

    @staticmethod
    def _head(connection: Connection, *, lock: bool = False) -> Head:
        found = connection.execute(_HEAD_LOCKED if lock else _HEAD).one_or_none()
        if found is None:
            raise StoreError("the event store has no chain_head row (was it deleted?)")
        return Head(found.seq, found.hash)


def _said(exc: SQLAlchemyError | sqlite3.Error) -> str:
    """What the database said, on one line: SQLAlchemy wraps the driver's message in the
    statement and a "Background on this error" link, lines an error of the CLI must not
    carry (and the statement is no news to the person reading it)."""
    cause: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        cause = exc.orig
    said = str(cause).strip()
    return said.splitlines()[0] if said else type(cause).__name__


__all__ = ["SqlEventStore", "Synchronous"]
