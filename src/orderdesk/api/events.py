"""The live event stream as server-sent events (``GET /api/events``).

One stream carries everything the dashboard shows, so the page needs a single connection:

- ``snapshot`` at the start: orders, positions, status, approvals, recent alerts, and the
  log's latest events (``events``, newest first), so a reloaded page has its history; and
  again, after its ``event``, whenever a trading day opens (``DayOpened``), since today's
  orders then start afresh;
- ``event`` for each domain event the desk records (type, time, order id, a one-line summary,
  the same in words (``text``), the full payload), followed by ``order`` with that order's new
  state for order events;
- ``alert`` for each alert raised;
- ``status`` every ``stream_interval`` seconds: positions with P&L marked to the latest tick
  (as ``GET /api/positions`` has them: a contract settled with the closed day realised), kill
  switch, broker connection, pending approvals, the latest P&L point (total and per
  strategy, as ``GET /api/pnl`` has it). Ticks are not domain events (there are
  thousands), so P&L reaches the page by this sampling rather than per tick.

A stream ends when the desk closes, the client goes away, or the server begins to stop
(``app.state.stopping``, :mod:`orderdesk.api.server`): a client sees its end and knows the desk
is gone, and the server's stop does not wait on streams that would otherwise never end.

SSE rather than a WebSocket because the flow is one-way and SSE is plain HTTP, so the bearer
middleware covers it like any other route. Browsers' ``EventSource`` cannot send headers; the
dashboard reads the stream with ``fetch`` instead.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from orderdesk.api.alert_feed import FeedEntry
from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import ApiContext, Context
from orderdesk.api.errors import ERROR_RESPONSES
from orderdesk.api.event_words import describe, finding
from orderdesk.api.schemas import AlertOut, PendingOut, PositionOut, order_out
from orderdesk.domain.events import DayOpened, Event, OrderEvent
from orderdesk.domain.order import Order
from orderdesk.store.codec import encode

router = APIRouter(tags=["events"], dependencies=[Depends(bearer_scheme)])

HISTORY = 100
"""The log's latest events a snapshot carries."""

_SUMMARY_FIELDS = ("status", "reason", "detail", "check", "engaged", "kind", "broker_order_id")


def sse(kind: str, data: Any) -> str:
    """One server-sent event; the payload is JSON on a single ``data:`` line."""
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def summarise(event: Event) -> str:
    """A one-line description: the type and the fields a person scans for."""
    parts = [type(event).__name__]
    for name in _SUMMARY_FIELDS:
        value = getattr(event, name, None)
        if value is not None and value != "":
            parts.append(f"{name}={getattr(value, 'value', value)}")
    return " ".join(parts)


def event_message(event: Event) -> dict[str, Any]:
    return {
        "type": type(event).__name__,
        "at": event.at.isoformat(),
        "order_id": event.order_id if isinstance(event, OrderEvent) else None,
        "summary": summarise(event),
        "text": describe(event),
        "payload": encode(event),
    }


def status_message(context: ApiContext) -> dict[str, Any]:
    desk = context.desk
    kill = desk.kill_switch()
    connection = desk.broker_connection()
    approvals = context.approvals.pending() if context.approvals is not None else []
    return {
        "kill_switch": {"engaged": kill.engaged, "reason": kill.reason},
        "broker_connection": connection.value if connection is not None else None,
        "positions": [PositionOut.of(p).model_dump(mode="json") for p in desk.day_positions()],
        "approvals": [PendingOut.of(item).model_dump(mode="json") for item in approvals],
        "pnl": _pnl_point(context),
    }


def _pnl_point(context: ApiContext) -> dict[str, Any] | None:
    points = context.pnl.points
    if not points:
        return None
    point = points[-1]
    return {
        "at": point.at.isoformat(),
        "total": str(point.total),
        "strategies": {name: str(pnl) for name, pnl in point.strategies.items()},
    }


def _changed(context: ApiContext, order_id: str) -> list[Order]:
    """The order an event changed, and its sliced parent, whose status is its children's."""
    try:
        order = context.desk.order(order_id)
    except LookupError:
        return []
    if order.parent_id is None:
        return [order]
    try:
        return [order, context.desk.order(order.parent_id)]
    except LookupError:
        return [order]


