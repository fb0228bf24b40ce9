"""The F&O contract cycle across days, through the official client: a weekly NIFTY series
expires (its options take their final settlement price at the derivatives' close and settle at
it the next morning), and the next morning's dump lists the series the window reaches, struck
around the index's level, so the chain never runs dry however many days the clock moves.

The built-in contracts are generated from the real date the simulator starts on, so each test
finds its expiries in the simulator's own dump rather than naming dates.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from kiteconnect import KiteConnect

from orderdesk.domain.calendar import TradingCalendar
from orderdesk.holidays import NSE_HOLIDAYS
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.universe import (
    builtin_instruments,
    monthly_expiries,
    new_series,
    series_of,
    weekly_expiries,
)

from .conftest import SimControl, day_charges, login

OPENING_CASH = 5_000_000
LOT = 65


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """NSE hours and the shipped 2026 holidays; prices held still."""
    config = SimConfig(
        port=0,
        seed=5,
        price_tick_interval=None,
        rate_limits=False,
        market_hours="nse",
        opening_cash=Decimal(OPENING_CASH),
    )
    with SimServer.run_in_thread(config) as server:
        yield server


def _open(sim: SimServer, simctl: SimControl, day: date, clock: str) -> KiteConnect:
    """Set the clock, then log in (a token lives until the next 06:00)."""
    simctl.set_clock(f"{day.isoformat()} {clock}")
    return login(sim)


def _option_expiries(rows: list[dict[str, Any]]) -> list[date]:
    """NIFTY's option expiries in a dump (the built-in ones: the Kite sample dump's, when it is
    found, expired years ago)."""
    return sorted(
        {
            r["expiry"]
            for r in rows
            if r["name"] == "NIFTY" and r["instrument_type"] == "CE" and r["expiry"].year >= 2026
        }
    )


def _window(day: date, sim: SimServer) -> tuple[list[date], list[date]]:
    """The option expiries and the future expiries NIFTY's window holds on ``day``."""
    calendar = sim.config.calendar
    monthlies = monthly_expiries(day, 3, calendar)
    options = sorted(set(weekly_expiries(day, 2, calendar)) | set(monthlies[:2]))
    return options, monthlies


def _buy(kite: KiteConnect, symbol: str) -> float:
    """One lot at market; its fill price."""
    order_id = kite.place_order(
        variety="regular",
        exchange="NFO",
        tradingsymbol=symbol,
        transaction_type="BUY",
        quantity=LOT,
        product="NRML",
        order_type="MARKET",
        market_protection=-1,
    )
    (trade,) = kite.order_trades(order_id)
    price: float = trade["average_price"]
    return price


