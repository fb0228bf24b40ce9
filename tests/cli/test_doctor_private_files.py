"""`orderdesk doctor` on a running desk: the files it holds private are all checked, and a
log file in a data_dir not there yet leaves that folder 0700 (`orderdesk run`)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from orderdesk.secrets import FileSecretStore
from tests.daemon import paper_config, running_daemon

_register_commands()
runner = CliRunner()


def test_backups_secrets_and_the_log_file_others_can_read_are_reported(tmp_path: Path) -> None:
    config = paper_config(tmp_path)
    config.write_text('log_file = "desk.log"\n' + config.read_text())
    data = tmp_path / "data"
    secrets = tmp_path / "conf" / "secrets.json"
    FileSecretStore(secrets).set("telegram.bot_token", "123:not-read-by-a-paper-desk")
    with running_daemon(config):
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        clean = runner.invoke(app, ["doctor", "--config", str(config), "--json"])
        backed_up = runner.invoke(app, ["backup", "--config", str(config), "--json"])
        assert backed_up.exit_code == 0, backed_up.output
        copy = Path(json.loads(backed_up.output)["path"])
        for path in (copy, secrets, data / "desk.log"):
            path.chmod(0o644)
        shared = runner.invoke(app, ["doctor", "--config", str(config), "--json"])

    [ok] = [c for c in json.loads(clean.output)["checks"] if c["name"] == "private files"]
    assert ok["summary"] == (
        "the event log, its backups, the secrets file and the desk's log file are yours alone"
    )
    assert shared.exit_code == 0, shared.output  # a warning: the desk is ready all the same
    [warned] = [c for c in json.loads(shared.output)["checks"] if c["name"] == "private files"]
    assert warned["status"] == "warn"
    assert copy.parent == data / "backups"
    for path in (copy, secrets, data / "desk.log"):
        assert f"{path} (0644)" in warned["summary"]
    assert f"rotate the secrets in {secrets}, then run `chmod 600 " in warned["summary"]
