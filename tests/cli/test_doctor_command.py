"""``orderdesk doctor`` as a user meets it before the desk is up: its help says what to register
with Zerodha and how the check works; without a desk it fails in one line. (Its checks against
a running desk on the simulator: tests/test_static_ip_daemon.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from tests.daemon import paper_config, running_daemon

_register_commands()
runner = CliRunner()


def test_help_says_what_to_register_and_how_it_is_checked() -> None:
    """--help names the static IP and the algo id, the keys that set them, the probe and the
    exit codes."""
    result = runner.invoke(app, ["doctor", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for words in (
        "static IPs registered with the app",
        "[kite] source_address",
        "[kite] ip_family",
        "[kite] algo_id",
        "[strategies.NAME] algo_id",
        "cancels an order id that cannot exist",
        "0 ready",
        "6 not ready",
    ):
        assert words in text, words


def test_without_a_running_desk_it_fails_in_one_line(tmp_path: Path) -> None:
    """No desk answering: exit 1 and one line saying so (a JSON object with --json)."""
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "paper"\nconfig_dir = "{tmp_path}"\ndata_dir = "{tmp_path}"\n[api]\nport = 9\n'
    )
    result = runner.invoke(app, ["doctor", "--config", str(config), "--json"])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert json.loads(line)["exit_code"] == 1


def test_on_the_paper_broker_the_desks_own_checks_decide(tmp_path: Path) -> None:
    """A paper desk has no address to register: those checks say so, and it is ready."""
    config = paper_config(tmp_path)
    log = tmp_path / "data" / "events.db"
    with running_daemon(config):
        result = runner.invoke(app, ["doctor", "--config", str(config), "--json"])
        # A log an older orderdesk made keeps the mode it was given: the doctor says so.
        log.chmod(0o644)
        shared = runner.invoke(app, ["doctor", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ready"] is True
    assert report["broker"] == "paper"
    assert report["order_path"] is None
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["address"]["summary"] == "not applicable: the paper broker"
    assert checks["kill switch"]["status"] == "ok"
    # The log's disk and backups, which the paper desk has like any other.
    assert checks["disk"]["status"] == "ok", checks["disk"]
    assert (
        f"free where the event log is ({tmp_path / 'data' / 'events.db'}, "
        in (checks["disk"]["summary"])
    )
    assert checks["backups"]["summary"].startswith("no daily backups ([store] backup_dir")
    storage = report["storage"]
    assert storage["event_log"] == str(tmp_path / "data" / "events.db")
    assert storage["event_log_bytes"] > 0
    assert storage["free_bytes"] > 0
    assert (storage["backup_dir"], storage["last_backup"]) == (None, None)
    assert checks["private files"] == {
        "name": "private files",
        "status": "ok",
        "summary": "the event log and its backups are yours alone",
    }
    assert shared.exit_code == 0, shared.output  # a warning: the desk is ready all the same
    [warned] = [c for c in json.loads(shared.output)["checks"] if c["name"] == "private files"]
    assert warned["status"] == "warn"
    assert f"{log} (0644)" in warned["summary"]
    assert warned["summary"].endswith(f"run `chmod 600 {log}`")
