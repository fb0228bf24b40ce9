"""Trading days: the list of days in the log, one day in full, today's holdings, and the day's
authorisation to sell them (an account without DDPI).

The day the desk has open is *live* until it closes: its positions, P&L and orders are the
desk's own now. Once closed it reads as it closed (its P&L no longer moves with the prices of
the evening or of the next session before the login opens the next day). A past day reads back
from the log: its positions and P&L as its ``DayClosed`` recorded them,
its orders rebuilt from their events. A past day the log holds no close of (the desk stopped
before closing it) shows its orders and no P&L. A trading day the desk never opened, which the
next opening recorded, is listed as ``missed``: no P&L, and what positions carried through it
made over it, in no day's P&L, said apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.authorisation_schemas import HoldingsAuthorisationOut, HoldingsAuthoriseIn
from orderdesk.api.context import Context
from orderdesk.api.desk import DayRecord, DeskService
from orderdesk.api.errors import ERROR_RESPONSES, NOT_OFFERED_RESPONSE, UnknownDay
from orderdesk.api.schemas import (
    DayDetailOut,
    DayOut,
    DayPositionOut,
    HoldingOut,
    orders_out,
)
from orderdesk.domain.day import MissedDays, PositionSnapshot
from orderdesk.domain.order import Order
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.values import InstrumentKey, Product

router = APIRouter(
    prefix="/api",
    tags=["days"],
    dependencies=[Depends(bearer_scheme)],
    responses={code: ERROR_RESPONSES[code] for code in (400, 401, 404, 422)},
)

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_day(value: object) -> object:
    """A day as a URL writes it: ``YYYY-MM-DD`` only."""
    # pydantic also reads a bare number as a Unix time; a day in a URL is written one way.
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


Day = Annotated[
    date,
    BeforeValidator(iso_day),
    Path(description="A trading day, YYYY-MM-DD.", examples=["2026-12-04"]),
]
FromDay = Annotated[
    date | None,
    BeforeValidator(iso_day),
    Query(description="From this trading day (YYYY-MM-DD, included).", examples=["2026-11-02"]),
]
ToDay = Annotated[
    date | None,
    BeforeValidator(iso_day),
    Query(description="Up to this trading day (YYYY-MM-DD, included).", examples=["2026-11-30"]),
]


def refuse_query(name: str, reason: str) -> NoReturn:
    """A 422 naming the query parameter, as FastAPI's own validation answers."""
    raise RequestValidationError([{"loc": ("query", name), "msg": reason, "type": "value_error"}])


def check_range(since: date | None, until: date | None) -> None:
    if since is not None and until is not None and until < since:
        refuse_query("until", f"{until.isoformat()} is before since ({since.isoformat()})")


@dataclass(frozen=True, slots=True)
class DayFigures:
    """A day's positions and P&L, from the live desk or from its close (None: unknown)."""

    positions: tuple[PositionSnapshot, ...]
    pnl: Decimal | None
    realised: Decimal | None
    lapsed: tuple[str, ...]
    still_open: tuple[str, ...]

    @property
    def estimated(self) -> bool:
        """Some of the positions' figures are estimates (see ``DayPositionOut.estimated``)."""
        return any(p.estimated for p in self.positions)


def day_figures(
    desk: DeskService, record: DayRecord, live: bool, orders: Sequence[Order]
) -> DayFigures:
    """The open day's figures are the desk's now; a closed day's are its close's; a past day
    without a close has its orders and no P&L."""
    closed = record.closed
    if closed is not None and not live:
        lapsed = closed.lapsed + lapsed_after(desk, closed.still_open)
        return DayFigures(closed.positions, closed.pnl, closed.realised, lapsed, closed.still_open)
    lapsed = tuple(o.order_id for o in orders if o.status is OrderStatus.LAPSED)
    still_open = tuple(o.order_id for o in orders if o.is_open)
    if not live:
        return DayFigures((), None, None, lapsed, still_open)
    positions = tuple(desk.day_positions())
    return DayFigures(
        positions,
        sum((p.pnl for p in positions), Decimal(0)),
        sum((p.realised for p in positions), Decimal(0)),
        lapsed,
        still_open,
    )


def lapsed_after(desk: DeskService, still_open: Sequence[str]) -> tuple[str, ...]:
    """The orders still working at a day's close that lapsed after it (the next opening found
    them gone from the broker's books): the close's own list could not hold them yet."""
    later = []
    for order_id in still_open:
        try:
            order = desk.order(order_id)
        except LookupError:
            continue
        if order.status is OrderStatus.LAPSED:
            later.append(order_id)
    return tuple(later)


def _summary(
    desk: DeskService, record: DayRecord, live: bool, day_orders: Sequence[Order] | None
) -> DayOut:
    """``day_orders``: the day's orders, read only for a day without its totals in a close
    and its count of orders in ``record``."""
    closed = record.closed
    pnl: Decimal | None
    realised: Decimal | None
    if day_orders is None:
        assert closed is not None
        assert record.orders is not None
        pnl, realised = closed.pnl, closed.realised
        orders, fills = record.orders, closed.fills
        lapsed = len(closed.lapsed) + len(lapsed_after(desk, closed.still_open))
        estimated = closed.estimated
    else:
        figures = day_figures(desk, record, live, day_orders)
        pnl, realised = figures.pnl, figures.realised
        orders = len(day_orders)
        fills = sum(len(order.fills) for order in day_orders)
        lapsed = len(figures.lapsed)
        estimated = figures.estimated
    return DayOut(
        day=record.day,
        live=live,
        opened_at=record.opened.at,
        closed_at=closed.at if closed is not None else None,
        pnl=pnl,
        realised=realised,
        orders=orders,
        fills=fills,
        lapsed=lapsed,
        carried_positions=len(record.opened.positions),
        holdings=len(record.opened.holdings),
        estimated=estimated,
        close_waits=live and desk.close_waits(),
    )


