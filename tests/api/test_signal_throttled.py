"""``POST /api/signals`` while the broker answers placements 429: the real desk answers 201 at
once, on the fast path and on FastAPI's route alike, with the order still SUBMITTING and a
``message`` saying why, that the desk keeps sending it and that the same signal id is safe."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.engine import OrderDesk
from tests.api.conftest import AUTH, TOKEN
from tests.engine.conftest import FAST
from tests.engine.fakes import RATE_LIMITED, FakeBroker, MemoryStore, RecordingNotifier
from tests.support import eventually

SIGNAL: dict[str, Any] = {
    "instrument": "NSE:INFY",
    "side": "BUY",
    "quantity": 1,
    "order_type": "LIMIT",
    "product": "CNC",
    "price": "1443",
    "strategy": "alpha",
    "signal_id": "storm-1",
}


@pytest.fixture
async def throttled() -> AsyncIterator[tuple[FakeBroker, aiohttp.ClientSession]]:
    """The API over a real desk whose broker answers every placement 429 until the test clears
    its script; the desk gives up on a 429 only after a minute."""
    broker = FakeBroker(script=[RATE_LIMITED] * 100_000)
    config = replace(FAST, rate_limit_give_up=60.0)
    async with OrderDesk(
        broker, MemoryStore(), notifier=RecordingNotifier(), config=config
    ) as desk:
        server = await serve_api(create_app(EngineDesk(desk), token=TOKEN), "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client:
                yield broker, client
        finally:
            await server.stop()


async def test_a_throttled_signal_is_answered_201_at_once_with_the_reason(
    throttled: tuple[FakeBroker, aiohttp.ClientSession],
) -> None:
    """Both paths answer 201 within seconds with the order SUBMITTING and the message; once
    the storm ends the same signal answers with the order OPEN, placed once, and no longer
    says the broker rate-limits."""
    broker, client = throttled
    async with asyncio.timeout(5), client.post("/api/signals", json=SIGNAL) as response:
        assert response.status == 201
        fast = await response.json()
    order = fast["order"]
    assert order["status"] == "SUBMITTING"
    assert "429" in fast["message"]
    assert "'storm-1'" in fast["message"]
    assert "never places a second" in fast["message"]

    # The same signal by FastAPI's route (a charset keeps it off the fast path): the same order.
    headers = {"Content-Type": "application/json; charset=utf-8"}
    async with (
        asyncio.timeout(5),
        client.post("/api/signals", data=json.dumps(SIGNAL), headers=headers) as response,
    ):
        assert response.status == 201
        routed = await response.json()
    assert routed["order"]["order_id"] == order["order_id"]
    assert routed["message"] == fast["message"]

    broker.script.clear()  # the storm ends

    async def status() -> str:
        async with client.get(f"/api/orders/{order['order_id']}") as response:
            return str((await response.json())["status"])

    await eventually(lambda: _is(status(), "OPEN"), what="the order open")
    async with client.post("/api/signals", json=SIGNAL) as response:
        assert response.status == 201
        settled = await response.json()
    assert settled["order"]["status"] == "OPEN"
    assert settled["outcome"] == "existing"
    assert "429" not in settled["message"]
    assert broker.tags() == [order["order_id"]]


async def _is(value: Awaitable[str], expected: str) -> bool:
    return await value == expected
