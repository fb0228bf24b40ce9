"""Signals in, orders and positions out: the trading routes."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import ApiContext, Context
from orderdesk.api.errors import ERROR_RESPONSES, UnknownOrder
from orderdesk.api.schemas import (
    ModifyIn,
    OrderOut,
    PendingOut,
    PositionOut,
    SignalIn,
    StrategyOut,
    SubmitOut,
    SubmitOutcome,
    order_out,
)
from orderdesk.approvals import PendingSignal
from orderdesk.domain.calendar import IST
from orderdesk.domain.ids import client_order_id
from orderdesk.domain.order import Order
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import OrderStatus

router = APIRouter(
    prefix="/api",
    tags=["orders"],
    dependencies=[Depends(bearer_scheme)],
    responses=ERROR_RESPONSES,
)

OrderId = Annotated[str, Path(min_length=1, max_length=64, description="orderdesk's order id")]
StrategyFilter = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9_\-]{1,32}$",
        description="Only this strategy's orders.",
    ),
]
SignalIdFilter = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9_.:\-]{1,64}$",
        description="Only the order of this signal id. With `strategy`, the order that "
        "(strategy, signal id) became on any trading day: what a strategy that lost the "
        "reply to its submission asks before sending again.",
    ),
]


def find_order(context: ApiContext, order_id: str) -> Order:
    """The order of any day by id (earlier days' are read back from the log), or a 404."""
    try:
        return context.desk.order(order_id)
    except LookupError:
        raise UnknownOrder(order_id) from None


@router.post(
    "/signals",
    status_code=201,
    responses={202: {"model": SubmitOut, "description": "Parked for the operator's approval."}},
)
async def submit_signal(body: SignalIn, context: Context, response: Response) -> SubmitOut:
    """Submit a signal: 201 with the order, or 202 when its strategy needs approval.

    The 201 comes once the broker has answered the placement, whatever it answered (the order
    ``OPEN``, ``REJECTED`` with the reason, ``SUBMIT_UNKNOWN`` while the desk looks for it),
    or at once when the broker answers 429: the order is then still ``SUBMITTING``, the desk
    keeps sending it, and ``message`` says so. Sending the same signal id again is safe: it
    answers with the same order, never a second one."""
    response.status_code, reply = await submit(context, body)
    return reply


async def submit(context: ApiContext, body: SignalIn) -> tuple[int, SubmitOut]:
    """What ``POST /api/signals`` answers, as (status, reply): the route above and the fast
    path that takes most signals (:mod:`orderdesk.api.signal_path`) both answer with this."""
    signal = body.to_signal()
    sent_before = _sent_before(context, signal)
    if context.approvals is None:
        return 201, _submitted(context, await context.desk.submit(signal), sent_before)
    outcome = await context.approvals.submit(signal)
    if isinstance(outcome, PendingSignal):
        return 202, SubmitOut(outcome="pending_approval", pending=PendingOut.of(outcome))
    return 201, _submitted(context, outcome, sent_before)


def _sent_before(context: ApiContext, signal: Signal) -> bool:
    """Whether ``signal``'s id already made an order, of today or of an earlier day, that the
    desk answers with rather than placing (one whose placement waits for a session is sent by
    this signal: it is placed now)."""
    if signal.signal_id is None:
        return False  # the desk gives it a new id
    try:
        order = context.desk.order(client_order_id(signal.strategy, signal.signal_id))
    except LookupError:
        return False
    return not order.deferred


def _submitted(context: ApiContext, order: Order, sent_before: bool) -> SubmitOut:
    outcome: SubmitOutcome = "existing" if sent_before else "submitted"
    shown = order_out(context.desk, order)
    if order.status is OrderStatus.SUBMITTING:
        # The desk answers before the broker has answered the placement only when the broker
        # answered it 429 (engine/placement.py: a task of the order's own keeps sending it); the
        # same signal sent again while its first sending is on the wire waits for that answer.
        return SubmitOut(outcome=outcome, order=shown, message=still_sending(order))
    if sent_before:
        return SubmitOut(outcome=outcome, order=shown, message=sent_already(shown))
    # "submitted" says the desk sent it; a strategy reading only the outcome must not take a
    # rejection, or an answer lost on the way, for an order placed.
    if order.status is OrderStatus.REJECTED:
        return SubmitOut(outcome=outcome, order=shown, message=rejected_words(order))
    if order.status is OrderStatus.SUBMIT_UNKNOWN:
        return SubmitOut(outcome=outcome, order=shown, message=unknown_words(order))
    return SubmitOut(outcome=outcome, order=shown)


def rejected_words(order: Order) -> str:
    """What a signal's reply says of an order the broker rejected as it was sent."""
    return (
        f"not placed: the broker rejected order {order.order_id} ({order.reason}); the signal "
        "id now names this rejected order, so a corrected signal needs a new id"
    )


def unknown_words(order: Order) -> str:
    """What a signal's reply says of an order whose placement's answer was lost."""
    signal = order.signal
    return (
        f"outcome unknown: the broker's answer to order {order.order_id} was lost "
        f"({order.reason}); the desk looks for it in the broker's book and never sends it again "
        "unless it proves it absent. Send the same signal again (strategy "
        f"{signal.strategy!r}, signal id {signal.signal_id!r}) to learn its end; never under a "
        "new id"
    )


def still_sending(order: Order) -> str:
    """Why a submitted order is still ``SUBMITTING``, and what the sender may do."""
    signal = order.signal
    return (
        f"not placed yet: the broker is rate-limiting the desk (it answered HTTP 429 Too Many "
        f"Requests), and the desk keeps sending order {order.order_id} until the broker takes "
        "it (should the broker still refuse it after some minutes, the order ends REJECTED "
        f"saying so). Sending the same signal again (strategy {signal.strategy!r}, signal id "
        f"{signal.signal_id!r}) is safe: it answers with this order and never places a second."
    )


def sent_already(order: OrderOut) -> str:
    """What a signal sent again is answered: the order its id made, and when."""
    taken = order.created_at.astimezone(IST)
    # The desk's taking, not the broker's: an intent never sent (lapsed) read as placed. An
    # order that ended unfilled says why.
    why = f" ({order.reason})" if order.reason and order.status in _ENDED_UNFILLED else ""
    return (
        f"signal id {order.signal_id!r} of strategy {order.strategy!r} was sent before: this "
        f"is the order it made, {order.order_id}, which the desk took at {taken:%H:%M:%S} IST "
        f"on {taken:%a %d %b %Y}, {order.status} now{why}. Nothing new was placed; a new "
        "signal needs a new id."
    )


_ENDED_UNFILLED = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.LAPSED})


