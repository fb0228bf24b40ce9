"""Market data through the official client against the whole simulator (with auth and limits)."""

from __future__ import annotations

import pytest
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

from .conftest import SimControl, login


def test_quote_ohlc_ltp_follow_set_prices(kite: KiteConnect, simctl: SimControl) -> None:
    """A price set through /_sim/prices is what quote, ohlc and ltp report."""
    simctl.prices({"NSE:INFY": 1502.5})
    assert kite.ltp("NSE:INFY")["NSE:INFY"]["last_price"] == 1502.5
    assert kite.ohlc("NSE:INFY")["NSE:INFY"]["last_price"] == 1502.5
    quote = kite.quote("NSE:INFY", "NSE:SBIN")
    assert quote["NSE:INFY"]["last_price"] == 1502.5
    assert quote["NSE:INFY"]["instrument_token"] == 408065
    assert "NSE:SBIN" in quote


def test_instruments_dump_parses_in_the_client(kite: KiteConnect) -> None:
    """The official client parses the instruments CSV, whole and per exchange."""
    everything = kite.instruments()
    nse = kite.instruments("NSE")
    assert any(row["tradingsymbol"] == "INFY" for row in nse)
    assert len(everything) >= len(nse) > 0


def test_market_routes_need_a_session(sim_thread: SimServer) -> None:
    """Quotes without a valid token are a 403 TokenException."""
    kite = KiteConnect(sim_thread.config.api_key, root=sim_thread.rest_root)
    kite.set_access_token("nope")
    with pytest.raises(kex.TokenException) as exc_info:
        kite.ltp("NSE:INFY")
    assert exc_info.value.code == 403


def test_quote_rate_limit_is_one_per_second(sim_config: SimConfig) -> None:
    """With limits on, a second quote call within a second gets 429 NetworkException."""
    sim_config.rate_limits = True
    with SimServer.run_in_thread(sim_config) as sim:
        kite = login(sim)
        kite.ltp("NSE:INFY")
        with pytest.raises(kex.NetworkException) as exc_info:
            kite.ltp("NSE:INFY")
    assert exc_info.value.code == 429
