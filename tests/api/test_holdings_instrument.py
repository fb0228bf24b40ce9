"""``POST /api/holdings/authorise`` over a real desk: an instrument the desk's list does not hold
is refused naming it, before the broker is asked, as a signal on it is."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk
from orderdesk.ports.broker import HoldingsAuthorisation
from tests.api.conftest import AUTH, TOKEN
from tests.engine.fakes import INFY, MemoryStore
from tests.engine.trigger_broker import TriggerBroker


class AuthorisingBroker(TriggerBroker):
    """The paper broker with an instrument list (INFY, a NIFTY future) and holdings
    authorisation, which keeps what it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[dict[InstrumentKey, int]] = []

    async def authorise_holdings(
        self, quantities: Mapping[InstrumentKey, int]
    ) -> HoldingsAuthorisation:
        self.asked.append(dict(quantities))
        return HoldingsAuthorisation("req1", "https://kite.example/authorise/req1")


@pytest.fixture
async def served() -> AsyncIterator[tuple[AuthorisingBroker, aiohttp.ClientSession]]:
    """A real desk over :class:`AuthorisingBroker` behind the real app on 127.0.0.1:0."""
    broker = AuthorisingBroker()
    async with OrderDesk(broker, MemoryStore()) as desk:
        server = await serve_api(create_app(EngineDesk(desk), token=TOKEN), "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client:
                yield broker, client
        finally:
            await server.stop()


async def _authorise(client: aiohttp.ClientSession, body: dict[str, Any]) -> tuple[int, Any]:
    async with client.post("/api/holdings/authorise", json=body) as response:
        return response.status, await response.json()


async def test_an_unknown_instrument_is_refused_before_the_broker_is_asked(
    served: tuple[AuthorisingBroker, aiohttp.ClientSession],
) -> None:
    """NSE:FOOBAR, which the instrument list does not hold, is 400 naming it (beside a known
    holding too), and the broker is not asked; a known one reaches it."""
    broker, client = served
    unknown = await _authorise(client, {"holdings": [{"instrument": "NSE:FOOBAR", "quantity": 5}]})
    mixed = {"holdings": [{"instrument": "NSE:INFY", "quantity": 5}, {"instrument": "NSE:FOOBAR"}]}
    among_known = await _authorise(client, mixed)
    assert broker.asked == []
    known = await _authorise(client, {"holdings": [{"instrument": "NSE:INFY", "quantity": 5}]})

    problem = {"field": "holdings", "reason": "unknown instrument NSE:FOOBAR"}
    assert unknown == (
        400,
        {
            "error": "invalid_signal",
            "message": "holdings: unknown instrument NSE:FOOBAR",
            "fields": [problem],
            "check": None,
        },
    )
    assert among_known[0] == 400
    assert among_known[1]["fields"] == [problem]
    assert known[0] == 200
    assert broker.asked == [{INFY: 5}]
