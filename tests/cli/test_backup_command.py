"""``orderdesk backup`` and ``orderdesk audit verify --against`` through typer's CliRunner: a
verified copy of the log, and the proof that the log still holds it, which a chain rewritten
whole, head and all, passes without."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import app, audit_command, backup_command
from orderdesk.domain import KillSwitchChanged
from orderdesk.domain.events import DayOpened
from orderdesk.store import SqlEventStore
from orderdesk.store.chain import GENESIS_HASH, row_hash
from orderdesk.store.codec import canonical_json
from orderdesk.store.desk_lock import exclusive_desk

assert audit_command.audit is not None
assert backup_command.backup is not None
runner = CliRunner()
START = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def drills(count: int, first: int = 0) -> list[KillSwitchChanged]:
    return [
        KillSwitchChanged(at=START + timedelta(seconds=i), engaged=bool(i % 2), reason=f"d{i}")
        for i in range(first, first + count)
    ]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "events.db"
    with SqlEventStore.open(path) as store:
        store.append(drills(10))
    return path


def rewrite_whole_chain(db: Path, seq: int, reason: str) -> None:
    """What someone with the database and this code could do: change one event, then hash
    every row again and move the head, so the chain alone verifies."""
    with closing(sqlite3.connect(db)) as raw, raw:
        rows = raw.execute(
            "SELECT seq, stream, type, at, payload FROM events ORDER BY seq"
        ).fetchall()
        previous = GENESIS_HASH
        for number, stream, kind, at, payload in rows:
            if number == seq:
                payload = canonical_json({**json.loads(payload), "reason": reason})
            digest = row_hash(previous, number, stream, kind, at, payload)
            raw.execute(
                "UPDATE events SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (payload, previous, digest, number),
            )
            previous = digest
        raw.execute("UPDATE chain_head SET hash = ?", (previous,))


def test_a_backup_is_written_verified_and_named_by_its_head(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    result = runner.invoke(app, ["backup", str(copy), "--db", str(db)])
    assert result.exit_code == 0, result.output
    with SqlEventStore.open(copy) as restored:
        head = restored.head()
        assert restored.verify().ok
        assert head.seq == 10
    assert result.stdout.startswith(f"backed up 10 events to {copy} (")
    assert result.stdout.rstrip().endswith(f"chain verified; head 10 {head.hash}")


def test_without_a_destination_it_goes_to_the_configured_folder(db: Path, tmp_path: Path) -> None:
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'data_dir = "{db.parent}"\n\n[store]\nbackup_dir = "saved"\nbackup_keep = 3\n'
    )
    result = runner.invoke(app, ["backup", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    path = Path(report["path"])
    assert path.parent == db.parent / "saved"
    assert path.name.startswith("events-")
    assert path.name.endswith("Z.db")
    assert (report["events"], report["head_seq"], report["bytes"]) == (
        10,
        10,
        path.stat().st_size,
    )


def test_the_backup_folder_it_makes_is_private(db: Path, tmp_path: Path) -> None:
    """The default backup folder, made by the command, is 0700 whatever the umask: it holds
    copies of the whole history. The data dir it sits in, the user's, keeps its mode."""
    db.parent.chmod(0o755)
    config = tmp_path / "orderdesk.toml"
    config.write_text(f'data_dir = "{db.parent}"\n\n[store]\nbackup_dir = "saved/daily"\n')
    previous = os.umask(0o022)  # process-wide: put back below
    try:
        result = runner.invoke(app, ["backup", "--config", str(config), "--json"])
    finally:
        os.umask(previous)

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((db.parent / "saved").stat().st_mode) == 0o700
    assert stat.S_IMODE((db.parent / "saved" / "daily").stat().st_mode) == 0o700
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o755


