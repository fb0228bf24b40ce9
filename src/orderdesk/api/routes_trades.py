"""The trade book and what it cost: the fills of the desk's orders, today's or any trading
days' in the log, and the charges of a day or of a range of days.

Trades are the desk's own record (no broker call): each names its order, its strategy and its
trading day. Kite's trade book holds today's trades only, and its trade ids are unique within a
day, not across days; a trader's journal or tax working needs the days before, so the day is
part of every row and a range of days is one request (``orderdesk trades --since … --csv``).

Charges are the broker's calculator's (Kite's virtual contract note, one call for the day's
executed orders), asked when wanted rather than kept: it is a calculator, so an earlier day's
orders, read back from the log, are charged as they were traded (at today's rates). Should it
refuse an order of the day (a contract expired since), the day's other orders are still
charged and the refused one is named with the broker's reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BeforeValidator

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.book_schemas import (
    DayChargesOut,
    ExerciseChargesOut,
    HoldingSaleOut,
    OrderChargesOut,
    RangeChargesOut,
    TradeOut,
    UnchargedOrderOut,
)
from orderdesk.api.context import Context
from orderdesk.api.desk import DayRecord, DeskService
from orderdesk.api.errors import ERROR_RESPONSES, NOT_OFFERED_RESPONSE, UnknownDay
from orderdesk.api.routes_days import check_range, day_figures, iso_day, refuse_query
from orderdesk.domain.charges import (
    ChargesTotal,
    Exercise,
    executed,
    exercises,
    holding_sales,
)
from orderdesk.domain.contracts import multiplier_of
from orderdesk.domain.order import Order
from orderdesk.domain.reports import Charges, OrderStatusReport
from orderdesk.errors import BrokerRejected, InputRejected, OrderRejected

router = APIRouter(
    prefix="/api",
    tags=["book"],
    dependencies=[Depends(bearer_scheme)],
    responses={code: ERROR_RESPONSES[code] for code in (401, 404, 422)},
)


def _day_query(description: str) -> object:
    return Query(description=description, examples=["2026-12-04"])


DayQuery = Annotated[
    date | None,
    BeforeValidator(iso_day),
    _day_query("One trading day's trades (YYYY-MM-DD), today's or an earlier one."),
]
SinceQuery = Annotated[
    date | None,
    BeforeValidator(iso_day),
    _day_query("Trades of the trading days from this one (YYYY-MM-DD, included)."),
]
UntilQuery = Annotated[
    date | None,
    BeforeValidator(iso_day),
    _day_query("Trades of the trading days up to this one (YYYY-MM-DD, included)."),
]


@router.get("/trades")
async def trades(
    context: Context,
    day: DayQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
) -> list[TradeOut]:
    """The desk's trades, newest first: today's; or one trading day's (``day``, 404 when the
    log holds no such day); or those of every trading day in the log from ``since`` to
    ``until`` (both included, either left open). Without trading days (``[trading_day]
    enabled = false``) the default is every order's, and a day or a range finds none."""
    asked = _days_asked(context.desk, day, since, until)
    if asked is None:
        return _trades([(context.desk.trading_day(), context.desk.orders())])
    return _trades(list(zip(asked, await context.desk.orders_of_days(asked), strict=True)))


ChargedDayQuery = Annotated[
    date | None,
    BeforeValidator(iso_day),
    _day_query("The trading day to charge (YYYY-MM-DD); today's when left out."),
]
ChargedSinceQuery = Annotated[
    date | None,
    BeforeValidator(iso_day),
    _day_query("Charges of the trading days from this one (YYYY-MM-DD, included)."),
]
ChargedUntilQuery = Annotated[
    date | None,
    BeforeValidator(iso_day),
    _day_query("Charges of the trading days up to this one (YYYY-MM-DD, included)."),
]


@router.get("/charges", responses=NOT_OFFERED_RESPONSE | {503: ERROR_RESPONSES[503]})
async def charges(
    context: Context,
    day: ChargedDayQuery = None,
    since: ChargedSinceQuery = None,
    until: ChargedUntilQuery = None,
) -> DayChargesOut | RangeChargesOut:
    """A trading day's charges (today's by default; ``day`` an earlier one, 404 when the log
    holds no such day): each executed order's, from the broker's calculator, their sum, and
    the day's P&L before and after them. Quantity the day's position conversions moved is
    charged in its new product (an order moved in part is two rows, its own product's first;
    :mod:`orderdesk.domain.charges` has the rule). An order the calculator refuses (a contract
    it no longer knows) is listed in ``uncharged`` with the broker's reason, the others still
    charged, and ``net`` is then None. 501 ``not_offered`` when the broker has no
    calculator.

    With ``since`` and/or ``until`` (both included, either left open): every trading day of the
    log in that range, each charged as ``day`` charges it, newest first, and the range's sums
    by kind, P&L and P&L after charges (a month's for the accounts)."""
    desk = context.desk
    if since is None and until is None:
        return await _charges_of_day(desk, day)
    # Refuses a day given with a range, or a range that ends before it starts, as /trades does.
    asked = _days_asked(desk, day, since, until) or []
    records = {record.day: record for record in desk.days()}
    read = await desk.orders_of_days(asked)
    days = [
        await _charged_day(desk, records[asked_day], orders)
        for asked_day, orders in zip(asked, read, strict=True)
    ]
    days.sort(key=lambda d: d.day or date.min, reverse=True)
    return RangeChargesOut.of(since, until, days)


