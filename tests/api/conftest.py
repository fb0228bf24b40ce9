"""Fixtures for the API tests: a fake desk behind the real app, served on 127.0.0.1:0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import pytest

from orderdesk.api import AlertFeed, create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api.server import ApiServer
from orderdesk.approvals import ApprovalQueue
from orderdesk.config import StrategySettings
from orderdesk.engine import OrderDesk
from tests.api.fakes import FakeDesk

TOKEN = "test-token-0123456789abcdefghijklmnop"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@asynccontextmanager
async def engine_api(desk: OrderDesk) -> AsyncIterator[aiohttp.ClientSession]:
    """The real API over a running engine ``desk`` on a loopback port, as a client holding the
    token."""
    server = await serve_api(create_app(EngineDesk(desk), token=TOKEN), "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client:
            yield client
    finally:
        await server.stop()


@dataclass
class Api:
    """A running API with a client that sends the token, and one that does not."""

    server: ApiServer
    desk: FakeDesk
    approvals: ApprovalQueue
    alerts: AlertFeed
    client: aiohttp.ClientSession
    anonymous: aiohttp.ClientSession


@pytest.fixture
def desk() -> FakeDesk:
    """A fresh in-memory desk."""
    return FakeDesk()


@pytest.fixture
async def api(desk: FakeDesk) -> AsyncIterator[Api]:
    """The app over the fake desk, with approval required for strategy ``careful``."""
    approvals = ApprovalQueue(
        desk.submit,
        {"careful": StrategySettings(approval=True, approval_ttl_seconds=60)},
        screen=desk.screen,
    )
    alerts = AlertFeed()
    app = create_app(desk, token=TOKEN, approvals=approvals, alerts=alerts, stream_interval=0.05)
    server = await serve_api(app, "127.0.0.1", 0)
    async with (
        aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client,
        aiohttp.ClientSession(base_url=server.url) as anonymous,
    ):
        yield Api(server, desk, approvals, alerts, client, anonymous)
        desk.close()
    await server.stop()
