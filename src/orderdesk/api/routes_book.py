"""The trader's book beyond orders and positions: funds, the P&L curve, and one order's
timeline (trades are :mod:`.routes_trades`', exits :mod:`.routes_exit`'s).

Funds are the broker's answer now (one REST read); the timeline is the order's own stream of
the log, signal to fill.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.book_schemas import FundsOut, SegmentOut
from orderdesk.api.context import Context
from orderdesk.api.errors import ERROR_RESPONSES
from orderdesk.api.events import event_message
from orderdesk.api.routes_orders import OrderId, find_order
from orderdesk.api.schemas import _Response

router = APIRouter(
    prefix="/api",
    tags=["book"],
    dependencies=[Depends(bearer_scheme)],
    responses={code: ERROR_RESPONSES[code] for code in (400, 401, 422)},
)


class PnlPointOut(_Response):
    at: datetime
    total: Decimal
    strategies: dict[str, Decimal]


class PnlSeriesOut(_Response):
    day: date | None
    """The trading day the points belong to (None when the desk keeps no days)."""
    points: list[PnlPointOut]


class OrderEventOut(_Response):
    type: str
    at: datetime
    order_id: str | None
    text: str
    """What happened, in words."""
    summary: str
    payload: dict[str, Any]
    """The event as the log holds it."""


@router.get("/funds", responses={503: ERROR_RESPONSES[503]})
async def funds(context: Context) -> FundsOut:
    """Funds and margins per segment, as the broker reports them now."""
    report = await context.desk.margins()
    return FundsOut(equity=SegmentOut.of(report.equity), commodity=SegmentOut.of(report.commodity))


@router.get("/pnl")
async def pnl_series(context: Context) -> PnlSeriesOut:
    """The day's P&L over time, in total and per strategy, oldest first: sampled by the API
    while it runs, since the trading day opened (the daemon keeps the points across a restart;
    without a trading day, since the desk started)."""
    series = context.pnl
    return PnlSeriesOut(
        day=series.day,
        points=[
            PnlPointOut(at=p.at, total=p.total, strategies=p.strategies) for p in series.points
        ],
    )


@router.get("/orders/{order_id}/events", responses={404: ERROR_RESPONSES[404]})
async def order_events(order_id: OrderId, context: Context) -> list[OrderEventOut]:
    """One order's events from the log, oldest first: its timeline from signal to fill."""
    find_order(context, order_id)
    events = await context.desk.order_events(order_id)
    return [OrderEventOut(**event_message(e)) for e in events]


__all__ = ["router"]
