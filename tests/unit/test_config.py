"""Configuration: file plus environment, and errors that name the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orderdesk.config import load_settings
from orderdesk.errors import ConfigError
from orderdesk.runtime import desk_config


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(text)
    return path


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The TOML file sets values and ORDERDESK_* variables override them."""
    write(
        tmp_path,
        'broker = "kite"\n[kite]\napi_key = "k1"\n[api]\nport = 9000\n[risk]\nmax_quantity = 5\n',
    )
    monkeypatch.setenv("ORDERDESK_API__PORT", "9100")
    monkeypatch.setenv("ORDERDESK_KITE__ROOT", "http://127.0.0.1:1")
    settings = load_settings()
    assert settings.api.port == 9100
    assert settings.risk.max_quantity == 5
    assert settings.broker_options() == {"api_key": "k1", "root": "http://127.0.0.1:1"}


def test_defaults_without_a_file() -> None:
    """With no file the defaults bind loopback and use SQLite under the data dir."""
    settings = load_settings()
    assert settings.api.host == "127.0.0.1"
    assert settings.store_url.startswith("sqlite:///")
    assert settings.store_url.endswith("events.db")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[risk]\nmax_quantity = -1\n", "risk.max_quantity"),
        ("[api]\nport = 'eighty'\n", "api.port"),
        ("[api]\nprot = 1\n", "api.prot"),
        ("colour = 'blue'\n", "colour"),
        ("[kite]\napi_secret = 'x'\n", "api_secret"),
        ("[alerts]\nmin_severity = 'loud'\n", "alerts.min_severity"),
        ("broker = 'no such'\n", "broker"),
        ("[risk\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    """Each kind of mistake fails with a ConfigError that names the key."""
    write(tmp_path, text)
    with pytest.raises(ConfigError) as exc_info:
        load_settings()
    assert key in str(exc_info.value)


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    """Naming a config file that does not exist is reported, not silently ignored."""
    with pytest.raises(ConfigError) as exc_info:
        load_settings(tmp_path / "nope.toml")
    assert "does not exist" in str(exc_info.value)


def test_freeze_limits_override_the_built_in_ones(tmp_path: Path) -> None:
    """[engine] freeze_quantities updates one underlying and keeps the other defaults."""
    write(tmp_path, "[engine.freeze_quantities]\nNIFTY = 1500\n")
    limits = desk_config(load_settings().engine).freeze_quantities
    assert limits["NIFTY"] == 1500
    assert limits["BANKNIFTY"] > 0


def test_freeze_limit_must_be_positive(tmp_path: Path) -> None:
    """A zero freeze limit is refused, naming the key."""
    write(tmp_path, "[engine.freeze_quantities]\nNIFTY = 0\n")
    with pytest.raises(ConfigError) as exc_info:
        load_settings()
    assert "engine.freeze_quantities" in str(exc_info.value)
