"""Each exchange keeps its own segment's market hours: with trading days on, an instrument
trades, takes orders and releases its AMOs while its segment is open, whatever NSE equity's
hours, draws its historical candles over its own session and shows in ``/_sim/state`` by its own
hours (KITE_API.md §7, §14.1). The hours come from the one trading calendar the desk reads too
(``domain/calendar.py``): currency 09:00-17:00, commodities 09:00-23:30 (Zerodha's market
timings)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.domain.calendar import TradingCalendar
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.exchange import MARKET_CLOSED
from orderdesk.sim.history import candles
from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.market import MarketData

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
def instruments_csv(tmp_path: Path) -> Path:
    """The MCX and CDS futures as an instrument file."""
    csv_path = tmp_path / "instruments.csv"
    csv_path.write_text(CSV)
    return csv_path


@pytest.fixture
def sim_config(sim_config: SimConfig, instruments_csv: Path) -> SimConfig:
    """Trading days on, an MCX and a CDS future listed; the shipped hours."""
    sim_config.market_hours = "nse"
    sim_config.instruments = instruments_csv
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


@pytest.mark.parametrize(
    ("clock", "open_now"),
    [
        pytest.param("09:05:00", {"CDS", "BCD", "MCX"}, id="before-nse-opens"),
        pytest.param("12:00:00", {"NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX"}, id="noon"),
        pytest.param("16:00:00", {"CDS", "BCD", "MCX"}, id="after-nse-closes"),
        pytest.param("20:00:00", {"MCX"}, id="commodities-evening"),
        pytest.param("23:30:00", set(), id="all-shut"),
    ],
)
def test_the_state_reports_each_exchanges_market(
    simctl: SimControl, sim_thread: SimServer, clock: str, open_now: set[str]
) -> None:
    """``/_sim/state`` keeps ``market_open`` as NSE's and maps every exchange to whether its
    own segment's market is open, as orders find it."""
    simctl.set_clock(f"{MONDAY} {clock}")
    state = simctl.state()
    by_exchange = state["market_open_by_exchange"]
    assert set(by_exchange) == {"NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX"}
    assert {name for name, is_open in by_exchange.items() if is_open} == open_now
    assert state["market_open"] is ("NSE" in open_now)


def test_the_state_reports_every_market_open_without_trading_days(sim_config: SimConfig) -> None:
    """Without trading days every exchange is always open, at any hour."""
    sim_config.market_hours = None
    with SimServer.run_in_thread(sim_config) as sim:
        ctl = SimControl(sim.rest_root)
        ctl.set_clock(f"{MONDAY} 23:45:00")
        state = ctl.state()
    assert state["market_open"] is True
    assert set(state["market_open_by_exchange"].values()) == {True}


@pytest.mark.parametrize(
    ("key", "opens", "last_minute", "count"),
    [
        pytest.param("MCX:CRUDEOIL27JANFUT", "09:00", "23:29", 870, id="mcx-09:00-23:30"),
        pytest.param("CDS:USDINR27JANFUT", "09:00", "16:59", 480, id="cds-09:00-17:00"),
        pytest.param("NSE:INFY", "09:15", "15:29", 375, id="nse-09:15-15:30"),
    ],
)
def test_historical_candles_span_the_instruments_own_session(
    instruments_csv: Path, key: str, opens: str, last_minute: str, count: int
) -> None:
    """A past day's minute candles run over the instrument's segment's session; its hour
    candles start at that session's open and aggregate the minutes (the last block as long as
    the session leaves), the day candle aggregates them all and closes at the quote's
    previous close."""
    now = datetime(2026, 12, 7, 20, 0)  # Monday evening: Friday lies before the market began
    master = InstrumentMaster.load(instruments_csv, today=now.date())
    market = MarketData(master, 7, clock=lambda: now)
    source = market.history(market.quote([key])[key]["instrument_token"])
    calendar = TradingCalendar()
    friday = (datetime(2026, 12, 4), datetime(2026, 12, 4, 23, 59, 59))

    def rows(minutes: int) -> list[list[Any]]:
        return candles(source, calendar, *friday, minutes, with_oi=False)

    minutes = rows(1)
    assert len(minutes) == count
    assert (minutes[0][0][11:16], minutes[-1][0][11:16]) == (opens, last_minute)
    hours = rows(60)
    assert hours[0][0] == minutes[0][0]
    assert hours == [_aggregated(minutes[k : k + 60]) for k in range(0, count, 60)]
    [day] = rows(0)
    assert day[1:] == _aggregated(minutes)[1:]
    assert day[4] == market.quote([key])[key]["ohlc"]["close"]


def _aggregated(rows: list[list[Any]]) -> list[Any]:
    """Consecutive candle rows ``[ts, o, h, l, c, v]`` as one, as Kite aggregates them."""
    return [
        rows[0][0],
        rows[0][1],
        max(row[2] for row in rows),
        min(row[3] for row in rows),
        rows[-1][4],
        sum(row[5] for row in rows),
    ]


def test_todays_commodity_candles_run_to_the_evening_and_meet_the_quote(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """At 20:00 an MCX future's candles of the day run from 09:00 to the running minute through
    the official client, every interval aggregating them, the day candle is the quote so far
    and the day before closes where the quote's ``ohlc.close`` says."""
    _at(simctl, sim_thread, kite, "20:00:00")
    simctl.prices({"MCX:CRUDEOIL27JANFUT": 5012})
    simctl.prices({"MCX:CRUDEOIL27JANFUT": 4987})
    quote = kite.quote(["MCX:CRUDEOIL27JANFUT"])["MCX:CRUDEOIL27JANFUT"]

    minutes = kite.historical_data(CRUDE, f"{MONDAY} 00:00:00", f"{MONDAY} 23:59:59", "minute")
    assert len(minutes) == 11 * 60 + 1
    assert [c["date"].strftime("%H:%M") for c in (minutes[0], minutes[-1])] == ["09:00", "20:00"]
    hours = kite.historical_data(CRUDE, f"{MONDAY} 00:00:00", f"{MONDAY} 23:59:59", "60minute")
    assert [_ohlcv(c) for c in hours] == [
        _ohlcv(_dict_aggregate(minutes[k : k + 60])) for k in range(0, len(minutes), 60)
    ]
    *_, friday, today = kite.historical_data(CRUDE, "2026-12-01", MONDAY, "day")
    assert friday["date"].date() == date(2026, 12, 4)
    assert friday["close"] == quote["ohlc"]["close"]
    ohlc = quote["ohlc"]
    assert _ohlcv(today) == (
        ohlc["open"],
        ohlc["high"],
        ohlc["low"],
        quote["last_price"],
        quote["volume"],
    )
    assert _ohlcv(_dict_aggregate(minutes)) == _ohlcv(today)


def _ohlcv(candle: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(candle[key] for key in ("open", "high", "low", "close", "volume"))


def _dict_aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Consecutive candles of the official client as one."""
    return {
        "open": rows[0]["open"],
        "high": max(r["high"] for r in rows),
        "low": min(r["low"] for r in rows),
        "close": rows[-1]["close"],
        "volume": sum(r["volume"] for r in rows),
    }
