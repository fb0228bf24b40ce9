"""Run the packaged alembic migrations on an open connection, without an alembic.ini.

The store calls :func:`upgrade` inside its own write transaction (``BEGIN IMMEDIATE`` on
SQLite), so two processes opening a fresh file at the same moment cannot both create the
tables: the second waits for the lock and then finds the schema already at head.

Importing alembic takes longer than everything else ``orderdesk audit verify`` does on a small
log, so the usual case — a database already at :data:`HEAD_REVISION` — is recognised with one
query and alembic is only imported when there is something to migrate.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

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


def upgrade(connection: Connection) -> None:
    """Bring the schema on ``connection`` to the newest revision; a no-op when already there."""
    if current_revision(connection) == HEAD_REVISION:
        return
    from alembic import command

    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


__all__ = ["HEAD_REVISION", "MIGRATIONS", "current_revision", "script_head", "upgrade"]
