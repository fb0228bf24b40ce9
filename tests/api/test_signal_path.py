"""``POST /api/signals`` on its fast path: the same answers as FastAPI's route, which keeps
every request the path leaves alone, body and all."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from starlette.types import Message, Receive, Scope, Send

from orderdesk.api import routes_orders, signal_path
from orderdesk.api.auth import BearerToken
from orderdesk.api.context import ApiContext
from orderdesk.api.schemas import SignalIn, SubmitOut
from orderdesk.api.signal_path import MAX_BODY, SignalPath
from tests.api.conftest import TOKEN, Api

SIGNAL: dict[str, Any] = {
    "instrument": "NSE:INFY",
    "side": "BUY",
    "quantity": 10,
    "order_type": "LIMIT",
    "product": "CNC",
    "price": "1500.05",
    "strategy": "alpha",
    "signal_id": "s-1",
}

AUTH = f"Bearer {TOKEN}".encode()

Submit = Callable[[ApiContext, SignalIn], Awaitable[tuple[int, SubmitOut]]]


def counted(calls: list[str], name: str, submit: Submit) -> Submit:
    async def wrapper(context: ApiContext, body: SignalIn) -> tuple[int, SubmitOut]:
        calls.append(name)
        return await submit(context, body)

    return wrapper


def _headers(response: aiohttp.ClientResponse) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in response.raw_headers if name != b"date"]


async def test_the_fast_path_answers_as_the_route_does(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JSON signal is taken by the fast path; the same signal sent so that the path leaves
    it (a charset in its content type) is taken by FastAPI's route; both answer 201 with the
    same order and headers (but the date), byte for byte (both sent after a first sending, so
    both answer with the order it made)."""
    async with api.client.post("/api/signals", json=SIGNAL) as response:
        assert response.status == 201
    calls: list[str] = []
    monkeypatch.setattr(signal_path, "submit", counted(calls, "fast", signal_path.submit))
    monkeypatch.setattr(routes_orders, "submit", counted(calls, "route", routes_orders.submit))
    async with api.client.post("/api/signals", json=SIGNAL) as response:
        fast = (response.status, _headers(response), await response.read())
    async with api.client.post(
        "/api/signals",
        data=json.dumps(SIGNAL),
        headers={"Content-Type": "application/json; charset=utf-8"},
    ) as response:
        route = (response.status, _headers(response), await response.read())
    assert calls == ["fast", "route"]
    assert fast == route
    assert fast[0] == 201


async def test_a_query_string_is_left_to_fastapi(api: Api) -> None:
    """A signal with a query parameter goes to FastAPI, which refuses the parameter by name."""
    async with api.client.post("/api/signals?dry_run=1", json=SIGNAL) as response:
        assert response.status == 422
        body = await response.json()
    assert [f["field"] for f in body["fields"]] == ["dry_run"]


async def test_a_refusal_on_the_fast_path_is_the_apis_error(api: Api) -> None:
    """The desk's refusal of a signal taken by the fast path is the API's error answer."""
    async with api.client.post("/api/kill-switch", json={"engaged": True}) as response:
        assert response.status == 200
    async with api.client.post("/api/signals", json=SIGNAL) as response:
        assert response.status == 403
        body = await response.json()
    assert body["error"] == "risk_denied"


async def test_a_body_too_large_reaches_fastapi_whole() -> None:
    """A body larger than a signal can be, read in pieces, is handed on with every byte in
    order: what the path already read, then the rest."""
    padded = json.dumps(SIGNAL).encode()[:-1] + b" " * (2 * MAX_BODY) + b"}"
    pieces = [padded[i : i + 4096] for i in range(0, len(padded), 4096)]
    messages: list[Message] = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]

    async def receive() -> Message:
        return messages.pop(0)

    seen: list[bytes] = []

    async def behind(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            seen.append(message["body"])
            if not message["more_body"]:
                return

    async def send(message: Message) -> None:
        raise AssertionError("the path answered a request it should have handed on")

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/signals",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"authorization", AUTH)],
    }
    path = SignalPath(behind, context=None, token=BearerToken(TOKEN))  # type: ignore[arg-type]
    await path(scope, receive, send)
    assert b"".join(seen) == padded
    assert messages == []


async def test_a_signal_without_the_right_token_gets_the_apis_401(api: Api) -> None:
    """The path in front of the app checks the token as the app does: a well-formed signal
    with a wrong or no token gets the token middleware's 401, and reaches no desk."""
    async with api.anonymous.post("/api/nothing-here", json=SIGNAL) as response:
        expected = (response.status, response.headers["WWW-Authenticate"], await response.read())
    for headers in ({}, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": TOKEN}):
        async with api.anonymous.post("/api/signals", json=SIGNAL, headers=headers) as response:
            got = (response.status, response.headers["WWW-Authenticate"], await response.read())
        assert got == expected
    assert expected[0] == 401
    assert api.desk.submitted == []


async def test_a_price_in_exponent_form_is_read_as_fastapi_reads_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``1e2`` is ``json.loads``'s float 100.0, so the order's price is ``100.0`` on both
    paths (pydantic's own JSON parse would make it ``100``: the path must not use it)."""
    calls: list[str] = []
    monkeypatch.setattr(signal_path, "submit", counted(calls, "fast", signal_path.submit))
    body = json.dumps({**SIGNAL, "signal_id": "exp-1"}).replace('"1500.05"', "1e2")
    async with api.client.post(
        "/api/signals", data=body, headers={"Content-Type": "application/json"}
    ) as response:
        fast = await response.json()
    body = body.replace("exp-1", "exp-2")
    async with api.client.post(
        "/api/signals", data=body, headers={"Content-Type": "application/json; charset=utf-8"}
    ) as response:
        route = await response.json()
    assert calls == ["fast"]
    assert fast["order"]["price"] == route["order"]["price"] == "100.0"


async def test_an_unexpected_failure_gets_the_apps_500(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug behind the path, in front of Starlette's error middleware, still gets the answer
    that middleware gives on the route: 500, ``Internal Server Error``, as plain text."""

    async def broken(context: ApiContext, body: SignalIn) -> tuple[int, SubmitOut]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(signal_path, "submit", broken)
    monkeypatch.setattr(routes_orders, "submit", broken)
    answers = []
    for content_type in ("application/json", "application/json; charset=utf-8"):
        # uvicorn closes a connection whose app raised, so each request gets its own.
        headers = {"Content-Type": content_type, "Authorization": f"Bearer {TOKEN}"}
        async with (
            aiohttp.ClientSession(base_url=api.server.url) as session,
            session.post("/api/signals", data=json.dumps(SIGNAL), headers=headers) as response,
        ):
            answers.append((response.status, _headers(response), await response.read()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 500
    assert answers[0][2] == b"Internal Server Error"


async def test_a_log_that_cannot_be_written_is_a_503_naming_it_on_both_paths(api: Api) -> None:
    """The desk could not write the signal's intent (a full disk): nothing was sent, and the
    answer says why, the same from the fast path and from FastAPI's route."""
    reason = "cannot append to the event store at sqlite:///events.db: database or disk is full"
    api.desk.log_unwritable = reason
    answers = []
    for content_type in ("application/json", "application/json; charset=utf-8"):
        async with api.client.post(
            "/api/signals", data=json.dumps(SIGNAL), headers={"Content-Type": content_type}
        ) as response:
            body = await response.json()
            answers.append((response.status, body["error"], body["message"]))
    assert answers == [(503, "store_unavailable", reason)] * 2
    assert api.desk.submitted == []
