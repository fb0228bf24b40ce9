"""The REST client's own HTTP/1.1 transport (:mod:`orderdesk.wire`) against raw
loopback servers started here: what goes on the wire, keep-alive and its limits, the framings a
reply can have, and which failures may have sent the request (``maybe_sent``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
import uvloop

from orderdesk.brokers.kite import routes as r
from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.errors import KiteTimeout, KiteTransportError
from orderdesk.brokers.kite.http import origin
from orderdesk.errors import UnknownOutcome
from orderdesk.wire import ConnectFailed, ConnectionBroken, ConnectTimeout, Origin
from tests.kite.conftest import API_KEY, kite_config
from tests.kite.test_rest_send_path import CLIENT_ID, _market_buy
from tests.support import eventually

OK = b'{"status": "success", "data": []}'
PLACED = b'{"status": "success", "data": {"order_id": "250101000000001"}}'


@dataclass
class Request:
    line: str
    headers: dict[str, str]
    body: bytes
    connection: int
    """Which accepted connection (0, 1, ...) carried it."""


Answer = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


def reply(body: bytes = OK, *, extra: str = "", status: str = "200 OK") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


async def ok(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(reply())


@dataclass
class Server:
    """Answers each request with the next scripted answer (the last repeats)."""

    answers: list[Answer] = field(default_factory=lambda: [ok])
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    root: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                line, *rest = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (h.partition(":") for h in rest if h)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(line, headers, body, number)
                self.requests.append(request)
                answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
                await answer(request, writer)
                if writer.is_closing():
                    return
                await writer.drain()
        except ConnectionError:
            return
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[Server]:
    state = Server()
    listener = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.root = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    async with listener:
        yield state
        listener.close()


@contextlib.asynccontextmanager
async def pool_for(server: Server) -> AsyncIterator[Origin]:
    pool = origin(kite_config(server.root))
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serving() as state:
        yield state


@pytest.fixture
async def wire(server: Server) -> AsyncIterator[Origin]:
    async with pool_for(server) as pool:
        yield pool


HEADERS = {"X-Kite-Version": "3"}


def kite_route(method: str, path: str) -> r.Route:
    return r.Route("probe", method, path)


async def test_one_connection_carries_many_requests(server: Server, wire: Origin) -> None:
    """Keep-alive: twenty exchanges in turn, one TCP connection."""
    for _ in range(20):
        answer = await wire.request("GET", "/orders", HEADERS)
        assert (answer.status, answer.body) == (200, OK)
    assert server.connections == 1
    assert wire.connections_opened == 1


async def test_the_request_on_the_wire(server: Server) -> None:
    """Request line, Host, query pairs and the form and JSON bodies, as Kite expects them."""
    async with KiteRestClient(kite_config(server.root), access_token="tok") as kite:
        await kite._call(
            kite_route("GET", "/quote/ltp"), params=[("i", "NSE:INFY"), ("i", "BSE:SBIN X")]
        )
        await kite._call(kite_route("POST", "/gtt/triggers"), form={"a": "1 2", "b": "&"})
        await kite._call(kite_route("PUT", "/basket"), body={"x": [1, "y"]})
    get, form, body = server.requests
    port = server.root.rsplit(":", 1)[1]
    assert get.line == "GET /quote/ltp?i=NSE%3AINFY&i=BSE%3ASBIN+X HTTP/1.1"
    assert get.headers["host"] == f"127.0.0.1:{port}"
    assert get.headers["authorization"] == f"token {API_KEY}:tok"
    assert get.body == b""
    assert form.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form.body == b"a=1+2&b=%26"
    assert body.headers["content-type"] == "application/json"
    assert json.loads(body.body) == {"x": [1, "y"]}
    assert server.connections == 1


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    server: Server, wire: Origin
) -> None:
    """The server closes after its reply (keep-alive notwithstanding): the next request goes
    out once, on a new connection, and succeeds."""

    async def then_close(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(reply())
        await writer.drain()
        writer.close()

    server.answers = [then_close, ok]
    assert (await wire.request("GET", "/orders", HEADERS)).status == 200
    await eventually(lambda: wire.connections_opened == 0, what="the client saw the EOF")
    assert (await wire.request("GET", "/orders", HEADERS)).status == 200
    assert [r.connection for r in server.requests] == [0, 1]


async def test_chunked_reply_then_keep_alive(server: Server, wire: Origin) -> None:
    """A chunked body arriving in pieces is whole; the connection is reused afterwards."""

    async def chunked(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\n"
            b"Transfer-Encoding: chunked\r\nDate: Fri, 04 Dec 2026 09:15:00 GMT\r\n\r\n"
        )
        for piece in (b"instrument_token,", b"tradingsymbol\n", b"408065,INFY\n"):
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    server.answers = [chunked, ok]
    answer = await wire.request("GET", "/instruments", HEADERS)
    assert answer.body == b"instrument_token,tradingsymbol\n408065,INFY\n"
    assert answer.content_type == "text/csv"
    assert answer.date == "Fri, 04 Dec 2026 09:15:00 GMT"
    assert (await wire.request("GET", "/orders", HEADERS)).body == OK
    assert server.connections == 1


async def test_connection_close_is_honoured(server: Server, wire: Origin) -> None:
    """``Connection: close`` from the server: the reply is read, the connection dropped at once
    (not left for the server to close), and the next request opens another."""

    async def closing(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(reply(extra="Connection: close\r\n"))

    server.answers = [closing, ok]
    assert (await wire.request("GET", "/orders", HEADERS)).body == OK
    assert wire.connections_opened == 0
    assert (await wire.request("GET", "/orders", HEADERS)).body == OK
    assert [r.connection for r in server.requests] == [0, 1]


async def test_a_reply_without_length_ends_with_the_connection(
    server: Server, wire: Origin
) -> None:
    """No Content-Length and not chunked: the body is what comes until EOF; a reply without
    Content-Type is ``application/octet-stream`` (as aiohttp named it)."""

    async def to_eof(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\n\r\n<html>gone</html>")
        await writer.drain()
        writer.close()

    server.answers = [to_eof]
    answer = await wire.request("GET", "/orders", HEADERS)
    assert (answer.status, answer.body) == (502, b"<html>gone</html>")
    assert answer.content_type == "application/octet-stream"
    assert wire.connections_opened == 0


async def test_refused_connection_sent_nothing(unused_tcp_port: int) -> None:
    """Nothing listens: ConnectFailed on the wire, ``maybe_sent=False`` for the desk."""
    root = f"http://127.0.0.1:{unused_tcp_port}"
    pool = origin(kite_config(root))
    with pytest.raises(ConnectFailed):
        await pool.request("GET", "/orders", HEADERS)
    await pool.close()
    async with KiteRestClient(kite_config(root), access_token="tok") as kite:
        with pytest.raises(KiteTransportError) as exc_info:
            await kite.place_order(_market_buy())
    assert exc_info.value.maybe_sent is False
    assert not isinstance(exc_info.value, UnknownOutcome)


@contextlib.contextmanager
def _unanswered_port() -> Iterator[int]:
    """A loopback port whose listener's queue is full: a connection attempt to it is never
    answered (Linux drops the handshake), as with a host that is down."""
    with socket.socket() as listener, socket.socket() as queued:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        queued.connect(("127.0.0.1", port))  # fills the queue of one; never accepted
        yield port


async def test_a_connection_that_never_opens_times_out_having_sent_nothing() -> None:
    """The handshake is never answered: ConnectTimeout on the wire once the connect timeout
    has passed, and for the desk a placement that provably did not happen (``maybe_sent``
    False, not an UnknownOutcome), so it can be sent again without waiting for a late one."""
    with _unanswered_port() as port:
        config = kite_config(f"http://127.0.0.1:{port}", connect_timeout_seconds=0.2)
        pool = origin(config)
        with pytest.raises(ConnectTimeout):
            await pool.request("GET", "/orders", HEADERS)
        await pool.close()
        async with KiteRestClient(config, access_token="tok") as kite:
            with pytest.raises(KiteTimeout) as exc_info:
                await kite.place_order(_market_buy())
    assert exc_info.value.maybe_sent is False
    assert not isinstance(exc_info.value, UnknownOutcome)
    assert "could not connect to Kite within 0.2s" in str(exc_info.value)


async def test_a_reply_that_never_comes_may_have_been_acted_on(server: Server) -> None:
    """The request was read and never answered: KiteTimeout, maybe sent (UnknownOutcome for a
    placement), sent once; the connection it hung on is not reused."""
    answered = asyncio.Event()

    async def silent(request: Request, writer: asyncio.StreamWriter) -> None:
        answered.set()
        await asyncio.Event().wait()  # held until the server's task is cancelled

    server.answers = [silent, ok]
    async with KiteRestClient(kite_config(server.root, timeout_seconds=0.3)) as kite:
        kite.set_access_token("tok")
        with pytest.raises(UnknownOutcome) as exc_info:
            await kite.place_order(_market_buy())
        assert isinstance(exc_info.value.__cause__, KiteTimeout)
        assert exc_info.value.tag == CLIENT_ID
        assert answered.is_set()
        assert len(server.requests) == 1
        assert kite._wire is not None
        assert kite._wire.connections_opened == 0


async def test_a_reset_mid_reply_may_have_been_acted_on(server: Server) -> None:
    """Half a reply, then a TCP reset: a transport error that may have been sent."""

    async def reset(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(reply(PLACED)[:-10])
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server.answers = [reset]
    pool = origin(kite_config(server.root))
    with pytest.raises(ConnectionBroken):
        await pool.request("POST", "/orders/regular", HEADERS, b"a=1")
    await pool.close()
    async with KiteRestClient(kite_config(server.root), access_token="tok") as kite:
        with pytest.raises(UnknownOutcome) as exc_info:
            await kite.place_order(_market_buy())
    cause = exc_info.value.__cause__
    assert isinstance(cause, KiteTransportError)
    assert cause.maybe_sent is True
    assert len(server.requests) == 2


async def test_eof_before_a_complete_reply_may_have_been_acted_on(server: Server) -> None:
    """The server reads the request and closes without a word: maybe sent, not retried."""

    async def hang_up(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server.answers = [hang_up, ok]
    async with KiteRestClient(kite_config(server.root), access_token="tok") as kite:
        with pytest.raises(UnknownOutcome):
            await kite.place_order(_market_buy())
    assert len(server.requests) == 1


async def test_requests_at_once_each_get_a_connection(server: Server, wire: Origin) -> None:
    """Concurrent requests never share a connection; afterwards all of them are kept alive."""
    gate = asyncio.Event()
    arrived = 0

    async def together(request: Request, writer: asyncio.StreamWriter) -> None:
        nonlocal arrived
        arrived += 1
        if arrived == 3:
            gate.set()
        await gate.wait()
        writer.write(reply(request.line.encode()[:12]))

    server.answers = [together, together, together, ok]
    answers = await asyncio.gather(*(wire.request("GET", "/orders", HEADERS) for _ in range(3)))
    assert [a.body for a in answers] == [b"GET /orders "] * 3
    assert server.connections == 3
    assert wire.connections_opened == 3
    await wire.request("GET", "/orders", HEADERS)
    assert server.connections == 3


@pytest.mark.parametrize(
    "scenario",
    [
        test_one_connection_carries_many_requests,
        test_a_connection_the_server_closed_while_idle_is_not_reused,
        test_chunked_reply_then_keep_alive,
        test_connection_close_is_honoured,
        test_a_reply_without_length_ends_with_the_connection,
        test_requests_at_once_each_get_a_connection,
    ],
    ids=lambda fn: fn.__name__.removeprefix("test_"),
)
def test_on_uvloop(scenario: Callable[[Server, Origin], Awaitable[None]]) -> None:
    """The daemon runs on uvloop, whose transports behave differently (``connection_made``
    may come after ``create_connection`` returned): the pool's scenarios hold there too."""

    async def run() -> None:
        async with serving() as server, pool_for(server) as pool:
            await scenario(server, pool)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run())


async def test_a_connection_idle_past_the_keepalive_is_not_reused(server: Server) -> None:
    """Idle longer than the keep-alive (0 s here; 15 s by default), a connection is closed
    rather than trusted: a middlebox may have dropped it without a word."""
    pool = Origin(server.root, connect_timeout=1.0, keepalive=0.0)
    try:
        for _ in range(3):
            assert (await pool.request("GET", "/orders", HEADERS)).body == OK
        assert [r.connection for r in server.requests] == [0, 1, 2]
        assert pool.connections_opened == 1
    finally:
        await pool.close()
