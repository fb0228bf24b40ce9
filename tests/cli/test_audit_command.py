"""``orderdesk audit verify`` and ``orderdesk audit export`` through typer's CliRunner."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import app, audit_command
from orderdesk.domain import Event, KillSwitchChanged, OrderSubmitting
from orderdesk.domain.events import DayOpened
from orderdesk.store import URL_ENV, SqlEventStore

# Imported for its side effect (registering ``audit`` on ``app``) rather than through
# _register_commands, so these tests do not depend on other command modules in progress.
assert audit_command.audit is not None
runner = CliRunner()
START = datetime(2026, 1, 5, 3, 45, tzinfo=UTC)


def events(count: int) -> list[Event]:
    """Alternating order and desk events, a second apart."""
    made: list[Event] = []
    for i in range(count):
        at = START + timedelta(seconds=i)
        if i % 2:
            made.append(KillSwitchChanged(at=at, engaged=True, reason=f"drill {i}"))
        else:
            made.append(OrderSubmitting(at=at, order_id="od0000000000000000ab", attempt=i))
    return made


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store file holding ten intact events."""
    path = tmp_path / "events.db"
    with SqlEventStore.open(path) as store:
        store.append(events(10))
    return path


def test_verify_reports_an_intact_chain(db: Path) -> None:
    """An untouched log exits 0 and says how many events it checked."""
    result = runner.invoke(app, ["audit", "verify", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "chain intact: 10 events"


def test_verify_names_the_first_bad_row(db: Path) -> None:
    """A deleted row exits 1 and the message names its seq and the reason."""
    with closing(sqlite3.connect(db)) as raw, raw:
        raw.execute("DELETE FROM events WHERE seq = 4")
    result = runner.invoke(app, ["audit", "verify", "--db", str(db)])
    assert result.exit_code == 1
    assert "chain broken at event 4: row 4 is missing" in result.stderr


def test_verify_json_carries_the_report(db: Path) -> None:
    """``--json`` prints the report's fields, for a broken chain too."""
    with closing(sqlite3.connect(db)) as raw, raw:
        raw.execute("UPDATE events SET payload = replace(payload, 'drill', 'drull') WHERE seq = 6")
    result = runner.invoke(app, ["audit", "verify", "--url", f"sqlite:///{db}", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["first_bad_seq"] == 6
    assert report["rows"] == 6
    assert "edited" in report["reason"]


def test_verify_finds_the_store_through_the_environment(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --db or --url the store named by ORDERDESK_STORE__URL is checked."""
    monkeypatch.setenv(URL_ENV, f"sqlite:///{db}")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "10 events" in result.stdout


def test_verify_refuses_a_missing_store(tmp_path: Path) -> None:
    """A path with no database is an error, not an empty (and so intact) log."""
    missing = tmp_path / "nowhere" / "events.db"
    result = runner.invoke(app, ["audit", "verify", "--db", str(missing)])
    assert result.exit_code == 1
    assert f"no event store at {missing}" in result.stderr
    assert not missing.parent.exists()


def test_export_jsonl_goes_to_stdout(db: Path) -> None:
    """One JSON object per row on stdout, with the hash columns."""
    result = runner.invoke(app, ["audit", "export", "--format", "jsonl", "--db", str(db)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["seq"] for row in lines] == list(range(1, 11))
    assert lines[1]["payload"]["reason"] == "drill 1"
    assert all(len(row["hash"]) == 64 for row in lines)


def test_export_csv_to_a_file(db: Path, tmp_path: Path) -> None:
    """``--output`` writes the CSV file and reports the count on stderr."""
    out = tmp_path / "audit.csv"
    result = runner.invoke(
        app, ["audit", "export", "--format", "csv", "--output", str(out), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    assert f"exported 10 events to {out}" in result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 10
    assert rows[0]["type"] == "OrderSubmitting"
    assert rows[9]["seq"] == "10"


def test_export_to_a_new_file_is_its_owners_alone(db: Path, tmp_path: Path) -> None:
    """The export is the account's whole history: a new file is 0600 whatever the umask, as
    the log and its backups are."""
    previous = os.umask(0o022)  # process-wide: put back below
    try:
        out = tmp_path / "audit.jsonl"
        result = runner.invoke(
            app, ["audit", "export", "--format", "jsonl", "-o", str(out), "--db", str(db)]
        )
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(out.read_text(encoding="utf-8").splitlines()) == 10


def test_export_onto_an_existing_open_file_makes_it_private_first(db: Path, tmp_path: Path) -> None:
    """An export onto a file that exists 0644 (longer than the export, too) leaves it 0600 with
    the export alone in it: the history is not written into a file others can read."""
    out = tmp_path / "audit.jsonl"
    out.write_text("x" * 100_000, encoding="utf-8")
    out.chmod(0o644)

    result = runner.invoke(
        app, ["audit", "export", "--format", "jsonl", "-o", str(out), "--db", str(db)]
    )

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, 11))


def test_export_to_a_device_writes_through_it(db: Path) -> None:
    """An output that is not a regular file (``/dev/null``) is written as it is, its mode
    untouched (it is not the user's to chmod)."""
    result = runner.invoke(
        app, ["audit", "export", "--format", "jsonl", "-o", "/dev/null", "--db", str(db)]
    )

    assert result.exit_code == 0, result.output
    assert "exported 10 events to /dev/null" in result.stderr


def test_export_rejects_an_unknown_format(db: Path) -> None:
    """Typer refuses a format other than jsonl or csv before touching the store."""
    result = runner.invoke(app, ["audit", "export", "--format", "xml", "--db", str(db)])
    assert result.exit_code == 2
    assert "xml" in result.stderr


def test_export_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    """``audit export | head -1``: the command ends silently with SIGPIPE's status, no traceback
    or "Broken pipe" message, once the reader has gone."""
    path = tmp_path / "big.db"
    with SqlEventStore.open(path, synchronous="NORMAL") as store:
        store.append(events(3000))  # far more than a pipe buffer holds, so the writer blocks
    command = "from orderdesk.cli import app, audit_command; app(prog_name='orderdesk')"
    with subprocess.Popen(
        [sys.executable, "-c", command, "audit", "export", "--format", "jsonl", "--db", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as child:
        assert child.stdout is not None
        assert child.stderr is not None
        first = child.stdout.readline()
        child.stdout.close()  # what head does after its first line
        stderr = child.stderr.read()
        status = child.wait(timeout=60)
    assert status == audit_command.SIGPIPE_STATUS
    assert json.loads(first)["seq"] == 1
    assert stderr.decode() == ""


@pytest.fixture
def week(tmp_path: Path) -> Path:
    """A store with events before any day, then Thursday's and Friday's days (3 rows each)."""
    path = tmp_path / "week.db"
    thursday, friday = date(2026, 12, 3), date(2026, 12, 4)
    with SqlEventStore.open(path) as store:
        store.append(events(2))  # rows 1-2: before the first checkpoint
        store.append([DayOpened(at=START, day=thursday), *events(2)])  # rows 3-5
        store.append([DayOpened(at=START, day=friday), *events(2)])  # rows 6-8
    return path


def test_export_day_writes_only_that_days_rows(week: Path) -> None:
    """``--day`` exports from the day's DayOpened row up to, not including, the next one."""
    args = ["audit", "export", "--format", "jsonl", "--db", str(week), "--day"]
    thursday = runner.invoke(app, [*args, "2026-12-03"])
    friday = runner.invoke(app, [*args, "2026-12-04"])
    assert thursday.exit_code == 0, thursday.output
    thursday_rows = [json.loads(line) for line in thursday.stdout.splitlines()]
    friday_rows = [json.loads(line) for line in friday.stdout.splitlines()]
    assert [row["seq"] for row in thursday_rows] == [3, 4, 5]
    assert thursday_rows[0]["type"] == "DayOpened"
    assert [row["seq"] for row in friday_rows] == [6, 7, 8]
    # The first row's prev_hash links the day to the rest of the chain.
    assert friday_rows[0]["prev_hash"] == thursday_rows[-1]["hash"]


def test_export_day_to_a_file_names_the_day(week: Path, tmp_path: Path) -> None:
    """A day's CSV export to a file reports its count and day on stderr."""
    out = tmp_path / "thursday.csv"
    args = ["audit", "export", "--format", "csv", "-o", str(out), "--db", str(week)]
    result = runner.invoke(app, [*args, "--day", "2026-12-03"])
    assert result.exit_code == 0, result.output
    assert f"exported 3 events of trading day 2026-12-03 to {out}" in result.stderr
    assert len(list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))) == 3


def test_export_of_a_day_not_in_the_log_fails(week: Path, tmp_path: Path) -> None:
    """A day with no checkpoint exits 1 saying so, and writes no file."""
    out = tmp_path / "none.jsonl"
    args = ["audit", "export", "--format", "jsonl", "-o", str(out), "--db", str(week)]
    result = runner.invoke(app, [*args, "--day", "2026-12-01"])
    assert result.exit_code == 1
    assert "no trading day 2026-12-01" in result.stderr
    assert not out.exists()
