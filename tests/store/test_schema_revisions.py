"""An event log at another schema revision than this code's head: one a newer orderdesk wrote is
refused whole, nothing written to it (it died in a 100-line alembic traceback, and ``audit
verify`` called it intact); one an older orderdesk wrote is copied beside itself as it was
before it is migrated, and the migration is said (it was migrated in place, silently, the only
copy of the history changed for good)."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import stat
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from orderdesk.domain import Event
from orderdesk.errors import StoreError
from orderdesk.store import SqlEventStore
from orderdesk.store.backup import backup_head
from orderdesk.store.migrate import HEAD_REVISION, _config
from tests import pg

Lifecycle = Callable[[int], list[Event]]
OLD = "0002"
COPY_NAME = f"events-before-schema-{HEAD_REVISION}.db"


def at_revision(url: str, revision: str) -> None:
    """Take the log at ``url`` (made at head) back to ``revision`` with the scripts' own
    downgrades: the log an older orderdesk left."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def stamp(path: Path, revision: str) -> None:
    """Record ``revision`` in the SQLite log at ``path``: as a newer orderdesk would leave it."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def revision_of(path: Path) -> str:
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        return str(db.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def old_log(db_path: Path, lifecycle: Lifecycle) -> int:
    """An SQLite log at :data:`OLD` holding two orders' events; how many."""
    events = [*lifecycle(0), *lifecycle(1)]
    with SqlEventStore.open(db_path) as store:
        store.append(events)
    at_revision(f"sqlite:///{db_path}", OLD)
    assert revision_of(db_path) == OLD
    return len(events)


def migration_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "migrated from schema" in r.getMessage()]


def test_an_old_log_is_copied_as_it_was_before_it_is_migrated(
    db_path: Path, lifecycle: Lifecycle, caplog: pytest.LogCaptureFixture
) -> None:
    """The copy beside the log holds every event at the old revision, one file of its owner's
    alone; the log goes on at head with the same events; one WARNING line says both."""
    rows = old_log(db_path, lifecycle)
    caplog.set_level(logging.INFO, logger="orderdesk")

    with SqlEventStore.open(db_path) as store:
        assert store.verify().rows == rows

    copy = db_path.with_name(COPY_NAME)
    assert copy.is_file()
    assert revision_of(copy) == OLD
    assert revision_of(db_path) == HEAD_REVISION
    assert backup_head(copy)[0] == rows  # a whole log, its chain intact: restorable
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert not Path(f"{copy}-wal").exists()
    assert migration_lines(caplog) == [
        f"event log {db_path} migrated from schema {OLD} to {HEAD_REVISION}; the log as it was "
        f"is kept at {copy}"
    ]
    assert [r.levelno for r in caplog.records if "migrated" in r.getMessage()] == [logging.WARNING]


def test_the_copy_is_made_once_and_an_earlier_one_is_kept(
    db_path: Path, lifecycle: Lifecycle
) -> None:
    """Opening the migrated log again copies nothing; a log migrated again later (an old
    backup restored and upgraded) keeps its copy under another name, the first one untouched."""
    old_log(db_path, lifecycle)
    SqlEventStore.open(db_path).close()
    SqlEventStore.open(db_path).close()
    copies = sorted(p.name for p in db_path.parent.iterdir() if "before-schema" in p.name)
    assert copies == [COPY_NAME]

    first = digest(db_path.with_name(COPY_NAME))
    at_revision(f"sqlite:///{db_path}", OLD)
    SqlEventStore.open(db_path).close()
    copies = sorted(p.name for p in db_path.parent.iterdir() if "before-schema" in p.name)
    assert len(copies) == 2
    assert digest(db_path.with_name(COPY_NAME)) == first


def test_a_new_log_is_made_at_head_with_no_copy_and_nothing_said(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="orderdesk")
    SqlEventStore.open(db_path).close()
    assert revision_of(db_path) == HEAD_REVISION
    assert [p.name for p in db_path.parent.iterdir() if "before-schema" in p.name] == []
    assert migration_lines(caplog) == []


def test_a_postgresql_log_migrated_is_said(
    postgres: pg.PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    """No file to copy: the line says the migration, and that no copy was kept."""
    url = postgres.new_database()
    SqlEventStore(url).close()
    at_revision(url, OLD)
    caplog.set_level(logging.INFO, logger="orderdesk")

    SqlEventStore(url).close()

    (line,) = migration_lines(caplog)
    assert f"migrated from schema {OLD} to {HEAD_REVISION}; no copy kept" in line
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalar() == HEAD_REVISION
    finally:
        engine.dispose()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_log_a_newer_orderdesk_wrote_is_refused_and_left_as_it_is(
    db_path: Path, lifecycle: Lifecycle, read_only: bool
) -> None:
    """Opened to write (the desk) or to read (an audit): a StoreError naming the log and both
    revisions, nothing written to it and no copy made."""
    with SqlEventStore.open(db_path) as store:
        store.append(lifecycle(0))
    stamp(db_path, "0004")
    before = digest(db_path)

    with pytest.raises(StoreError) as refused:
        SqlEventStore.open(db_path, read_only=read_only)

    assert str(refused.value) == (
        f"the event log {db_path} was written by a newer orderdesk (schema 0004; this one "
        f"knows up to {HEAD_REVISION}): run the newer version, or restore a backup from before "
        "the upgrade (`orderdesk restore`). The log was left as it is"
    )
    assert digest(db_path) == before
    assert revision_of(db_path) == "0004"
    assert [p.name for p in db_path.parent.iterdir() if "before-schema" in p.name] == []
