"""Market routes through the official client: instrument dump, quotes, limits, auth, candles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.domain.calendar import SessionHours, TradingCalendar
from orderdesk.sim.envelope import TokenError, error_middleware
from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.market import MarketData
from orderdesk.sim.routes_market import add_market_routes
from orderdesk.sim.universe import builtin_instruments

T = TypeVar("T")
NOW = datetime(2026, 7, 16, 10, 0, 0)
CALENDAR = TradingCalendar(
    holidays=frozenset({date(2026, 7, 8)}),
    sessions=frozenset({date(2026, 7, 12)}),
    session_hours={date(2026, 7, 11): SessionHours(time(18, 15), time(19, 15))},
)
"""A made-up Wednesday holiday, a Sunday session and a Saturday evening of its own hours, so the
candles are seen to follow them."""
MAX_LINE = 64 * 1024


class Server:
    """The market routes alone on 127.0.0.1:0, behind Kite's error envelope."""

    def __init__(self, root: str, market: MarketData, master: InstrumentMaster) -> None:
        self.root = root
        self.market = market
        self.master = master
        self.kite = KiteConnect("key", access_token="good", root=root, timeout=5)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking official-client call off the loop that serves it."""
        return await asyncio.get_running_loop().run_in_executor(None, lambda: fn(*args, **kwargs))


async def _require_auth(request: web.Request) -> str:
    if request.headers.get("Authorization") != "token key:good":
        raise TokenError("Incorrect `api_key` or `access_token`.")
    return "AB1234"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """A served market on a frozen clock."""
    master = InstrumentMaster(builtin_instruments(date(2026, 7, 16)))
    market = MarketData(master, 5, clock=lambda: NOW)
    app = web.Application(middlewares=[error_middleware])
    add_market_routes(app, market, master, _require_auth, CALENDAR)
    # 1000 quote keys make a ~20 kB request line; aiohttp's default cap is 8190 bytes.
    runner = web.AppRunner(app, handle_signals=False, max_line_size=MAX_LINE)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield Server(f"http://127.0.0.1:{runner.addresses[0][1]}", market, master)
    finally:
        await runner.cleanup()


async def test_instruments_dump_needs_no_auth_and_parses(server: Server) -> None:
    """/instruments is text/csv without credentials and the official client reads every row."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.root + "/instruments") as reply,
    ):
        assert reply.status == 200
        assert reply.content_type == "text/csv"
        assert "Authorization" not in reply.request_info.headers
    rows = await server.call(server.kite.instruments)
    assert len(rows) == len(server.master)
    nfo = await server.call(server.kite.instruments, "NFO")
    assert nfo
    assert {r["exchange"] for r in nfo} == {"NFO"}
    assert isinstance(nfo[0]["expiry"], date)


async def test_unknown_exchange_is_an_input_exception(server: Server) -> None:
    """/instruments/XYZ answers 400 InputException."""
    with pytest.raises(kex.InputException) as exc_info:
        await server.call(server.kite.instruments, "XYZ")
    assert exc_info.value.code == 400


async def test_quotes_match_the_market(server: Server) -> None:
    """quote/ohlc/ltp return the market's numbers for known keys and omit unknown ones."""
    server.market.step()
    keys = ["NSE:INFY", "NSE:NIFTY 50", "NFO:NIFTY26JULFUT", "NSE:NOSUCH"]
    quote = await server.call(server.kite.quote, keys)
    assert set(quote) == set(keys[:3])
    infy = quote["NSE:INFY"]
    assert infy["last_price"] == server.market.last_price(408065)
    assert infy["timestamp"] == NOW  # the official client turns 19-char strings into datetimes
    assert infy["depth"]["sell"][0]["price"] == infy["last_price"]
    ohlc = await server.call(server.kite.ohlc, keys)
    assert ohlc["NSE:INFY"]["ohlc"] == infy["ohlc"]
    ltp = await server.call(server.kite.ltp, keys)
    assert ltp["NFO:NIFTY26JULFUT"]["last_price"] == quote["NFO:NIFTY26JULFUT"]["last_price"]
    assert await server.call(server.kite.ltp, []) == {}


