"""Small pure pieces of the simulator core: limits, clock, ids, parameters."""

from __future__ import annotations

from datetime import datetime

import pytest

from orderdesk.domain.calendar import next_token_expiry
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.envelope import InputError, RateLimitError
from orderdesk.sim.ids import IdGenerator
from orderdesk.sim.order_params import PlaceRequest
from orderdesk.sim.ratelimit import EndpointClass, RateLimiter, classify


class FakeTime:
    """A settable clock for the limiter."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_endpoint_classes() -> None:
    """Quotes, historical, order writes and the rest fall in Kite's four buckets."""
    assert classify("GET", "/quote/ltp") is EndpointClass.QUOTE
    assert classify("GET", "/instruments/historical/1/minute") is EndpointClass.HISTORICAL
    assert classify("POST", "/orders/regular") is EndpointClass.ORDERS
    assert classify("DELETE", "/orders/regular/1") is EndpointClass.ORDERS
    assert classify("GET", "/orders") is EndpointClass.OTHER


def test_quote_limit_is_one_per_second() -> None:
    """A second quote call inside one second is refused; a second later it passes."""
    clock = FakeTime()
    limiter = RateLimiter(monotonic=clock, wall=clock)
    limiter.check_request("k", EndpointClass.QUOTE)
    with pytest.raises(RateLimitError) as exc_info:
        limiter.check_request("k", EndpointClass.QUOTE)
    assert exc_info.value.http_status == 429
    clock.now += 1.0
    limiter.check_request("k", EndpointClass.QUOTE)


def test_orders_per_minute_is_a_fixed_window() -> None:
    """Once the minute's quota is spent every order call fails until the minute ends."""
    clock = FakeTime()
    clock.now = 60.0 * 1000
    limiter = RateLimiter(monotonic=clock, wall=clock, orders_per_minute=3, orders_per_day=100)
    for _ in range(3):
        limiter.check_order_quota("u", placement=True)
    with pytest.raises(RateLimitError):
        limiter.check_order_quota("u", placement=False)
    clock.now += 59.0
    with pytest.raises(RateLimitError):
        limiter.check_order_quota("u", placement=True)
    clock.now += 1.0
    limiter.check_order_quota("u", placement=True)


def test_orders_per_day_counts_placements_only() -> None:
    """The daily cap counts placements; modifications still pass after it is reached."""
    clock = FakeTime()
    limiter = RateLimiter(monotonic=clock, wall=clock, orders_per_minute=100, orders_per_day=2)
    limiter.check_order_quota("u", placement=True)
    limiter.check_order_quota("u", placement=True)
    with pytest.raises(RateLimitError):
        limiter.check_order_quota("u", placement=True)
    limiter.check_order_quota("u", placement=False)


def test_disabled_limiter_lets_everything_through() -> None:
    """--no-rate-limits: nothing is ever refused."""
    limiter = RateLimiter(enabled=False, orders_per_minute=1)
    for _ in range(50):
        limiter.check_request("k", EndpointClass.QUOTE)
        limiter.check_order_quota("u", placement=True)


def test_token_expiry_is_the_next_six_am() -> None:
    """A daytime login expires at 06:00 next day; a 03:00 login the same morning."""
    assert next_token_expiry(datetime(2026, 1, 5, 10, 0)) == datetime(2026, 1, 6, 6, 0)
    assert next_token_expiry(datetime(2026, 1, 5, 3, 0)) == datetime(2026, 1, 5, 6, 0)


def test_ids_are_deterministic_and_nineteen_digits() -> None:
    """One seed gives one id stream; another seed another."""
    a, b, c = IdGenerator(1), IdGenerator(1), IdGenerator(2)
    first = [a.order_id() for _ in range(5)]
    assert first == [b.order_id() for _ in range(5)]
    assert first != [c.order_id() for _ in range(5)]
    assert all(len(i) == 19 and i.isdigit() for i in first)
    assert first == sorted(first)


def test_market_protection_rule() -> None:
    """A MARKET or SL-M order needs it (Kite's 2026 rule): -1 and 1..100 pass; omission, 0 and a
    LIMIT order's value are refused."""
    base = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": "1",
        "product": "CNC",
        "order_type": "MARKET",
    }
    assert PlaceRequest.parse("regular", base | {"market_protection": "-1"}).market_protection == -1
    assert (
        PlaceRequest.parse("regular", base | {"market_protection": "100"}).market_protection == 100
    )
    stop = base | {"order_type": "SL-M", "trigger_price": "1510"}
    assert PlaceRequest.parse("regular", stop | {"market_protection": "-1"}).market_protection == -1
    with pytest.raises(InputError):
        PlaceRequest.parse("regular", stop)
    for bad in (
        {},
        {"market_protection": ""},
        {"market_protection": "0"},
        {"order_type": "LIMIT", "price": "1", "market_protection": "5"},
    ):
        with pytest.raises(InputError) as exc_info:
            PlaceRequest.parse("regular", base | bad)
        assert "market_protection" in exc_info.value.message


def test_secrets_stay_out_of_reprs() -> None:
    """Neither the api secret nor access tokens show in the reprs of config, store or session."""
    sim = SimServer(SimConfig(port=0, api_secret="s3cr3t-value", price_tick_interval=None))
    token = sim.issue_access_token()
    session = sim.sessions.authenticate(sim.config.api_key, token)
    assert session is not None
    for text in (repr(sim.config), repr(sim.sessions), repr(session), repr(sim), repr(sim.core)):
        assert "s3cr3t-value" not in text
        assert token not in text
