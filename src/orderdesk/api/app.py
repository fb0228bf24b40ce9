"""The app factory: the desk, its optional approval queue and alert feed, behind a token."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderdesk.api import (
    dashboard,
    events,
    routes_approvals,
    routes_book,
    routes_convert,
    routes_days,
    routes_desk,
    routes_doctor,
    routes_exit,
    routes_health,
    routes_orders,
    routes_session,
    routes_trades,
)
from orderdesk.api.alert_feed import AlertFeed
from orderdesk.api.auth import BearerAuth, BearerToken
from orderdesk.api.body_timeout import BodyTimeout
from orderdesk.api.context import ApiContext
from orderdesk.api.desk import DeskService
from orderdesk.api.errors import BodyTooLarge, install_error_handlers, too_large_response
from orderdesk.api.metrics import Metrics
from orderdesk.api.order_rate import OrderLimits, OrderRate, counts_toward_rate, rate_day
from orderdesk.api.pnl_series import PnlSeries
from orderdesk.api.routes_triggers import router as trigger_router
from orderdesk.api.signal_path import SignalPath
from orderdesk.api.strict import reject_repeated_keys, reject_unknown_query
from orderdesk.api.webhooks import webhook_router
from orderdesk.approvals import ApprovalQueue
from orderdesk.ports.broker import WebhookHandler

MAX_BODY = 64 * 1024
"""Bytes: the largest request body any route takes (a signal is a few hundred bytes, a Kite
postback about 1 KiB; the webhooks' own limit is the same)."""

DESCRIPTION = """\
The local HTTP API of orderdesk. Every route except the dashboard page and its assets (this
schema too) needs `Authorization: Bearer <token>` (`orderdesk config show-token`).
"""


async def _count_events(context: ApiContext) -> None:
    desk = context.desk
    events = desk.subscribe()
    context.order_rate.seed(desk.orders(), rate_day(desk.trading_day(), desk.now()))
    async for event in events:
        context.metrics.observe(event)
        if counts_toward_rate(event):  # asked first: the day is looked up for requests only
            context.order_rate.observe(event, rate_day(desk.trading_day(), event.at))


class DeskApp(FastAPI):
    """FastAPI, with the strategies' signals taken before its middleware stack.

    uvicorn calls this app; a well-formed, authorised ``POST /api/signals`` is answered by
    :class:`~orderdesk.api.signal_path.SignalPath` without passing through FastAPI's
    middleware, and every other request goes to FastAPI unchanged. Both are behind the body's
    bounds: its time (:class:`~orderdesk.api.body_timeout.BodyTimeout`) and size
    (:class:`BodyLimit`).
    """

    front: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is None:
            await super().__call__(scope, receive, send)
        else:
            await self.front(scope, receive, send)

    async def behind(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI itself, for the requests the front leaves."""
        await super().__call__(scope, receive, send)


class BodyLimit:
    """ASGI middleware in front of everything (the signal path too): a request body over
    ``limit`` bytes is refused with 413 before the app buffers it.

    Without it a 200 MB POST to ``/api/signals`` was read whole before its 422 (the server's
    memory went from 272 to 735 MB): FastAPI sets no limit of its own. A declared
    Content-Length over the limit is refused before a byte is read (the server's parser ends
    the body at the declared length, so one within it needs no counting); a body without one
    (chunked) is counted as it is received, and the read that passes the limit raises
    :class:`~orderdesk.api.errors.BodyTooLarge`, answered 413 by the app's error handler or,
    when the signal path was reading, here. A body within the limit sent to a route that takes
    none is refused by :func:`refuse_unread_body`, which reads a chunked one through this count.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None:
            if declared > self._limit:
                await too_large_response(self._limit)(scope, receive, send)
            else:
                await self._app(scope, receive, send)
            return
        limit = self._limit
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await too_large_response(limit)(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None when its body is chunked (or it has none)."""
    length = None
    for name, value in scope["headers"]:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
    return length


async def refuse_unread_body(request: Request) -> None:
    """App-wide dependency: 400 for a request body sent to a route that takes none.

    Such a route never reads it, so the request was answered as if it had none: ``DELETE
    /api/orders/{id}`` with a body the caller meant to matter cancelled the order all the same.
    A Content-Length over the app's limit is refused 413 before this runs (:class:`BodyLimit`),
    so a chunked body is read here, through the limit's count, before it is judged: both
    framings get 413 over the limit and 400 within it, and an empty chunked body passes as a
    ``Content-Length: 0`` does. A refused body within the limit has been read (or is framed by
    its length, which the server reads past), so the connection stays usable for the next
    request. Routes whose endpoint takes the :class:`Request` read what they like (the
    webhooks' raw body); the signal path in front never reaches this.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is not None:
        return
    if route.dependant.request_param_name is not None:
        return
    headers = request.headers
    if "transfer-encoding" in headers:
        if not await request.body():
            return
    elif headers.get("content-length", "0") == "0":
        return
    raise HTTPException(
        400,
        detail=f"{request.method} {request.url.path} takes no request body; send it without one",
    )


def create_app(
    desk: DeskService,
    *,
    token: str,
    approvals: ApprovalQueue | None = None,
    alerts: AlertFeed | None = None,
    stream_interval: float = 1.0,
    webhooks: Mapping[str, WebhookHandler] | None = None,
    pnl_folder: Path | None = None,
    order_limits: OrderLimits | None = None,
) -> DeskApp:
    """The API and dashboard for ``desk``; requests must carry ``token`` as a bearer token.
    ``pnl_folder`` keeps the dashboard's P&L curve across restarts (:mod:`.pnl_series`);
    ``order_limits`` are the broker's order limits the desk runs with, which the health page
    shows its order rate against (Kite's published ones when None: :mod:`.order_rate`)."""
    context = ApiContext(
        desk=desk,
        approvals=approvals,
        alerts=alerts,
        metrics=Metrics(),
        stream_interval=stream_interval,
        pnl=PnlSeries(folder=pnl_folder),
        order_rate=OrderRate(order_limits),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(_count_events(context)),
            asyncio.create_task(context.pnl.run(context.desk, stream_interval)),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    bearer = BearerToken(token)
    app = DeskApp(
        title="orderdesk",
        description=DESCRIPTION,
        version="1",
        lifespan=lifespan,
        # The interactive docs load their scripts from a CDN; the page must work offline.
        docs_url=None,
        redoc_url=None,
        dependencies=[
            Depends(reject_unknown_query),
            Depends(refuse_unread_body),
            Depends(reject_repeated_keys),
        ],
        # FastAPI's native OpenTelemetry asked the global providers on every request whether
        # to trace it: 3.4% of the daemon's CPU per signal, for a desk that exports no traces.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.context = context
    for module in (
        routes_orders,
        routes_approvals,
        routes_desk,
        routes_doctor,
        routes_exit,
        routes_convert,
        routes_session,
        routes_days,
        routes_book,
        routes_trades,
        routes_health,
        events,
        dashboard,
    ):
        app.include_router(module.router)
    app.include_router(routes_desk.metrics_router)
    app.include_router(trigger_router)
    app.include_router(webhook_router(webhooks or {}))
    install_error_handlers(app)
    app.add_middleware(BearerAuth, token=bearer)
    signals = SignalPath(app.behind, context=context, token=bearer)
    app.front = BodyTimeout(BodyLimit(signals, limit=MAX_BODY))
    return app


__all__ = ["MAX_BODY", "BodyLimit", "DeskApp", "create_app", "refuse_unread_body"]