def test_an_existing_file_is_not_overwritten_without_replace(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(b"an older backup")
    result = runner.invoke(app, ["backup", str(copy), "--db", str(db)])
    assert result.exit_code == 1
    assert "already exists (--replace to overwrite it)" in result.stderr
    assert copy.read_bytes() == b"an older backup"
    replaced = runner.invoke(app, ["backup", str(copy), "--db", str(db), "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert copy.read_bytes() != b"an older backup"


def test_the_log_is_held_to_a_backup_taken_before_it_grew(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    assert runner.invoke(app, ["backup", str(copy), "--db", str(db)]).exit_code == 0
    with SqlEventStore.open(db) as store:
        store.append(drills(5, first=10))
    result = runner.invoke(app, ["audit", "verify", "--db", str(db), "--against", str(copy)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"chain intact: 15 events, the first 10 as backed up in {copy}"
    )


def test_a_chain_rewritten_whole_passes_alone_but_not_against_a_backup(
    db: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    assert runner.invoke(app, ["backup", str(copy), "--db", str(db)]).exit_code == 0
    rewrite_whole_chain(db, 4, "nothing happened here")
    alone = runner.invoke(app, ["audit", "verify", "--db", str(db)])
    assert alone.exit_code == 0
    assert alone.stdout.strip() == "chain intact: 10 events"
    held = runner.invoke(app, ["audit", "verify", "--db", str(db), "--against", str(copy)])
    assert held.exit_code == 1
    assert held.stderr.strip() == (
        f"the log does not hold the backup {copy}: event 4 differs from the backup's: "
        "the log was rewritten since"
    )
    as_json = runner.invoke(
        app, ["audit", "verify", "--db", str(db), "--against", str(copy), "--json"]
    )
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert report["rows"] == 10
    assert report["backup"]["held"] is False
    assert report["backup"]["events"] == 10


def test_events_removed_since_the_backup_are_named(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    assert runner.invoke(app, ["backup", str(copy), "--db", str(db)]).exit_code == 0
    with closing(sqlite3.connect(db)) as raw, raw:
        (hash_7,) = raw.execute("SELECT hash FROM events WHERE seq = 7").fetchone()
        raw.execute("DELETE FROM events WHERE seq > 7")
        raw.execute("UPDATE chain_head SET seq = 7, hash = ?", (hash_7,))
    result = runner.invoke(app, ["audit", "verify", "--db", str(db), "--against", str(copy)])
    assert result.exit_code == 1
    assert "event 10, the backup's last, is not in the log: events were removed" in (result.stderr)


def test_what_is_not_a_backup_is_refused(db: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database " * 40)
    result = runner.invoke(app, ["audit", "verify", "--db", str(db), "--against", str(notes)])
    assert result.exit_code == 1
    assert "is not a readable event log backup" in result.stderr


def test_a_restore_asks_first_and_keeps_the_log_it_replaces(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    assert runner.invoke(app, ["backup", str(copy), "--db", str(db)]).exit_code == 0
    with SqlEventStore.open(db) as store:
        store.append(drills(5, first=10))
    declined = runner.invoke(app, ["restore", str(copy), "--db", str(db)], input="n\n")
    assert declined.exit_code == 1
    assert "10 events, head 10?" in declined.stderr
    with SqlEventStore.open(db) as store:
        assert store.last_seq() == 15
    result = runner.invoke(app, ["restore", str(copy), "--db", str(db), "--json"], input="y\n")
    assert result.exit_code == 0, result.output
    assert "Replace the event log" in result.stderr  # stdout is the report's alone
    assert "Replace the event log" not in result.stdout  # (CliRunner echoes the input there)
    report = json.loads(result.stdout.splitlines()[-1])
    assert (report["events"], report["head_seq"]) == (10, 10)
    with SqlEventStore.open(db) as store:
        assert store.last_seq() == 10
    replaced = Path(report["replaced"])
    assert replaced.parent == db.parent
    assert replaced.name.startswith("events.db.replaced-")
    held = runner.invoke(app, ["audit", "verify", "--db", str(replaced), "--against", str(copy)])
    assert held.exit_code == 0, held.output
    assert "chain intact: 15 events, the first 10 as backed up" in held.stdout


def test_a_restore_that_releases_the_kill_switch_says_so(tmp_path: Path) -> None:
    """Backed up with the switch off, then engaged, then restored: the restore says the switch
    was engaged in the log replaced, with its reason, and is released in the restored one, and
    how to engage it again; --json carries both states."""
    db = tmp_path / "data" / "events.db"
    with SqlEventStore.open(db) as store:
        store.append([KillSwitchChanged(at=START, engaged=False, reason="morning")])
    copy = tmp_path / "copy.db"
    assert runner.invoke(app, ["backup", str(copy), "--db", str(db)]).exit_code == 0
    with SqlEventStore.open(db) as store:
        store.append(
            [KillSwitchChanged(at=START + timedelta(hours=1), engaged=True, reason="feed wrong")]
        )

    result = runner.invoke(app, ["restore", str(copy), "--db", str(db), "--yes"])

    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert (
        "the kill switch was engaged in the log replaced (reason: feed wrong) and is released "
        "in the restored one" in said
    )
    assert "`orderdesk kill-switch on`" in said

    with SqlEventStore.open(db) as store:
        store.append(
            [KillSwitchChanged(at=START + timedelta(hours=2), engaged=True, reason="again")]
        )
    reported = runner.invoke(app, ["restore", str(copy), "--db", str(db), "--yes", "--json"])
    assert reported.exit_code == 0, reported.output
    switch = json.loads(reported.stdout)["kill_switch"]
    assert switch["replaced"] == {"engaged": True, "reason": "again"}
    assert switch["restored"] == {"engaged": False, "reason": "morning"}
    assert switch["changed"] is True
    assert "is released in the restored one" in switch["message"]


def test_a_restore_reads_the_switch_as_the_replay_does(tmp_path: Path) -> None:
    """A day opened after the switch changed carries it: the restored log's latest DayOpened
    (engaged) wins over the KillSwitchChanged before it, as at the desk's start; the same state
    on both sides says nothing."""
    db = tmp_path / "data" / "events.db"
    with SqlEventStore.open(db) as store:
        store.append(
            [
                KillSwitchChanged(at=START, engaged=False, reason="released"),
                DayOpened(
                    at=START + timedelta(hours=1),
                    day=START.date(),
                    kill_switch=True,
                    kill_switch_reason="carried over",
                ),
            ]
        )
    copy = tmp_path / "copy.db"
    assert runner.invoke(app, ["backup", str(copy), "--db", str(db)]).exit_code == 0
    with SqlEventStore.open(db) as store:
        store.append([KillSwitchChanged(at=START + timedelta(hours=2), engaged=False, reason="x")])

    result = runner.invoke(app, ["restore", str(copy), "--db", str(db), "--yes"])
    again = runner.invoke(app, ["restore", str(copy), "--db", str(db), "--yes"])

    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "the kill switch is engaged in the restored log (reason: carried over)" in said
    assert again.exit_code == 0, again.output
    assert "kill switch" not in again.stdout


def test_a_restore_under_a_running_desk_is_refused_before_anyone_is_asked(
    db: Path, tmp_path: Path
) -> None:
    """The desk's lock is taken before the question: nobody confirms a restore that is then
    refused because a desk runs on the log."""
    copy = tmp_path / "copy.db"
    assert runner.invoke(app, ["backup", str(copy), "--db", str(db)]).exit_code == 0
    with exclusive_desk(f"sqlite:///{db}"):  # what a running desk holds
        refused = runner.invoke(app, ["restore", str(copy), "--db", str(db)], input="y\n")
    assert refused.exit_code != 0
    assert "Replace the event log" not in refused.stderr
    assert "another orderdesk is already running on the event store" in refused.output


def test_a_restore_sets_aside_the_backups_of_the_history_it_replaced(
    db: Path, tmp_path: Path
) -> None:
    """Monday's and Tuesday's daily backups, then Monday's restored: Tuesday's holds the
    history the restore replaced, so it is renamed out of the daily backups (which pruning
    would otherwise keep over the ones of the history that goes on); Monday's stays."""
    folder = tmp_path / "backups"
    folder.mkdir()
    config = tmp_path / "orderdesk.toml"
    config.write_text(f'data_dir = "{db.parent}"\n\n[store]\nbackup_dir = "{folder}"\n')
    monday, tuesday = folder / "events-2026-12-07.db", folder / "events-2026-12-08.db"
    assert runner.invoke(app, ["backup", str(monday), "--db", str(db)]).exit_code == 0
    with SqlEventStore.open(db) as store:
        store.append(drills(5, first=10))
    assert runner.invoke(app, ["backup", str(tuesday), "--db", str(db)]).exit_code == 0
    (folder / "notes.txt").write_text("not a backup")

    result = runner.invoke(app, ["restore", str(monday), "--config", str(config), "--yes"])
    assert result.exit_code == 0, result.output
    (aside,) = folder.glob("events-2026-12-08.db.other-history-*")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["events-2026-12-07.db", aside.name, "notes.txt"]
    )
    assert (
        "set aside 1 backup of the replaced history (renamed *.other-history-<time>: neither "
        "listed nor pruned as backups of the log that goes on): " + aside.name
    ) in result.stdout
    assert not tuesday.exists()
