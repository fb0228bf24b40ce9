"""The advice given for a secret found in the config file can be followed: the variable it
names is one the config accepts and the secret store reads under the secret's own name. It
used to be named for the table the secret sat in, so an access_token under ``[api]`` sent the
user to ``ORDERDESK_API__ACCESS_TOKEN``, which the config then refused as an unknown setting
of ``[api]``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from orderdesk.config import load_settings
from orderdesk.errors import ConfigError
from orderdesk.secrets import EnvSecretStore

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")

VARIABLE = re.compile(r"\bORDERDESK_[A-Z0-9_]+\b")
DESK_TABLES = ("api", "store", "risk", "alerts", "engine", "trading_day", "exit", "telegram")
# Where the desk reads each secret it has, by the name its secret store gives it.
READ_AS = {
    "api_secret": "kite.api_secret",
    "access_token": "kite.access_token",
    "bot_token": "telegram.bot_token",
}


def write(tmp_path: Path, body: str, *, broker: str = "kite") -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(
        f'broker = "{broker}"\ndata_dir = "{tmp_path / "data"}"\n'
        f'config_dir = "{tmp_path / "conf"}"\n[kite]\napi_key = "k"\n' + body
    )
    return path


def advice_for(tmp_path: Path, section: str, key: str) -> str:
    """The refusal of ``key`` placed in ``[section]``, from where the advice starts."""
    table = "" if section == "kite" else f"[{section}]\n"
    path = write(tmp_path, f'{table}{key} = "s3cr3t-value"\n')
    with pytest.raises(ConfigError) as exc_info:
        load_settings(path)
    message = str(exc_info.value)
    assert f"{section}.{key} must not be in the config file; " in message
    assert "s3cr3t-value" not in message
    return message.split("must not be in the config file; ", 1)[1]


# Each secret away from its own table, in the desk's tables, Kite's and a misspelled one (a
# secret in its own table, as ``[kite] api_secret``, was always told right: test_config_edges
# covers those).
AWAY = [
    (section, key)
    for key, name in sorted(READ_AS.items())
    for section in (*DESK_TABLES, "kite", "kitee")
    if section != name.partition(".")[0]
]


@pytest.mark.parametrize(("section", "key"), AWAY)
def test_the_variable_named_for_a_known_secret_is_accepted_and_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, key: str
) -> None:
    """Wherever the file held the broker's api_secret or access token or the bot's token, the
    advice names the one variable the secret store reads it from, and with the line gone and
    that variable exported the config loads and the store has the secret."""
    advice = advice_for(tmp_path, section, key)
    named = VARIABLE.findall(advice)
    assert len(named) == 1, advice
    path = write(tmp_path, "")
    monkeypatch.setenv(named[0], "s3cr3t-value")
    load_settings(path)
    assert EnvSecretStore().get(READ_AS[key]) == "s3cr3t-value"


@pytest.mark.parametrize("section", DESK_TABLES)
@pytest.mark.parametrize("key", ["secret", "password", "token"])
def test_a_variable_named_for_any_other_secret_in_a_desk_table_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, key: str
) -> None:
    """A secret of no setting in one of the desk's own tables is never answered with that
    table's variable (refused as an unknown setting): any variable the advice names loads."""
    advice = advice_for(tmp_path, section, key)
    assert f"ORDERDESK_{section.upper()}__{key.upper()}" not in advice
    path = write(tmp_path, "")
    for variable in VARIABLE.findall(advice):
        # The store's URL is checked as a URL: the secret goes where its advice says, in it.
        url = variable == "ORDERDESK_STORE__URL"
        value = "postgresql+psycopg://desk:s3cr3t-value@localhost/desk" if url else "s3cr3t-value"
        monkeypatch.setenv(variable, value)
    load_settings(path)


@pytest.mark.parametrize(
    ("section", "key", "advice"),
    [
        ("api", "token", "`orderdesk config show-token` prints it"),
        ("store", "password", "in the store's URL through ORDERDESK_STORE__URL"),
        ("telegram", "token", "the bot's token is its bot_token: store it with `orderdesk"),
        ("risk", "secret", "no setting of [risk] takes a secret"),
    ],
)
def test_a_secret_of_no_setting_is_told_what_the_desk_has_instead(
    tmp_path: Path, section: str, key: str, advice: str
) -> None:
    """The API's own token is made by the desk, a database password goes in the store's URL,
    a Telegram token is the bot's bot_token, and anything else is said to be no setting."""
    assert advice in advice_for(tmp_path, section, key)


def test_config_check_advice_for_an_access_token_under_api_can_be_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's walk: `config check` refuses ``access_token`` under ``[api]`` and names a
    variable; with the line removed and that variable exported, `config check` passes."""
    path = write(tmp_path, '[api]\naccess_token = "abc"\n')
    result = runner.invoke(app, ["config", "check", "--config", str(path)])
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert "`orderdesk login` makes and stores it" in output
    named = VARIABLE.findall(output)
    assert named == ["ORDERDESK_KITE__ACCESS_TOKEN"], output
    path = write(tmp_path, "")
    monkeypatch.setenv(named[0], "abc")
    result = runner.invoke(app, ["config", "check", "--config", str(path)])
    assert result.exit_code == 0, result.output
