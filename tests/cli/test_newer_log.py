"""An event log a newer orderdesk wrote, met by this one on an in-place upgrade undone: ``run``
refuses it in one paragraph (it died in a 100-line alembic traceback, "Can't locate revision
identified by '0004'"), and ``audit verify`` refuses it the same way (it said "chain intact"),
both leaving the file as it was."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from orderdesk.store import SqlEventStore
from orderdesk.store.migrate import HEAD_REVISION
from tests.cli.test_audit_command import events
from tests.cli.test_config_errors_clear import refused

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")

NEWER = "0004"
REFUSAL = (
    f"was written by a newer orderdesk (schema {NEWER}; this one knows up to {HEAD_REVISION}): "
    "run the newer version, or restore a backup from before the upgrade (`orderdesk restore`)"
)


def newer_log(path: Path) -> str:
    """A log of ten events stamped with a revision this code has no script for; its digest."""
    with SqlEventStore.open(path) as store:
        store.append(events(10))
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE alembic_version SET version_num = ?", (NEWER,))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def config(tmp_path: Path) -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\nconfig_dir = "{tmp_path / "conf"}"\n'
    )
    return path


def argv(command: str, tmp_path: Path) -> list[str]:
    if command == "run":
        return ["run", "--config", str(config(tmp_path))]
    return ["audit", "verify", "--db", str(tmp_path / "data" / "events.db")]


@pytest.mark.parametrize("command", ["run", "audit verify"])
def test_a_log_a_newer_orderdesk_wrote_is_refused_in_one_paragraph(
    tmp_path: Path, command: str
) -> None:
    log = tmp_path / "data" / "events.db"
    before = newer_log(log)

    result = runner.invoke(app, argv(command, tmp_path))

    said = refused(result)
    assert f"the event log {log} {REFUSAL}" in said
    assert "chain intact" not in said
    assert hashlib.sha256(log.read_bytes()).hexdigest() == before
    assert [p.name for p in log.parent.iterdir() if "before-schema" in p.name] == []
