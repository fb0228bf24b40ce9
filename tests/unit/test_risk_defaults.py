"""Safe risk defaults: in force without a ``[risk]`` table, loosened with a value or ``"off"``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.config import load_settings
from orderdesk.domain import InstrumentKey, OrderType, Product, Side, Signal
from orderdesk.engine.risk import KillSwitch, checks_for
from orderdesk.errors import ConfigError
from orderdesk.runtime import risk_limits, strategy_limits

pytestmark = pytest.mark.usefixtures("isolated_config")


class _NoContext:
    """The blocked-symbols check asks the desk nothing."""


def market_buy(instrument: str) -> Signal:
    return Signal(
        strategy="s",
        instrument=InstrumentKey.parse(instrument),
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.MARKET,
        product=Product.CNC,
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(text)
    return path


def test_without_a_risk_table_the_safe_defaults_apply(tmp_path: Path) -> None:
    """No [risk] at all still limits quantity, order value, price band and the day's loss."""
    write(tmp_path, 'broker = "paper"\n')
    settings = load_settings()
    limits = risk_limits(settings.risk)
    assert limits.max_quantity == 1000
    assert limits.max_order_value == Decimal(500_000)
    assert limits.price_band_percent == Decimal(10)
    assert limits.daily_loss_limit == Decimal(10_000)
    names = {check.name for check in checks_for(limits, KillSwitch())}
    assert {"max_quantity", "max_order_value", "price_band", "daily_loss_limit"} <= names
    assert settings.risk.defaults_in_force() == [
        "max_quantity",
        "max_order_value",
        "daily_loss_limit",
        "price_band_percent",
    ]


def test_a_value_loosens_a_default_and_off_switches_it_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A number replaces a default; "off" (in the file or the environment) removes the check,
    and neither counts as a default any more."""
    write(tmp_path, '[risk]\nmax_quantity = 100000\nprice_band_percent = "off"\n')
    monkeypatch.setenv("ORDERDESK_RISK__MAX_ORDER_VALUE", "OFF")
    settings = load_settings()
    limits = risk_limits(settings.risk)
    assert limits.max_quantity == 100_000
    assert limits.price_band_percent is None
    assert limits.max_order_value is None
    assert limits.daily_loss_limit == Decimal(10_000)
    assert settings.risk.defaults_in_force() == ["daily_loss_limit"]
    shown = settings.risk.in_force()
    assert (shown["max_order_value"], shown["price_band_percent"]) == ("off", "off")
    assert shown["max_quantity"] == "100000"


async def test_blocked_symbols_in_the_config_are_refused(tmp_path: Path) -> None:
    """[risk] blocked_symbols reaches the gate (it was once accepted and never enforced), and
    config check shows it."""
    write(tmp_path, '[risk]\nblocked_symbols = ["NSE:INFY", "TCS"]\n')
    settings = load_settings()
    limits = risk_limits(settings.risk)
    assert limits.blocked_symbols == frozenset({"NSE:INFY", "TCS"})
    (blocked,) = [c for c in checks_for(limits, KillSwitch()) if c.name == "blocked_symbols"]
    tcs = market_buy("BSE:TCS")
    assert await blocked.check(tcs, _NoContext()) == "BSE:TCS is a blocked symbol"
    assert settings.risk.in_force()["blocked_symbols"] == "NSE:INFY, TCS"


async def test_symbol_entries_are_read_as_kite_writes_symbols(tmp_path: Path) -> None:
    """``nse:infy`` once loaded and never matched (Kite's symbols are upper-case), so a block
    did not block; an entry that cannot be a trading symbol is refused as the file is read."""
    write(tmp_path, '[risk]\nblocked_symbols = ["nse:infy", " tcs "]\n')
    settings = load_settings()
    limits = risk_limits(settings.risk)
    assert limits.blocked_symbols == frozenset({"NSE:INFY", "TCS"})
    (blocked,) = [c for c in checks_for(limits, KillSwitch()) if c.name == "blocked_symbols"]
    infy = market_buy("NSE:INFY")
    assert await blocked.check(infy, _NoContext()) == "NSE:INFY is a blocked symbol"
    write(tmp_path, '[risk]\nallowed_symbols = ["NSE:IN FY?"]\n')
    with pytest.raises(ConfigError, match=r"risk\.allowed_symbols.*not an upper-case trading"):
        load_settings()


def test_a_word_other_than_off_names_the_key_and_the_choice(tmp_path: Path) -> None:
    """A misspelt "off" is refused with the key named and the two accepted forms."""
    write(tmp_path, '[risk]\nmax_order_value = "none"\n')
    with pytest.raises(ConfigError) as exc_info:
        load_settings()
    assert "risk.max_order_value" in str(exc_info.value)
    assert '"off"' in str(exc_info.value)


def test_a_strategy_table_adds_no_defaults_of_its_own(tmp_path: Path) -> None:
    """[strategies.<name>.risk] holds only what it sets: the desk's defaults already apply to
    every strategy, and loosening [risk] is not undone by a strategy table."""
    write(
        tmp_path,
        "[risk]\nmax_quantity = 5000\n[strategies.alpha.risk]\nmax_open_orders = 2\n"
        '[strategies.beta.risk]\nmax_quantity = "off"\n',
    )
    limits = strategy_limits(load_settings())
    alpha = limits["alpha"]
    assert alpha.max_open_orders == 2
    assert (alpha.max_quantity, alpha.max_order_value) == (None, None)
    assert (alpha.price_band_percent, alpha.daily_loss_limit) == (None, None)
    assert limits["beta"].max_quantity is None
