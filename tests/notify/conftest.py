"""Fixtures for the alert tests: a controllable clock and a local apprise ``json://`` target."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    seconds: float = 1000.0

    def now(self) -> datetime:
        return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@dataclass
class AlertSink:
    """What apprise's json:// plugin posted to the local server; taken down (``up`` False), it
    answers HTTP 503 and counts the refusals."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    up: bool = True
    refused: int = 0

    def titles(self) -> list[str]:
        return [m["title"] for m in self.received]


@pytest.fixture
def clock() -> FakeClock:
    """A fresh manual clock."""
    return FakeClock()


@contextlib.asynccontextmanager
async def serving_sink() -> AsyncIterator[AlertSink]:
    """An aiohttp server on 127.0.0.1:0 that records every JSON notification while up."""
    holder = AlertSink(url="")

    async def receive(request: web.Request) -> web.Response:
        if not holder.up:
            holder.refused += 1
            return web.json_response({}, status=503)
        holder.received.append(await request.json())
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/{tail:.*}", receive)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    holder.url = f"json://127.0.0.1:{server.port}/alerts"
    try:
        yield holder
    finally:
        await server.close()


@pytest.fixture
async def sink() -> AsyncIterator[AlertSink]:
    """A local json:// receiver (:func:`serving_sink`)."""
    async with serving_sink() as holder:
        yield holder
