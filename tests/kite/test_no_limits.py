"""``NoLimits``, the limiter with Kite's limits switched off: it grants at once, except that a
429's hold on an endpoint class is waited out, and a slot never swallows what its block raises."""

from __future__ import annotations

import asyncio

import pytest

from orderdesk.brokers.kite.http import NoLimits
from orderdesk.brokers.kite.ratelimit import EndpointClass

HOLD = 0.2
EARLY = 0.005  # uvloop-style millisecond timers may end a hair before the deadline


async def test_a_slot_is_granted_at_once_without_a_hold() -> None:
    limiter = NoLimits()
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with limiter.slot(EndpointClass.ORDER, cancels="1"):
        pass
    assert loop.time() - started < HOLD


async def test_a_hold_is_waited_out_in_its_class_only() -> None:
    limiter = NoLimits()
    loop = asyncio.get_running_loop()
    limiter.backoff(EndpointClass.ORDER, HOLD)
    started = loop.time()
    async with limiter.slot(EndpointClass.QUOTE):
        assert loop.time() - started < HOLD
    async with limiter.slot(EndpointClass.ORDER):
        assert loop.time() - started >= HOLD - EARLY
    started = loop.time()
    async with limiter.slot(EndpointClass.ORDER):  # the hold is over
        assert loop.time() - started < HOLD


async def test_a_later_shorter_hold_does_not_shorten_a_longer_one() -> None:
    limiter = NoLimits()
    loop = asyncio.get_running_loop()
    started = loop.time()
    limiter.backoff(EndpointClass.ORDER, HOLD)
    limiter.backoff(EndpointClass.ORDER, 0.0)
    async with limiter.slot(EndpointClass.ORDER):
        assert loop.time() - started >= HOLD - EARLY


async def test_what_the_block_raises_comes_out() -> None:
    with pytest.raises(LookupError):
        async with NoLimits().slot(EndpointClass.ORDER):
            raise LookupError("from the exchange")