def snapshot_message(context: ApiContext) -> dict[str, Any]:
    orders = sorted(context.desk.orders(), key=lambda o: o.created_at, reverse=True)
    alerts = context.alerts.recent() if context.alerts is not None else []
    return {
        **status_message(context),
        "orders": [order_out(context.desk, order).model_dump(mode="json") for order in orders],
        "alerts": [alert_message(entry) for entry in reversed(alerts)],
        "events": [event_message(e) for e in reversed(context.desk.recent_events(HISTORY))],
    }


def alert_title(title: str) -> str:
    """A reconciliation alert's title names the finding's kind; the page shows it in words."""
    prefix = "Reconciliation: "
    if title.startswith(prefix):
        return prefix + finding(title.removeprefix(prefix))
    return title


def alert_message(entry: FeedEntry) -> dict[str, Any]:
    alert = entry.alert
    out = AlertOut(
        severity=alert.severity,
        title=alert_title(alert.title),
        body=alert.body,
        key=alert.key,
        order_id=alert.order_id,
        at=entry.at,
        repeats=entry.repeats,
    )
    return out.model_dump(mode="json")


Inbox = asyncio.Queue[tuple[str, Any]]


async def _pump(source: AsyncIterator[Any], inbox: Inbox, kind: str) -> None:
    async for item in source:
        inbox.put_nowait((kind, item))
    inbox.put_nowait(("end", None))


async def _end_on(stopping: asyncio.Event, inbox: Inbox) -> None:
    await stopping.wait()
    inbox.put_nowait(("end", None))


def _order(context: ApiContext, order_id: str) -> Order | None:
    return next((o for o in context.desk.orders() if o.order_id == order_id), None)


async def stream(context: ApiContext, stopping: asyncio.Event | None = None) -> AsyncIterator[str]:
    """The SSE body for one client; ends when the desk closes, the client goes away, or
    ``stopping`` is set."""
    inbox: Inbox = asyncio.Queue()
    # Subscribe before the snapshot is taken, so nothing falls between the two.
    sources: list[tuple[AsyncIterator[Any], str]] = [(context.desk.subscribe(), "event")]
    if context.alerts is not None:
        sources.append((context.alerts.subscribe(), "alert"))
    pumps = [asyncio.create_task(_pump(source, inbox, kind)) for source, kind in sources]
    if stopping is not None:
        pumps.append(asyncio.create_task(_end_on(stopping, inbox)))
    try:
        yield sse("snapshot", snapshot_message(context))
        next_status = time.monotonic() + context.stream_interval
        while True:
            timeout = max(0.0, next_status - time.monotonic())
            try:
                kind, item = await asyncio.wait_for(inbox.get(), timeout=timeout)
            except TimeoutError:
                yield sse("status", status_message(context))
                next_status = time.monotonic() + context.stream_interval
                continue
            if kind == "end":
                return
            if kind == "alert":
                yield sse("alert", alert_message(item))
                continue
            yield sse("event", event_message(item))
            if isinstance(item, DayOpened):
                # Today's orders start afresh (earlier days' are read by day): a page left open
                # overnight is given the new day as a reload would show it.
                yield sse("snapshot", snapshot_message(context))
            elif isinstance(item, OrderEvent):
                for order in _changed(context, item.order_id):
                    yield sse("order", order_out(context.desk, order).model_dump(mode="json"))
    finally:
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


async def _server_stopping(request: Request) -> asyncio.Event | None:
    # A dependency, not the endpoint's own Request parameter: an endpoint taking the Request
    # is trusted to read its body (refuse_unread_body), and this route takes none.
    stopping = getattr(request.app.state, "stopping", None)
    return stopping if isinstance(stopping, asyncio.Event) else None


Stopping = Annotated[asyncio.Event | None, Depends(_server_stopping)]
"""The server's stop, set as it begins (:func:`orderdesk.api.server.serve_api`); None for an
app served otherwise (a test's in-process client)."""


@router.get(
    "/api/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "snapshot, event, order, alert and status messages, as SSE.",
        },
        401: ERROR_RESPONSES[401],
    },
)
async def events(context: Context, stopping: Stopping) -> StreamingResponse:
    """Live stream of the desk: server-sent events (read with ``fetch`` to send the token)."""
    return StreamingResponse(
        stream(context, stopping),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


__all__ = ["router", "sse", "stream", "summarise"]
