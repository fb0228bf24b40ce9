"""Backups of the event log, from outside: `orderdesk run` (examples/sim_days.toml) on
`orderdesk sim --market-hours nse` with ``[store] backup_dir`` set in the environment, the
simulator's clock moved through Monday's close, Tuesday's morning login and Tuesday's close.
Each close leaves a verified copy of the log; an `orderdesk backup` taken while the desk trades
is one too; the live log is held to them; and a desk started on a restored copy lives its days
again from there."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from orderdesk.sim.app import SimServer
from tests.daemon import (
    login_on_sim,
    nse_sim,
    orderdesk,
    running_daemon,
    sim_clock,
    sim_env,
)
from tests.support import wait_until
from tests.test_sim_days_daemon import next_session, shown

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "sim_days.toml"
MONDAY, TUESDAY = "2026-12-07", "2026-12-08"

pytestmark = pytest.mark.slow


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with nse_sim() as server:
        yield server


def daily(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("events-????-??-??.db"))


def doctor_check(env: Mapping[str, str], name: str) -> tuple[str, str]:
    """One of the doctor's checks: its status and summary."""
    result = orderdesk(env, "doctor", "--json")
    [check] = [c for c in json.loads(result.stdout)["checks"] if c["name"] == name]
    return check["status"], check["summary"]


def backups_check(env: Mapping[str, str]) -> tuple[str, str]:
    return doctor_check(env, "backups")


def test_each_close_is_backed_up_and_the_log_is_held_to_its_backups(
    sim: SimServer, tmp_path: Path
) -> None:
    env = sim_env(CONFIG, sim, tmp_path) | {
        "ORDERDESK_STORE__BACKUP_DIR": "backups",  # inside the data dir
        "ORDERDESK_STORE__BACKUP_KEEP": "1",
    }
    data = tmp_path / "data"
    folder, log = data / "backups", data / "events.db"
    sim_clock(sim, f"{MONDAY} 09:20:00")
    login_on_sim(sim, env)
    with running_daemon(CONFIG, env=env):
        shown(env, "place", "NSE:INFY", "BUY", "1", "--type", "MARKET", "--product", "CNC")
        # Taken while the desk runs: a verified copy, beside the daily ones but not one of them.
        manual = shown(env, "backup")
        assert Path(manual["path"]).parent == folder
        assert manual["events"] > 0
        assert daily(folder) == []

        sim_clock(sim, f"{MONDAY} 16:30:00")
        wait_until(lambda: daily(folder) == ["events-2026-12-07.db"], what="Monday's backup")
        monday = folder / "events-2026-12-07.db"
        closed = orderdesk(env, "audit", "export", "--format", "jsonl", "--db", str(monday))
        assert closed.returncode == 0, closed.stderr
        assert '"type":"DayClosed"' in closed.stdout.replace(" ", "")

        assert backups_check(env) == (
            "ok",
            f"the last closed day, {MONDAY}, is backed up in {folder}",
        )
        # December, and the shipped holiday list is 2026's: the doctor says 2027's is due.
        status, summary = doctor_check(env, "holidays")
        assert (status, summary.split(":")[0]) == ("warn", "no exchange holidays known for 2027")

        next_session(sim, env, TUESDAY)
        held = orderdesk(env, "audit", "verify", "--db", str(log), "--against", str(monday))
        assert held.returncode == 0, held.stderr
        assert "as backed up in" in held.stdout
        # Monday's copy gone (a sync tool moved it, a person deleted it): the doctor says so.
        monday.rename(tmp_path / "monday.db")
        assert backups_check(env) == (
            "warn",
            f"the last closed day, {MONDAY}, has no backup in {folder} (there is none; see "
            "the alerts, or run `orderdesk backup`)",
        )

        sim_clock(sim, f"{TUESDAY} 16:30:00")
        # backup_keep = 1: Tuesday's replaces Monday's; the one taken by hand stays.
        wait_until(lambda: daily(folder) == ["events-2026-12-08.db"], what="Tuesday's, alone")
        assert Path(manual["path"]).exists()
        assert backups_check(env)[0] == "ok"

        # A desk running on the log is not restored under.
        busy = orderdesk(env, "restore", manual["path"], "--yes")
        assert busy.returncode == 1
        assert "already running" in busy.stderr

    # Monday morning's backup restored, the log it replaced kept; the desk, started on it at
    # Tuesday's close, closes Monday late and lives Tuesday again from the broker's books.
    restored = shown(env, "restore", manual["path"], "--yes")
    assert restored["head_seq"] == manual["head_seq"]
    kept = orderdesk(
        env, "audit", "verify", "--db", restored["replaced"], "--against", manual["path"]
    )
    assert kept.returncode == 0, kept.stderr
    with running_daemon(CONFIG, env=env):
        wait_until(
            lambda: (
                [(d["day"], d["closed_at"] is not None) for d in shown(env, "days")]
                == [(TUESDAY, True), (MONDAY, True)]
            ),
            what="the restored desk's days",
        )
