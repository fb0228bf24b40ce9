"""A broker without GTTs or price alerts (the paper broker) says so when they are listed, as it
does when one is placed: ``GET /api/gtt`` answered an empty list, read as "none placed"."""

from __future__ import annotations

from decimal import Decimal

import aiohttp

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.brokers.paper import PaperBroker
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk
from tests.api.conftest import AUTH, TOKEN
from tests.engine.fakes import MemoryStore


async def test_listing_triggers_on_a_broker_without_them_is_501_not_an_empty_list() -> None:
    broker = PaperBroker(prices={InstrumentKey.parse("NSE:INFY"): Decimal("1500")})
    async with OrderDesk(broker, MemoryStore()) as desk:
        server = await serve_api(create_app(EngineDesk(desk), token=TOKEN), "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client:
                for path, what in (("/api/gtt", "GTT"), ("/api/price-alerts", "price alerts")):
                    async with client.get(path) as response:
                        body = await response.json()
                    assert response.status == 501, body
                    assert body["error"] == "not_offered"
                    assert what in body["message"]
        finally:
            await server.stop()
