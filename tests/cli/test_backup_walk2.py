"""The second operator walk of the audit log and its backups, through typer's CliRunner: a log
truncated to nothing is refused wherever it is opened as a log (and never written to by an
audit), a rewritten event is named by its own seq, a broken backup is named as the backup, and
a restore leaves other desks' backups alone."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import app, audit_command, backup_command
from orderdesk.config import Settings, TradingDaySettings
from orderdesk.errors import StoreError
from orderdesk.runtime import open_runtime
from orderdesk.store import SqlEventStore
from tests.cli.test_backup_command import drills, rewrite_whole_chain

assert audit_command.audit is not None
assert backup_command.backup is not None
runner = CliRunner()
EMPTY = "is empty (0 bytes), not an event log: restore it from a backup (`orderdesk restore`)"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "events.db"
    with SqlEventStore.open(path) as store:
        store.append(drills(10))
    return path


@pytest.fixture
def truncated(tmp_path: Path) -> Path:
    """An event log truncated to 0 bytes, as a full disk or a bad copy leaves one."""
    path = tmp_path / "tr0.db"
    path.touch(mode=0o600)
    return path


def break_chain(db: Path, seq: int) -> None:
    """Edit one event's payload without hashing again: the chain breaks there."""
    with closing(sqlite3.connect(db)) as raw, raw:
        raw.execute("UPDATE events SET payload = ? WHERE seq = ?", ('{"edited":1}', seq))


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


# -- 1: a log truncated to 0 bytes ------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["audit", "verify"], ["audit", "export", "--format", "jsonl"]],
    ids=["verify", "export"],
)
def test_an_audit_of_an_empty_file_refuses_it_and_writes_nothing(
    truncated: Path, command: list[str]
) -> None:
    """It was "chain intact: 0 events", exit 0, and the schema written into the file."""
    result = runner.invoke(app, [*command, "--db", str(truncated)])
    assert result.exit_code == 1, result.output
    assert EMPTY in one_error_line(result.stderr)
    assert str(truncated) in result.stderr
    assert truncated.stat().st_size == 0
    assert sorted(p.name for p in truncated.parent.iterdir()) == ["tr0.db"]


