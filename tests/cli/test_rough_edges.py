"""Rough edges of a first hour with the desk (issue 16, point 9), each through the real
commands: the audit finds the configured store, one desk per store, the way back after a
logout, a demo that cleans up after SIGTERM, a paper broker that keeps its book, a log file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from orderdesk.cli import _register_commands, app
from orderdesk.cli.run_commands import cancel_once
from orderdesk.domain import KillSwitchChanged
from orderdesk.store import SqlEventStore
from tests.daemon import paper_config, running_daemon
from tests.support import wait_until

_register_commands()
runner = CliRunner()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    return {**env, "COLUMNS": "200", **extra}


def cli(config: Path, url: str, *args: str) -> Result:
    return runner.invoke(app, [*args, "--config", str(config), "--url", url])


@contextmanager
def orderdesk(*args: str, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``python -m orderdesk ARGS`` in the background, its output lines collected as read."""
    process = subprocess.Popen(
        [sys.executable, "-m", "orderdesk", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=20)
        process.stdout.close()


def read_until(process: subprocess.Popen[str], lines: list[str], text: str) -> None:
    """Read the process's output until a line holds ``text`` (it must not exit first)."""
    assert process.stdout is not None
    output = process.stdout

    def seen() -> bool:
        line = output.readline()
        lines.append(line)
        if not line and process.poll() is not None:
            raise AssertionError(f"exited before {text!r}:\n" + "".join(lines))
        return text in line

    wait_until(seen, timeout=60, what=repr(text))


def test_audit_verify_checks_the_store_the_config_names(tmp_path: Path) -> None:
    """Without --db or --url, `audit verify` checks the [store] url of the config (the log
    `orderdesk run` writes with it), not events.db in the default data dir."""
    log = tmp_path / "elsewhere" / "desk-log.db"
    with SqlEventStore.open(log) as store:
        store.append(
            [KillSwitchChanged(at=datetime(2026, 1, 5, tzinfo=UTC), engaged=True, reason="x")] * 3
        )
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\n\n[store]\nurl = "sqlite:///{log}"\n'
    )
    result = runner.invoke(app, ["audit", "verify", "--config", str(config)], env=clean_env())
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "chain intact: 3 events"
    from_env = runner.invoke(app, ["audit", "verify"], env=clean_env(ORDERDESK_CONFIG=str(config)))
    assert from_env.stdout.strip() == "chain intact: 3 events"


def test_a_second_run_on_the_same_store_stops_at_once(tmp_path: Path) -> None:
    """A second `orderdesk run` on a store a desk runs on exits 1 at once with one line naming
    the running desk, before it replays the log or reaches the broker. Not timed (a loaded
    machine takes seconds to start Python): what it did not do before stopping is asserted."""
    config = paper_config(tmp_path)
    with running_daemon(config):
        second = subprocess.run(
            [sys.executable, "-m", "orderdesk", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=60,
        )
    assert second.returncode == 1, second.stdout + second.stderr
    assert "another orderdesk is already running on the event store" in second.stderr
    assert "(pid " in second.stderr
    assert "replayed" not in second.stdout + second.stderr
    assert "Traceback" not in second.stderr


def test_run_after_a_logout_names_orderdesk_login(tmp_path: Path) -> None:
    """After `orderdesk logout`, `orderdesk run` starts and says how to get a session:
    `orderdesk login`, which reaches the running desk."""
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f"""
broker = "kite"
data_dir = "{tmp_path / "data"}"
config_dir = "{tmp_path / "conf"}"

[kite]
api_key = "first_hour_key"
root = "http://127.0.0.1:9"
ws_url = "ws://127.0.0.1:9/ws"

[api]
port = 0

[trading_day]
enabled = false
"""
    )
    env = clean_env(ORDERDESK_KITE_API_SECRET="first-hour-secret-1234")
    logout = runner.invoke(app, ["logout", "--local", "--config", str(config)], env=env)
    assert logout.exit_code == 0, logout.output
    with orderdesk("run", "--config", str(config), env=env) as (process, lines):
        read_until(process, lines, "no broker session")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    (banner,) = [line for line in lines if line.startswith("no broker session")]
    assert "log in with `orderdesk login`" in banner
    alerts = [line for line in lines if "Broker stream stopped" in line]
    assert all("`orderdesk login`" in line and "log in; log in" not in line for line in alerts)


