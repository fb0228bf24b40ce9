"""``[engine] slicing`` and ``[exit]``: read from the file, handed to the engine, and refused
with the key named when out of range."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from orderdesk.config import load_settings
from orderdesk.domain.reports import Quote
from orderdesk.domain.values import InstrumentKey, Side
from orderdesk.engine.config import ExitPolicy, Slicing
from orderdesk.engine.exits import band_price
from orderdesk.errors import ConfigError
from orderdesk.runtime import desk_config

pytestmark = pytest.mark.usefixtures("isolated_config")


def test_defaults_are_kites_autoslice_and_a_sane_exit_policy() -> None:
    """Without the keys: Kite slices, and exits re-price after 5 s, 3 times, within 2%."""
    settings = load_settings()
    config = desk_config(settings.engine, exits=settings.exit)
    assert config.slicing is Slicing.KITE
    assert config.exit == ExitPolicy(reprice_after=5.0, max_reprices=3, band_percent=Decimal(2))


def test_keys_reach_the_engine(tmp_path: Path) -> None:
    """The file's values become the engine's configuration."""
    (tmp_path / "orderdesk.toml").write_text(
        '[engine]\nslicing = "desk"\n'
        "[exit]\nreprice_after_seconds = 2.5\nmax_reprices = 5\nband_percent = 1.5\n"
    )
    settings = load_settings()
    config = desk_config(settings.engine, exits=settings.exit)
    assert config.slicing is Slicing.DESK
    assert config.exit == ExitPolicy(reprice_after=2.5, max_reprices=5, band_percent=Decimal("1.5"))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[engine]\nslicing = "broker"\n', "engine.slicing"),
        ("[exit]\nreprice_after_seconds = 0\n", "exit.reprice_after_seconds"),
        ("[exit]\nmax_reprices = -1\n", "exit.max_reprices"),
        ("[exit]\nband_percent = 50\n", "exit.band_percent"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    """An unknown slicing mode or an out-of-range exit setting is refused naming the key."""
    (tmp_path / "orderdesk.toml").write_text(text)
    with pytest.raises(ConfigError) as exc_info:
        load_settings()
    assert key in str(exc_info.value)


def _quote(last: str, lower: str | None = None, upper: str | None = None) -> Quote:
    return Quote(
        instrument=InstrumentKey.parse("NSE:INFY"),
        instrument_token=1,
        last_price=Decimal(last),
        lower_circuit_limit=Decimal(lower) if lower else None,
        upper_circuit_limit=Decimal(upper) if upper else None,
    )


def test_band_price_goes_through_the_market_within_the_band() -> None:
    """A sell goes 2% below the last price and a buy 2% above, rounded to the tick towards
    the last price (never beyond the band) and kept inside the circuit limits."""
    tick = Decimal("0.05")
    assert band_price(Side.SELL, _quote("1440"), Decimal(2), tick) == Decimal("1411.20")
    assert band_price(Side.SELL, _quote("1441.13"), Decimal(2), tick) == Decimal("1412.35")
    assert band_price(Side.BUY, _quote("1441.13"), Decimal(2), tick) == Decimal("1469.95")
    assert band_price(Side.SELL, _quote("100", lower="99"), Decimal(2), tick) == Decimal(99)
    assert band_price(Side.BUY, _quote("100", upper="101"), Decimal(2), tick) == Decimal(101)


def test_config_check_says_who_slices_and_how_exits_escalate(tmp_path: Path) -> None:
    """`orderdesk config check --json` names the slicing mode and the exit policy in force."""
    _register_commands()
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\n'
        f'config_dir = "{tmp_path / "conf"}"\n'
        '[engine]\nslicing = "desk"\n[exit]\nreprice_after_seconds = 2\nband_percent = 1\n'
    )
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["slicing"].startswith("desk: one order per slice")
    assert summary["exits"] == (
        "re-priced after 2s to 1% beyond the last price, at most 3 times, then alerted"
    )
