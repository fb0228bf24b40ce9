"""Positions, holdings, funds, margin calculators, charges and GTT through the official client."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.sim.portfolio import Position

from .conftest import SimControl


def _market(kite: KiteConnect, side: str, quantity: int, product: str = "MIS") -> str:
    order_id: str = kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type=side,
        quantity=quantity,
        product=product,
        order_type="MARKET",
        market_protection=-1,
    )
    return order_id


def test_position_arithmetic_reproduces_the_kite_sample(kite_mocks: Path) -> None:
    """Every net row of Kite's positions.json is reproduced from carry plus day trades."""
    rows = json.loads((kite_mocks / "positions.json").read_text())["data"]["net"]
    for row in rows:
        overnight = row["overnight_quantity"]
        mult = Decimal(str(row["multiplier"]))
        pos = Position(
            "AB1234",
            row["exchange"],
            row["tradingsymbol"],
            row["instrument_token"],
            row["product"],
            multiplier=mult,
            overnight_quantity=overnight,
            close_price=Decimal(str(row["close_price"])),
        )
        # The carry price is what makes buy_value whole: recover it from the sample.
        carry_value = Decimal(str(row["buy_value"])) - Decimal(str(row["day_buy_value"]))
        if overnight < 0:
            carry_value = Decimal(str(row["sell_value"])) - Decimal(str(row["day_sell_value"]))
        if overnight:
            pos.overnight_price = carry_value / (abs(overnight) * mult)
        pos.day_buy_quantity = row["day_buy_quantity"]
        pos.day_buy_value = Decimal(str(row["day_buy_value"]))
        pos.day_sell_quantity = row["day_sell_quantity"]
        pos.day_sell_value = Decimal(str(row["day_sell_value"]))
        mine = pos.net_row(Decimal(str(row["last_price"])))
        for key in ("quantity", "buy_value", "sell_value", "value", "pnl", "m2m", "buy_m2m"):
            assert mine[key] == pytest.approx(row[key], abs=0.01), (row["tradingsymbol"], key)
        assert set(mine) == set(row)


def test_positions_follow_fills(kite: KiteConnect, simctl: SimControl) -> None:
    """Buys and sells at different prices show in net and day rows with exact P&L."""
    simctl.prices({"NSE:INFY": 1500.1})
    _market(kite, "BUY", 3)
    simctl.prices({"NSE:INFY": 1500.2})
    _market(kite, "SELL", 1)
    simctl.prices({"NSE:INFY": 1500.3})
    positions = kite.positions()
    net = positions["net"][0]
    assert net["quantity"] == 2
    assert net["buy_value"] == pytest.approx(4500.3)
    assert net["sell_value"] == pytest.approx(1500.2)
    assert net["pnl"] == pytest.approx(1500.2 - 4500.3 + 2 * 1500.3)
    assert net["average_price"] == pytest.approx(1500.1)
    assert positions["day"][0]["day_buy_quantity"] == 3


def test_convert_position(kite: KiteConnect, simctl: SimControl) -> None:
    """PUT /portfolio/positions moves today's quantity from MIS to CNC."""
    simctl.prices({"NSE:INFY": 1500})
    _market(kite, "BUY", 5)
    assert kite.convert_position("NSE", "INFY", "BUY", "day", 2, "MIS", "CNC") is True
    by_product = {p["product"]: p["quantity"] for p in kite.positions()["net"]}
    assert by_product == {"MIS": 3, "CNC": 2}
    with pytest.raises(kex.InputException):
        kite.convert_position("NSE", "INFY", "BUY", "day", 9, "MIS", "CNC")


def test_holdings_are_seeded_and_priced(kite: KiteConnect, simctl: SimControl) -> None:
    """Seeded holdings come back with P&L at the current price and allow a CNC sell."""
    simctl.holdings(
        [{"exchange": "NSE", "tradingsymbol": "SBIN", "quantity": 16, "average_price": 700}]
    )
    simctl.prices({"NSE:SBIN": 750})
    holdings = kite.holdings()
    assert holdings[0]["tradingsymbol"] == "SBIN"
    assert holdings[0]["pnl"] == 800
    order_id = kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="SBIN",
        transaction_type="SELL",
        quantity=16,
        product="CNC",
        order_type="MARKET",
        market_protection=-1,
    )
    assert kite.order_history(order_id)[-1]["status"] == "COMPLETE"


def test_funds_follow_positions(kite: KiteConnect, simctl: SimControl) -> None:
    """A CNC buy blocks its value in the equity segment."""
    simctl.prices({"NSE:INFY": 1000})
    _market(kite, "BUY", 100, product="CNC")
    equity = kite.margins("equity")
    assert equity["utilised"]["debits"] == 100_000
    assert equity["net"] == 900_000


