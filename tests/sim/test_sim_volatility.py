"""The random walk moves each class of instrument about as much in a simulated day as such an
instrument moves in a real one (an index ~1 %, a stock ~1.75 %, a currency ~0.3 %, a commodity
~1.5 %), one step standing for a second of its exchange's session; options follow their index
through the model, so they calm down with it. The tester saw USDINR move 0.1-0.2 % a second
(+5 % in minutes) and a NIFTY weekly call go from 76.4 to 141.7 in about a minute."""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import date, datetime

import pytest

from orderdesk.sim.instruments import CSV_HEADER, InstrumentMaster, parse_csv
from orderdesk.sim.market import MarketData
from orderdesk.sim.universe import builtin_instruments

TODAY = date(2026, 7, 16)
NOW = datetime(2026, 7, 16, 10, 0, 0)
STEPS = 3600
"""An hour of a session's seconds."""
CALL = "NFO:NIFTY2672125000CE"  # a near-the-money weekly, five days from expiry
KEYS = [
    "NSE:NIFTY 50",
    "NSE:INFY",
    "NSE:RELIANCE",
    "CDS:GBPINR26JULFUT",
    "CDS:USDINR26JULFUT",
    "MCX:GOLDM26AUGFUT",
    CALL,
]
# A currency future of a user's instrument file (no built-in contract of its name): it walks.
USER_CSV = parse_csv(
    ",".join(CSV_HEADER) + "\n"
    "2953219,11536,GBPINR26JULFUT,GBPINR,112.5,2026-07-29,0.0,0.0025,1,FUT,CDS-FUT,CDS\n"
)
SESSION_SECONDS = {"NSE": 22_500, "CDS": 28_800, "MCX": 52_200}
"""Each exchange's normal market hours: 09:15-15:30, 09:00-17:00, 09:00-23:30."""


@pytest.fixture(scope="module")
def paths() -> dict[str, list[float]]:
    """Each of :data:`KEYS`' last price before and after each of an hour's steps, seed 7."""
    master = InstrumentMaster([*builtin_instruments(TODAY), *USER_CSV])
    market = MarketData(master, 7, clock=lambda: NOW)
    tokens = {}
    for key in KEYS:
        inst = master.by_key(key)
        assert inst is not None, key
        tokens[key] = inst.instrument_token
    walked = {key: [market.last_price(t)] for key, t in tokens.items()}
    for _ in range(STEPS):
        market.step()
        for key, token in tokens.items():
            walked[key].append(market.last_price(token))
    return walked


def _daily_volatility(path: list[float], exchange: str) -> float:
    """The day's volatility the path's one-step log returns imply."""
    returns = [math.log(b / a) for a, b in itertools.pairwise(path)]
    return statistics.pstdev(returns) * math.sqrt(SESSION_SECONDS[exchange])


@pytest.mark.parametrize(
    ("key", "daily"),
    [
        pytest.param("NSE:NIFTY 50", 0.010, id="index"),
        pytest.param("NSE:INFY", 0.0175, id="equity"),
        pytest.param("NSE:RELIANCE", 0.0175, id="equity-2"),
        pytest.param("CDS:GBPINR26JULFUT", 0.003, id="currency-from-a-user-file"),
        pytest.param("CDS:USDINR26JULFUT", 0.003, id="currency-built-in"),
        pytest.param("MCX:GOLDM26AUGFUT", 0.015, id="commodity"),
    ],
)
def test_a_step_moves_an_instrument_as_its_class_moves_in_a_second(
    paths: dict[str, list[float]], key: str, daily: float
) -> None:
    """Over an hour of steps the walk's returns imply the class's daily volatility (within the
    noise of the sample and of rounding to the tick), scaled by the exchange's hours."""
    implied = _daily_volatility(paths[key], key.split(":")[0])
    assert 0.75 * daily < implied < 1.35 * daily, implied


def test_usdinr_drifts_by_basis_points_not_percent(paths: dict[str, list[float]]) -> None:
    """An hour of steps moves a currency future by well under 1 %: the tester saw +5 % in
    minutes."""
    for key in ("CDS:GBPINR26JULFUT", "CDS:USDINR26JULFUT"):
        prices = paths[key]
        assert max(abs(p / prices[0] - 1) for p in prices) < 0.01, key


def test_a_weekly_call_follows_a_calm_index(paths: dict[str, list[float]]) -> None:
    """Minute by minute (60 steps) a near-the-money NIFTY weekly call moves a few points as
    the index moves a few tens: never by a third of its price in any minute of the hour."""
    call, index = paths[CALL], paths["NSE:NIFTY 50"]
    assert 100 < call[0] < 250
    minute = [abs(call[i + 60] / call[i] - 1) for i in range(len(call) - 60)]
    assert max(minute) < 1 / 3
    assert max(abs(index[i + 60] - index[i]) for i in range(len(index) - 60)) < 100


def test_a_longer_step_moves_further() -> None:
    """A step that stands for four seconds moves twice as far as one of a second."""
    master = InstrumentMaster(builtin_instruments(TODAY))
    token = 408065  # NSE:INFY
    slow = MarketData(master, 7, clock=lambda: NOW, step_seconds=4.0)
    fast = MarketData(master, 7, clock=lambda: NOW)
    walked: dict[str, list[float]] = {"slow": [], "fast": []}
    for _ in range(1000):
        for name, market in (("slow", slow), ("fast", fast)):
            market.step()
            walked[name].append(market.last_price(token))
    ratio = _daily_volatility(walked["slow"], "NSE") / _daily_volatility(walked["fast"], "NSE")
    assert ratio == pytest.approx(2.0, rel=0.15)


def test_step_seconds_must_be_positive() -> None:
    """A step that stands for no time at all is refused."""
    master = InstrumentMaster(builtin_instruments(TODAY))
    with pytest.raises(ValueError, match="step_seconds"):
        MarketData(master, 7, clock=lambda: NOW, step_seconds=0.0)