@pytest.mark.parametrize(("method", "limit"), [("quote", 500), ("ohlc", 1000), ("ltp", 1000)])
async def test_key_limits_are_input_exceptions(server: Server, method: str, limit: int) -> None:
    """One key over Kite's per-request limit is refused with InputException."""
    keys = [f"NSE:X{n}" for n in range(limit + 1)]
    ok_keys = keys[:limit]
    fn = getattr(server.kite, method)
    assert await server.call(fn, ok_keys) == {}
    with pytest.raises(kex.InputException) as exc_info:
        await server.call(fn, keys)
    assert str(limit) in str(exc_info.value)


async def test_quotes_need_a_session(server: Server) -> None:
    """Without a valid token the quote routes answer 403 TokenException."""
    kite = KiteConnect("key", access_token="bad", root=server.root, timeout=5)
    with pytest.raises(kex.TokenException) as exc_info:
        await server.call(kite.quote, ["NSE:INFY"])
    assert exc_info.value.code == 403


async def test_historical_candles_are_deterministic_session_bars(server: Server) -> None:
    """Minute candles cover 09:15–15:29 on trading days (a session of its own hours, its
    hours), parse, and repeat exactly when re-asked."""
    candles = await server.call(
        server.kite.historical_data, 408065, "2026-07-10 00:00:00", "2026-07-13 23:59:59", "minute"
    )
    days = sorted({c["date"].date() for c in candles})
    # Saturday the 11th trades 18:15 to 19:15 only; Sunday the 12th is a special session.
    assert days == [date(2026, 7, 10), date(2026, 7, 11), date(2026, 7, 12), date(2026, 7, 13)]
    assert len(candles) == 3 * 375 + 60
    first = candles[0]
    assert first["date"].strftime("%H:%M %z") == "09:15 +0530"
    assert first["low"] <= min(first["open"], first["close"]) <= first["high"]
    evening = [c["date"].strftime("%H:%M") for c in candles if c["date"].day == 11]
    assert (evening[0], evening[-1]) == ("18:15", "19:14")
    again = await server.call(
        server.kite.historical_data, 408065, "2026-07-13 09:15:00", "2026-07-13 09:20:00", "minute"
    )
    assert again == candles[810:816]


async def test_historical_day_candles_with_oi(server: Server) -> None:
    """Day candles (trading days only) with oi=1 carry a seventh field; futures have open
    interest, equities none."""
    future = server.master.by_key("NFO:NIFTY26JULFUT")
    assert future is not None
    rows = await server.call(
        server.kite.historical_data,
        future.instrument_token,
        "2026-07-01",
        "2026-07-10",
        "day",
        oi=True,
    )
    assert len(rows) == 7  # eight weekdays, less the holiday on the 8th
    assert date(2026, 7, 8) not in {r["date"].date() for r in rows}
    assert all(r["oi"] > 0 for r in rows)
    equity = await server.call(
        server.kite.historical_data, 408065, "2026-07-01", "2026-07-10", "day", oi=True
    )
    assert {r["oi"] for r in equity} == {0}
    assert all(r["volume"] > 0 for r in equity)


@pytest.mark.parametrize(
    ("token", "interval", "start", "end", "needle"),
    [
        (408065, "2minute", "2026-07-01", "2026-07-02", "interval"),
        (1, "minute", "2026-07-01", "2026-07-02", "instrument_token"),
        (408065, "minute", "2026-07-02", "2026-07-01", "range"),
        (408065, "minute", "2026-01-01", "2026-07-01", "60 days"),
        (408065, "minute", "yesterday", "2026-07-01", "from"),
    ],
)
async def test_historical_input_errors(
    server: Server, token: int, interval: str, start: str, end: str, needle: str
) -> None:
    """Bad interval, unknown token, reversed or too-long range and bad dates are InputExceptions."""
    with pytest.raises(kex.InputException) as exc_info:
        await server.call(server.kite.historical_data, token, start, end, interval)
    assert needle in str(exc_info.value)
