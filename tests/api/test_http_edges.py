"""HTTP's own refusals in the API's shape: a 405 lists the methods the path takes, a body that
is not JSON is a 400 saying so (the same on the signal fast path and on FastAPI's route), and a
body over the app's limit is a 413 found while it is read, never buffered whole."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from starlette.types import Message, Scope

from orderdesk.api import create_app
from orderdesk.api.app import MAX_BODY
from orderdesk.api.signal_path import MAX_BODY as SIGNAL_PATH_BODY
from tests.api.conftest import AUTH, TOKEN, Api
from tests.api.fakes import FakeDesk

SIGNAL: dict[str, Any] = {
    "instrument": "NSE:INFY",
    "side": "BUY",
    "quantity": 10,
    "order_type": "LIMIT",
    "product": "CNC",
    "price": "1500.05",
}
JSON = {"Content-Type": "application/json"}
CHUNK = 4096


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/signals", "POST"),
        ("DELETE", "/api/kill-switch", "GET, POST"),
        ("POST", "/api/orders/o-1", "GET, PATCH, DELETE"),
        ("POST", "/api/gtt/gtt-1", "GET, PUT, DELETE"),
        ("DELETE", "/api/orders", "GET"),
        ("PUT", "/api/orders/cancel-all", "POST"),  # not an order id: the literal path's
    ],
)
async def test_a_405_lists_the_methods_the_path_takes(
    api: Api, method: str, path: str, allowed: str
) -> None:
    """``Allow`` names every method the path's routes take (RFC 9110), each separate route
    included (GET, PATCH and DELETE of an order are three), those of the most literal path
    where several match; it was empty."""
    async with api.client.request(method, path) as response:
        assert response.status == 405
        assert response.headers["Allow"] == allowed
        assert (await response.json())["error"] == "method_not_allowed"


async def test_each_method_a_405_allows_is_taken(api: Api) -> None:
    """What ``Allow`` lists is true: those methods reach a route (no 405)."""
    async with api.client.delete("/api/kill-switch") as response:
        allowed = response.headers["Allow"].split(", ")
    for method in allowed:
        body = {"engaged": False} if method == "POST" else None
        async with api.client.request(method, "/api/kill-switch", json=body) as response:
            assert response.status == 200, method


@pytest.mark.parametrize(
    ("path", "body", "position"),
    [
        ("/api/kill-switch", b'{"engaged": ,}', 12),
        ("/api/signals", b'{"instrument": "NSE:INFY", "side": BUY}', 35),
        ("/api/session", b"{", 1),
    ],
)
async def test_a_body_that_is_not_json_is_a_400_saying_so(
    api: Api, path: str, body: bytes, position: int
) -> None:
    """A syntax error is a 400 ``invalid_json`` naming where parsing stopped, with no field:
    it was a 422 reporting the character position as a field."""
    async with api.client.post(path, data=body, headers=JSON) as response:
        assert response.status == 400
        answer = await response.json()
    assert answer["error"] == "invalid_json"
    assert answer["message"].startswith("the body is not valid JSON: ")
    assert answer["message"].endswith(f" at character {position}")
    assert answer["fields"] == []


async def test_well_formed_json_that_fails_validation_stays_a_422(api: Api) -> None:
    """JSON that parses but is not what the route takes is still a 422 naming the field."""
    async with api.client.post("/api/kill-switch", json={"engaged": "maybe"}) as response:
        assert response.status == 422
        answer = await response.json()
    assert [f["field"] for f in answer["fields"]] == ["engaged"]


async def test_the_signal_fast_path_answers_a_bad_body_as_the_route_does(api: Api) -> None:
    """The same unparseable signal, taken by the fast path (plain ``application/json``) and by
    FastAPI's route (a charset in the content type), gets the same answer byte for byte."""
    answers = []
    for content_type in ("application/json", "application/json; charset=utf-8"):
        async with api.client.post(
            "/api/signals", data=b'{"side": "BUY",}', headers={"Content-Type": content_type}
        ) as response:
            headers = [(k, v) for k, v in response.raw_headers if k != b"date"]
            answers.append((response.status, headers, await response.read()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 400
    assert api.desk.submitted == []


def padded_signal(size: int) -> bytes:
    """A valid signal, padded with whitespace to ``size`` bytes."""
    text = json.dumps(SIGNAL).encode()
    return text[:-1] + b" " * (size - len(text)) + b"}"


async def chunked(body: bytes) -> AsyncIterator[bytes]:
    """``body`` in pieces: aiohttp sends it without Content-Length (chunked)."""
    for start in range(0, len(body), CHUNK):
        yield body[start : start + CHUNK]


async def test_a_signal_up_to_the_limit_is_taken(api: Api) -> None:
    """A body of exactly the limit is read and placed (past the fast path's own bound, so
    FastAPI's route reads it), with or without Content-Length."""
    assert MAX_BODY > SIGNAL_PATH_BODY
    body = padded_signal(MAX_BODY)
    async with api.client.post("/api/signals", data=body, headers=JSON) as response:
        assert response.status == 201, await response.text()
    async with api.client.post("/api/signals", data=chunked(body), headers=JSON) as response:
        assert response.status == 201, await response.text()


@pytest.mark.parametrize("path", ["/api/signals", "/api/kill-switch", "/api/session"])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_body_one_byte_over_the_limit_is_a_413(api: Api, path: str, framing: str) -> None:
    """One byte over the limit is refused with 413 in the API's shape, declared in advance or
    sent chunked; the connection is closed rather than read on."""
    body = padded_signal(MAX_BODY + 1)
    data: bytes | AsyncIterator[bytes] = body if framing == "content-length" else chunked(body)
    # A session of its own: the server closes the connection after the 413.
    async with (
        aiohttp.ClientSession(base_url=api.server.url, headers=AUTH) as session,
        session.post(path, data=data, headers=JSON) as response,
    ):
        assert response.status == 413
        assert response.headers["Connection"] == "close"
        answer = await response.json()
    assert answer["error"] == "content_too_large"
    assert str(MAX_BODY) in answer["message"]
    assert api.desk.submitted == []


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {TOKEN}".encode()),
            *headers,
        ],
        "server": ("127.0.0.1", 8700),
        "client": ("127.0.0.1", 50000),
    }


