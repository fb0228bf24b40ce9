"""A closed market stands still: with NSE hours kept, nothing trades after 15:30, before 09:15,
on weekends or on holidays (KITE_API.md §14.1), in quotes and in the official ticker's ticks,
until the next session opens. An always-open simulator keeps trading. (The built-in MCX and CDS
futures keep their own segments' longer hours, ``test_sim_segment_hours.py``.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from kiteconnect import KiteConnect

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.instruments import SEGMENT_IDS
from tests.support import wait_until

from .conftest import SimControl, login
from .test_ticker_kite import INFY, Child

KEYS = ["NSE:INFY", "NSE:SBIN", "NSE:NIFTY 50", "NSE:RELIANCE"]
STILL = ("last_price", "volume_traded", "last_trade_time", "ohlc")
"""What a tick of a market that does not trade must repeat."""
CDS, MCX = SEGMENT_IDS["CDS"], SEGMENT_IDS["MCX"]
"""Segments whose sessions outlast NSE's (currency 09:00-17:00, commodities 09:00-23:30)."""


def _closed_side(moved: list[int], still_open: frozenset[int]) -> list[int]:
    """The moved tokens of segments other than ``still_open`` (by the token's low byte)."""
    return [token for token in moved if token & 0xFF not in still_open]


@pytest.fixture
def sim_config(sim_config: SimConfig) -> SimConfig:
    """The suite's config with NSE's trading days kept."""
    sim_config.market_hours = "nse"
    return sim_config


def _market_data(kite: KiteConnect) -> tuple[Any, ...]:
    return kite.quote(KEYS), kite.ohlc(KEYS), kite.ltp(KEYS)


@pytest.mark.parametrize(
    ("when", "still_open"),
    [
        pytest.param("2026-12-07 15:30:00", {CDS, MCX}, id="at-the-close"),
        pytest.param("2026-12-07 20:00:00", {MCX}, id="evening"),
        pytest.param("2026-12-08 09:14:59", {CDS, MCX}, id="before-the-open"),
        pytest.param("2026-12-12 11:00:00", set(), id="saturday"),
        pytest.param("2026-12-25 11:00:00", set(), id="christmas-holiday"),
    ],
)
def test_nothing_trades_while_the_market_is_closed(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer, when: str, still_open: set[int]
) -> None:
    """Random-walk steps outside the session move nothing but the segments still open (MCX
    and CDS keep longer hours): no price, volume or last trade time in /quote, /quote/ohlc or
    /quote/ltp."""
    simctl.set_clock(when)
    kite.set_access_token(sim_thread.issue_access_token())  # the clock crossed 06:00
    before = _market_data(kite)
    moved = [_closed_side(simctl.step(), frozenset(still_open)) for _ in range(5)]
    assert moved == [[]] * 5
    assert _market_data(kite) == before


def test_trading_resumes_at_the_next_open(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """Prices held over the evening move again from the next session's open, traded then."""
    simctl.set_clock("2026-12-07 20:00:00")
    assert _closed_side(simctl.step(), frozenset({MCX})) == []
    simctl.set_clock("2026-12-08 09:15:00")
    kite.set_access_token(sim_thread.issue_access_token())
    moved = simctl.step()
    infy = kite.quote(["NSE:INFY"])["NSE:INFY"]
    assert 408065 in moved
    assert infy["last_trade_time"] >= datetime(2026, 12, 8, 9, 15)
    assert infy["volume"] > 0


def test_an_always_open_market_trades_at_any_hour() -> None:
    """Without NSE hours, a Saturday night's step still trades, as it always has."""
    config = SimConfig(port=0, seed=7, price_tick_interval=None, rate_limits=False)
    with SimServer.run_in_thread(config) as sim:
        ctl = SimControl(sim.rest_root)
        ctl.set_clock("2026-12-12 23:00:00")
        assert 408065 in ctl.step()


def _housekeeping_passes(sim: SimServer, count: int) -> None:
    """Wait for ``count`` passes of the server's housekeeping (each steps the walk, then marks
    the day machine's time), observed, not slept for."""
    for _ in range(count):
        seen = sim.days.last
        wait_until(lambda seen=seen: sim.days.last != seen, timeout=10, what="a housekeeping pass")


@pytest.fixture
def walking_sim(sim_config: SimConfig) -> Iterator[SimServer]:
    """A simulator with NSE hours whose housekeeping walks prices every 20 ms."""
    sim_config.price_tick_interval = 0.02
    with SimServer.run_in_thread(sim_config) as sim:
        yield sim


def test_the_official_ticker_sees_a_closed_market_stand_still(walking_sim: SimServer) -> None:
    """After 15:30, with the walk running, every INFY tick KiteTicker gets repeats the price,
    volume, trade time and OHLC; at the next open the walk's ticks move again."""
    ctl = SimControl(walking_sim.rest_root)
    ctl.set_clock("2026-12-07 16:00:00")
    kite = login(walking_sim)
    child = Child(walking_sim.config.api_key, kite.access_token, walking_sim.ws_url)
    try:
        wait_until(lambda: child.of("connect"), timeout=30, what="KiteTicker connect")
        child.send("subscribe", [INFY])
        child.send("mode", ["full", [INFY]])
        first = wait_until(
            lambda: (tick := child.last_tick(INFY)) and tick["mode"] == "full" and tick,
            timeout=10,
            what="the subscription's full tick",
        )
        _housekeeping_passes(walking_sim, 5)
        ticks = [t for e in child.of("ticks") for t in e["ticks"] if t["mode"] == "full"]
        assert {tuple(str(t[key]) for key in STILL) for t in ticks} == {
            tuple(str(first[key]) for key in STILL)
        }
        assert kite.quote(["NSE:INFY"])["NSE:INFY"]["last_price"] == first["last_price"]

        ctl.set_clock("2026-12-08 09:15:00")
        moved = wait_until(
            lambda: (
                (tick := child.last_tick(INFY))
                and tick["last_price"] != first["last_price"]
                and tick
            ),
            timeout=10,
            what="a tick of the reopened market",
        )
        assert str(moved["last_trade_time"]) >= "2026-12-08 09:15:00"
    finally:
        child.stop()
