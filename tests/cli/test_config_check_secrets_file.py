"""`orderdesk config check` and the secrets file: it refuses what `orderdesk run` refuses."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from orderdesk.secrets import FileSecretStore

_register_commands()
runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(
        f'config_dir = "{tmp_path / "conf"}"\ndata_dir = "{tmp_path}"\nbroker = "paper"\n'
    )
    return path


def test_a_secrets_file_others_can_read_fails_the_check(tmp_path: Path) -> None:
    """A 0644 secrets.json: run refuses to start on it, and the check says the same."""
    config = _config(tmp_path)
    secrets = tmp_path / "conf" / "secrets.json"
    FileSecretStore(secrets).set("kite.access_token", "token-not-shown-0c1d")
    secrets.chmod(0o644)

    result = runner.invoke(app, ["config", "check", "--config", str(config), "--json"])

    assert result.exit_code == 1, result.output
    message = json.loads(result.output.strip().splitlines()[-1])["message"]
    assert message == (
        f"{secrets} is readable by other users (mode 0644); rotate the secrets in it, then "
        f"run: chmod 600 {secrets}"
    )
    assert "token-not-shown-0c1d" not in result.output


def test_a_private_secrets_file_passes(tmp_path: Path) -> None:
    config = _config(tmp_path)
    FileSecretStore(tmp_path / "conf" / "secrets.json").set("kite.access_token", "t-0c1d")
    result = runner.invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "configuration OK" in result.output