def test_an_audit_leaves_the_log_byte_for_byte_as_it_was(db: Path) -> None:
    """Verify and export open the log read-only: the file is not written (not even its header
    or its journal mode), nor its write-ahead log (which a WAL reader may make, empty)."""
    before = db.read_bytes()
    assert runner.invoke(app, ["audit", "verify", "--db", str(db)]).exit_code == 0
    exported = runner.invoke(app, ["audit", "export", "--format", "csv", "--db", str(db)])
    assert exported.exit_code == 0, exported.output
    assert db.read_bytes() == before
    wal = db.with_name("events.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_a_file_that_is_no_event_log_is_refused_by_the_audit_unchanged(tmp_path: Path) -> None:
    """An SQLite database without the log's tables: the audit no longer creates them."""
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as raw, raw:
        raw.execute("CREATE TABLE notes (x)")
    before = other.read_bytes()
    result = runner.invoke(app, ["audit", "verify", "--db", str(other)])
    assert result.exit_code == 1, result.output
    assert "is not an event log" in one_error_line(result.stderr)
    assert other.read_bytes() == before


def test_an_empty_file_is_not_restored_over_the_log(db: Path, truncated: Path) -> None:
    """It was restored as "0 events" with no warning."""
    result = runner.invoke(app, ["restore", str(truncated), "--db", str(db), "--yes"])
    assert result.exit_code == 1, result.output
    assert EMPTY in one_error_line(result.stderr)
    with SqlEventStore.open(db) as store:
        assert store.last_seq() == 10
    assert not list(db.parent.glob("*.replaced-*"))


def test_an_empty_log_is_not_backed_up(truncated: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    result = runner.invoke(app, ["backup", str(copy), "--db", str(truncated)])
    assert result.exit_code == 1, result.output
    assert EMPTY in one_error_line(result.stderr)
    assert not copy.exists()
    assert truncated.stat().st_size == 0


async def test_the_desk_refuses_to_start_over_an_empty_log(tmp_path: Path) -> None:
    """`orderdesk run` on a 0-byte events.db started "replayed 0 events", a new history over
    the real one; the runtime it builds now stops before anything is written to the file."""
    settings = Settings(
        broker="paper",
        data_dir=tmp_path / "data",
        config_dir=tmp_path / "config",
        trading_day=TradingDaySettings(enabled=False),
    )
    settings.data_dir.mkdir()
    log = settings.data_dir / "events.db"
    log.touch(mode=0o600)
    with pytest.raises(StoreError) as refused:
        async with open_runtime(settings, serve=False):
            pass
    assert str(refused.value) == f"{log} {EMPTY}"
    assert log.stat().st_size == 0


# -- 2: the first event rewritten is the one named --------------------------------------------


def test_a_rewritten_event_is_named_not_the_backups_last(db: Path, tmp_path: Path) -> None:
    """Event 3 edited and every hash after it recomputed: it said "event 10 differs"."""
    copy = tmp_path / "copy.db"
    assert runner.invoke(app, ["backup", str(copy), "--db", str(db)]).exit_code == 0
    with SqlEventStore.open(db) as store:
        store.append(drills(5, first=10))
    rewrite_whole_chain(db, 3, "nothing happened here")
    held = runner.invoke(app, ["audit", "verify", "--db", str(db), "--against", str(copy)])
    assert held.exit_code == 1
    assert held.stderr.strip() == (
        f"the log does not hold the backup {copy}: event 3 differs from the backup's: "
        "the log was rewritten since"
    )
    as_json = runner.invoke(
        app, ["audit", "verify", "--db", str(db), "--against", str(copy), "--json"]
    )
    assert json.loads(as_json.stdout)["backup"]["reason"] == (
        "event 3 differs from the backup's: the log was rewritten since"
    )


@pytest.mark.parametrize("seq", [1, 9, 10])
def test_the_first_rewritten_event_is_found_at_either_end(
    db: Path, tmp_path: Path, seq: int
) -> None:
    copy = tmp_path / "copy.db"
    assert runner.invoke(app, ["backup", str(copy), "--db", str(db)]).exit_code == 0
    rewrite_whole_chain(db, seq, "rewritten")
    held = runner.invoke(app, ["audit", "verify", "--db", str(db), "--against", str(copy)])
    assert held.exit_code == 1
    assert f": event {seq} differs from the backup's" in held.stderr


# -- 3: a broken backup is named as the backup ------------------------------------------------


def test_a_broken_backup_is_named_when_compared(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    assert runner.invoke(app, ["backup", str(copy), "--db", str(db)]).exit_code == 0
    break_chain(copy, 4)
    result = runner.invoke(app, ["audit", "verify", "--db", str(db), "--against", str(copy)])
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert line.startswith(f"error: the backup {copy}'s chain is broken at event 4: ")
    assert line.endswith("; not compared")
    assert "event log's chain" not in line
    assert "backed up" not in line


def test_a_broken_backup_is_named_and_not_restored(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    assert runner.invoke(app, ["backup", str(copy), "--db", str(db)]).exit_code == 0
    break_chain(copy, 4)
    before = db.read_bytes()
    result = runner.invoke(app, ["restore", str(copy), "--db", str(db), "--yes"])
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert line.startswith(f"error: the backup {copy}'s chain is broken at event 4: ")
    assert line.endswith("; not restored")
    assert db.read_bytes() == before


def test_a_broken_log_is_still_named_as_the_log_and_not_backed_up(db: Path, tmp_path: Path) -> None:
    break_chain(db, 4)
    result = runner.invoke(app, ["backup", str(tmp_path / "copy.db"), "--db", str(db)])
    assert result.exit_code == 1
    assert one_error_line(result.stderr).startswith(
        "error: the event log's chain is broken at event 4: "
    )
    assert result.stderr.strip().endswith(
        "; not backed up (`orderdesk audit verify` says the same)"
    )


# -- 4: a restore touches this desk's backup folder alone -------------------------------------


def test_a_restore_leaves_the_backups_of_the_desk_it_came_from_alone(tmp_path: Path) -> None:
    """The backup comes from another desk's folder: that desk's later backups hold no
    beginning of the restored log, but they are that desk's, and were renamed
    *.other-history-…; this desk's own folder is the one set aside in."""
    other = tmp_path / "other"
    other_db = other / "data" / "events.db"
    with SqlEventStore.open(other_db) as store:
        store.append(drills(3))
    theirs = other / "backups"
    theirs.mkdir()
    monday, tuesday = theirs / "events-2026-12-07.db", theirs / "events-2026-12-08.db"
    assert runner.invoke(app, ["backup", str(monday), "--db", str(other_db)]).exit_code == 0
    with SqlEventStore.open(other_db) as store:
        store.append(drills(3, first=3))
    assert runner.invoke(app, ["backup", str(tuesday), "--db", str(other_db)]).exit_code == 0

    data, ours = tmp_path / "desk" / "data", tmp_path / "desk" / "saved"
    with SqlEventStore.open(data / "events.db") as store:
        store.append(drills(8, first=20))
    ours.mkdir()
    own = ours / "events-2026-12-09.db"
    assert runner.invoke(app, ["backup", str(own), "--db", str(data / "events.db")]).exit_code == 0
    config = tmp_path / "orderdesk.toml"
    config.write_text(f'data_dir = "{data}"\n\n[store]\nbackup_dir = "{ours}"\n')

    result = runner.invoke(app, ["restore", str(monday), "--config", str(config), "--yes"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in theirs.iterdir()) == [monday.name, tuesday.name]
    (aside,) = ours.iterdir()
    assert aside.name.startswith("events-2026-12-09.db.other-history-")


def test_a_restore_by_db_sets_nothing_aside_beside_the_backup(db: Path, tmp_path: Path) -> None:
    """With --db there is no configured backup folder of the desk: nothing is renamed."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monday, tuesday = folder / "events-2026-12-07.db", folder / "events-2026-12-08.db"
    assert runner.invoke(app, ["backup", str(monday), "--db", str(db)]).exit_code == 0
    with SqlEventStore.open(db) as store:
        store.append(drills(5, first=10))
    assert runner.invoke(app, ["backup", str(tuesday), "--db", str(db)]).exit_code == 0
    result = runner.invoke(app, ["restore", str(monday), "--db", str(db), "--yes"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == [monday.name, tuesday.name]
