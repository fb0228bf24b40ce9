"""The seeded price feed: determinism, tick grid, listeners, derivatives and Kite's quote shapes."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.market import MarketData
from orderdesk.sim.universe import (
    builtin_instruments,
    future_value,
    option_value,
    to_tick,
    years_to_expiry,
)

TODAY = date(2026, 7, 16)
NOW = datetime(2026, 7, 16, 10, 0, 0)


def _clock() -> datetime:
    return NOW


@pytest.fixture
def master() -> InstrumentMaster:
    """The built-in universe for a fixed date."""
    return InstrumentMaster(builtin_instruments(TODAY))


@pytest.fixture
def market(master: InstrumentMaster) -> MarketData:
    """A market on a frozen clock, seed 7."""
    return MarketData(master, 7, clock=_clock)


def _prices(market: MarketData, master: InstrumentMaster) -> list[float]:
    return [market.last_price(i.instrument_token) for i in master]


def _shape(value: Any) -> Any:
    """The keys of a JSON value, recursively (lists by their first element)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


def test_same_seed_same_path(master: InstrumentMaster) -> None:
    """Two markets with one seed walk identically; another seed walks elsewhere."""
    a = MarketData(master, 11, clock=_clock)
    b = MarketData(master, 11, clock=_clock)
    c = MarketData(master, 12, clock=_clock)
    for _ in range(20):
        assert a.step() == b.step()
        c.step()
    assert _prices(a, master) == _prices(b, master)
    assert _prices(a, master) != _prices(c, master)


def test_steps_stay_on_the_tick_grid(market: MarketData, master: InstrumentMaster) -> None:
    """After many steps every price is a positive multiple of its tick size."""
    for _ in range(50):
        market.step()
    for inst in master:
        price = market.last_price(inst.instrument_token)
        tick = inst.tick_size or 0.05
        assert price >= tick
        assert round(price / tick, 6) == round(price / tick), (inst.key, price)


def test_step_returns_moved_tokens_and_notifies_once(market: MarketData) -> None:
    """step() reports exactly the tokens whose price moved, in one listener call."""
    calls: list[list[int]] = []
    market.add_price_listener(calls.append)
    before = {t: market.last_price(t) for t in _all_tokens(market)}
    moved = market.step()
    assert calls == [moved]
    assert moved
    assert set(moved) == {t for t, p in before.items() if market.last_price(t) != p}


def _all_tokens(market: MarketData) -> list[int]:
    return [i.instrument_token for i in InstrumentMaster(builtin_instruments(TODAY))]


def test_set_prices_moves_and_notifies(market: MarketData) -> None:
    """set_prices returns the named tokens, notifies them, and moves the day's high."""
    calls: list[list[int]] = []
    market.add_price_listener(calls.append)
    changed = market.set_prices({"NSE:INFY": 1600.0, "NSE:SBIN": 850.0})
    assert changed == [408065, 779521]
    assert calls == [[408065, 779521]]
    assert market.last_price(408065) == 1600.0
    assert market.ohlc(["NSE:INFY"])["NSE:INFY"]["ohlc"]["high"] == 1600.0


def test_unknown_key_moves_nothing(market: MarketData) -> None:
    """An unknown key raises KeyError naming it, and no other price in the batch moves."""
    with pytest.raises(KeyError) as exc_info:
        market.set_prices({"NSE:INFY": 1600.0, "NSE:NOSUCH": 10.0})
    assert exc_info.value.args == ("NSE:NOSUCH",)
    assert market.last_price(408065) == 1500.0


def test_set_prices_refuses_non_positive(market: MarketData) -> None:
    """A zero or negative price is a ValueError naming the key."""
    with pytest.raises(ValueError, match="NSE:INFY") as exc_info:
        market.set_prices({"NSE:INFY": 0.0})
    assert "positive" in str(exc_info.value)


def test_derivatives_follow_their_index(market: MarketData, master: InstrumentMaster) -> None:
    """After each step a future is the index carried to its expiry and an option is re-valued
    from the index."""
    index = master.by_key("NSE:NIFTY 50")
    future = master.by_key("NFO:NIFTY26JULFUT")
    call = master.by_key("NFO:NIFTY26JUL25000CE")
    assert index is not None
    assert future is not None
    assert call is not None
    for _ in range(30):
        market.step()
    spot = market.last_price(index.instrument_token)
    assert spot != 25000.0
    years = years_to_expiry(date(2026, 7, 28), TODAY)
    expected = to_tick(option_value(spot, 25000.0, years, 0.13, call=True), 0.05)
    assert market.last_price(call.instrument_token) == expected
    carried = to_tick(future_value(spot, years), 0.1)
    assert market.last_price(future.instrument_token) == pytest.approx(carried, abs=1e-6)


