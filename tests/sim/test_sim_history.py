"""Historical candles through the official client: one series per instrument and day, which every
interval aggregates, anchored to the quote (KITE_API.md §5.1, §7)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from kiteconnect import KiteConnect

from orderdesk.domain.calendar import TradingCalendar
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.history import candles
from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.market import MarketData
from orderdesk.sim.universe import builtin_instruments

from .conftest import SimControl, login

INFY = 408065
OHLCV = ("open", "high", "low", "close", "volume")


def _aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Consecutive candles as one: Kite's aggregation of OHLCV."""
    return {
        "date": rows[0]["date"],
        "open": rows[0]["open"],
        "high": max(r["high"] for r in rows),
        "low": min(r["low"] for r in rows),
        "close": rows[-1]["close"],
        "volume": sum(r["volume"] for r in rows),
    }


def _ohlcv(candle: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(candle[key] for key in OHLCV)


def _whole_day(kite: KiteConnect, token: int, day: str, interval: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = kite.historical_data(
        token, f"{day} 00:00:00", f"{day} 23:59:59", interval
    )
    return rows


@pytest.mark.parametrize("token", [INFY, 256265], ids=["equity", "index"])
def test_every_interval_aggregates_the_same_minutes(kite: KiteConnect, token: int) -> None:
    """For one day, 3/5/10/15/30/60-minute and day candles are exactly the minute candles
    aggregated from the session's open."""
    day = "2026-11-30"
    minutes = _whole_day(kite, token, day, "minute")
    assert len(minutes) == 375
    for interval, size in (
        ("3minute", 3),
        ("5minute", 5),
        ("10minute", 10),
        ("15minute", 15),
        ("30minute", 30),
        ("60minute", 60),
    ):
        expected = [_aggregate(minutes[k : k + size]) for k in range(0, len(minutes), size)]
        assert _whole_day(kite, token, day, interval) == expected, interval
    (daily,) = kite.historical_data(token, day, day, "day")
    assert _ohlcv(daily) == _ohlcv(_aggregate(minutes))
    assert daily["date"].date() == date(2026, 11, 30)


def test_the_last_session_closes_at_the_quotes_previous_close(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """The day candle before today's closes at the quote's ``ohlc.close``, today's is the quote
    so far, each day opens where the one before closed, and no candle lies past the clock."""
    simctl.set_clock("2026-12-09 11:00:00")
    kite.set_access_token(sim_thread.issue_access_token())  # the login's token lapsed at 06:00
    simctl.prices({"NSE:INFY": 1512.35})
    simctl.prices({"NSE:INFY": 1497.1})
    quote = kite.quote(["NSE:INFY"])["NSE:INFY"]

    days = kite.historical_data(INFY, "2026-10-01", "2026-12-31", "day")
    *before, previous, today = days

    assert previous["date"].date() == date(2026, 12, 8)
    assert previous["close"] == quote["ohlc"]["close"]
    assert today["date"].date() == date(2026, 12, 9)
    ohlc = quote["ohlc"]
    assert _ohlcv(today) == (
        ohlc["open"],
        ohlc["high"],
        ohlc["low"],
        quote["last_price"],
        quote["volume"],
    )
    for earlier, later in zip([*before, previous], [*before, previous, today][1:], strict=True):
        assert earlier["close"] == later["open"]
    minutes = _whole_day(kite, INFY, "2026-12-09", "minute")
    assert minutes[-1]["date"].strftime("%H:%M") == "11:00"
    assert _ohlcv(_aggregate(minutes)) == _ohlcv(today)


def test_a_lived_day_is_its_quote_at_the_close(sim_config: SimConfig) -> None:
    """With trading days kept, Monday's candles are Monday's quote at its close (the prices set
    and the fill) and Tuesday's previous close, down to the minute candles."""
    sim_config.market_hours = "nse"
    with SimServer.run_in_thread(sim_config) as sim:
        ctl = SimControl(sim.rest_root)
        ctl.set_clock("2026-12-07 10:00:00")
        kite = login(sim)
        ctl.prices({"NSE:INFY": 1510})
        kite.place_order(
            variety="regular",
            exchange="NSE",
            tradingsymbol="INFY",
            transaction_type="BUY",
            quantity=5,
            product="CNC",
            order_type="LIMIT",
            price=1490,
        )
        ctl.prices({"NSE:INFY": 1480.5})  # fills the buy: volume 5
        ctl.prices({"NSE:INFY": 1495.25})
        ctl.set_clock("2026-12-07 15:45:00")
        monday = kite.quote(["NSE:INFY"])["NSE:INFY"]
        ctl.set_clock("2026-12-08 10:00:00")
        kite = login(sim)  # Monday's token lapsed at 06:00
        tuesday = kite.quote(["NSE:INFY"])["NSE:INFY"]
        (candle,) = kite.historical_data(INFY, "2026-12-07", "2026-12-07", "day")
        minutes = _whole_day(kite, INFY, "2026-12-07", "minute")

    ohlc = monday["ohlc"]
    assert _ohlcv(candle) == (ohlc["open"], 1510, 1480.5, 1495.25, 5)
    assert (ohlc["high"], ohlc["low"], monday["last_price"], monday["volume"]) == (
        1510,
        1480.5,
        1495.25,
        5,
    )
    assert candle["close"] == tuesday["ohlc"]["close"]
    assert _ohlcv(_aggregate(minutes)) == _ohlcv(candle)


def test_the_same_seed_draws_the_same_history() -> None:
    """Two markets of one seed at one instant give the same candles; another seed others."""
    now = datetime(2026, 7, 16, 12, 0)
    master = InstrumentMaster(builtin_instruments(date(2026, 7, 16)))
    calendar = TradingCalendar()

    def hours(seed: int) -> list[list[Any]]:
        market = MarketData(master, seed, clock=lambda: now)
        source = market.history(INFY)
        return candles(source, calendar, datetime(2026, 7, 1), now, 60, with_oi=False)

    assert hours(3) == hours(3)
    assert hours(3) != hours(4)
