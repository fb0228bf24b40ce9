"""A quote read given up while Kite's client holds the quote class back after a 429 (the desk's
risk checks bound their reads: engine/context.py) leaves the client as it was: the read never
reaches Kite, the lane serves the next read once the hold is over, and the pool still works."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.ratelimit import EndpointClass, KiteRateLimiter, RateLimits
from orderdesk.domain.values import Exchange, InstrumentKey
from tests.support import eventually

from .conftest import ACCESS_TOKEN, FakeKite, Reply, kite_config

INFY = InstrumentKey(Exchange.NSE, "INFY")
LTP = Reply.json(
    {"status": "success", "data": {"NSE:INFY": {"instrument_token": 408065, "last_price": 1500.5}}}
)


class HeldTime:
    """The limiter's clock, which moves only when the test says the hold is over; a sleep in
    the limiter waits for that."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.moved = asyncio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await self.moved.wait()

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.moved.set()


@pytest.fixture
def held() -> HeldTime:
    return HeldTime()


@pytest.fixture
def limiter(held: HeldTime) -> KiteRateLimiter:
    return KiteRateLimiter(RateLimits(), clock=held.clock, sleep=held.sleep)


@pytest.fixture
async def kite(fake_kite: FakeKite, limiter: KiteRateLimiter) -> AsyncIterator[KiteRestClient]:
    config = kite_config(fake_kite.root)
    async with KiteRestClient(config, access_token=ACCESS_TOKEN, limiter=limiter) as client:
        yield client


async def test_a_read_given_up_in_a_hold_leaves_the_lane_to_the_next(
    fake_kite: FakeKite, kite: KiteRestClient, limiter: KiteRateLimiter, held: HeldTime
) -> None:
    fake_kite.on("GET", "/quote/ltp", LTP)
    limiter.backoff(EndpointClass.QUOTE, 30.0)  # as after a 429 (http.py)

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):  # the desk's bound, given up on
            await kite.ltp([INFY])
    assert held.sleeps == [30.0]
    assert fake_kite.count("GET", "/quote/ltp") == 0

    waiting = asyncio.create_task(kite.ltp([INFY]))
    await eventually(lambda: len(held.sleeps) == 2, what="the next read waits out the hold")
    held.advance(30.0)
    async with asyncio.timeout(5):
        quotes = await waiting
    assert str(quotes[INFY].last_price) == "1500.5"
    assert fake_kite.count("GET", "/quote/ltp") == 1
