"""Run the packaged alembic migrations on an open connection, without an alembic.ini.

The store calls :func:`upgrade` inside its own write transaction (``BEGIN IMMEDIATE`` on
SQLite), so two processes opening a fresh file at the same moment cannot both create the
tables: the second waits for the lock and then finds the schema already at head.

Importing alembic takes longer than everything else ``orderdesk audit verify`` does on a small
log, so the usual case — a database already at :data:`HEAD_REVISION` — is recognised with one
query and alembic is only imported when there is something to migrate.

Migrating changes the user's only history in place, and the orderdesk that wrote it cannot
read it afterwards; so an existing SQLite log is first copied as it is beside itself
(:func:`keep_copy`), and a log at a revision this code does not know (a newer orderdesk wrote
it) is refused with :class:`NewerSchema` before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from orderdesk.errors import StoreError
from orderdesk.store.backup import copy_log, sync_path

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

HEAD_REVISION = "0003"
"""The newest revision in ``migrations/versions`` (a test holds the two together)."""


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def script_head() -> str | None:
    """The newest revision according to the migration scripts themselves."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None for a database alembic has never touched)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if version is None else str(version)


class NewerSchema(StoreError):
    """The log is at a revision none of this code's migrations make: a newer orderdesk wrote
    it, in a schema this one cannot know how to read or write (nor how to migrate from)."""

    def __init__(self, log: str, revision: str) -> None:
        super().__init__(
            f"{log} was written by a newer orderdesk (schema {revision}; this one knows up to "
            f"{HEAD_REVISION}): run the newer version, or restore a backup from before the "
            "upgrade (`orderdesk restore`). The log was left as it is"
        )
        self.revision = revision


@dataclass(frozen=True, slots=True)
class Migrated:
    """An existing log brought to :data:`HEAD_REVISION`: the revision it was at, and where the
    copy of it as it was is kept (None: a PostgreSQL or in-memory log, not copied)."""

    old: str
    copy: Path | None


def known_revisions() -> set[str]:
    """Every revision the migration scripts shipped with this code make."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


def refuse_newer(revision: str | None, log: str = "the event log") -> None:
    """:class:`NewerSchema` for a revision this code does not know; ``log`` names the log.

    None (a log alembic never touched) and the head are known without a look at the scripts,
    so opening a log at head still imports no alembic."""
    if revision is None or revision == HEAD_REVISION:
        return
    if revision not in known_revisions():
        raise NewerSchema(log, revision)


def upgrade(
    connection: Connection, *, log: str = "the event log", file: Path | None = None
) -> Migrated | None:
    """Bring the schema on ``connection`` to the newest revision; a no-op when already there.

    ``file``: the SQLite file of the log, copied beside itself (:func:`keep_copy`) before an
    existing log is migrated. The copy is made inside the caller's write transaction, by the
    one process that then migrates: another opening the log waits for the lock and finds it at
    head. A revision this code does not know is :class:`NewerSchema` (``log`` names the log),
    nothing written. Returns what was migrated: None when the log was at head or is new."""
    found = current_revision(connection)
    if found == HEAD_REVISION:
        return None
    refuse_newer(found, log)
    copy = None if found is None or file is None else keep_copy(file, found)
    from alembic import command

    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    return None if found is None else Migrated(found, copy)


def keep_copy(log: Path, revision: str) -> Path:
    """Copy the SQLite log ``log``, at ``revision``, beside it before it is migrated; the copy.

    Named ``<stem>-before-schema-<head><suffix>`` (``events-before-schema-0003.db``; an older
    copy of that name is kept, and this one's name carries the time). Made as a backup is:
    SQLite's online backup from a read-only connection (the log as last committed, which the
    caller's write transaction has not changed yet), one file with no ``-wal``, readable by its
    owner alone, written under a temporary name and renamed into place once synced. A failure
    is a :class:`~orderdesk.errors.StoreError`, and the log is not migrated."""
    target = log.with_name(f"{log.stem}-before-schema-{HEAD_REVISION}{log.suffix}")
    if target.exists():
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = target.with_name(f"{target.stem}-{stamp}{target.suffix}")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        copy_log(log, partial)
        sync_path(partial)
        partial.replace(target)
        sync_path(target.parent)
    except (sqlite3.Error, OSError) as exc:
        said = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise StoreError(
            f"the event log {log} was not migrated from schema {revision} to {HEAD_REVISION}: "
            f"keeping a copy of it at {target} failed: {said}"
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return target


__all__ = [
    "HEAD_REVISION",
    "MIGRATIONS",
    "Migrated",
    "NewerSchema",
    "current_revision",
    "keep_copy",
    "known_revisions",
    "refuse_newer",
    "script_head",
    "upgrade",
]
