"""Market-data routes: the instrument dump, quotes, and historical candles (KITE_API.md §7).

``/instruments*`` is CSV and, as on Kite, needs no authentication. The quote routes read repeated
``i=EXCHANGE:SYMBOL`` keys, cap them at Kite's limits and leave unknown keys out of the map.
Historical candles are synthetic but deterministic: a candle's values depend only on the
instrument, the interval and its own timestamp, so overlapping requests agree with each other.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from aiohttp import web

from orderdesk.domain.calendar import TradingCalendar
from orderdesk.sim.envelope import InputError, ok
from orderdesk.sim.instruments import EXCHANGES, InstrumentMaster
from orderdesk.sim.market import MarketData

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
SESSION_MINUTES = 375  # 09:15 to 15:30: a day candle's spread and volume scale with it
_CANDLE_TIME = "%Y-%m-%dT%H:%M:%S+0530"
_INPUT_TIME = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def add_market_routes(
    app: web.Application,
    market: MarketData,
    master: InstrumentMaster,
    require_auth: Callable[[web.Request], Awaitable[str]],
    calendar: TradingCalendar,
) -> None:
    """Mount ``/instruments``, ``/instruments/{exchange}``, ``/quote*`` and historical candles
    (on ``calendar``'s trading days)."""

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
        snap = market.snapshot(token)
        kind = _Kind(snap.close, not snap.tradable, snap.oi > 0)
        candles = [
            _candle(token, minutes, when, kind, with_oi)
            for when in _candle_times(calendar, start, end, minutes)
        ]
        return ok({"candles": candles})

    app.router.add_get("/instruments", instruments)
    app.router.add_get("/instruments/{exchange}", instruments_of)
    app.router.add_get("/instruments/historical/{token}/{interval}", historical)
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


def _candle_times(
    calendar: TradingCalendar, start: datetime, end: datetime, minutes: int
) -> Iterator[datetime]:
    """Candle start times inside NSE sessions (the calendar's trading days: no weekends or
    holidays, special sessions included, in their own hours if they have them) between
    ``start`` and ``end``."""
    for day in calendar.trading_days(start.date(), end.date()):
        if minutes == 0:
            yield datetime.combine(day, time())
            continue
        opens, closes = (datetime.combine(day, t) for t in calendar.market_hours(day))
        when = opens
        while when < closes:
            if start <= when <= end:
                yield when
            when += timedelta(minutes=minutes)


class _Kind(NamedTuple):
    base: float
    is_index: bool
    has_oi: bool


def _on_grid(price: float) -> float:
    return round(max(round(price * 20), 1) / 20, 2)


def _candle(token: int, minutes: int, when: datetime, kind: _Kind, with_oi: bool) -> list[Any]:
    """One ``[ts, open, high, low, close, volume(, oi)]`` row, a pure function of its inputs."""
    rng = random.Random(f"{token}:{minutes}:{when.isoformat()}")
    # A slow, bounded drift around the base so neighbouring candles look related.
    days = (when.date() - date(2000, 1, 1)).days
    level = kind.base * (1 + 0.05 * math.sin(days / 9.0 + token % 97))
    level *= 1 + 0.005 * math.sin(when.hour + when.minute / 60)
    spread = level * 0.0005 * (minutes or SESSION_MINUTES) ** 0.5
    open_ = _on_grid(level + rng.uniform(-spread, spread))
    close = _on_grid(level + rng.uniform(-spread, spread))
    high = _on_grid(max(open_, close) + rng.uniform(0, spread))
    low = _on_grid(min(open_, close) - rng.uniform(0, spread))
    volume = 0 if kind.is_index else rng.randrange(100, 10_000) * (minutes or SESSION_MINUTES)
    row: list[Any] = [when.strftime(_CANDLE_TIME), open_, high, low, close, volume]
    if with_oi:
        row.append(rng.randrange(10_000, 1_000_000) if kind.has_oi else 0)
    return row


__all__ = ["INTERVALS", "QUOTE_LIMITS", "add_market_routes"]