async def _answer_to_a_stream(
    desk: FakeDesk, path: str, headers: list[tuple[bytes, bytes]], total: int
) -> tuple[int, int]:
    """The app's status for a body of ``total`` bytes offered a chunk at a time, and how many
    bytes it took from the stream before answering."""
    app = create_app(desk, token=TOKEN)
    taken = 0

    async def receive() -> Message:
        nonlocal taken
        if taken >= total:
            return {"type": "http.disconnect"}
        taken += CHUNK
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": taken < total}

    statuses: list[int] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(_scope(path, headers), receive, send)
    return statuses[0], taken


@pytest.mark.parametrize("path", ["/api/signals", "/api/kill-switch"])
async def test_a_chunked_body_is_refused_while_it_is_read(desk: FakeDesk, path: str) -> None:
    """Of a 2 MiB body sent without Content-Length, the app takes no more than the limit and
    one chunk before its 413: it is not buffered whole (a 200 MB one was)."""
    status, taken = await _answer_to_a_stream(desk, path, [], 2 * 1024 * 1024)
    assert status == 413
    assert taken <= MAX_BODY + CHUNK


@pytest.mark.parametrize("path", ["/api/signals", "/api/kill-switch", "/api/reconcile"])
async def test_a_declared_length_over_the_limit_is_refused_unread(
    desk: FakeDesk, path: str
) -> None:
    """A Content-Length over the limit is refused before a byte of the body is taken, on a
    route that reads a body or not."""
    headers = [(b"content-length", str(200 * 1024 * 1024).encode())]
    status, taken = await _answer_to_a_stream(desk, path, headers, 2 * 1024 * 1024)
    assert (status, taken) == (413, 0)
