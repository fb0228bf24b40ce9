"""Configuration: file plus environment, and errors that name the key."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from orderdesk.config import load_settings
from orderdesk.domain.calendar import Segment
from orderdesk.errors import ConfigError
from orderdesk.runtime import desk_config

pytestmark = pytest.mark.usefixtures("isolated_config")


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


def test_secrets_in_the_environment_are_not_broker_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ORDERDESK_KITE__API_SECRET shares the section's scheme but is the secret store's to read:
    the adapter's options never carry it (it would refuse a secret among them)."""
    write(tmp_path, 'broker = "kite"\n[kite]\napi_key = "k1"\n')
    monkeypatch.setenv("ORDERDESK_KITE__API_SECRET", "env-secret-789")
    monkeypatch.setenv("ORDERDESK_KITE__ACCESS_TOKEN", "env-token-789")
    assert load_settings().broker_options() == {"api_key": "k1"}


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
        (
            '[trading_day]\nspecial_sessions = [{ date = 2027-10-29, opens = "19:15", '
            'closes = "18:15" }]\n',
            "trading_day.special_sessions.0",
        ),
        (
            '[trading_day]\nspecial_sessions = [{ date = 2027-10-29, opens = "18:15" }]\n',
            "closes",
        ),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    """Each kind of mistake fails with a ConfigError that names the key."""
    write(tmp_path, text)
    with pytest.raises(ConfigError) as exc_info:
        load_settings()
    assert key in str(exc_info.value)


def test_cancel_open_on_kill_is_refused_not_silently_ignored(tmp_path: Path) -> None:
    """[engine] cancel_open_on_kill never did anything (the kill switch cancels only when asked:
    --cancel-open, the dashboard's checkbox, Telegram's button, kill_switch_and_cancel): a file
    that sets it is refused like any unknown key, rather than trusted to cancel on a kill."""
    write(tmp_path, "[engine]\ncancel_open_on_kill = true\n")
    with pytest.raises(ConfigError) as exc_info:
        load_settings()
    assert "engine.cancel_open_on_kill: Extra inputs are not permitted" in str(exc_info.value)


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


def test_trading_day_settings_build_the_calendar(tmp_path: Path) -> None:
    """``[trading_day]`` holidays (file plus list), special sessions, square-off times and close
    time reach the engine's day rules; the shipped NSE list is replaced by a file."""
    holidays = tmp_path / "holidays.txt"
    holidays.write_text("2027-01-26\n")
    write(
        tmp_path,
        "[trading_day]\n"
        f'holidays_file = "{holidays}"\n'
        'holidays = ["2027-03-22"]\n'
        'special_sessions = ["2027-01-31"]\n'
        'close_at = "23:55"\n'
        "own_square_off_minutes = 5\n"
        '[trading_day.square_off]\nderivatives = "15:20"\n',
    )
    settings = load_settings()
    rules = desk_config(settings.engine, settings.trading_day).days
    assert rules is not None
    assert rules.calendar.holidays == {date(2027, 1, 26), date(2027, 3, 22)}
    assert rules.calendar.is_trading_day(date(2027, 1, 31))  # a Sunday
    assert rules.calendar.hours[Segment.DERIVATIVES].square_off == time(15, 20)
    assert rules.calendar.hours[Segment.EQUITY].square_off == time(15, 20)
    assert (rules.close_at, rules.own_square_off_minutes) == (time(23, 55), 5)


def test_a_special_session_with_hours_of_its_own(tmp_path: Path) -> None:
    """A Muhurat evening in ``special_sessions`` (beside a plain date): a trading day with its
    own market hours, the broker's square-off 10 minutes before its close in every segment,
    the mass cancel 20 minutes after it."""
    write(
        tmp_path,
        "[trading_day]\n"
        'special_sessions = ["2027-01-31", { date = 2027-10-31, opens = "18:15", '
        'closes = "19:15" }]\n',
    )
    settings = load_settings()
    rules = desk_config(settings.engine, settings.trading_day).days
    assert rules is not None
    calendar = rules.calendar
    muhurat = date(2027, 10, 31)  # a Sunday
    assert calendar.is_trading_day(muhurat)
    assert calendar.is_trading_day(date(2027, 1, 31))
    assert calendar.market_hours(muhurat) == (time(18, 15), time(19, 15))
    assert calendar.market_hours(date(2027, 1, 31)) == (time(9, 15), time(15, 30))
    for segment in Segment:
        assert calendar.square_off_at(muhurat, segment).time() == time(19, 5)
        assert calendar.mass_cancel_at(muhurat, segment).time() == time(19, 35)


def test_trading_days_default_on_with_the_shipped_holidays() -> None:
    """Without a ``[trading_day]`` section days are kept, with NSE's published holidays."""
    settings = load_settings()
    rules = desk_config(settings.engine, settings.trading_day).days
    assert rules is not None
    assert date(2026, 12, 25) in rules.calendar.holidays
    always_open = settings.trading_day.model_copy(update={"enabled": False})
    assert desk_config(settings.engine, always_open).days is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[trading_day]\nclose_at = 'late'\n", "trading_day.close_at"),
        ("[trading_day]\nholidays = ['26/01/2027']\n", "trading_day.holidays"),
        ("[trading_day]\nspecial_sessions = ['sunday']\n", "trading_day.special_sessions"),
        ("[trading_day.square_off]\nforex = '15:00'\n", "trading_day.square_off"),
        ("[trading_day]\nown_square_off_minutes = -1\n", "trading_day.own_square_off_minutes"),
    ],
)
def test_bad_trading_day_settings_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    """A bad ``[trading_day]`` value fails with a message naming the key."""
    write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert key in str(caught.value)


def test_a_bad_holiday_file_names_its_line(tmp_path: Path) -> None:
    """A holiday file with a bad line is refused when the calendar is built."""
    holidays = tmp_path / "holidays.txt"
    holidays.write_text("2027-01-26\nsoon\n")
    write(tmp_path, f'[trading_day]\nholidays_file = "{holidays}"\n')
    settings = load_settings()
    with pytest.raises(ConfigError) as caught:
        desk_config(settings.engine, settings.trading_day)
    assert "line 2" in str(caught.value)
