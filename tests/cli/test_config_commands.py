"""`orderdesk config check|show-token` and the help texts of every command."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app

_register_commands()
runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(f'config_dir = "{tmp_path / "conf"}"\ndata_dir = "{tmp_path}"\n' + text)
    return path


def test_check_accepts_a_good_config(tmp_path: Path) -> None:
    """A valid paper config passes and the summary names the broker and checks."""
    config = _write(tmp_path, 'broker = "paper"\n[risk]\nmax_quantity = 10\n')
    result = runner.invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "configuration OK" in result.output
    assert "paper" in result.output
    assert "max_quantity" in result.output
    assert "backups: off (orderdesk backup makes one on demand)" in result.output


def test_check_says_where_daily_backups_go(tmp_path: Path) -> None:
    """A relative backup_dir is inside data_dir, as `orderdesk run` writes it."""
    config = _write(tmp_path, 'broker = "paper"\n[store]\nbackup_dir = "saved"\n')
    result = runner.invoke(app, ["config", "check", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["backups"] == f"after each close to {tmp_path / 'saved'}, the newest 20 kept"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('broker = "paper"\n[risk]\nmax_quantity = 0\n', "risk.max_quantity"),
        ('broker = "kite"\n[kite]\ntimeout_seconds = 5\n', "kite.api_key"),
        ('broker = "paper"\n[api]\nhost = "0.0.0.0"\n', "allow_remote"),
        ('broker = "nobody"\n', "nobody"),
        ('broker = "paper"\nclock = "simulator"\n', 'clock = "simulator"'),
        ('clock = "sim"\n', "clock"),
        (
            'clock = "simulator"\n[kite]\napi_key = "k"\nroot = "https://api.kite.trade"\n',
            "loopback [kite] root",
        ),
        ('broker = "paper"\n[store]\nbackup_keep = 0\n', "store.backup_keep"),
        ('broker = "paper"\n[strategy.mean_rev]\napproval = true\n', "did you mean `strategies`?"),
        ('broker = "paper"\n[rsik]\nmax_quantity = 10\n', "rsik: unknown section"),
        ('broker = "paper"\n[risks]\n', "did you mean `risk`?"),
        ('clock = "simulator"\n[kite]\napi_key = "k"\n', "[kite] has no root"),
        ('broker = "paper"\n[strategies."mean rev"]\n', "ASCII letters, digits, _ and -"),
        (
            'broker = "paper"\n[telegram]\nbot_token = "1:abc"\n',
            "store it with `orderdesk telegram-token`",
        ),
        (
            '[store]\nurl = "postgresql+psycopg://desk@db/desk"\nbackup_dir = "b"\n',
            "backup_dir: daily backups are of an SQLite event store",
        ),
    ],
)
def test_check_names_the_bad_key(tmp_path: Path, text: str, needle: str) -> None:
    """A bad config exits 1 with a message that names the key."""
    config = _write(tmp_path, text)
    result = runner.invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 1
    assert needle in result.output


def test_check_blames_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad or unknown ORDERDESK_* variable is named as the culprit, not the file."""
    config = _write(tmp_path, 'broker = "paper"\n')
    monkeypatch.setenv("ORDERDESK_RISKS__MAX_QUANTITY", "5")
    result = runner.invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 1
    assert "environment variable ORDERDESK_RISKS__MAX_QUANTITY: risks" in result.output
    monkeypatch.delenv("ORDERDESK_RISKS__MAX_QUANTITY")
    monkeypatch.setenv("ORDERDESK_RISK__MAX_QUANTITY", "abc")
    result = runner.invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "error: environment variable ORDERDESK_RISK__MAX_QUANTITY: risk.max_quantity" in message
    assert str(config) not in message


def test_check_refuses_a_variable_of_no_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ORDERDESK_RISK_MAX_QUANTITY`` (one underscore) fails the check with the spelling that
    sets the limit, instead of passing with the default limit in force."""
    config = _write(tmp_path, 'broker = "paper"\n')
    monkeypatch.setenv("ORDERDESK_RISK_MAX_QUANTITY", "50")
    result = runner.invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 1, result.output
    message = " ".join(result.output.split())
    assert "error: environment variable ORDERDESK_RISK_MAX_QUANTITY: no setting" in message
    assert "did you mean ORDERDESK_RISK__MAX_QUANTITY?" in message
    assert "configuration OK" not in message


def test_check_refuses_an_alert_url_apprise_cannot_use(tmp_path: Path) -> None:
    """`[alerts] urls = ["not a url"]` no longer passes as one alert target: the check names
    the entry's index, never the URL."""
    config = _write(tmp_path, 'broker = "paper"\n[alerts]\nurls = ["not a url"]\n')
    result = runner.invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert "alerts.urls.0: apprise cannot use this URL (no scheme)" in result.output
    assert "not a url" not in result.output
    assert "alert_targets" not in result.output


def test_show_token_never_invents_a_token_no_desk_uses(tmp_path: Path) -> None:
    """Before any desk has run with the config, show-token exits 1, says that `orderdesk run`
    or `orderdesk demo` makes the token, and creates nothing."""
    config = _write(tmp_path, 'broker = "paper"\n')
    result = runner.invoke(app, ["config", "show-token", "--config", str(config)])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "no desk has run with this config yet" in message
    assert "`orderdesk run` or `orderdesk demo` makes it" in message
    assert not (tmp_path / "conf").exists()


def test_show_token_create_makes_it_owner_only(tmp_path: Path) -> None:
    """--create generates a token in a 0600 file, says no desk uses it yet, and later calls
    (with or without --create) repeat it."""
    config = _write(tmp_path, 'broker = "paper"\n')
    first = runner.invoke(app, ["config", "show-token", "--create", "--config", str(config)])
    second = runner.invoke(app, ["config", "show-token", "--config", str(config)])
    third = runner.invoke(app, ["config", "show-token", "--create", "--config", str(config)])
    assert first.exit_code == 0
    assert "no desk uses it yet" in " ".join(first.stderr.split())
    assert first.stdout == second.stdout == third.stdout
    assert third.stderr == ""
    assert len(first.stdout.strip()) >= 40
    path = runner.invoke(app, ["config", "show-token", "--path", "--config", str(config)])
    mode = Path(path.output.strip()).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


COMMANDS = [
    [],
    ["sim"],
    ["login"],
    ["logout"],
    ["run"],
    ["demo"],
    ["place"],
    ["modify"],
    ["cancel"],
    ["cancel-all"],
    ["orders"],
    ["positions"],
    ["status"],
    ["kill-switch"],
    ["pending"],
    ["reconcile"],
    ["audit"],
    ["audit", "verify"],
    ["audit", "export"],
    ["config"],
    ["config", "check"],
    ["config", "show-token"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "orderdesk")
def test_every_help_renders(command: list[str]) -> None:
    """`--help` of the tool and of every command renders and describes it."""
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
