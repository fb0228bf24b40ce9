"""A request body that stops arriving is answered 408 and its connection closed, on the signal
fast path and on FastAPI's routes alike, while a body that has arrived is never timed again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from orderdesk.api import body_timeout, create_app, serve_api
from orderdesk.api.body_timeout import BodyTimeout
from orderdesk.api.server import ApiServer
from tests.api.conftest import TOKEN
from tests.api.fakes import FakeDesk

STALL_SECONDS = 0.2
TIMED_OUT = {
    "error": "request_timeout",
    "message": "the request body did not arrive within 0.2 s; send it again whole",
    "fields": [],
    "check": None,
}


@pytest.fixture
async def server(desk: FakeDesk, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ApiServer]:
    """The app over the fake desk on 127.0.0.1:0, waiting :data:`STALL_SECONDS` for a body."""
    monkeypatch.setattr(body_timeout, "BODY_TIMEOUT_SECONDS", STALL_SECONDS)
    async with await serve_api(create_app(desk, token=TOKEN)) as served:
        yield served


def _head(method: str, path: str, *framing: str) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: desk",
        f"Authorization: Bearer {TOKEN}",
        "Content-Type: application/json",
        *framing,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _stall(server: ApiServer, request: bytes) -> tuple[str, dict[str, str], Any]:
    """Send ``request`` (a body begun, never finished) and read until the server closes: the
    status line, the headers (names in lower case) and the JSON answer."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(5):
            answer = await reader.read()  # to the end: returns only once the server closes
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *header_lines = head.decode().split("\r\n")
    headers = {
        name.lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)
    }
    return status, headers, json.loads(body)


async def test_a_stalled_signal_body_is_answered_408_and_closed(
    server: ApiServer, desk: FakeDesk
) -> None:
    """A signal declaring 1,000 bytes and sending 10 (the signal path's read) gets 408
    ``request_timeout`` and the connection is closed; nothing reaches the desk."""
    request = _head("POST", "/api/signals", "Content-Length: 1000") + b'{"instrume'
    status, headers, answer = await _stall(server, request)
    assert status.startswith("HTTP/1.1 408 ")
    assert headers["connection"] == "close"
    assert answer == TIMED_OUT
    assert desk.screened == []


async def test_a_stalled_chunked_signal_body_is_answered_408(server: ApiServer) -> None:
    """A chunked body that stops after its first chunk is bounded as a declared one is."""
    request = _head("POST", "/api/signals", "Transfer-Encoding: chunked") + b'a\r\n{"instrume\r\n'
    status, headers, answer = await _stall(server, request)
    assert status.startswith("HTTP/1.1 408 ")
    assert headers["connection"] == "close"
    assert answer == TIMED_OUT


async def test_a_stalled_body_on_a_fastapi_route_is_answered_408(
    server: ApiServer, desk: FakeDesk
) -> None:
    """A route FastAPI serves (the kill switch) answers a stalled body 408 in the API's error
    shape, through the app's handler, and closes the connection; the switch is not moved."""
    request = _head("POST", "/api/kill-switch", "Content-Length: 1000") + b'{"engaged"'
    status, headers, answer = await _stall(server, request)
    assert status.startswith("HTTP/1.1 408 ")
    assert headers["connection"] == "close"
    assert answer == TIMED_OUT
    assert not desk.kill_switch().engaged


async def test_a_complete_body_is_not_timed_after_it_arrived() -> None:
    """Reads after the body is complete (a stream waiting for the client to leave) pass
    untimed: with a deadline already past, the wait for the disconnect still ends normally."""
    seen: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(await receive())  # the whole body, already there: no wait
        seen.append(await receive())  # waits, past the deadline, for the disconnect

    messages = iter(
        [{"type": "http.request", "body": b"{}", "more_body": False}, {"type": "http.disconnect"}]
    )

    async def receive() -> Message:
        if seen:
            for _ in range(3):
                await asyncio.sleep(0)  # suspends: a timed read would be cancelled here
        return next(messages)

    async def send(message: Message) -> None:
        raise AssertionError(f"nothing is answered: {message}")

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await BodyTimeout(app, seconds=0)(scope, receive, send)
    assert [m["type"] for m in seen] == ["http.request", "http.disconnect"]


async def test_a_body_that_waits_within_the_deadline_is_read_whole() -> None:
    """A read that has to wait for its part of the body (bounded) hands on each part as it
    arrives, and the request is carried out as without the bound."""
    loop = asyncio.get_running_loop()
    parts: list[Message] = [
        {"type": "http.request", "body": b'{"a": ', "more_body": True},
        {"type": "http.request", "body": b"1}", "more_body": False},
    ]
    read: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            read.append(message["body"])
            if not message["more_body"]:
                return

    async def receive() -> Message:
        arrived: asyncio.Future[Message] = loop.create_future()
        loop.call_soon(arrived.set_result, parts.pop(0))
        return await arrived  # suspends: the part comes on the loop's next turn

    async def send(message: Message) -> None:
        raise AssertionError(f"nothing is answered: {message}")

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await BodyTimeout(app, seconds=5)(scope, receive, send)
    assert read == [b'{"a": ', b"1}"]
