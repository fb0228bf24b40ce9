"""The day's charges leave the cash at the rollover, through the official client: Zerodha's ledger
posts each day's contract note (brokerage, STT, exchange and SEBI fees, GST, stamp duty), so the
next morning's ``opening_balance`` is lower by what the simulator's own ``/charges/orders``
charges the day's executed orders. The simulator left them out: a week's funds read 1,000,000
plus the trades' cash flows while its contract note had charged 1,349.24 by Wednesday.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from kiteconnect import KiteConnect

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

from .conftest import SimControl, day_charges, login

MONDAY = "2026-01-05"
TUESDAY = "2026-01-06"
OPENING_CASH = 1_000_000


@pytest.fixture
def sim_config(sim_config: SimConfig) -> SimConfig:
    """NSE hours and trading days, no holidays in the test week, a known opening cash."""
    sim_config.market_hours = "nse"
    sim_config.holidays = frozenset()
    sim_config.opening_cash = Decimal(OPENING_CASH)
    return sim_config


def on(sim: SimServer, simctl: SimControl, day: str, clock: str = "09:30:00") -> KiteConnect:
    """Set the clock, then log in (a token lives until the next 06:00)."""
    simctl.set_clock(f"{day} {clock}")
    return login(sim)


def buy_or_sell(kite: KiteConnect, side: str, product: str, quantity: int) -> None:
    """A MARKET order on NSE:INFY."""
    kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type=side,
        quantity=quantity,
        product=product,
        order_type="MARKET",
        market_protection=-1,
    )


def test_the_next_opening_balance_is_lower_by_the_days_charges(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """An intraday round trip (100 of profit) and a delivery buy (7,500 paid) on Monday leave
    Tuesday's opening balance at 1,000,000 + 100 − 7,500 less Monday's contract-note total,
    while Monday's own funds show no charges before the ledger posts them."""
    kite = on(sim_thread, simctl, MONDAY)
    simctl.prices({"NSE:INFY": 1500})
    buy_or_sell(kite, "BUY", "MIS", 10)
    buy_or_sell(kite, "BUY", "CNC", 5)
    simctl.prices({"NSE:INFY": 1510})
    buy_or_sell(kite, "SELL", "MIS", 10)
    simctl.set_clock(f"{MONDAY} 16:30:00")
    charged = day_charges(kite)
    assert charged > 0
    monday = kite.margins()["equity"]
    assert monday["available"]["opening_balance"] == OPENING_CASH  # posted at the rollover

    kite = on(sim_thread, simctl, TUESDAY)
    tuesday = kite.margins()["equity"]["available"]
    expected = OPENING_CASH + 10 * (1510 - 1500) - 5 * 1500 - charged
    assert Decimal(str(tuesday["opening_balance"])) == expected
    assert tuesday["cash"] == tuesday["opening_balance"]
