"""The ticker client against a local Kite-like WebSocket server on 127.0.0.1, port 0.

Every test runs in stamina's test mode (reconnections and gap-fill retries do not wait), except
the two that check the backoff schedule itself, which switch it off and use small real waits.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import stamina
import structlog
from aiohttp import web
from aiohttp.test_utils import TestServer
from stamina.instrumentation import RetryDetails, get_on_retry_hooks, set_on_retry_hooks

from orderdesk.brokers.kite import errors as kite_errors
from orderdesk.brokers.kite import ticker as kite_ticker
from orderdesk.brokers.kite.errors import KiteError, KiteTransportError, TokenException
from orderdesk.brokers.kite.ticker import (
    Connected,
    Disconnected,
    GapFilled,
    GapFillFailed,
    KiteTicker,
    OrderUpdated,
    ServerError,
    ServerMessage,
    TickerConfig,
    TickerEvent,
    TickerGaveUpError,
    TickerState,
    TickerTokenError,
    TicksReceived,
    decode_text,
)
from orderdesk.brokers.kite.ticks import LtpTick, Mode
from orderdesk.errors import BrokerAuthError, BrokerUnavailable
from tests.support import eventually

API_KEY = "kitekey"
TOKEN = "s3cr3t-access-token"

pytestmark = pytest.mark.usefixtures("no_backoff")


@dataclass
class Conn:
    """One accepted socket as the server sees it."""

    ws: web.WebSocketResponse
    request: web.Request
    received: list[Any] = field(default_factory=list)


@dataclass
class FakeKite:
    """A minimal Kite ticker endpoint: checks credentials, records messages, obeys the test."""

    heartbeat_interval: float | None = None
    silent: bool = False
    conns: list[Conn] = field(default_factory=list)
    refused: int = 0
    heartbeats_sent: int = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Refuse bad tokens with 403 before the upgrade; otherwise serve a socket."""
        if request.query.get("access_token") != TOKEN or request.query.get("api_key") != API_KEY:
            self.refused += 1
            raise web.HTTPForbidden(text="TokenException")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Conn(ws, request)
        self.conns.append(conn)
        beat = asyncio.create_task(self._heartbeats(ws)) if self.heartbeat_interval else None
        try:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    conn.received.append(json.loads(msg.data))
        finally:
            if beat is not None:
                beat.cancel()
        return ws

    async def _heartbeats(self, ws: web.WebSocketResponse) -> None:
        assert self.heartbeat_interval is not None
        while not ws.closed:
            if not self.silent:
                await ws.send_bytes(b"\x00")
                self.heartbeats_sent += 1
            await asyncio.sleep(self.heartbeat_interval)  # the server's pacing, not a test wait

    def drop(self, conn: Conn) -> None:
        """Cut the TCP connection without a closing handshake, like a network failure."""
        assert conn.request.transport is not None
        conn.request.transport.abort()


