"""An index future converges to its index: it trades at the index carried to its expiry,
``F = S·e^(r·t)``, so its basis shrinks day by day, is a few points on its last day, and the
final settlement at the index's level moves it by no more than that (the tester saw NIFTY's
future hold 0.45 % over the index to its last minute, then fall 111.6 points at settlement)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import date, datetime, time

import pytest

from orderdesk.domain.calendar import TradingCalendar
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.market import MarketData
from orderdesk.sim.universe import CARRY_RATE, builtin_instruments, years_to_expiry

from .conftest import SimControl, login

FIRST_DAY = date(2026, 7, 14)
EXPIRY = date(2026, 7, 28)  # NIFTY26JULFUT: the month's last Tuesday
INDEX, FUTURE = "NSE:NIFTY 50", "NFO:NIFTY26JULFUT"


def test_the_basis_shrinks_with_the_days_left_and_is_a_few_points_on_the_last() -> None:
    """Each trading day to its expiry, the future trades at the index carried over the days
    left (to its tick), so its basis over the index falls day after day and is under five
    points on the last day."""
    master = InstrumentMaster(builtin_instruments(FIRST_DAY))
    now = [datetime.combine(FIRST_DAY, time(10))]
    market = MarketData(master, 11, clock=lambda: now[0])
    index, future = (master.by_key(k) for k in (INDEX, FUTURE))
    assert index is not None
    assert future is not None
    bases: list[float] = []
    for day in TradingCalendar().trading_days(FIRST_DAY, EXPIRY):
        if day != FIRST_DAY:
            now[0] = datetime.combine(day, time(10))
            market.start_day(day)
        for _ in range(30):
            market.step()
        spot = market.last_price(index.instrument_token)
        price = market.last_price(future.instrument_token)
        carried = spot * math.exp(CARRY_RATE * years_to_expiry(EXPIRY, day))
        assert price == pytest.approx(carried, abs=0.051), day  # on the 0.10 grid
        bases.append(price / spot - 1)
    assert len(bases) == 11
    assert all(later < earlier for earlier, later in itertools.pairwise(bases))
    assert 0 < price - spot < 5


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """Trading days kept; prices still until a test steps them."""
    config = SimConfig(
        port=0, seed=3, price_tick_interval=None, rate_limits=False, market_hours="nse"
    )
    with SimServer.run_in_thread(config) as server:
        yield server


def test_on_its_expiry_day_the_future_trades_at_the_index_and_settles_without_a_jump(
    sim: SimServer,
) -> None:
    """Through the official client: at 15:29 on the nearest NIFTY future's expiry day the
    future is within a few points of the index, and the 16:00 final settlement at the index's
    level moves it by no more than that."""
    simctl = SimControl(sim.rest_root)
    kite = login(sim)
    future = min(
        (
            r
            for r in kite.instruments("NFO")
            if r["name"] == "NIFTY" and r["instrument_type"] == "FUT"
        ),
        key=lambda r: r["expiry"],
    )
    key = f"NFO:{future['tradingsymbol']}"
    simctl.set_clock(f"{future['expiry'].isoformat()} 15:29:00")
    kite = login(sim)
    for _ in range(30):
        simctl.step()
    quote = kite.ltp([INDEX, key])
    spot, price = quote[INDEX]["last_price"], quote[key]["last_price"]
    assert 0 < price - spot <= spot * (math.exp(CARRY_RATE / 365) - 1) + 0.1

    simctl.set_clock(f"{future['expiry'].isoformat()} 16:00:01")
    settled = kite.ltp([key])[key]["last_price"]
    assert settled == pytest.approx(spot, abs=0.1)
    assert price - settled < 5
