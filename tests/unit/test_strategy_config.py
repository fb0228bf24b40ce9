"""Per-strategy risk limits in the config: ``[strategies.<name>.risk]`` and its errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.config import load_settings
from orderdesk.domain import Exchange
from orderdesk.errors import ConfigError
from orderdesk.runtime import strategy_limits

pytestmark = pytest.mark.usefixtures("isolated_config")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(text)
    return path


def test_strategy_risk_maps_to_that_strategys_limits(tmp_path: Path) -> None:
    """A strategy's risk table becomes its RiskLimits; strategies without one get none."""
    write(
        tmp_path,
        "[risk]\nmax_quantity = 1000\n"
        "[strategies.alpha.risk]\nmax_quantity = 10\ndaily_loss_limit = 500\n"
        "allowed_exchanges = ['nse']\norders_per_minute_per_strategy = 3\n"
        "[strategies.beta]\napproval = true\n",
    )
    settings = load_settings()
    limits = strategy_limits(settings)
    assert set(limits) == {"alpha"}
    alpha = limits["alpha"]
    assert alpha.max_quantity == 10
    assert alpha.daily_loss_limit == Decimal(500)
    assert alpha.allowed_exchanges == frozenset({Exchange.NSE})
    assert alpha.max_orders_per_minute == 3
    assert settings.strategies["beta"].risk is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[strategies.alpha.risk]\nmax_quantity = -1\n", "strategies.alpha.risk.max_quantity"),
        ("[strategies.alpha.risk]\nmax_qty = 1\n", "strategies.alpha.risk.max_qty"),
        (
            "[strategies.alpha.risk]\nprice_band_percent = 101\n",
            "strategies.alpha.risk.price_band_percent",
        ),
    ],
)
def test_bad_strategy_risk_names_the_nested_key(tmp_path: Path, text: str, key: str) -> None:
    """A mistake in a strategy's risk table fails with a ConfigError naming the full key."""
    write(tmp_path, text)
    with pytest.raises(ConfigError) as exc_info:
        load_settings()
    assert key in str(exc_info.value)


def test_bad_strategy_exchange_names_the_nested_key(tmp_path: Path) -> None:
    """An unknown exchange in a strategy's allow-list is reported under that strategy's key."""
    write(tmp_path, "[strategies.alpha.risk]\nallowed_exchanges = ['MOON']\n")
    with pytest.raises(ConfigError) as exc_info:
        strategy_limits(load_settings())
    assert "strategies.alpha.risk.allowed_exchanges" in str(exc_info.value)


def test_a_strategys_on_daily_loss_is_refused_as_desk_wide(tmp_path: Path) -> None:
    """It was taken, shown by `config check` as in force, and never acted on: only the desk's
    [risk] table's counts."""
    write(
        tmp_path, "[strategies.alpha.risk]\ndaily_loss_limit = 500\non_daily_loss = 'kill_switch'\n"
    )
    with pytest.raises(ConfigError) as exc_info:
        load_settings()
    assert "strategies.alpha.risk.on_daily_loss" in str(exc_info.value)
    assert "is desk-wide: set it in [risk]" in str(exc_info.value)


def test_a_strategys_limits_in_force_leave_the_desks_on_daily_loss_out(tmp_path: Path) -> None:
    write(tmp_path, "[strategies.alpha.risk]\ndaily_loss_limit = 500\n")
    risk = load_settings().strategies["alpha"].risk
    assert risk is not None
    assert "on_daily_loss" not in risk.in_force()
    assert risk.in_force()["daily_loss_limit"] == "500"


@pytest.mark.parametrize(
    ("text", "key", "said"),
    [
        ("[risk]\nallowed_exchanges = ['XYZ']\n", "risk.allowed_exchanges", "'XYZ' is not an"),
        ("[risk]\nblocked_symbols = ['NSE:']\n", "risk.blocked_symbols", "'NSE:' is not"),
        ("[risk]\nallowed_symbols = ['MOON:INFY']\n", "risk.allowed_symbols", "'MOON' is not"),
        ("[risk]\nallowed_symbols = [':INFY']\n", "risk.allowed_symbols", "':INFY' is not"),
    ],
)
def test_a_list_entry_the_desk_cannot_match_fails_the_config(
    tmp_path: Path, text: str, key: str, said: str
) -> None:
    """`config check` said OK to them: an exchange that is none, a symbol without its name."""
    write(tmp_path, text)
    with pytest.raises(ConfigError) as exc_info:
        load_settings()
    assert key in str(exc_info.value)
    assert said in str(exc_info.value)


def test_symbol_entries_with_and_without_an_exchange_load(tmp_path: Path) -> None:
    write(tmp_path, "[risk]\nallowed_symbols = ['NSE:INFY', 'TCS', 'nse:sbin']\n")
    assert load_settings().risk.allowed_symbols == ["NSE:INFY", "TCS", "NSE:SBIN"]