@router.get("/days")
async def list_days(context: Context, since: FromDay = None, until: ToDay = None) -> list[DayOut]:
    """Every trading day in the log, newest first, or those from ``since`` to ``until`` (both
    included, either left open); the day the desk has open is ``live`` until it closes."""
    check_range(since, until)
    desk = context.desk
    today = desk.trading_day()
    records = [
        record
        for record in reversed(desk.days())
        if (since is None or record.day >= since) and (until is None or record.day <= until)
    ]
    # A closed day's totals are in its close, its count of orders in its record (the close's,
    # with the orders created after it); only the open day and a day the desk stopped before
    # closing (or one a desk gives no count for) have their orders read, off the event loop.
    unclosed = [r.day for r in records if r.closed is None or r.day == today or r.orders is None]
    read = dict(zip(unclosed, await desk.orders_of_days(unclosed), strict=True))
    rows: list[DayOut] = []
    for record in records:
        rows.append(_summary(desk, record, _live(record, today), read.get(record.day)))
        rows += [
            row
            for row in _missed_rows(record)
            if (since is None or row.day >= since) and (until is None or row.day <= until)
        ]
    return rows


def _missed_rows(record: DayRecord) -> list[DayOut]:
    """The trading days before ``record``'s that the desk never opened, newest first, as its
    opening recorded them (``DayOpened.missed``; in an opening logged before that field, as
    its carried positions name them): no P&L of theirs was kept, and the latest says what the
    positions carried through the stretch made over it (see
    :class:`~orderdesk.domain.day.MissedDays`)."""
    moved = MissedDays.of(record.opened.positions)
    days = record.opened.missed or (moved.days if moved is not None else ())
    if not days:
        return []
    latest = days[-1]
    return [
        DayOut(
            day=day,
            live=False,
            opened_at=None,
            closed_at=None,
            pnl=None,
            realised=None,
            orders=0,
            fills=0,
            lapsed=0,
            carried_positions=sum(1 for p in record.opened.positions if day in p.missed),
            holdings=0,
            missed=True,
            missed_move=moved.pnl if moved is not None and day == latest else None,
        )
        for day in reversed(days)
    ]


def _live(record: DayRecord, today: date | None) -> bool:
    """Whether ``record`` is the day the desk has open and has not closed yet."""
    return record.day == today and record.closed is None


@router.get("/days/{day}")
async def get_day(day: Day, context: Context) -> DayDetailOut:
    """One trading day: its positions and P&L (at its close, or live for the open day), its
    orders newest first, the holdings it opened with, and its lapsed and unfinished orders."""
    desk = context.desk
    record = next((r for r in desk.days() if r.day == day), None)
    if record is None:
        raise UnknownDay(day)
    live = _live(record, desk.trading_day())
    [of_day] = await desk.orders_of_days([day])
    orders = sorted(of_day, key=lambda o: o.created_at, reverse=True)
    figures = day_figures(desk, record, live, orders)
    closed = record.closed
    return DayDetailOut(
        day=day,
        live=live,
        opened_at=record.opened.at,
        closed_at=closed.at if closed is not None else None,
        pnl=figures.pnl,
        realised=figures.realised,
        positions=[DayPositionOut.of(p) for p in figures.positions],
        orders=orders_out(orders),
        holdings=[HoldingOut.of(h) for h in record.opened.holdings],
        lapsed=list(figures.lapsed),
        still_open=list(figures.still_open),
        estimated=figures.estimated,
        close_waits=live and desk.close_waits(),
    )


@router.get("/holdings", responses=NOT_OFFERED_RESPONSE)
async def list_holdings(context: Context) -> list[HoldingOut]:
    """Delivered stock as the broker showed it when today's trading day opened, with what of
    it has been sold since; 501 ``not_offered`` when the configured broker keeps no holdings
    (the paper broker)."""
    holdings = context.desk.holdings()
    sold = {
        p.instrument: p.from_holdings for p in context.desk.positions() if p.product is Product.CNC
    }
    return [HoldingOut.of(h, sold.get(h.instrument, 0)) for h in holdings]


@router.post("/holdings/authorise", responses=NOT_OFFERED_RESPONSE)
async def authorise_holdings(
    body: HoldingsAuthoriseIn, context: Context
) -> HoldingsAuthorisationOut:
    """Ask the broker for today's authorisation to sell holdings (an account without DDPI):
    answers the page where a person completes it with the depository (TPIN, OTP). A holding
    without a quantity is asked for in full; none named: every holding. Recorded in the log
    (``OperatorCommandHandled``); 501 ``not_offered`` when the broker has no such thing."""
    wanted = {InstrumentKey.parse(h.instrument): h.quantity for h in body.holdings}
    named = ", ".join(
        f"{key}={'all' if quantity is None else quantity}" for key, quantity in wanted.items()
    )
    made = await context.desk.authorise_holdings(wanted)
    await context.desk.record_command(
        "api",
        "authorise_holdings",
        f"request {made.request_id} made; a person completes it at the broker's page",
        params=named or "every holding",
    )
    return HoldingsAuthorisationOut(request_id=made.request_id, url=made.url)


__all__ = ["DayFigures", "day_figures", "iso_day", "router"]
