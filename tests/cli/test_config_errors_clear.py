"""Config errors found on an operator's walk, each one line naming the field (exit 1), never a
traceback: a data_dir that cannot be made, a variable whose JSON does not parse, a file that is
not UTF-8, a secret refused with advice that works, an IPv6 API address shown as run shows it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from orderdesk.cli import _register_commands, app
from orderdesk.config import load_settings
from orderdesk.errors import ConfigError
from orderdesk.store import sqlite_url
from orderdesk.store.desk_lock import exclusive_desk

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")


def write(tmp_path: Path, body: str, *, data_dir: Path | None = None) -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(
        f'broker = "kite"\ndata_dir = "{data_dir or tmp_path / "data"}"\n'
        f'config_dir = "{tmp_path / "conf"}"\n[kite]\napi_key = "k"\n' + body
    )
    return path


def said(result: Result) -> str:
    return " ".join(result.output.split())


def refused(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    return said(result)


@pytest.mark.parametrize("command", [["config", "check"], ["run"]])
def test_a_data_dir_that_cannot_be_made_is_named(tmp_path: Path, command: list[str]) -> None:
    """data_dir under a file: `config check` refuses it naming data_dir (it used to say OK), and
    `run` fails the same way before it makes anything (it died with NotADirectoryError)."""
    afile = tmp_path / "afile"
    afile.write_text("")
    config = write(tmp_path, "", data_dir=afile / "sub")

    message = refused(runner.invoke(app, [*command, "--config", str(config)]))

    assert f"data_dir: {afile / 'sub'} cannot be made: {afile} is not a folder" in message
    assert afile.read_text() == ""


def test_a_backup_dir_that_cannot_be_made_is_named_by_config_check(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    config = write(tmp_path, f'[store]\nbackup_dir = "{afile / "b"}"\n')

    message = refused(runner.invoke(app, ["config", "check", "--config", str(config)]))

    assert "store.backup_dir:" in message
    assert "is not a folder" in message


def test_a_folder_that_can_be_made_is_not_made_by_the_check(tmp_path: Path) -> None:
    """The check probes; it leaves nothing behind."""
    config = write(tmp_path, "", data_dir=tmp_path / "new" / "data")

    result = runner.invoke(app, ["config", "check", "--config", str(config)])

    assert result.exit_code == 0, result.output
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["orderdesk.toml"]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ORDERDESK_ALERTS__URLS", '["x",', "alerts.urls: not valid JSON; it takes a JSON list"),
        (
            "ORDERDESK_ENGINE__FREEZE_QUANTITIES",
            "NIFTY=5",
            "engine.freeze_quantities: not valid JSON; it takes a JSON object",
        ),
    ],
)
def test_a_variable_that_is_not_the_json_it_takes_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    """pydantic-settings named only the section, in a traceback; the refusal names the
    variable and what it takes, and never shows its value."""
    config = write(tmp_path, "")
    monkeypatch.setenv(variable, value)

    message = refused(runner.invoke(app, ["config", "check", "--config", str(config)]))

    assert f"error: environment variable {variable}: {expected}" in message
    assert value not in message


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe bad")

    message = refused(runner.invoke(app, ["config", "check", "--config", str(path)]))

    assert f"error: {path}: not UTF-8 text" in message


@pytest.mark.parametrize("key", ["secret", "token", "password"])
def test_a_secret_in_the_broker_table_is_sent_where_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    """`[kite] secret = …` was answered "export ORDERDESK_KITE__SECRET", a variable nothing
    reads (login then said "no api_secret"); the advice is the api_secret's variable, the
    keyring and the secrets file, and the variable it names is the one login reads."""
    path = write(tmp_path, f'{key} = "s3cr3t-value"\n')
    with pytest.raises(ConfigError) as exc_info:
        load_settings(path)
    message = str(exc_info.value)

    assert f"ORDERDESK_KITE__{key.upper()}" not in message
    assert "ORDERDESK_KITE__API_SECRET" in message
    assert "keyring" in message
    assert "secrets file" in message
    assert "s3cr3t-value" not in message


@pytest.mark.parametrize("key", ["SECRET", "TOKEN", "PASSWORD"])
def test_a_broker_variable_of_no_secret_is_refused_as_an_unknown_option_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    """ORDERDESK_KITE__BANANA was refused while ORDERDESK_KITE__SECRET passed and was ignored:
    both are refused now, the secret's naming the variable the api_secret goes in."""
    config = write(tmp_path, "")
    monkeypatch.setenv(f"ORDERDESK_KITE__{key}", "s3cr3t-value")

    message = refused(runner.invoke(app, ["config", "check", "--config", str(config)]))

    assert f"environment variable ORDERDESK_KITE__{key}: no secret or setting" in message
    assert "ORDERDESK_KITE__API_SECRET" in message
    assert "s3cr3t-value" not in message


def test_the_secrets_kite_reads_pass_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path, "")
    monkeypatch.setenv("ORDERDESK_KITE__API_SECRET", "a")
    monkeypatch.setenv("ORDERDESK_KITE__ACCESS_TOKEN", "b")
    monkeypatch.setenv("ORDERDESK_TELEGRAM__BOT_TOKEN", "1:c")

    result = runner.invoke(app, ["config", "check", "--config", str(config)])

    assert result.exit_code == 0, result.output


def test_an_ipv6_api_address_is_shown_in_brackets(tmp_path: Path) -> None:
    config = write(tmp_path, '[api]\nhost = "::1"\nport = 18831\n')

    result = runner.invoke(app, ["config", "check", "--config", str(config), "--json"])

    assert result.exit_code == 0, result.output
    assert '"api": "http://[::1]:18831"' in result.output


def test_a_refused_api_host_leaves_no_files(tmp_path: Path) -> None:
    """`run` with `host = "0.0.0.0"` and no allow_remote is refused before the store's folder
    and lock are made: a refused start leaves nothing (it left events.db.lock)."""
    data = tmp_path / "data"
    config = write(tmp_path, '[api]\nhost = "0.0.0.0"\n', data_dir=data)

    message = refused(runner.invoke(app, ["run", "--config", str(config)]))

    assert "api.host: 0.0.0.0 is not a loopback address" in message
    assert not data.exists()


def test_a_port_in_use_leaves_no_files(tmp_path: Path) -> None:
    """`run` on a port another process listens on is refused before the store's folder, lock
    and token are made (a start refused at the bind left events.db, its lock and api-token in
    the folders it had just made)."""
    data, conf = tmp_path / "data", tmp_path / "conf"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = write(tmp_path, f"[api]\nport = {port}\n", data_dir=data)
        message = refused(runner.invoke(app, ["run", "--config", str(config)]))

    assert f"cannot listen on 127.0.0.1:{port}" in message
    assert not data.exists()
    assert not (conf / "api-token").exists()


def test_a_second_desk_on_a_store_in_use_is_told_of_the_running_desk(tmp_path: Path) -> None:
    """On the same config the second `run` meets the first desk's port too: it names the desk
    running on the store (its lock), not "address already in use"."""
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = write(tmp_path, f"[api]\nport = {port}\n", data_dir=data)
        with exclusive_desk(sqlite_url(data / "events.db")):
            message = refused(runner.invoke(app, ["run", "--config", str(config)]))

    assert "cannot listen" not in message
    assert f"pid {os.getpid()}" in message
