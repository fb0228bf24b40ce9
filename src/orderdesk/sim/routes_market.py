"""Market-data routes: the instrument dump, quotes, the cover orders' trigger range and
historical candles (KITE_API.md §7).

``/instruments*`` is CSV and, as on Kite, needs no authentication. The quote routes read repeated
``i=EXCHANGE:SYMBOL`` keys, cap them at Kite's limits and leave unknown keys out of the map; so
does ``/instruments/trigger_range/{buy|sell}`` (:mod:`orderdesk.sim.trigger_range`, the range CO
placement checks). Historical candles (:mod:`orderdesk.sim.history`) are one deterministic series
per instrument and day, which every interval aggregates and whose previous session closes where
the quote's ``ohlc.close`` says.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from orderdesk.domain.calendar import TradingCalendar
from orderdesk.sim.envelope import InputError, ok
from orderdesk.sim.history import candles
from orderdesk.sim.instruments import EXCHANGES, InstrumentMaster
from orderdesk.sim.market import MarketData
from orderdesk.sim.trigger_range import trigger_ranges

QUOTE_LIMITS = {"/quote": 500, "/quote/ohlc": 1000, "/quote/ltp": 1000}

# interval → (minutes per candle, 0 for day; the longest span Kite serves in one request, days)
INTERVALS: dict[str, tuple[int, int]] = {
    "minute": (1, 60),
    "3minute": (3, 100),
    "5minute": (5, 100),
    "10minute": (10, 100),
    "15minute": (15, 200),
    "30minute": (30, 200),
    "60minute": (60, 400),
    "day": (0, 2000),
}
_INPUT_TIME = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def add_market_routes(
    app: web.Application,
    market: MarketData,
    master: InstrumentMaster,
    require_auth: Callable[[web.Request], Awaitable[str]],
    calendar: TradingCalendar,
) -> None:
    """Mount ``/instruments``, ``/instruments/{exchange}``, ``/quote*``, the CO trigger range and
    historical candles (on ``calendar``'s trading days)."""

    async def instruments(request: web.Request) -> web.Response:
        return _csv(master.to_csv())

    async def instruments_of(request: web.Request) -> web.Response:
        exchange = request.match_info["exchange"].upper()
        if exchange not in EXCHANGES:
            raise InputError(f"Invalid exchange `{request.match_info['exchange']}`.")
        return _csv(master.to_csv(exchange))

    def quote_route(
        path: str, read: Callable[[list[str]], dict[str, dict[str, Any]]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        limit = QUOTE_LIMITS[path]

        async def handler(request: web.Request) -> web.Response:
            await require_auth(request)
            keys = request.query.getall("i", [])
            if len(keys) > limit:
                raise InputError(f"Too many instruments: at most {limit} per request.")
            return ok(read(keys))

        return handler

    async def historical(request: web.Request) -> web.Response:
        await require_auth(request)
        try:
            token = int(request.match_info["token"])
        except ValueError:
            raise InputError("Invalid `instrument_token`.") from None
        interval = request.match_info["interval"]
        if interval not in INTERVALS:
            raise InputError(f"Invalid interval `{interval}`.")
        if token not in market:
            raise InputError("Invalid `instrument_token`.")
        start = _parse_time(request.query.get("from"), "from")
        end = _parse_time(request.query.get("to"), "to")
        if end < start:
            raise InputError("Invalid date range: `to` is before `from`.")
        minutes, max_days = INTERVALS[interval]
        if end - start > timedelta(days=max_days):
            raise InputError(f"interval exceeds max limit: {max_days} days")
        with_oi = request.query.get("oi", "0") in ("1", "true", "True")
        rows = candles(market.history(token), calendar, start, end, minutes, with_oi=with_oi)
        return ok({"candles": rows})

    async def trigger_range(request: web.Request) -> web.Response:
        await require_auth(request)
        keys = request.query.getall("i", [])
        side = request.match_info["transaction_type"]
        return ok(trigger_ranges(side, keys, master, market.last_price))

    app.router.add_get("/instruments", instruments)
    app.router.add_get("/instruments/{exchange}", instruments_of)
    app.router.add_get("/instruments/historical/{token}/{interval}", historical)
    app.router.add_get("/instruments/trigger_range/{transaction_type}", trigger_range)
    app.router.add_get("/quote", quote_route("/quote", market.quote))
    app.router.add_get("/quote/ohlc", quote_route("/quote/ohlc", market.ohlc))
    app.router.add_get("/quote/ltp", quote_route("/quote/ltp", market.ltp))


def _csv(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/csv")


def _parse_time(value: str | None, name: str) -> datetime:
    if not value:
        raise InputError(f"Missing `{name}`.")
    for fmt in _INPUT_TIME:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise InputError(f"Invalid `{name}`: use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS.")


__all__ = ["INTERVALS", "QUOTE_LIMITS", "add_market_routes"]