def test_a_weekly_expires_at_its_settlement_price_and_the_next_weekly_is_listed(
    sim: SimServer,
) -> None:
    simctl = SimControl(sim.rest_root)
    kite = login(sim)
    before = kite.instruments("NFO")
    expiry = _option_expiries(before)[1]  # days ahead: every milestone of it is still to come
    prefix = next(
        r["tradingsymbol"][: -len("25000CE")]
        for r in before
        if r["expiry"] == expiry and r["tradingsymbol"].endswith("25000CE")
    )
    itm, otm = f"{prefix}25000CE", f"{prefix}25500CE"

    kite = _open(sim, simctl, expiry, "10:00:00")
    on_the_day = kite.instruments("NFO")
    simctl.prices({"NSE:NIFTY 50": 25130})
    paid = {symbol: _buy(kite, symbol) for symbol in (itm, otm)}
    assert all(price > 0 for price in paid.values())
    # A stop below the settlement price's 130 must not fire on it: it ends with the contract.
    stop = kite.place_gtt(
        kite.GTT_TYPE_SINGLE,
        itm,
        "NFO",
        [150],
        paid[itm],
        [
            {
                "transaction_type": "SELL",
                "quantity": LOT,
                "order_type": "LIMIT",
                "product": "NRML",
                "price": 149,
            }
        ],
    )["trigger_id"]

    # The derivatives' close: the final settlement price is the last price, and stays it.
    simctl.set_clock(f"{expiry.isoformat()} 16:05:00")
    keys = [f"NFO:{itm}", f"NFO:{otm}"]
    settled = {k: v["last_price"] for k, v in kite.ltp(keys).items()}
    assert settled == {f"NFO:{itm}": 130.0, f"NFO:{otm}": 0.0}
    simctl.prices({"NSE:NIFTY 50": 26000})  # the index moves on; a settled contract does not
    assert {k: v["last_price"] for k, v in kite.ltp(keys).items()} == settled
    assert kite.get_gtt(stop)["status"] == "expired"
    assert len(kite.orders()) == 2  # the two buys: the stop placed nothing

    charged = float(day_charges(kite))
    following = sim.config.calendar.next_trading_day(expiry)
    kite = _open(sim, simctl, following, "09:30:00")
    assert kite.positions() == {"net": [], "day": []}
    cash = kite.margins()["equity"]["available"]["cash"]
    # The call exercised in the money pays for it: STT 0.15 % of its intrinsic value (130 ×
    # 65 × 0.0015 = 12.675, to the paisa 12.68), brokerage 20 and its GST 3.60; the 25500 call
    # expired worthless pays nothing. No order of the day's is that: the contract note's own.
    exercised = 12.68 + 20 + 3.60
    assert cash == pytest.approx(
        OPENING_CASH + LOT * (130 - paid[itm]) + LOT * (0 - paid[otm]) - charged - exercised,
        abs=0.01,
    )

    after = kite.instruments("NFO")
    listed = {r["tradingsymbol"] for r in after}
    assert itm not in listed
    assert otm not in listed
    assert all(r["expiry"] > expiry for r in after if r["name"] == "NIFTY")
    assert _option_expiries(after) == _window(following, sim)[0]
    # The window reaches a new series within a fortnight (its weekly and monthly may coincide).
    day = following
    while not (new := set(_option_expiries(after)) - set(_option_expiries(on_the_day))):
        assert day < expiry + timedelta(weeks=2), "no new series listed"
        day = sim.config.calendar.next_trading_day(day)
        kite = _open(sim, simctl, day, "09:30:00")
        after = kite.instruments("NFO")
        assert _option_expiries(after) == _window(day, sim)[0]
    fresh = [r for r in after if r["expiry"] == min(new) and r["instrument_type"] == "CE"]
    strikes = sorted(r["strike"] for r in fresh)
    assert strikes[0] < 26000 < strikes[-1]  # struck around this morning's level
    assert all(r["lot_size"] == LOT for r in fresh)
    tokens = [r["instrument_token"] for r in after]
    assert len(tokens) == len(set(tokens))
    assert not {r["instrument_token"] for r in fresh} & {
        r["instrument_token"] for r in before + on_the_day
    }
    atm = next(r["tradingsymbol"] for r in fresh if r["strike"] == 26000)
    assert kite.ltp([f"NFO:{atm}"])[f"NFO:{atm}"]["last_price"] > 0
    assert _buy(kite, atm) > 0


def test_weeks_later_the_chain_still_has_its_weeklies_and_monthlies(sim: SimServer) -> None:
    """Past the last expiry the simulator started with, the dump still holds the window's
    option expiries (two weeklies, two monthlies) and three monthly futures, none expired."""
    simctl = SimControl(sim.rest_root)
    start = login(sim).instruments("NFO")
    later = max(r["expiry"] for r in start) + timedelta(weeks=1)
    if not sim.config.calendar.is_trading_day(later):
        later = sim.config.calendar.next_trading_day(later)
    rows = _open(sim, simctl, later, "10:00:00").instruments("NFO")
    nifty = [r for r in rows if r["name"] == "NIFTY"]
    options, futures = _window(later, sim)
    assert _option_expiries(rows) == options
    assert sorted({r["expiry"] for r in nifty if r["instrument_type"] == "FUT"}) == futures
    assert all(r["expiry"] >= later for r in nifty)
    assert all(expiry.weekday() == 1 or expiry in _moved() for expiry in options)


def _moved() -> set[date]:
    """The Mondays NSE's holidays on Tuesdays move expiries to (six in 2026)."""
    calendar = TradingCalendar(holidays=NSE_HOLIDAYS)
    return {calendar.previous_trading_day(day) for day in NSE_HOLIDAYS if day.weekday() == 1}


def test_a_monthly_that_becomes_one_of_the_nearest_two_gets_its_options() -> None:
    """The third monthly is listed as a future only; once it is one of the nearest two, the
    day's new series are its options, and nothing already listed is listed again."""
    today = date(2026, 7, 14)
    master = InstrumentMaster(builtin_instruments(today))
    listed = {key for inst in master if (key := series_of(inst)) is not None}
    assert ("NIFTY", date(2026, 9, 29), False) in listed
    assert ("NIFTY", date(2026, 9, 29), True) not in listed
    levels = {"NSE:NIFTY 50": 25000.0, "NSE:NIFTY BANK": 56000.0}
    after_july = date(2026, 7, 29)
    rows = new_series(after_july, levels, first_token=500_000, listed=listed)
    added = {series_of(r) for r in rows}
    assert ("NIFTY", date(2026, 9, 29), True) in added
    assert ("NIFTY", date(2026, 10, 27), False) in added  # the new third monthly's future
    assert not added & listed
    master.list_more(rows)
    with pytest.raises(ValueError, match="duplicate"):
        master.list_more(rows)
    master.relist_all()
    assert len(master) == len(builtin_instruments(today))
