"""``POST /api/signals`` in front of FastAPI: the strategies' path in.

A strategy in its own process reaches the desk through this route, once per signal, and waits
for the answer. Against a desk that answers at once (the API tests' fake), the server spent
410 µs of CPU per signal through FastAPI's routing, dependency solving and re-validation of the
response, and 270 µs through this path (medians of five alternating runs, uvicorn with
httptools), where a signal's whole budget in the daemon is 1 ms (issue 15).

So this path answers the route's common case itself, with the route's own code: the same
request model (parsed as FastAPI parses it: ``json.loads``, then the model; a key given twice
is left to the route, which refuses it: :func:`~orderdesk.api.strict.loads_once`), the same
:func:`~orderdesk.api.routes_orders.submit`, the same response model, and the same answers for
the desk's refusals (:func:`~orderdesk.api.errors.error_response`). The route stays declared in
FastAPI, which documents it and takes every request this path leaves alone, unchanged and with
the body read so far: anything with a query string or a body that is not ``application/json``,
a body that does not parse (FastAPI's 400 ``invalid_json`` says where) or validate (its 422
names the fields), one larger than a signal can be, and any request without the right token
(the app's :class:`BearerAuth` answers its 401).

It is the ASGI callable uvicorn serves (:class:`~orderdesk.api.app.DeskApp`) behind the app's
body limit (:class:`~orderdesk.api.app.BodyLimit`, which counts what this path reads too), and
ahead of FastAPI's own middleware (error handling, telemetry) and the token middleware, whose
check it shares (:class:`~orderdesk.api.auth.BearerToken`). Called as uvicorn calls it,
without sockets, the app spent 95 µs of CPU per signal with this path inside that stack and
88 µs with it in front (medians of five alternating runs of 5,000 signals against the fake
desk, which itself takes about half of that); over a kept-alive loopback connection, with the
server in a process of its own, the server's CPU went from 329 to 318 µs per signal.

``SignalIn.model_validate_json`` would skip building the dict, but it is not FastAPI's parse:
a price sent as ``1e2`` becomes ``Decimal("100")`` where ``json.loads`` then the model make it
``Decimal("100.0")``, and the order would echo a different price. The path keeps FastAPI's.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderdesk.api.auth import BearerToken
from orderdesk.api.context import ApiContext
from orderdesk.api.errors import error_response
from orderdesk.api.routes_orders import submit
from orderdesk.api.schemas import SignalIn
from orderdesk.api.strict import loads_once
from orderdesk.errors import OrderDeskError

PATH = "/api/signals"
JSON = b"application/json"
MAX_BODY = 16_384
"""Bytes: a signal is a few hundred; anything larger is FastAPI's to refuse (422 up to the
app's :data:`~orderdesk.api.app.MAX_BODY`, 413 beyond)."""


class SignalPath:
    """ASGI app taking well-formed JSON signals to :func:`submit` directly, and handing
    everything else to ``app``."""

    def __init__(self, app: ASGIApp, *, context: ApiContext, token: BearerToken) -> None:
        self._app = app
        self._context = context
        self._token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _taken(scope) or not self._token.admits(scope):
            await self._app(scope, receive, send)
            return
        body, complete = await _read(receive)
        if not complete:
            await self._app(scope, _replay(body, complete, receive), send)
            return
        try:
            signal = SignalIn.model_validate(loads_once(body))
        except (ValueError, RecursionError):
            # Not JSON (nested past the interpreter's depth, too), a key given twice, or not a
            # signal: FastAPI's answer names the problem.
            await self._app(scope, _replay(body, complete, receive), send)
            return
        try:
            status, reply = await submit(self._context, signal)
        except OrderDeskError as exc:
            response: Response = error_response(exc)
        except Exception:
            # What Starlette's ServerErrorMiddleware answers, then lets uvicorn log: this path
            # runs in front of it.
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise
        else:
            response = Response(
                reply.model_dump_json(by_alias=True),
                status_code=status,
                media_type="application/json",
            )
        await response(scope, receive, send)


def _taken(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
        return False
    if scope["query_string"]:
        return False  # FastAPI refuses unknown query parameters by name
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value == JSON)
    return False


async def _read(receive: Receive) -> tuple[bytes, bool]:
    """The request's body, and whether it is complete (False: too large, or the client left)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_BODY:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """``receive`` for the app behind, which must see the body this path already read."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replayed


__all__ = ["MAX_BODY", "PATH", "SignalPath"]