async def _charges_of_day(desk: DeskService, day: date | None) -> DayChargesOut:
    """``day``'s charges (None: the open day's; every order's on a desk without days)."""
    asked = day if day is not None else desk.trading_day()
    if asked is None:  # the desk keeps no trading days: every order, every position
        pnl = sum((p.pnl() for p in desk.positions()), Decimal(0))
        return await _priced(desk, None, desk.orders(), pnl, estimated=False)
    record = next((r for r in desk.days() if r.day == asked), None)
    if record is None:
        raise UnknownDay(asked)
    [orders] = await desk.orders_of_days([asked])
    return await _charged_day(desk, record, orders)


async def _charged_day(
    desk: DeskService, record: DayRecord, orders: Sequence[Order]
) -> DayChargesOut:
    """A day of the log charged, with its P&L as its ``days`` line has it."""
    figures = day_figures(desk, record, record.day == desk.trading_day(), orders)
    # The options its close settled in the money cost too, though no order of the day's did it.
    return await _priced(
        desk,
        record.day,
        orders,
        figures.pnl,
        estimated=figures.estimated,
        exercised=exercises(figures.positions),
    )


async def _priced(
    desk: DeskService,
    day: date | None,
    orders: Sequence[Order],
    pnl: Decimal | None,
    *,
    estimated: bool,
    exercised: Sequence[Exercise] = (),
) -> DayChargesOut:
    """``orders``' charges by the broker's calculator, with the ``exercised`` options', and
    ``pnl`` after them."""
    # A conversion moved quantity between products without an order: it is charged in its new
    # product (a delivery buy, not an intraday one), an order moved in part in two lines.
    traded = executed(
        sorted(orders, key=lambda o: o.created_at, reverse=True), desk.day_conversions(day)
    )
    answers = await _charged(desk, [report for _, report in traded])
    charged = [
        (order, report, answer)
        for (order, report), answer in zip(traded, answers, strict=True)
        if isinstance(answer, Charges)
    ]
    uncharged = [
        UnchargedOrderOut.of(order, report, answer.message)
        for (order, report), answer in zip(traded, answers, strict=True)
        if not isinstance(answer, Charges)
    ]
    # Stock sold from the demat pays the depository once a scrip: the ledger's, no order's.
    held = holding_sales(traded)
    total = ChargesTotal.of(
        [cost for _, _, cost in charged]
        + [exercise.charges for exercise in exercised]
        + [sale.charges for sale in held]
    )
    return DayChargesOut(
        day=day,
        orders=[OrderChargesOut.of(order, report, cost) for order, report, cost in charged],
        charges=DayChargesOut.totals(total),
        exercised=[ExerciseChargesOut.of(exercise) for exercise in exercised],
        held_sales=[HoldingSaleOut.of(sale) for sale in held],
        pnl=pnl,
        net=None if pnl is None or uncharged else pnl - total.total,
        uncharged=uncharged,
        estimated=estimated,
    )


async def _charged(
    desk: DeskService, reports: Sequence[OrderStatusReport]
) -> list[Charges | BrokerRejected]:
    """Each report's charges by the broker's calculator, or its refusal of that order.

    The day's orders are asked in one call. The broker may refuse a call for one of its orders
    (Kite may no longer know a contract expired since): then each half is asked on its own, and
    so on down to the refused orders, so that the others are still charged: a few calls for one
    refused order among many, about two for each when all are refused. A refusal of the call
    itself (the session, the account, the address) fails the whole, as before."""
    try:
        # Asked even for no order: a broker without a calculator says so (501) on any day.
        return list(await desk.order_charges(reports))
    except (InputRejected, OrderRejected) as refused:
        if not reports:
            raise
        if len(reports) == 1:
            return [refused]
    half = len(reports) // 2
    return await _charged(desk, reports[:half]) + await _charged(desk, reports[half:])


def _days_asked(
    desk: DeskService, day: date | None, since: date | None, until: date | None
) -> list[date] | None:
    """The trading days a request names (None: today's, as the desk has it)."""
    if day is not None and (since is not None or until is not None):
        refuse_query("day", "give a day, or a range (since, until), not both")
    check_range(since, until)
    if day is None and since is None and until is None:
        return None
    held = [record.day for record in desk.days()]
    if day is not None:
        if day not in held:
            raise UnknownDay(day)
        return [day]
    return [d for d in held if (since is None or d >= since) and (until is None or d <= until)]


def _trades(days: Sequence[tuple[date | None, Sequence[Order]]]) -> list[TradeOut]:
    rows = [
        TradeOut(
            day=day,
            trade_id=fill.trade_id,
            order_id=order.order_id,
            broker_order_id=fill.broker_order_id,
            exchange_order_id=fill.exchange_order_id,
            strategy=order.signal.strategy,
            instrument=str(fill.instrument),
            side=fill.side,
            product=fill.product,
            quantity=fill.quantity,
            price=fill.price,
            value=fill.quantity * fill.price * multiplier_of(fill.instrument),
            filled_at=fill.filled_at,
        )
        for day, orders in days
        for order in orders
        for fill in order.fills.values()
    ]
    # Newest first; within a day a trade the broker gave no time sorts after the timed ones.
    rows.sort(key=lambda t: (t.day or date.min, t.filled_at is not None, t.filled_at), reverse=True)
    return rows


__all__ = ["TradeOut", "router"]
