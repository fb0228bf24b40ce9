"""The (type, seq) index holds the desk's and the triggers' events only (migration 0003): an
order's events, read by their stream, are left out of it so that every order's commits write
fewer pages; reads by type give the same rows whatever the type."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from orderdesk.domain import Event
from orderdesk.store import SqlEventStore
from orderdesk.store.migrate import _config
from orderdesk.store.schema import KINDS_BY_TYPE

Lifecycle = Callable[[int], list[Event]]


def _rows_by_type(store: SqlEventStore, kind: str) -> list[int]:
    return [row.seq for row in store.read(kind=kind)]


def test_reads_by_type_find_every_row_of_either_kind(
    store_url: str, lifecycle: Lifecycle, desk: Callable[[int], Event]
) -> None:
    """A desk kind is found through the index, an order's kind by reading the log: both find
    all their rows, and ``latest`` the newest of either."""
    with SqlEventStore(store_url) as store:
        for n in range(3):
            store.append([*lifecycle(n), desk(n)])
        everything = list(store.read())
        for kind in {row.type for row in everything}:
            assert _rows_by_type(store, kind) == [r.seq for r in everything if r.type == kind]
            newest = store.latest(kind)
            assert newest is not None
            assert newest.seq == max(r.seq for r in everything if r.type == kind)
        desk_kind = desk(0).__class__.__name__
        assert desk_kind in KINDS_BY_TYPE
        last = everything[-1].seq
        assert [r.seq for r in store.read(kind=desk_kind, after=1, before=last)] == [
            r.seq for r in everything if r.type == desk_kind and 1 < r.seq < last
        ]


def test_the_index_holds_only_the_desks_rows(
    db_path: Path, lifecycle: Lifecycle, desk: Callable[[int], Event]
) -> None:
    """Counted through the index itself: the desk's events are in it, an order's are not; and
    SQLite plans a desk kind's reads (the store's own statements) through it."""
    with SqlEventStore.open(db_path) as store:
        store.append([*lifecycle(0), desk(0), desk(1)])
        assert store._driver is not None
        desk_kind = desk(0).__class__.__name__
        list(store.read(kind=desk_kind))
        statements = [
            (page.sql, page.parameters(after=0, before=None, stream=None, kind=desk_kind))
            for page in store._driver._pages.values()
        ]
    with closing(sqlite3.connect(db_path)) as db:
        (indexed,) = db.execute(
            "SELECT count(*) FROM events INDEXED BY ix_events_kept_type_seq "
            "WHERE stream IN ('desk', 'triggers') AND type > ''"
        ).fetchone()
        plans = [
            db.execute("EXPLAIN QUERY PLAN " + sql, parameters).fetchall()
            for sql, parameters in statements
        ]
    assert indexed == 2
    assert ["ix_events_kept_type_seq" in str(plan) for plan in plans] == [True]


def test_a_log_at_0002_is_migrated_and_keeps_its_rows(
    db_path: Path, lifecycle: Lifecycle, desk: Callable[[int], Event]
) -> None:
    """A log made before the index was narrowed opens at the new revision, its rows intact
    and found by type as before."""
    db_path.parent.mkdir(parents=True)
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as connection:
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    engine.dispose()
    with closing(sqlite3.connect(db_path)) as db:
        names = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert "ix_events_type_seq" in names
    with SqlEventStore.open(db_path) as store:
        store.append([*lifecycle(0), desk(0)])
        assert [row.type for row in store.read(kind=desk(0).__class__.__name__)] == [
            desk(0).__class__.__name__
        ]
        assert store.verify().ok
    with closing(sqlite3.connect(db_path)) as db:
        names = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert "ix_events_type_seq" not in names
    assert "ix_events_kept_type_seq" in names
