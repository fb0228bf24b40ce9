"""Signal validation: every rule names its field and reason."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orderdesk.domain import (
    InstrumentKey,
    OrderType,
    Product,
    Side,
    ValidationError,
    Validity,
    Variety,
)
from tests.domain.builders import signal


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"price": None}, "price"),
        ({"price": Decimal("-1")}, "price"),
        ({"order_type": OrderType.MARKET}, "price"),
        ({"order_type": OrderType.SL, "trigger_price": None}, "trigger_price"),
        ({"order_type": OrderType.SL, "trigger_price": Decimal("1600")}, "trigger_price"),
        (
            {"order_type": OrderType.SL, "side": Side.SELL, "trigger_price": Decimal("1400")},
            "trigger_price",
        ),
        ({"order_type": OrderType.SL_M, "trigger_price": Decimal("1400")}, "price"),
        ({"trigger_price": Decimal("1400")}, "trigger_price"),
        ({"market_protection": Decimal("5")}, "market_protection"),
        ({"variety": Variety.ICEBERG}, "iceberg_legs"),
        ({"variety": Variety.ICEBERG, "iceberg_legs": 1, "iceberg_quantity": 10}, "iceberg_legs"),
        ({"variety": Variety.ICEBERG, "iceberg_legs": 51, "iceberg_quantity": 1}, "iceberg_legs"),
        (
            {"variety": Variety.ICEBERG, "iceberg_legs": 2, "iceberg_quantity": 4},
            "iceberg_quantity",
        ),
        ({"iceberg_legs": 2, "iceberg_quantity": 5}, "iceberg_legs"),
        ({"validity": Validity.TTL}, "validity_ttl"),
        ({"validity_ttl": 5}, "validity_ttl"),
        ({"variety": Variety.AUCTION}, "auction_number"),
        ({"auction_number": "22"}, "auction_number"),
        ({"variety": Variety.CO, "product": Product.MIS}, "trigger_price"),
        ({"variety": Variety.CO, "trigger_price": Decimal("1490")}, "product"),
        ({"tag": "has space"}, "tag"),
        ({"tag": "a" * 21}, "tag"),
        ({"strategy": ""}, "strategy"),
        ({"signal_id": "bad id!"}, "signal_id"),
        ({"disclosed_quantity": 11}, "disclosed_quantity"),
        ({"product": Product.CO}, "product"),
    ],
)
def test_invalid_signal_names_the_field(overrides: dict[str, Any], field: str) -> None:
    """Each broken rule raises one ValidationError naming the offending field."""
    with pytest.raises(ValidationError) as exc_info:
        signal(**overrides)
    assert exc_info.value.field == field
    assert str(exc_info.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"order_type": OrderType.MARKET, "price": None, "market_protection": Decimal(-1)},
        {"order_type": OrderType.SL, "trigger_price": Decimal("1499")},
        {"order_type": OrderType.SL_M, "price": None, "trigger_price": Decimal("1499")},
        {"variety": Variety.ICEBERG, "iceberg_legs": 2, "iceberg_quantity": 5},
        {"validity": Validity.TTL, "validity_ttl": 3},
        {"variety": Variety.AUCTION, "auction_number": "22"},
        {"variety": Variety.CO, "product": Product.MIS, "trigger_price": Decimal("1490")},
        {"tag": "abc123", "signal_id": "sig-1", "strategy": "mean_rev"},
    ],
)
def test_valid_signals_are_accepted(overrides: dict[str, Any]) -> None:
    """Well-formed signals of every variety construct without error."""
    assert signal(**overrides).quantity == 10


def test_tick_and_lot_size_checks() -> None:
    """Prices off the tick grid and quantities off the lot grid are refused."""
    good = signal(price=Decimal("1500.05"))
    good.check_tick_size(Decimal("0.05"))
    with pytest.raises(ValidationError) as exc_info:
        signal(price=Decimal("1500.03")).check_tick_size(Decimal("0.05"))
    assert exc_info.value.field == "price"
    with pytest.raises(ValidationError) as lot_info:
        signal(quantity=80).check_lot_size(75)
    assert lot_info.value.field == "quantity"


def test_instrument_key_parsing() -> None:
    """EXCHANGE:SYMBOL parses; junk names the instrument field."""
    key = InstrumentKey.parse("NFO:NIFTY26DECFUT")
    assert str(key) == "NFO:NIFTY26DECFUT"
    for bad in ("INFY", "XXX:INFY", "NSE:", "NSE:infy"):
        with pytest.raises(ValidationError):
            InstrumentKey.parse(bad)


@pytest.mark.parametrize("name", ["mean rev", "मीन", "abc\n", "", "x" * 33])
def test_a_strategy_name_is_ascii_letters_digits_underscore_or_dash(name: str) -> None:
    with pytest.raises(ValidationError, match="1 to 32 ASCII letters, digits, _ or -"):
        signal(strategy=name)