@router.get("/orders")
async def list_orders(
    context: Context, strategy: StrategyFilter = None, signal_id: SignalIdFilter = None
) -> list[OrderOut]:
    """Today's orders, newest first (earlier days': ``GET /api/days/{day}``), optionally only
    a strategy's, or only the one a signal became (empty when it became none)."""
    orders = [
        order
        for order in context.desk.orders()
        if strategy in (None, order.signal.strategy) and signal_id in (None, order.signal.signal_id)
    ]
    if not orders and strategy is not None and signal_id is not None:
        # The pair is the desk's idempotency key: its order id is derived, whatever the day.
        with contextlib.suppress(LookupError):
            orders = [context.desk.order(client_order_id(strategy, signal_id))]
    orders.sort(key=lambda o: o.created_at, reverse=True)
    return [order_out(context.desk, order) for order in orders]


@router.get("/orders/{order_id}")
async def get_order(order_id: OrderId, context: Context) -> OrderOut:
    """One order by orderdesk's id, of today or of an earlier trading day."""
    return order_out(context.desk, find_order(context, order_id))


@router.patch("/orders/{order_id}")
async def modify_order(order_id: OrderId, body: ModifyIn, context: Context) -> OrderOut:
    """Ask for new terms on a working order."""
    find_order(context, order_id)
    order = await context.desk.modify(
        order_id,
        quantity=body.quantity,
        price=body.price,
        trigger_price=body.trigger_price,
        order_type=body.order_type,
    )
    return order_out(context.desk, order)


@router.delete("/orders/{order_id}")
async def cancel_order(order_id: OrderId, context: Context) -> OrderOut:
    """Ask the broker to cancel a working order. An order that has ended is a 409 saying how,
    and pages nobody (the cancel lost a race): to a fill, "order … is filled; nothing to
    cancel"; to the exchange's mass cancel, "… is already cancelled; nothing to cancel"."""
    find_order(context, order_id)
    return order_out(context.desk, await context.desk.cancel(order_id))


@router.post("/orders/cancel-all")
async def cancel_all_orders(context: Context) -> list[OrderOut]:
    """Ask to cancel every open order; answers with the orders a cancel was sent for."""
    return [order_out(context.desk, order) for order in await context.desk.cancel_all()]


@router.get("/positions")
async def list_positions(context: Context) -> list[PositionOut]:
    """Net positions with realised and unrealised P&L at the last price seen, as the open
    day's figures read them (``GET /api/days``): once its segment's close has passed, a
    contract that expired with the day is settled (on a day open again for an MCX evening
    too), its whole P&L realised."""
    return [PositionOut.of(snapshot) for snapshot in context.desk.day_positions()]


@router.get("/strategies")
async def list_strategies(context: Context) -> list[StrategyOut]:
    """Orders and P&L attributed to each strategy (from its own fills, marked at the last
    prices the desk has seen; a CNC sale out of the day's holdings is valued from the previous
    close, and a contract settled with the closed day is realised, as the positions are)."""
    books = context.desk.strategies()
    settled = context.desk.settled_contracts()
    limits = context.desk.loss_limits()
    return [StrategyOut.of(books[name], settled, limits) for name in sorted(books)]


__all__ = ["find_order", "router"]