def test_order_and_basket_margins_and_charges(kite: KiteConnect, simctl: SimControl) -> None:
    """The three calculators take JSON arrays and answer in Kite's shapes."""
    simctl.prices({"NSE:INFY": 1500})
    order = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "variety": "regular",
        "product": "CNC",
        "order_type": "MARKET",
        "quantity": 1,
        "price": 0,
        "trigger_price": 0,
    }
    margins = kite.order_margins([order])
    assert margins[0]["total"] == 1500
    assert margins[0]["charges"]["transaction_tax_type"] == "stt"
    _market(kite, "BUY", 2)
    sell = order | {"transaction_type": "SELL", "product": "MIS", "quantity": 2}
    basket = kite.basket_order_margins([sell], consider_positions=True)
    assert basket["initial"]["total"] == 600
    assert basket["final"]["total"] == 0
    assert set(basket) == {"initial", "final", "orders", "charges"}
    note = kite.get_virtual_contract_note([order | {"average_price": 1500, "order_id": "1"}])
    assert note[0]["price"] == 1500
    assert note[0]["charges"]["total"] > 0
    with pytest.raises(kex.InputException):
        kite.order_margins([order | {"tradingsymbol": "NOSUCH"}])


def test_gtt_single_fires_into_an_order(kite: KiteConnect, simctl: SimControl) -> None:
    """A single GTT fires when the price falls to it, placing a LIMIT order."""
    simctl.prices({"NSE:INFY": 1500})
    trigger = kite.place_gtt(
        "single",
        "INFY",
        "NSE",
        [1450],
        1500,
        [
            {
                "transaction_type": "BUY",
                "quantity": 1,
                "order_type": "LIMIT",
                "product": "CNC",
                "price": 1451,
            }
        ],
    )
    trigger_id = trigger["trigger_id"]
    assert isinstance(trigger_id, int)
    assert kite.get_gtt(trigger_id)["status"] == "active"
    simctl.prices({"NSE:INFY": 1460})
    assert kite.get_gtt(trigger_id)["status"] == "active"
    simctl.prices({"NSE:INFY": 1450})
    fired = kite.get_gtt(trigger_id)
    assert fired["status"] == "triggered"
    result = fired["orders"][0]["result"]
    assert result["order_result"]["status"] == "success"
    order_id = result["order_result"]["order_id"]
    assert kite.order_history(order_id)[-1]["status"] == "COMPLETE"
    assert [g["id"] for g in kite.get_gtts()] == [trigger_id]


def test_gtt_two_leg_modify_delete(kite: KiteConnect, simctl: SimControl) -> None:
    """A two-leg GTT can be modified and deleted; its upper leg fires on a rise."""
    simctl.prices({"NSE:INFY": 1500})
    legs = [
        {
            "transaction_type": "SELL",
            "quantity": 1,
            "order_type": "LIMIT",
            "product": "CNC",
            "price": 1400,
        },
        {
            "transaction_type": "SELL",
            "quantity": 1,
            "order_type": "LIMIT",
            "product": "CNC",
            "price": 1600,
        },
    ]
    first = kite.place_gtt("two-leg", "INFY", "NSE", [1400, 1600], 1500, legs)["trigger_id"]
    assert kite.modify_gtt(first, "two-leg", "INFY", "NSE", [1390, 1610], 1500, legs) == {
        "trigger_id": first
    }
    assert kite.get_gtt(first)["condition"]["trigger_values"] == [1390, 1610]
    assert kite.delete_gtt(first) == {"trigger_id": first}
    assert kite.get_gtt(first)["status"] == "deleted"
    second = kite.place_gtt("two-leg", "INFY", "NSE", [1400, 1600], 1500, legs)["trigger_id"]
    simctl.holdings(
        [{"exchange": "NSE", "tradingsymbol": "INFY", "quantity": 1, "average_price": 1000}]
    )
    simctl.prices({"NSE:INFY": 1600})
    fired = kite.get_gtt(second)
    assert fired["status"] == "triggered"
    assert fired["orders"][0]["result"] is None
    assert fired["orders"][1]["result"]["triggered_at"] == 1600
    with pytest.raises(kex.GeneralException) as exc_info:
        kite.get_gtt(999)
    assert exc_info.value.code == 404


def test_an_open_position_with_a_repeating_average_has_no_realised_noise() -> None:
    """7 TCS bought for 21,704 (an average of 3,100.5714…): nothing sold, so realised is 0, as
    Kite prints it, not the 3E-24 left by subtracting two inexact products."""
    pos = Position("AB1234", "NSE", "TCS", 2953217, "CNC")
    pos.day_buy_quantity = 7
    pos.day_buy_value = Decimal("21704")
    row = pos.net_row(Decimal("3102"))
    assert row["realised"] == 0
    assert row["unrealised"] == pytest.approx(10.0)
