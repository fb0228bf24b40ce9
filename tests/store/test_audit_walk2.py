"""The store's side of the second operator walk: an event log truncated to 0 bytes is no log
(refused, not started over), a store opened read-only changes nothing, and what SQLite says of
a damaged file reaches the operator as one line."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import app, audit_command
from orderdesk.domain import KillSwitchChanged
from orderdesk.errors import StoreError
from orderdesk.store import SqlEventStore
from orderdesk.store.backup import back_up, backup_head

assert audit_command.audit is not None
runner = CliRunner()
START = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def drills(count: int) -> list[KillSwitchChanged]:
    return [
        KillSwitchChanged(at=START + timedelta(seconds=i), engaged=bool(i % 2), reason=f"d{i}")
        for i in range(count)
    ]


def test_an_empty_file_is_no_event_log_and_is_left_as_it_is(tmp_path: Path) -> None:
    """SQLite took it for an empty database: the desk replayed 0 events and wrote a new
    history over the one truncated."""
    empty = tmp_path / "events.db"
    empty.touch()
    with pytest.raises(StoreError) as refused:
        SqlEventStore.open(empty)
    assert str(refused.value) == (
        f"{empty} is empty (0 bytes), not an event log: restore it from a backup "
        "(`orderdesk restore`)"
    )
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.db"]


def test_a_log_not_there_yet_is_still_made_on_first_open(tmp_path: Path) -> None:
    path = tmp_path / "new" / "events.db"
    with SqlEventStore.open(path) as store:
        assert store.append(drills(2))[-1].seq == 2
    with SqlEventStore.open(path) as store:  # and opened again: it is no longer empty
        assert store.last_seq() == 2


def test_an_empty_backup_or_source_is_refused_by_name(tmp_path: Path) -> None:
    empty = tmp_path / "events-2026-12-07.db"
    empty.touch()
    with pytest.raises(StoreError, match=r"is empty \(0 bytes\), not an event log"):
        backup_head(empty)
    with pytest.raises(StoreError, match=r"is empty \(0 bytes\), not an event log"):
        back_up(f"sqlite:///{empty}", tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_a_read_only_store_reads_and_refuses_to_write(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with SqlEventStore.open(path) as store:
        store.append(drills(3))
    before = path.read_bytes()
    with SqlEventStore(f"sqlite:///{path}", read_only=True) as store:
        assert store.verify().rows == 3
        assert [event.seq for event in store.read()] == [1, 2, 3]
        with pytest.raises(StoreError, match="readonly"):
            store.append(drills(1))
    assert path.read_bytes() == before


def _malformed(tmp_path: Path) -> Path:
    """A log cut short mid-file (its header intact), as the walk's tr30000.db was."""
    path = tmp_path / "events.db"
    with SqlEventStore.open(path) as store:
        store.append(drills(400))
    size = path.stat().st_size
    assert size > 8192
    os.truncate(path, size // 2)
    return path


def test_a_malformed_log_is_said_in_one_line(tmp_path: Path) -> None:
    """SQLAlchemy's message carried the statement and a "Background on this error" link on
    lines of their own: the README promises one line."""
    path = _malformed(tmp_path)
    with pytest.raises(StoreError) as failed, SqlEventStore.open(path) as store:
        store.verify()
    said = str(failed.value)
    assert len(said.splitlines()) == 1, said
    assert "sqlalche.me" not in said
    assert "[SQL:" not in said
    assert "malformed" in said


def test_audit_verify_of_a_malformed_log_is_one_line(tmp_path: Path) -> None:
    path = _malformed(tmp_path)
    result = runner.invoke(app, ["audit", "verify", "--db", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "malformed" in lines[0]
    assert "sqlalche.me" not in result.stderr