def test_sigterm_on_demo_removes_its_temporary_directory(tmp_path: Path) -> None:
    """SIGTERM stops `orderdesk demo` as Ctrl-C does: exit 0, and its temporary directory
    (event log, secrets) is gone, with no traceback on the way."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    config = tmp_path / "orderdesk.toml"
    config.write_text(f'broker = "paper"\nconfig_dir = "{tmp_path / "conf"}"\n')
    args = ("demo", "--port", "0", "--config", str(config))
    with orderdesk(*args, env=clean_env(TMPDIR=str(temp))) as (process, lines):
        read_until(process, lines, "Ctrl-C to stop")
        assert [p.name for p in temp.iterdir() if p.name.startswith("orderdesk-demo-")]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, "".join(lines)
        lines += process.stdout.readlines() if process.stdout else []
    assert "Traceback" not in "".join(lines)
    assert "demo stopped" in lines[-1]
    assert list(temp.iterdir()) == []


async def test_a_second_stop_signal_does_not_cut_the_first_stop_short() -> None:
    """The demo's stop handler cancels once: a SIGTERM arriving while the story unwinds (uv
    forwarding its copy of a group-wide signal) leaves the unwinding to finish."""
    closed: list[str] = []

    async def story() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stop()  # the forwarded copy, arriving mid-way through the cleanup
            await asyncio.sleep(0)  # the cleanup awaits: closing the API, the store
            closed.append("api")

    task = asyncio.create_task(story())
    stop = cancel_once(task)
    await asyncio.sleep(0)
    stop()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed == ["api"]


def test_the_paper_book_survives_a_restart(tmp_path: Path) -> None:
    """Restarted, the paper desk finds the broker as it left it: the reconciliation agrees, the
    position is there and the resting order can still be cancelled."""
    config = paper_config(tmp_path)
    with running_daemon(config) as url:
        filled = cli(config, url, "place", "NSE:TCS", "BUY", "2", "--price", "4000")
        assert filled.exit_code == 0, filled.output
        placed = cli(config, url, "place", "NSE:INFY", "BUY", "3", "--price", "1450", "--json")
        resting = json.loads(placed.stdout)["order"]["order_id"]
        wait_until(
            lambda: "NSE:TCS" in cli(config, url, "positions").stdout, what="the TCS position"
        )
    assert (tmp_path / "data" / "paper-broker.json").is_file()
    with running_daemon(config) as url:
        reconcile = cli(config, url, "reconcile")
        assert reconcile.exit_code == 0, reconcile.output
        assert "in agreement with the broker" in reconcile.stdout
        positions = json.loads(cli(config, url, "positions", "--json").stdout)
        assert [(p["instrument"], p["quantity"]) for p in positions] == [("NSE:TCS", 2)]
        cancel = cli(config, url, "cancel", resting)
        assert cancel.exit_code == 0, cancel.output


def test_log_file_gets_the_daemons_log(tmp_path: Path) -> None:
    """With `log_file` set, the daemon also logs there: JSON lines, in the data dir, 0600."""
    config = paper_config(tmp_path)
    config.write_text('log_file = "desk.log"\n' + config.read_text())
    with running_daemon(config):
        pass
    log = tmp_path / "data" / "desk.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert any("replayed" in str(r.get("event")) for r in records)


@pytest.mark.skipif(not Path("/usr/bin/make").exists(), reason="needs make")
def test_make_demo_installs_only_the_runtime_dependencies(tmp_path: Path) -> None:
    """`make demo` syncs without the dev group (leaving any installed), while `make test` and
    `make lint` sync it."""
    root = Path(__file__).resolve().parents[2]

    def plan(target: str) -> str:
        return subprocess.run(
            ["/usr/bin/make", "-n", target, f"VENV={tmp_path / 'venv'}"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    demo, test, lint = plan("demo"), plan("test"), plan("lint")
    assert "sync --frozen --no-dev --inexact" in demo
    for full in (test, lint):
        syncs = [line for line in full.splitlines() if " sync " in line]
        assert syncs
        assert all("--no-dev" not in line for line in syncs)
