"""The store URL in the configuration: a PostgreSQL password is never shown, and a URL the desk
cannot open is one line from both ``config check`` and ``run`` (it passed the check, and ``run``
died with a 60-line traceback: a ValueError from a port that is no number, a
ModuleNotFoundError for MySQLdb)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk import config as settings_module
from orderdesk.cli import _register_commands, app
from orderdesk.config import load_settings
from orderdesk.errors import ConfigError
from tests.cli.test_config_errors_clear import refused, said

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")

PASSWORD = "Hunter2Secret"
URL = f"postgresql+psycopg://desk:{PASSWORD}@127.0.0.1:5432/desk"


def write(tmp_path: Path, body: str = "") -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\n'
        f'config_dir = "{tmp_path / "conf"}"\n' + body
    )
    return path


@pytest.mark.parametrize("as_json", [False, True])
def test_config_check_shows_the_store_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    """``config check`` names the store (host, port, database, user) with ``***`` for the
    password given in ORDERDESK_STORE__URL."""
    monkeypatch.setenv("ORDERDESK_STORE__URL", URL)
    command = ["config", "check", "--config", str(write(tmp_path))]
    result = runner.invoke(app, [*command, "--json"] if as_json else command)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    shown = "postgresql+psycopg://desk:***@127.0.0.1:5432/desk"
    if as_json:
        assert json.loads(result.output)["store"] == shown
    else:
        assert f"store: {shown}" in said(result)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "postgresql+psycopg://desk:x@127.0.0.1:notaport/desk",
            "store.url: the port 'notaport' is not a number from 0 to 65535",
        ),
        (
            "mysql://x",
            "store.url: the event store cannot be in 'mysql'; it is SQLite (sqlite:///…) or "
            "PostgreSQL (postgresql+psycopg://…)",
        ),
        (
            f"postgresql://desk:{PASSWORD}@127.0.0.1/desk",
            "store.url: a PostgreSQL store is opened through psycopg 3: write the scheme "
            "postgresql+psycopg://",
        ),
        ("events.db", "store.url: not a database URL; use sqlite:////path/to/events.db"),
    ],
)
@pytest.mark.parametrize("command", [["config", "check"], ["run"]])
def test_a_store_url_the_desk_cannot_open_is_one_line(
    tmp_path: Path, url: str, reason: str, command: list[str]
) -> None:
    """Each of the walk's URLs, in the file: refused in one line naming store.url, by the
    check and by ``run`` alike, before anything is made; the password never shown."""
    config = write(tmp_path, f'[store]\nurl = "{url}"\n')
    message = refused(runner.invoke(app, [*command, "--config", str(config)]))
    assert reason in message
    assert PASSWORD not in message
    assert not (tmp_path / "data").exists()


def test_the_supported_urls_load() -> None:
    """SQLite (plain or in memory) and PostgreSQL through psycopg, with or without a port."""
    for url in (
        "sqlite:////var/lib/orderdesk/events.db",
        "sqlite://",
        "postgresql+psycopg://desk@localhost/desk",
        URL,
        "postgresql+psycopg://desk:p%40ss@[::1]:5433/desk?sslmode=require",
    ):
        assert load_settings(store={"url": url}).store.url == url


def test_a_bad_url_from_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal names ORDERDESK_STORE__URL, never its value."""
    monkeypatch.setenv("ORDERDESK_STORE__URL", "mysql://x")
    with pytest.raises(
        ConfigError, match=r"^environment variable ORDERDESK_STORE__URL: store\.url"
    ):
        load_settings()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (URL, "postgresql+psycopg://desk:***@127.0.0.1:5432/desk"),
        ("postgresql+psycopg://desk:a:b/c@h/d", "postgresql+psycopg://desk:***@h/d"),
        (
            "postgresql+psycopg://desk@h/d?sslmode=require&password=Hunter2Secret",
            "postgresql+psycopg://desk@h/d?sslmode=require&password=***",
        ),
        ("postgresql+psycopg://desk@h/d", "postgresql+psycopg://desk@h/d"),
        ("sqlite:////tmp/events.db", "sqlite:////tmp/events.db"),
        (f"no url {PASSWORD}", "***"),
    ],
)
def test_a_store_url_is_shown_without_its_password(url: str, shown: str) -> None:
    """The one rendering for people: the password (after the user, or libpq's query
    parameter) becomes ``***``, whatever it holds; the rest is as written."""
    assert settings_module.shown_store_url(url) == shown
