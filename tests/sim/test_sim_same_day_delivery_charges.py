"""The rollover charges a day's delivery (CNC) trades as the desk asks the contract note for
them: a scrip's quantity both bought and sold in the day as intraday (MIS), the earliest orders
first, and a scrip sold from holdings pays the DP charge once (13.50 + 18 % GST). The simulator
charged every CNC order as delivery (the walk's 30 squared off paid 0.1 % STT both ways) and
no DP charge.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from kiteconnect import KiteConnect

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

from .conftest import SimControl
from .test_sim_day_charges import buy_or_sell, on

MONDAY = "2026-01-05"
TUESDAY = "2026-01-06"
OPENING_CASH = 1_000_000
DP = Decimal("15.93")


@pytest.fixture
def sim_config(sim_config: SimConfig) -> SimConfig:
    """NSE hours and trading days, no holidays in the test week, a known opening cash."""
    sim_config.market_hours = "nse"
    sim_config.holidays = frozenset()
    sim_config.opening_cash = Decimal(OPENING_CASH)
    return sim_config


def noted(kite: KiteConnect, lines: list[tuple[str, str, str, int, int]]) -> Decimal:
    """The contract note's total for ``lines`` (order id, side, product, quantity, average
    price) on NSE:INFY, as the desk asks it, to the paisa."""
    asked: list[dict[str, Any]] = [
        {
            "order_id": order_id,
            "exchange": "NSE",
            "tradingsymbol": "INFY",
            "transaction_type": side,
            "variety": "regular",
            "product": product,
            "order_type": "MARKET",
            "quantity": quantity,
            "average_price": price,
        }
        for order_id, side, product, quantity, price in lines
    ]
    note = kite.get_virtual_contract_note(asked)
    total = sum((Decimal(str(row["charges"]["total"])) for row in note), Decimal(0))
    return total.quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_the_quantity_squared_off_in_the_day_is_charged_as_intraday(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """The walk: INFY 100 bought CNC at 1500, 30 sold CNC at 1520. Tuesday's opening balance
    is lower by the contract note of the buy's 70 as CNC, its 30 and the sale as MIS."""
    kite = on(sim_thread, simctl, MONDAY)
    simctl.prices({"NSE:INFY": 1500})
    buy_or_sell(kite, "BUY", "CNC", 100)
    simctl.prices({"NSE:INFY": 1520})
    buy_or_sell(kite, "SELL", "CNC", 30)
    bought, sold = sorted(kite.orders(), key=lambda row: row["transaction_type"])
    charged = noted(
        kite,
        [
            (bought["order_id"], "BUY", "CNC", 70, 1500),
            (bought["order_id"], "BUY", "MIS", 30, 1500),
            (sold["order_id"], "SELL", "MIS", 30, 1520),
        ],
    )
    as_delivery = noted(
        kite,
        [
            (bought["order_id"], "BUY", "CNC", 100, 1500),
            (sold["order_id"], "SELL", "CNC", 30, 1520),
        ],
    )
    assert charged < as_delivery - 50  # STT 116.40 rather than 195.60

    kite = on(sim_thread, simctl, TUESDAY)
    opening = Decimal(str(kite.margins()["equity"]["available"]["opening_balance"]))
    assert opening == OPENING_CASH - 100 * 1500 + 30 * 1520 - charged


def test_a_sale_from_holdings_pays_the_dp_charge_once(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """10 INFY held; 4 sold CNC in two orders and 1 bought back: 3 from holdings, one DP
    charge on top of the contract note (the bought 1 and 1 of the first sale intraday)."""
    kite = on(sim_thread, simctl, MONDAY)
    simctl.holdings(
        [{"exchange": "NSE", "tradingsymbol": "INFY", "quantity": 10, "average_price": 1400}]
    )
    simctl.prices({"NSE:INFY": 1500})
    buy_or_sell(kite, "SELL", "CNC", 2)
    buy_or_sell(kite, "SELL", "CNC", 2)
    buy_or_sell(kite, "BUY", "CNC", 1)
    first, second, bought = kite.orders()
    charged = noted(
        kite,
        [
            (first["order_id"], "SELL", "MIS", 1, 1500),
            (first["order_id"], "SELL", "CNC", 1, 1500),
            (second["order_id"], "SELL", "CNC", 2, 1500),
            (bought["order_id"], "BUY", "MIS", 1, 1500),
        ],
    )

    kite = on(sim_thread, simctl, TUESDAY)
    cash = Decimal(str(kite.margins()["equity"]["available"]["cash"]))
    assert cash == OPENING_CASH + 3 * 1500 - charged - DP
