"""`config check` says whether the bot is on (never its token); `telegram-token` keeps the
token in the secret store, asked for hidden."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from orderdesk.secrets import TELEGRAM_BOT_TOKEN
from tests.telegram.conftest import BOT_TOKEN

_register_commands()
runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _config(tmp_path: Path, telegram: str = "") -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(
        f'broker = "paper"\nconfig_dir = "{tmp_path / "conf"}"\ndata_dir = "{tmp_path}"\n'
        + telegram
    )
    return path


def _check(config: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    result = runner.invoke(app, ["config", "check", "--json", "--config", str(config)], env=env)
    assert result.exit_code == 0, result.output
    assert BOT_TOKEN.partition(":")[2] not in result.output
    summary: dict[str, object] = json.loads(result.output)
    return summary


def test_config_check_says_whether_the_bot_is_on(tmp_path: Path) -> None:
    """Off by default; enabled without a token names the variable to export; with one, on and
    how many chats it answers — and the token itself is never printed."""
    off = _check(_config(tmp_path))
    enabled = _config(tmp_path, "[telegram]\nenabled = true\nallowed_chat_ids = [4242, 17]\n")
    missing = _check(enabled)
    on = _check(enabled, env={"ORDERDESK_TELEGRAM__BOT_TOKEN": BOT_TOKEN})

    assert off["telegram"] == "off"
    assert missing["telegram"] == (
        "enabled, but no bot token: export ORDERDESK_TELEGRAM__BOT_TOKEN"
    )
    assert on["telegram"] == "on, answering 2 allowed chats (https://api.telegram.org)"


def test_telegram_token_is_stored_hidden_in_a_0600_file(tmp_path: Path) -> None:
    """The token typed at the hidden prompt lands in the 0600 secrets file (no keyring here),
    is never echoed, and `config check` then finds it; --forget removes it."""
    config = _config(tmp_path, "[telegram]\nenabled = true\nallowed_chat_ids = [4242]\n")
    stored = runner.invoke(app, ["telegram-token", "--config", str(config)], input=BOT_TOKEN + "\n")
    secrets_file = tmp_path / "conf" / "secrets.json"

    assert stored.exit_code == 0, stored.output
    assert f"stored in {secrets_file} (mode 0600)" in stored.output
    assert BOT_TOKEN.partition(":")[2] not in stored.output
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert json.loads(secrets_file.read_text()) == {TELEGRAM_BOT_TOKEN: BOT_TOKEN}
    assert str(_check(config)["telegram"]).startswith("on, answering 1 allowed chat ")

    forgot = runner.invoke(app, ["telegram-token", "--forget", "--config", str(config)])
    assert forgot.exit_code == 0, forgot.output
    assert json.loads(secrets_file.read_text()) == {}


def test_telegram_token_refuses_what_is_not_a_token(tmp_path: Path) -> None:
    """A value not of BotFather's shape is refused, and nothing is stored."""
    config = _config(tmp_path)
    result = runner.invoke(app, ["telegram-token", "--config", str(config)], input="my password\n")
    assert result.exit_code == 1
    assert "not a bot token" in result.output
    assert not (tmp_path / "conf" / "secrets.json").exists()


def test_telegram_token_help_says_where_the_token_goes() -> None:
    """`telegram-token --help` renders and names the variable that wins over the store."""
    result = runner.invoke(app, ["telegram-token", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "ORDERDESK_TELEGRAM__BOT_TOKEN" in result.output