@pytest.fixture
async def kite() -> AsyncIterator[tuple[FakeKite, str]]:
    """A running fake server and its ws:// base URL."""
    fake = FakeKite()
    app = web.Application()
    app.router.add_get("/", fake.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield fake, str(server.make_url("/")).replace("http://", "ws://")
    finally:
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """The injected client session."""
    async with aiohttp.ClientSession() as s:
        yield s


def fast(url: str, **overrides: Any) -> TickerConfig:
    """Test timings: a short but not flaky heartbeat timeout (waits are stamina's test mode's)."""
    values: dict[str, Any] = {"url": url, "heartbeat_timeout": 5.0, "connect_timeout": 5.0}
    return TickerConfig(**(values | overrides))


@pytest.fixture
def ticker_waits() -> Iterator[list[RetryDetails]]:
    """The ticker's retries as stamina schedules them, with real waits (test mode off)."""
    seen: list[RetryDetails] = []

    def record(details: RetryDetails) -> None:
        if isinstance(details.caused_by, KiteTransportError):
            seen.append(details)

    hooks = get_on_retry_hooks()
    set_on_retry_hooks([record])
    try:
        with stamina.set_testing(False):
            yield seen
    finally:
        set_on_retry_hooks(hooks)


class Collector:
    """Reads a ticker's events in the background so tests can look at them."""

    def __init__(self, ticker: KiteTicker) -> None:
        self.events: list[TickerEvent] = []
        self.error: BaseException | None = None
        self._task = asyncio.create_task(self._pump(ticker))

    async def _pump(self, ticker: KiteTicker) -> None:
        try:
            async for event in ticker.events():
                self.events.append(event)
        except Exception as exc:
            self.error = exc

    def of(self, kind: type[Any]) -> list[Any]:
        """The events of one type, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    async def stop(self) -> None:
        """Wait for the event stream to end (after close or a fatal error)."""
        await asyncio.wait_for(self._task, 5)


def ltp_frame(token: int, price: int) -> bytes:
    """One framed ltp packet."""
    return struct.pack(">HHII", 1, 8, token, price)


async def test_handshake_carries_credentials_and_version_header(
    kite: tuple[FakeKite, str], session: aiohttp.ClientSession
) -> None:
    """The upgrade request has api_key and access_token in the query and X-Kite-Version: 3."""
    fake, url = kite
    async with KiteTicker(API_KEY, TOKEN, session=session, config=fast(url)) as ticker:
        await eventually(lambda: fake.conns, what="a connection")
        request = fake.conns[0].request
        assert request.query["api_key"] == API_KEY
        assert request.query["access_token"] == TOKEN
        assert request.headers["X-Kite-Version"] == "3"
        await eventually(lambda: ticker.state is TickerState.CONNECTED, what="connected")


async def test_subscribe_mode_and_unsubscribe_are_sent_as_kite_expects(
    kite: tuple[FakeKite, str], session: aiohttp.ClientSession
) -> None:
    """Subscribe sends subscribe then mode; set_mode and unsubscribe send their own messages."""
    fake, url = kite
    async with KiteTicker(API_KEY, TOKEN, session=session, config=fast(url)) as ticker:
        events = Collector(ticker)
        await eventually(lambda: events.of(Connected), what="connected")
        await ticker.subscribe([408065, 884737], Mode.FULL)
        await ticker.set_mode(Mode.LTP, [884737])
        await ticker.unsubscribe([408065])
        expected = [
            {"a": "subscribe", "v": [408065, 884737]},
            {"a": "mode", "v": ["full", [408065, 884737]]},
            {"a": "mode", "v": ["ltp", [884737]]},
            {"a": "unsubscribe", "v": [408065]},
        ]
        await eventually(lambda: len(fake.conns[0].received) == 4, what="four messages")
        assert fake.conns[0].received == expected
        assert ticker.subscriptions == {884737: Mode.LTP}


async def test_subscriptions_made_before_connecting_are_sent_on_connect(
    kite: tuple[FakeKite, str], session: aiohttp.ClientSession
) -> None:
    """Subscribing before the socket is up records the book and sends it once connected."""
    fake, url = kite
    ticker = KiteTicker(API_KEY, TOKEN, session=session, config=fast(url))
    await ticker.subscribe([1, 2], Mode.LTP)
    async with ticker:
        await eventually(lambda: fake.conns and len(fake.conns[0].received) == 2, what="sent")
    assert fake.conns[0].received == [
        {"a": "subscribe", "v": [1, 2]},
        {"a": "mode", "v": ["ltp", [1, 2]]},
    ]


async def test_frames_and_text_messages_become_events(
    kite: tuple[FakeKite, str], session: aiohttp.ClientSession
) -> None:
    """Binary ticks, order updates, errors and messages are surfaced; heartbeats are not."""
    fake, url = kite
    async with KiteTicker(API_KEY, TOKEN, session=session, config=fast(url)) as ticker:
        events = Collector(ticker)
        await eventually(lambda: events.of(Connected), what="connected")
        ws = fake.conns[0].ws
        order = {"order_id": "151220000000000", "status": "COMPLETE", "filled_quantity": 1}
        await ws.send_bytes(b"\x00")
        await ws.send_bytes(ltp_frame(408065, 157370))
        await ws.send_str("not json")
        await ws.send_str(json.dumps({"type": "order", "data": order}))
        await ws.send_str(json.dumps({"type": "order", "data": {}}))
        await ws.send_str(json.dumps({"type": "error", "data": "Invalid input"}))
        await ws.send_str(json.dumps({"type": "message", "data": "hello"}))
        await eventually(lambda: events.of(ServerMessage), what="the last message")
    payload = [e for e in events.events if not isinstance(e, Connected | GapFilled | Disconnected)]
    assert payload == [
        TicksReceived((LtpTick(408065, 157370),)),
        OrderUpdated(order),
        ServerError("Invalid input"),
        ServerMessage("hello"),
    ]
    assert len(fake.conns) == 1  # none of the odd frames cost the connection


async def test_reconnect_restores_every_subscription_in_its_mode_and_gap_fills(
    kite: tuple[FakeKite, str], session: aiohttp.ClientSession
) -> None:
    """After the server drops the socket the client reconnects, resubscribes by mode, gap-fills."""
    fake, url = kite
    fills: list[int] = []

    async def gap_fill() -> None:
        fills.append(len(fake.conns))

    config = fast(url)
    async with KiteTicker(API_KEY, TOKEN, session=session, gap_fill=gap_fill, config=config) as t:
        events = Collector(t)
        await t.subscribe([11, 12], Mode.FULL)
        await t.subscribe([21], Mode.LTP)
        await t.subscribe([31, 32], Mode.QUOTE)
        await t.set_mode(Mode.LTP, [12])
        await eventually(lambda: events.of(GapFilled), what="first gap-fill")
        fake.drop(fake.conns[0])
        await eventually(lambda: len(events.of(GapFilled)) == 2, what="gap-fill after reconnect")
        await eventually(lambda: len(fake.conns[1].received) == 6, what="resubscription")
        # The restored socket carries updates again.
        await fake.conns[1].ws.send_str(json.dumps({"type": "order", "data": {"order_id": "1"}}))
        await eventually(lambda: events.of(OrderUpdated), what="update on the new socket")

    assert fills == [1, 2]
    restored: dict[int, str] = {}
    messages = fake.conns[1].received
    for subscribe, mode in zip(messages[::2], messages[1::2], strict=True):
        assert subscribe == {"a": "subscribe", "v": mode["v"][1]}
        restored |= dict.fromkeys(mode["v"][1], mode["v"][0])
    assert restored == {11: "full", 12: "ltp", 21: "ltp", 31: "quote", 32: "quote"}
    assert [e.connection for e in events.of(Connected)] == [1, 2]
    assert events.of(Disconnected)[0].reason.startswith(("closed by server", "socket error"))


async def test_heartbeat_watchdog_reconnects_when_the_server_goes_silent(
    kite: tuple[FakeKite, str], session: aiohttp.ClientSession
) -> None:
    """Heartbeats keep the link; silence longer than heartbeat_timeout forces a reconnect."""
    fake, url = kite
    fake.heartbeat_interval = 0.02
    config = fast(url, heartbeat_timeout=0.25)
    async with KiteTicker(API_KEY, TOKEN, session=session, config=config) as ticker:
        events = Collector(ticker)
        await eventually(lambda: events.of(Connected), what="connected")
        # Fifty heartbeats span five watchdog periods: a live link must not be cut.
        await eventually(lambda: fake.heartbeats_sent >= 50, what="fifty heartbeats")
        assert len(fake.conns) == 1
        fake.silent = True
        await eventually(lambda: len(fake.conns) == 2, what="watchdog reconnect")
        fake.silent = False
        await eventually(lambda: len(events.of(Connected)) == 2, what="second connection")
    assert "heartbeat watchdog" in events.of(Disconnected)[0].reason


async def test_a_403_on_upgrade_raises_a_token_error_and_stops(
    kite: tuple[FakeKite, str], session: aiohttp.ClientSession
) -> None:
    """A refused upgrade ends the event stream with TickerTokenError and no retry."""
    fake, url = kite
    with structlog.testing.capture_logs() as logs:
        ticker = KiteTicker(API_KEY, "expired-token", session=session, config=fast(url))
        async with ticker:
            with pytest.raises(TickerTokenError) as exc_info:
                async for _ in ticker.events():
                    pass
            assert ticker.state is TickerState.FAILED
            with pytest.raises(TickerTokenError) as waited:
                await ticker.wait()
    assert waited.value is exc_info.value
    assert fake.refused == 1
    assert "403" in str(exc_info.value)
    assert isinstance(exc_info.value, TokenException)  # one re-login path for REST and WS
    assert isinstance(exc_info.value, BrokerAuthError)
    assert exc_info.value.http_status == 403
    assert exc_info.value.__cause__ is None  # aiohttp's error would print the credentialed URL
    assert exc_info.value.__suppress_context__
    assert "expired-token" not in str(exc_info.value) + repr(ticker) + repr(logs)
    with pytest.raises(RuntimeError) as closed:
        await ticker.subscribe([1])
    assert "failed" in str(closed.value)


async def test_secrets_stay_out_of_repr_and_logs(
    kite: tuple[FakeKite, str], session: aiohttp.ClientSession
) -> None:
    """Neither the access token nor the credentialed URL appears in repr or log events."""
    fake, url = kite
    with structlog.testing.capture_logs() as logs:
        async with KiteTicker(API_KEY, TOKEN, session=session, config=fast(url)) as ticker:
            events = Collector(ticker)
            await eventually(lambda: events.of(Connected), what="connected")
            fake.drop(fake.conns[0])
            await eventually(lambda: len(events.of(Connected)) == 2, what="reconnected")
            text = repr(ticker)
    assert logs, "the reconnect should have been logged"
    assert TOKEN not in text + repr(logs)
    assert "access_token" not in text + repr(logs)


def test_ticker_errors_live_in_the_adapter_error_tree() -> None:
    """The ticker's fatal errors are the ones errors.py defines, under KiteError."""
    for name in ("TickerError", "TickerTokenError", "TickerGaveUpError"):
        assert getattr(kite_ticker, name) is getattr(kite_errors, name)
        assert name in kite_errors.__all__
    assert issubclass(kite_errors.TickerError, KiteError)
    assert issubclass(TickerTokenError, TokenException)
    assert issubclass(TickerGaveUpError, BrokerUnavailable)


async def test_gives_up_after_max_reconnects_when_nothing_listens(
    session: aiohttp.ClientSession,
) -> None:
    """With no server on the port the client retries max_reconnects times, then stops typed."""
    probe = TestServer(web.Application(), host="127.0.0.1", port=0)
    await probe.start_server()
    url = str(probe.make_url("/")).replace("http://", "ws://")
    await probe.close()  # the port is now (almost certainly) closed
    config = fast(url, max_reconnects=2)
    async with KiteTicker(API_KEY, TOKEN, session=session, config=config) as ticker:
        events = Collector(ticker)
        await events.stop()
    assert isinstance(events.error, TickerGaveUpError)
    assert len(events.of(Disconnected)) == 3
    assert all(e.reason.startswith("connect failed") for e in events.of(Disconnected))


async def test_a_failing_gap_fill_is_retried_while_ticks_keep_flowing(
    kite: tuple[FakeKite, str], session: aiohttp.ClientSession
) -> None:
    """A gap-fill that meets a broker outage is reported and retried on the same connection
    until it succeeds."""
    fake, url = kite
    calls = 0

    async def flaky_gap_fill() -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise BrokerUnavailable("REST down", http_status=503)

    config = fast(url)
    async with KiteTicker(
        API_KEY, TOKEN, session=session, gap_fill=flaky_gap_fill, config=config
    ) as t:
        events = Collector(t)
        await eventually(lambda: events.of(GapFilled), what="gap-fill success")
    assert [type(e.error) for e in events.of(GapFillFailed)] == [BrokerUnavailable] * 2
    assert events.of(GapFilled) == [GapFilled(1)]
    assert len(fake.conns) == 1


async def test_a_refused_gap_fill_is_not_retried_and_the_link_stays(
    kite: tuple[FakeKite, str], session: aiohttp.ClientSession
) -> None:
    """A gap-fill the broker refuses (a dead token) is reported once and not tried again on
    that connection, which keeps streaming."""
    fake, url = kite
    calls = 0

    async def refused_gap_fill() -> None:
        nonlocal calls
        calls += 1
        raise BrokerAuthError("Token expired", http_status=403)

    async with KiteTicker(
        API_KEY, TOKEN, session=session, gap_fill=refused_gap_fill, config=fast(url)
    ) as t:
        events = Collector(t)
        await eventually(lambda: events.of(GapFillFailed), what="the refusal reported")
        await fake.conns[0].ws.send_bytes(ltp_frame(408065, 157370))
        await eventually(lambda: events.of(TicksReceived), what="ticks after the refusal")
    assert calls == 1
    assert [type(e.error) for e in events.of(GapFillFailed)] == [BrokerAuthError]
    assert events.of(GapFilled) == []
    assert len(fake.conns) == 1


async def test_reconnect_waits_grow_from_the_config_to_its_cap(
    session: aiohttp.ClientSession, ticker_waits: list[RetryDetails]
) -> None:
    """Failed connections wait backoff_initial, then backoff_factor times more each time,
    never more than backoff_max, with at most backoff_jitter x backoff_initial added."""
    probe = TestServer(web.Application(), host="127.0.0.1", port=0)
    await probe.start_server()
    url = str(probe.make_url("/")).replace("http://", "ws://")
    await probe.close()
    config = fast(
        url,
        backoff_initial=0.01,
        backoff_factor=2.0,
        backoff_max=0.04,
        backoff_jitter=0.5,
        max_reconnects=4,
    )
    async with KiteTicker(API_KEY, TOKEN, session=session, config=config) as ticker:
        events = Collector(ticker)
        await events.stop()
    assert isinstance(events.error, TickerGaveUpError)
    assert len(events.of(Disconnected)) == 5
    waits = [details.wait_for for details in ticker_waits]
    assert len(waits) == 4  # five attempts, a wait between each two
    for wait, base in zip(waits, [0.01, 0.02, 0.04, 0.04], strict=True):
        # wait_for is a difference of float sums: allow rounding at both ends.
        assert base - 1e-9 <= wait <= min(base + 0.005, 0.04) + 1e-9


async def test_a_dropped_connection_waits_backoff_initial_before_reconnecting(
    kite: tuple[FakeKite, str], session: aiohttp.ClientSession, ticker_waits: list[RetryDetails]
) -> None:
    """The drop counts as the outage's first failure: the reconnection waits backoff_initial,
    so a server that closes at once cannot make the client spin."""
    fake, url = kite
    config = fast(url, backoff_initial=0.05, backoff_max=1.0, backoff_jitter=0.0)
    async with KiteTicker(API_KEY, TOKEN, session=session, config=config) as ticker:
        events = Collector(ticker)
        await eventually(lambda: events.of(Connected), what="connected")
        fake.drop(fake.conns[0])
        await eventually(lambda: len(events.of(Connected)) == 2, what="reconnected")
    (waited,) = ticker_waits
    assert waited.wait_for == pytest.approx(0.05)
    assert str(waited.caused_by).startswith(("ticker: closed by server", "ticker: socket error"))


def test_decode_text_handles_odd_payloads() -> None:
    """Non-string error data is stringified; unknown types and non-objects are ignored."""
    assert decode_text(json.dumps({"type": "error", "data": {"code": 1}})) == ServerError(
        '{"code": 1}'
    )
    assert decode_text(json.dumps({"type": "quux", "data": "x"})) is None
    assert decode_text("[1, 2]") is None
    assert decode_text(json.dumps({"type": "order", "data": "oops"})) is None


def test_config_rejects_nonsense() -> None:
    """A non-positive heartbeat timeout is refused at construction."""
    with pytest.raises(ValueError, match="positive") as exc_info:
        TickerConfig(heartbeat_timeout=0)
    assert "positive" in str(exc_info.value)


async def test_subscription_arguments_are_validated(session: aiohttp.ClientSession) -> None:
    """Tokens must be uint32 ints, mode changes need a subscription, and 3000 is the ceiling."""
    ticker = KiteTicker(API_KEY, TOKEN, session=session, config=fast("ws://127.0.0.1:9"))
    with pytest.raises(ValueError, match="32-bit") as negative:
        await ticker.subscribe([-1])
    with pytest.raises(ValueError, match="not subscribed") as unknown:
        await ticker.set_mode(Mode.FULL, [5])
    with pytest.raises(ValueError, match="3000") as too_many:
        await ticker.subscribe(range(3001))
    assert "32-bit" in str(negative.value)
    assert "not subscribed" in str(unknown.value)
    assert "3000" in str(too_many.value)
    assert ticker.subscriptions == {}
