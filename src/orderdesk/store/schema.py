"""The tables, as SQLAlchemy Core objects shared by the store and the first migration.

``events`` is the log itself. ``chain_head`` holds exactly one row — the last seq and hash —
rewritten in the same transaction as every append. It is what lets verification notice a
truncated tail or a row added at the end, which the chain alone cannot; and it is the row a
PostgreSQL writer locks (``SELECT … FOR UPDATE``) to serialise appends.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    text,
)

from orderdesk.domain.events import DESK_EVENT_TYPES, DESK_STREAM, TRIGGER_STREAM

KEPT_BY_TYPE = f"stream IN ('{DESK_STREAM}', '{TRIGGER_STREAM}')"
"""The rows the (type, seq) index holds: the desk's and the triggers' events, which are looked
for by type (day checkpoints, reconciliations, conversions). An order's events are read by their
stream; left out, they spare every order's commits a page of the index per type they hold
(migration 0003)."""

KINDS_BY_TYPE = frozenset(cls.__name__ for cls in DESK_EVENT_TYPES)
"""The types whose rows the (type, seq) index holds (see :func:`of_type`)."""


metadata = MetaData()

events = Table(
    "events",
    metadata,
    # Assigned by the store, not by the database: the seq is part of the hashed envelope, so it
    # must be known before the row is written.
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("stream", String(64), nullable=False),
    Column("type", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_events_stream_seq", "stream", "seq"),
    # Start-up finds the latest day checkpoint, and the API lists days, by type.
    Index(
        "ix_events_kept_type_seq",
        "type",
        "seq",
        sqlite_where=text(KEPT_BY_TYPE),
        postgresql_where=text(KEPT_BY_TYPE),
    ),
)


def of_type(kind: Any, *, kept: bool) -> ColumnElement[bool]:
    """``type = kind`` (a value or a bound parameter); ``kept`` for a kind of
    :data:`KINDS_BY_TYPE`, which adds the (type, seq) index's condition: a query uses a partial
    index only when it states its condition word for word. A query of any other type reads the
    log in seq order (bounded by ``after`` and ``before`` where it asks for a stretch of it)."""
    condition = events.c.type == kind
    return and_(condition, text(KEPT_BY_TYPE)) if kept else condition


HEAD_ID = 1

chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint(f"id = {HEAD_ID}", name="ck_chain_head_single_row"),
)

__all__ = [
    "HEAD_ID",
    "KEPT_BY_TYPE",
    "KINDS_BY_TYPE",
    "chain_head",
    "events",
    "metadata",
    "of_type",
]
