"""A signal sent again, on a real desk behind the real app: answered with the order its id made,
``outcome`` ``existing``, saying when that order was taken, never as a new placement; and never
told the broker is rate-limiting when its first sending is merely still on the wire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.domain.calendar import IST
from orderdesk.domain.order import Order
from orderdesk.domain.signal import Signal
from orderdesk.engine import OrderDesk
from orderdesk.ports.broker import PlaceOrder
from tests.api.conftest import AUTH, TOKEN
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier
from tests.engine.test_days import TUESDAY, open_desk
from tests.support import WallClock, eventually

SIGNAL: dict[str, Any] = {
    "instrument": "NSE:INFY",
    "side": "BUY",
    "quantity": 5,
    "order_type": "LIMIT",
    "product": "CNC",
    "price": "1490",
    "strategy": "alpha",
    "signal_id": "d1-a1",
}


class HeldBroker(FakeBroker):
    """Holds every placement on the wire until the test opens ``gate`` (a slow broker)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.gate = asyncio.Event()
        self.on_the_wire = 0

    async def place_order(self, command: PlaceOrder) -> str:
        self.on_the_wire += 1
        await self.gate.wait()
        return await super().place_order(command)


class CountingDesk(EngineDesk):
    """The engine's adapter, counting the signals that reached the desk."""

    submitted = 0

    async def submit(self, signal: Signal) -> Order:
        self.submitted += 1
        return await super().submit(signal)


async def post(client: aiohttp.ClientSession) -> dict[str, Any]:
    async with client.post("/api/signals", json=SIGNAL) as response:
        assert response.status == 201, await response.text()
        reply: dict[str, Any] = await response.json()
        return reply


@pytest.fixture
async def held() -> AsyncIterator[tuple[HeldBroker, CountingDesk, aiohttp.ClientSession]]:
    broker = HeldBroker()
    async with OrderDesk(broker, MemoryStore(), notifier=RecordingNotifier()) as desk:
        adapter = CountingDesk(desk)
        server = await serve_api(create_app(adapter, token=TOKEN), "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client:
                yield broker, adapter, client
        finally:
            await server.stop()


async def test_a_signal_sent_again_while_its_first_is_on_the_wire_is_not_told_of_a_429(
    held: tuple[HeldBroker, CountingDesk, aiohttp.ClientSession],
) -> None:
    """The same signal sent while the broker has not answered its first sending is answered
    with the broker's answer to that one (the order placed once, ``existing``), not with the
    order ``SUBMITTING`` and a 429 the broker never sent."""
    broker, desk, client = held
    first = asyncio.create_task(post(client))
    await eventually(lambda: broker.on_the_wire == 1, what="the first sending on the wire")
    again = asyncio.create_task(post(client))
    await eventually(lambda: desk.submitted == 2, what="the second sending at the desk")
    broker.gate.set()
    placed, answered = await asyncio.wait_for(asyncio.gather(first, again), timeout=10)

    assert (placed["outcome"], placed["message"]) == ("submitted", None)
    assert placed["order"]["status"] != "SUBMITTING"
    assert answered["outcome"] == "existing"
    assert answered["order"]["order_id"] == placed["order"]["order_id"]
    assert answered["order"]["status"] != "SUBMITTING"
    assert "429" not in answered["message"]
    assert "was sent before" in answered["message"]
    assert broker.on_the_wire == 1


async def test_a_signal_sent_again_on_a_later_day_is_its_order_of_that_day() -> None:
    """Sent on Monday and again on Tuesday, the signal is answered with Monday's order,
    ``existing``, the message naming Monday and the time it was taken; nothing is placed."""
    broker = FakeBroker()
    clock = WallClock(datetime(2026, 12, 7, 9, 20, tzinfo=IST))
    async with open_desk(broker, MemoryStore(), clock, RecordingNotifier()) as desk:
        server = await serve_api(create_app(EngineDesk(desk), token=TOKEN), "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client:
                monday = await post(client)
                broker.next_day()
                clock.set(TUESDAY, 9, 0)
                await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
                tuesday = await post(client)
        finally:
            await server.stop()

    assert monday["outcome"] == "submitted"
    assert tuesday["outcome"] == "existing"
    assert tuesday["order"]["order_id"] == monday["order"]["order_id"]
    assert "which the desk took at 09:20:00 IST on Mon 07 Dec 2026" in tuesday["message"]
    assert "Nothing new was placed" in tuesday["message"]
    assert len(broker.placements) == 1