def test_quote_shapes_match_kites_samples(market: MarketData, kite_mocks: Path) -> None:
    """/quote, /quote/ohlc and /quote/ltp data carry exactly the keys of Kite's samples."""
    market.step()
    for name, method in (("quote", market.quote), ("ohlc", market.ohlc), ("ltp", market.ltp)):
        sample = json.loads((kite_mocks / f"{name}.json").read_text())["data"]["NSE:INFY"]
        ours = method(["NSE:INFY"])["NSE:INFY"]
        assert _shape(ours) == _shape(sample), name
    depth = market.quote(["NSE:INFY"])["NSE:INFY"]["depth"]
    assert len(depth["buy"]) == len(depth["sell"]) == 5


def test_unknown_keys_are_absent(market: MarketData) -> None:
    """Keys that name no instrument are left out of every quote map."""
    keys = ["NSE:INFY", "NSE:NOSUCH", "junk"]
    assert list(market.quote(keys)) == ["NSE:INFY"]
    assert list(market.ohlc(keys)) == ["NSE:INFY"]
    assert list(market.ltp(keys)) == ["NSE:INFY"]


def test_quote_agrees_with_the_snapshot(market: MarketData) -> None:
    """A quote and a snapshot taken between price changes report the same numbers and times."""
    for _ in range(3):
        market.step()
    quote = market.quote(["NSE:INFY"])["NSE:INFY"]
    snap = market.snapshot(408065)
    assert quote["last_price"] == snap.last_price
    assert quote["volume"] == snap.volume > 0
    assert quote["average_price"] == snap.average_price
    assert quote["ohlc"] == snap.ohlc
    assert quote["net_change"] == pytest.approx(snap.change)
    assert [(d["price"], d["quantity"], d["orders"]) for d in quote["depth"]["buy"]] == snap.bids
    assert quote["timestamp"] == "2026-07-16 10:00:00"
    assert quote["last_trade_time"] == "2026-07-16 10:00:00"
    assert snap.asks[0][0] == snap.last_price
    assert snap.bids[0][0] < snap.last_price


def test_index_quote_is_untradable_without_depth(market: MarketData) -> None:
    """An index snapshot is flagged untradable and reports no volume, depth or circuit."""
    snap = market.snapshot(256265)
    assert snap.tradable is False
    assert snap.volume == 0
    assert set(snap.depth) == {0}
    quote = market.quote(["NSE:NIFTY 50"])["NSE:NIFTY 50"]
    assert (quote["lower_circuit_limit"], quote["upper_circuit_limit"]) == (0.0, 0.0)


def test_circuit_band_is_ten_percent_of_close(market: MarketData) -> None:
    """Equity circuit limits sit 10 % either side of the previous close, on the tick grid."""
    quote = market.quote(["NSE:INFY"])["NSE:INFY"]
    assert (quote["lower_circuit_limit"], quote["upper_circuit_limit"]) == (1350.0, 1650.0)


def test_bids_below_zero_are_empty(market: MarketData) -> None:
    """Near the price floor, bid levels that would be at or below zero show as empty."""
    market.set_prices({"NFO:NIFTY26JUL25000CE": 0.1})
    snap = market.snapshot(
        market.quote(["NFO:NIFTY26JUL25000CE"])["NFO:NIFTY26JUL25000CE"]["instrument_token"]
    )
    assert snap.bids[0][0] == 0.05
    assert snap.bids[1:] == [(0.0, 0, 0)] * 4
    assert snap.buy_quantity == 7 * snap.bids[0][1]


def test_record_trade_counts_volume_without_notifying(market: MarketData) -> None:
    """A fill adds to volume and VWAP and sets the last quantity; no listener is called."""
    calls: list[list[int]] = []
    market.add_price_listener(calls.append)
    before = market.snapshot(408065)
    market.record_trade(408065, 10, 1500.0)
    market.record_trade(408065, 30, 1510.0)
    after = market.snapshot(408065)
    assert calls == []
    assert after.volume == before.volume + 40
    assert after.last_quantity == 30
    assert after.average_price == 1507.5
    assert after.last_price == before.last_price


def test_reset_restores_the_opening_state(market: MarketData, master: InstrumentMaster) -> None:
    """reset(seed) brings every price back and the walk repeats from there."""
    opening = _prices(market, master)
    first = [market.step() for _ in range(5)]
    calls: list[list[int]] = []
    market.add_price_listener(calls.append)
    market.reset(7)
    assert _prices(market, master) == opening
    assert calls
    assert market.snapshot(408065).volume == 0
    assert [market.step() for _ in range(5)] == first
