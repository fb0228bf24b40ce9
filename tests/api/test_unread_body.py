"""A body sent to a route that takes none is refused, not ignored: 400 within the app's limit and
413 beyond it, the same whether its length is declared or it comes chunked, and the kept-alive
connection carries the next request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from orderdesk.api import create_app, serve_api
from orderdesk.api.app import MAX_BODY
from orderdesk.api.server import ApiServer
from tests.api.conftest import AUTH, TOKEN, Api
from tests.api.fakes import FakeDesk

SIGNAL = (
    b'{"instrument": "NSE:INFY", "side": "BUY", "quantity": 10, "order_type": "LIMIT", '
    b'"product": "CNC", "price": "1500.05"}'
)
BODY = b'{"cancel": false}'
HEALTH = b"GET /api/health HTTP/1.1\r\nHost: desk\r\nAuthorization: Bearer " + TOKEN.encode()
HEALTH += b"\r\n\r\n"


def request(method: str, path: str, body: bytes | None, framing: str = "content-length") -> bytes:
    """One HTTP/1.1 request with the token; ``body`` None sends no body framing at all."""
    head = f"{method} {path} HTTP/1.1\r\nHost: desk\r\nAuthorization: Bearer {TOKEN}\r\n"
    if body is None:
        return head.encode() + b"\r\n"
    if framing == "content-length":
        return head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body
    pieces = b"%x\r\n%s\r\n" % (len(body), body) if body else b""
    return head.encode() + b"Transfer-Encoding: chunked\r\n\r\n" + pieces + b"0\r\n\r\n"


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of one response (the API's answers here carry Content-Length)."""
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) != b"\r\n":
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def on_one_connection(server: ApiServer, *requests: bytes) -> list[tuple[int, bytes]]:
    """The answers to ``requests``, sent back to back on one kept-alive connection."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        async with asyncio.timeout(10):  # a bound on a hang, not a wait
            writer.write(b"".join(requests))
            await writer.drain()
            return [await read_response(reader) for _ in requests]
    finally:
        writer.close()
        await writer.wait_closed()


async def placed_order(api: Api) -> str:
    headers = {"Content-Type": "application/json"}
    async with api.client.post("/api/signals", data=SIGNAL, headers=headers) as response:
        assert response.status == 201, await response.text()
        order_id: str = (await response.json())["order"]["order_id"]
    return order_id


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/orders"), ("POST", "/api/reconcile"), ("GET", "/api/health")],
)
async def test_a_body_on_a_route_that_takes_none_is_a_400(
    api: Api, method: str, path: str, framing: str
) -> None:
    """A body sent to a route that reads none is refused with 400 naming the route, declared
    or chunked alike, and the next request on the connection is answered as usual."""
    answers = await on_one_connection(api.server, request(method, path, BODY, framing), HEALTH)
    (status, body), (next_status, _) = answers
    assert status == 400, body
    assert b'"error":"bad_request"' in body
    assert f"{method} {path} takes no request body".encode() in body
    assert next_status == 200
    assert api.desk.reconciled is None  # the refused reconcile did not run


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_cancel_with_a_body_cancels_nothing(api: Api, framing: str) -> None:
    """``DELETE /api/orders/{id}`` with a body is refused before the route runs: the order
    stays open, where before the body was dropped and the order cancelled."""
    order_id = await placed_order(api)
    path = f"/api/orders/{order_id}"
    refused, after = await on_one_connection(
        api.server, request("DELETE", path, BODY, framing), request("GET", path, None)
    )
    assert refused[0] == 400, refused[1]
    assert after[0] == 200
    assert b'"status":"OPEN"' in after[1]
    assert api.desk.order(order_id).is_working


@pytest.mark.parametrize(
    "sent",
    [
        request("GET", "/api/health", b"", "content-length"),
        request("GET", "/api/health", b"", "chunked"),
        request("GET", "/api/health", None),
    ],
    ids=["content-length-0", "empty-chunked", "no-body"],
)
async def test_an_empty_body_is_no_body(api: Api, sent: bytes) -> None:
    """``Content-Length: 0`` or a chunked body with no bytes is taken as no body."""
    [(status, body)] = await on_one_connection(api.server, sent)
    assert status == 200, body


async def chunked(body: bytes) -> AsyncIterator[bytes]:
    """``body`` in pieces: aiohttp sends it without Content-Length (chunked)."""
    for start in range(0, len(body), 4096):
        yield body[start : start + 4096]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_body_over_the_limit_on_a_route_that_takes_none_is_a_413(
    api: Api, framing: str
) -> None:
    """Over the app's limit the answer is the limit's 413, for a chunked body as for a
    declared one (a chunked one was answered 200 and left to the server to drain)."""
    body = b" " * (MAX_BODY + 1)
    data: bytes | AsyncIterator[bytes] = body if framing == "content-length" else chunked(body)
    # A session of its own: the server closes the connection after the 413.
    async with (
        aiohttp.ClientSession(base_url=api.server.url, headers=AUTH) as session,
        session.get("/api/health", data=data) as response,
    ):
        assert response.status == 413
        assert (await response.json())["error"] == "content_too_large"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_route_that_reads_the_request_itself_keeps_its_body(framing: str) -> None:
    """A webhook's endpoint reads the raw body itself (it declares none to FastAPI), so its
    body is delivered, not refused."""
    received: list[bytes] = []

    async def postback(body: bytes) -> tuple[int, str]:
        received.append(body)
        return 200, "ok"

    app = create_app(FakeDesk(), token=TOKEN, webhooks={"kite": postback})
    async with await serve_api(app) as server:
        sent = request("POST", "/webhooks/kite", BODY, framing)
        [(status, answer)] = await on_one_connection(server, sent)
    assert (status, answer) == (200, b"ok")
    assert received == [BODY]
