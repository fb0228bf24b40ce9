"""TEMPORARY stand-in for the market owner's ticker, postbacks and market routes so the core
can run before they land. Delete once the real modules exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from orderdesk.sim.envelope import ok
from orderdesk.sim.faults import Faults
from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.market import MarketData


class TickerHub:
    def __init__(
        self, market: MarketData, authenticate: Callable[[str, str], str | None], faults: Faults
    ) -> None:
        self.updates: list[tuple[str, dict[str, Any]]] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.close()
        return ws

    def publish_order_update(self, user_id: str, order: dict[str, Any]) -> None:
        self.updates.append((user_id, order))

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def drop_all(self) -> int:
        return 0


class PostbackSender:
    def __init__(self, url: str | None, api_secret: str, session_factory: Any) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, order_payload: dict[str, Any]) -> None:
        self.sent.append(order_payload)

    async def close(self) -> None:
        pass


def add_market_routes(
    app: web.Application,
    market: MarketData,
    master: InstrumentMaster,
    require_auth: Callable[[web.Request], Awaitable[str]],
) -> None:
    async def ltp(request: web.Request) -> web.Response:
        await require_auth(request)
        return ok(market.ltp(request.query.getall("i", [])))

    app.router.add_get("/quote/ltp", ltp)
