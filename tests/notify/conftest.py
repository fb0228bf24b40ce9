"""Fixtures for the alert tests: a controllable clock and a local apprise ``json://`` target."""

from __future__ import annotations

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
    """What apprise's json:// plugin posted to the local server."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def clock() -> FakeClock:
    """A fresh manual clock."""
    return FakeClock()


@pytest.fixture
async def sink() -> AsyncIterator[AlertSink]:
    """An aiohttp server on 127.0.0.1:0 that records every JSON notification."""
    holder = AlertSink(url="")

    async def receive(request: web.Request) -> web.Response:
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
