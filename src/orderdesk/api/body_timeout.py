"""A request body that stops arriving is answered 408 and its connection closed.

uvicorn bounds the wait between requests on a kept-alive connection (``timeout_keep_alive``, 5 s
by default, which :mod:`~orderdesk.api.server` leaves as it is) but has no bound on the wait
for a request's body: a client that sent ``Content-Length: 1000`` and 10 bytes, then nothing,
held its connection and the route's task open for as long as it kept the socket, and a few
hundred such clients hold as many. :class:`BodyTimeout`, in front of everything (the signal
path too), gives the whole body :data:`BODY_TIMEOUT_SECONDS` from its first read.

A read of the body that has to wait does so under ``asyncio.timeout_at`` the one deadline, so
a body trickled a byte at a time is bounded as a stalled one is; once the body is complete the
reads that follow (a streaming response listening for the client's disconnect) pass untimed.
A read is begun by hand first and bounded only if it waits: a signal's body has nearly always
arrived with its headers, and ``asyncio.timeout`` around every read cost the wrapper 9 to 14 µs
of CPU per request (Python 3.11, where it is pure Python) against 1.3 to 5 µs begun by hand,
the same as an untimed wrapper (10,000 reads of a body already there, on a loaded machine;
the signal path's whole budget in the daemon is 1 ms, issue 15).

The read that runs out raises :class:`~orderdesk.api.errors.BodyTimedOut` from ``receive``, so
whatever reads the body stops there: FastAPI re-raises it to the app's error handler, which
answers it; when the signal path was reading (it runs in front of FastAPI), it is answered here.
Either answer is 408 ``request_timeout`` with ``Connection: close``: the rest of the body may
still come, and the server cannot tell it from the next request.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Generator
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderdesk.api.errors import BodyTimedOut, timed_out_response

BODY_TIMEOUT_SECONDS = 10.0
"""Seconds a request's whole body may take to arrive, from its first read. The largest body
any route takes (64 KiB, :data:`~orderdesk.api.app.MAX_BODY`) crosses loopback in microseconds
and a slow link in well under a second, so a body still unfinished after 10 s has stalled; the
bound is the client's to meet, not the desk's work, so it is far above any honest sender."""


class BodyTimeout:
    """ASGI middleware: a request body not complete within ``seconds`` of its first read is
    answered 408 (the module's docstring); None: :data:`BODY_TIMEOUT_SECONDS`, as it is when
    the app is made."""

    def __init__(self, app: ASGIApp, *, seconds: float | None = None) -> None:
        self._app = app
        self._seconds = BODY_TIMEOUT_SECONDS if seconds is None else seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        seconds = self._seconds
        deadline: float | None = None
        complete = False

        async def timed() -> Message:
            nonlocal deadline, complete
            if complete:
                return await receive()
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + seconds
            reading = receive().__await__()
            try:
                waiting_on = reading.send(None)
            except StopIteration as arrived:
                message: Message = arrived.value  # there already: no wait to bound
            else:
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await _rest_of(reading, waiting_on)
                except TimeoutError:
                    raise BodyTimedOut(seconds) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        try:
            await self._app(scope, timed, send)
        except BodyTimedOut:
            # Only a read the signal path made gets here, before it answers anything: FastAPI's
            # error handler answers the rest (or, had its response begun, raises a RuntimeError
            # of its own). So there is no answer begun to watch for, and no wrapper on `send`.
            await timed_out_response(seconds)(scope, receive, send)


@types.coroutine
def _rest_of(
    reading: Generator[Any, Any, Message], waiting_on: object
) -> Generator[Any, Any, Message]:
    """The rest of a read begun by hand and suspended on ``waiting_on``, awaited as ``await``
    would have (PEP 380): what it waits on goes to the task, what the task sends or throws
    (the timeout's cancel) comes back to it."""
    while True:
        try:
            sent = yield waiting_on
        except BaseException as exc:  # not handled here: handed to the read, as await does
            try:
                waiting_on = reading.throw(exc)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
        else:
            try:
                waiting_on = reading.send(sent)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]


__all__ = ["BODY_TIMEOUT_SECONDS", "BodyTimeout"]
