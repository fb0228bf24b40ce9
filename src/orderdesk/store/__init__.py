"""The event store adapter: the append-only, hash-chained log of domain events.

:class:`SqlEventStore` keeps it in SQLite (WAL) or PostgreSQL, chosen by the database URL,
through SQLAlchemy Core, with alembic migrations shipped in this package and run at open;
:class:`InMemoryEventStore` keeps the same chain in a list for tests. Both hash and verify
through :mod:`orderdesk.store.chain`. :class:`AsyncEventWriter` gives many asyncio tasks group
commit on either.
"""

from orderdesk.store.chain import GENESIS_HASH, Head
from orderdesk.store.export import ExportFormat, export
from orderdesk.store.location import URL_ENV, default_db_path, resolve_url, sqlite_url
from orderdesk.store.memory import InMemoryEventStore
from orderdesk.store.replay import replay_orders
from orderdesk.store.sql import SqlEventStore, Synchronous
from orderdesk.store.writer import AsyncEventWriter, WriterState

__all__ = [
    "GENESIS_HASH",
    "URL_ENV",
    "AsyncEventWriter",
    "ExportFormat",
    "Head",
    "InMemoryEventStore",
    "SqlEventStore",
    "Synchronous",
    "WriterState",
    "default_db_path",
    "export",
    "replay_orders",
    "resolve_url",
    "sqlite_url",
]
