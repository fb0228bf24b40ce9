"""TEMPORARY stand-in for the market owner's ``routes_market`` (only ``/quote/ltp``) so the core
can run before it lands. Delete once the real module exists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from orderdesk.sim.envelope import ok
from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.market import MarketData


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
