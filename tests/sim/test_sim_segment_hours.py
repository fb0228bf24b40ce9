"""Each exchange keeps its own segment's market hours: with trading days on, an instrument
trades, takes orders and releases its AMOs while its segment is open, whatever NSE equity's
hours (KITE_API.md §14.1). The hours come from the one trading calendar the desk reads too
(``domain/calendar.py``): currency 09:00-17:00, commodities 09:00-23:30 (Zerodha's market
timings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.exchange import MARKET_CLOSED

from .conftest import SimControl

MONDAY = "2026-12-07"
INFY = 408065
CRUDE = 445003 << 8 | 7  # MCX
USDINR = 1000 << 8 | 3  # CDS
CSV = (
    "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,"
    "lot_size,instrument_type,segment,exchange\n"
    f"{CRUDE},445003,CRUDEOIL27JANFUT,CRUDEOIL,5000.0,2027-01-19,0.0,1.0,1,FUT,MCX-FUT,MCX\n"
    f"{USDINR},1000,USDINR27JANFUT,USDINR,84.5,2027-01-27,0.0,0.0025,1,FUT,CDS-FUT,CDS\n"
)


@pytest.fixture
def sim_config(sim_config: SimConfig, tmp_path: Path) -> SimConfig:
    """Trading days on, an MCX and a CDS future listed; the shipped hours."""
    csv_path = tmp_path / "instruments.csv"
    csv_path.write_text(CSV)
    sim_config.market_hours = "nse"
    sim_config.instruments = csv_path
    return sim_config


def _at(simctl: SimControl, sim: SimServer, kite: KiteConnect, clock: str) -> None:
    """Move the clock forward to ``clock`` on the test's Monday, with a token valid there."""
    simctl.set_clock(f"{MONDAY} {clock}")
    kite.set_access_token(sim.issue_access_token())


def _limit_buy(kite: KiteConnect, key: str, price: float, **params: Any) -> str:
    exchange, symbol = key.split(":")
    return str(
        kite.place_order(
            variety=params.pop("variety", "regular"),
            exchange=exchange,
            tradingsymbol=symbol,
            transaction_type="BUY",
            quantity=1,
            product="CNC" if exchange == "NSE" else "NRML",
            order_type="LIMIT",
            price=price,
            **params,
        )
    )


def _status(kite: KiteConnect, order_id: str) -> str:
    [row] = [o for o in kite.orders() if o["order_id"] == order_id]
    return str(row["status"])


@pytest.mark.parametrize(
    ("clock", "trading"),
    [
        pytest.param("09:05:00", {CRUDE, USDINR}, id="before-nse-opens"),
        pytest.param("16:00:00", {CRUDE, USDINR}, id="after-nse-closes"),
        pytest.param("20:00:00", {CRUDE}, id="commodities-evening"),
        pytest.param("23:30:00", set(), id="all-shut"),
    ],
)
def test_each_instrument_trades_in_its_own_segments_hours(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer, clock: str, trading: set[int]
) -> None:
    """Random-walk steps move exactly the instruments whose segment is open; NSE equity stands
    still outside 09:15-15:30 while MCX and CDS trade on in theirs."""
    _at(simctl, sim_thread, kite, clock)
    watched = {INFY, CRUDE, USDINR}
    moved: set[int] = set()
    for _ in range(20):
        moved |= set(simctl.step()) & watched
    assert moved == trading


def test_an_order_is_taken_while_its_own_exchange_is_open(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """At 20:00 an MCX order rests OPEN, while NSE and CDS orders are refused as Kite refuses
    them when the market is shut."""
    _at(simctl, sim_thread, kite, "20:00:00")
    crude = _limit_buy(kite, "MCX:CRUDEOIL27JANFUT", 4990)
    assert _status(kite, crude) == "OPEN"
    for key, price in (("NSE:INFY", 1490), ("CDS:USDINR27JANFUT", 84.25)):
        with pytest.raises(kex.InputException) as exc_info:
            _limit_buy(kite, key, price)
        assert exc_info.value.code == 400
        assert str(exc_info.value) == MARKET_CLOSED


def test_an_amo_is_released_when_its_own_exchange_opens(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """AMOs placed at 08:30 are held; the MCX one reaches the exchange at 09:00, the NSE one
    only at 09:15."""
    _at(simctl, sim_thread, kite, "08:30:00")
    crude = _limit_buy(kite, "MCX:CRUDEOIL27JANFUT", 4990, variety="amo")
    infy = _limit_buy(kite, "NSE:INFY", 1490, variety="amo")
    assert [_status(kite, crude), _status(kite, infy)] == ["AMO REQ RECEIVED"] * 2

    simctl.set_clock(f"{MONDAY} 09:00:00")
    assert [_status(kite, crude), _status(kite, infy)] == ["OPEN", "AMO REQ RECEIVED"]

    simctl.set_clock(f"{MONDAY} 09:15:00")
    assert [_status(kite, crude), _status(kite, infy)] == ["OPEN", "OPEN"]
