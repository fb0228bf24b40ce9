"""The desk itself: kill switch, health, recent alerts and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import Context
from orderdesk.api.desk import DeskService, KillSwitchState, health_word
from orderdesk.api.errors import ERROR_RESPONSES
from orderdesk.api.metrics import CONTENT_TYPE
from orderdesk.api.schemas import (
    AlertOut,
    HealthOut,
    KeptOrderOut,
    KillSwitchIn,
    KillSwitchOut,
    LossLimitOut,
    ReconcileFindingOut,
    ReconcileOut,
)
from orderdesk.doctor import failed
from orderdesk.domain.status import IN_FLIGHT

router = APIRouter(
    tags=["desk"],
    dependencies=[Depends(bearer_scheme)],
    responses={code: ERROR_RESPONSES[code] for code in (400, 401, 422)},
)


@router.get("/api/kill-switch")
async def get_kill_switch(context: Context) -> KillSwitchOut:
    """Whether new orders are refused, and why; engaged with ``cancel_open`` (by an operator,
    or by the loss limit's ``kill_switch_and_cancel``), the orders it cancelled and kept. Those
    lists are not in the log: a restart, or a release, empties them."""
    return _switch_out(context.desk.kill_switch())


@router.post("/api/kill-switch")
async def set_kill_switch(body: KillSwitchIn, context: Context) -> KillSwitchOut:
    """Engage or release the kill switch. Engaging with ``cancel_open`` cancels the open
    orders that could add risk; those that can only reduce a position the desk holds (a cover
    order's stop leg, whose cancel would exit at market; a stop on the other side of a
    position, within its quantity) stay working and are listed in ``kept`` with the reason."""
    reason = body.reason or ("engaged from the API" if body.engaged else "released from the API")
    state = await context.desk.set_kill_switch(
        body.engaged, reason, cancel_open=body.cancel_open and body.engaged
    )
    return _switch_out(state)


def _switch_out(state: KillSwitchState) -> KillSwitchOut:
    """The switch as both its routes answer it: what an engagement cancelled is read back as
    it was answered (the loss limit's engagement has nobody to answer)."""
    return KillSwitchOut(
        engaged=state.engaged,
        reason=state.reason,
        cancelled=list(state.cancelled),
        kept=[KeptOrderOut(order_id=k.order_id, reason=k.reason) for k in state.kept],
    )


@router.get("/api/health")
async def health(context: Context) -> HealthOut:
    """``ok`` when the event log can be written, the broker stream is connected (or there is
    none), the broker session is usable and reconciliations have not kept failing, else
    ``degraded`` (``event_log_unwritable`` says why the log cannot be written,
    ``reconciliation_failing`` since when and why reconciliations fail); ``quiet`` when no
    order waits on an answer from the broker."""
    desk = context.desk
    connection = desk.broker_connection()
    session = desk.session()
    kill = desk.kill_switch()
    log_problem = desk.event_log_problem()
    orders = desk.orders()
    in_flight = sum(1 for order in orders if order.status in IN_FLIGHT)
    failing = desk.reconciliation_failing()
    return HealthOut(
        # A broker adapter whose every pass failed was "desk ok", blind to the broker's books.
        status=health_word(connection, session, log_problem, reconciliation_fails=failed(failing)),
        broker_connection=connection.value if connection is not None else None,
        kill_switch=KillSwitchOut(engaged=kill.engaged, reason=kill.reason),
        open_orders=sum(1 for order in orders if order.is_open),
        in_flight_orders=in_flight,
        quiet=in_flight == 0,
        pending_approvals=context.pending_count(),
        session=session.state,
        trading_day=desk.trading_day(),
        loss_limit=_loss_limit(desk),
        event_log_unwritable=log_problem,
        reconciliation_failing=None if failing is None else failing.summary,
    )


def _loss_limit(desk: DeskService) -> LossLimitOut:
    limits = desk.loss_limits()
    books = desk.strategies() if limits.strategies else {}
    return LossLimitOut(
        limit=limits.limit,
        day_pnl=limits.day_pnl,
        reached=limits.reached,
        strategies_at_limit=sorted(
            name for name, book in books.items() if limits.strategy_reached(name, book.pnl)
        ),
    )


@router.post("/api/reconcile")
async def reconcile(context: Context) -> ReconcileOut:
    """Compare local orders, fills and positions with the broker's now; differences are
    recorded as events and alerted."""
    summary = await context.desk.reconcile()
    return ReconcileOut(
        ok=not summary.findings,
        orders_checked=summary.orders_checked,
        trades_checked=summary.trades_checked,
        positions_checked=summary.positions_checked,
        findings=[
            ReconcileFindingOut(kind=f.kind, order_id=f.order_id, detail=f.detail)
            for f in summary.findings
        ],
    )


@router.get("/api/alerts")
async def recent_alerts(context: Context) -> list[AlertOut]:
    """The latest alerts raised by the desk, newest first."""
    if context.alerts is None:
        return []
    return [
        AlertOut(
            severity=entry.alert.severity,
            title=entry.alert.title,
            body=entry.alert.body,
            key=entry.alert.key,
            order_id=entry.alert.order_id,
            at=entry.at,
            repeats=entry.repeats,
        )
        for entry in reversed(context.alerts.recent())
    ]


_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}

metrics_router = APIRouter(tags=["desk"], dependencies=[Depends(bearer_scheme)])
"""Separate from ``router`` because its errors are JSON while its answer is plain text."""


@metrics_router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
        401: {"content": _JSON_ERROR, "description": ERROR_RESPONSES[401]["description"]},
        422: {"content": _JSON_ERROR, "description": "Unknown query parameter."},
    },
)
async def metrics(context: Context) -> PlainTextResponse:
    """Orders by status, denied signals, events, broker connection, kill switch."""
    text = context.metrics.render(context.desk, pending_approvals=context.pending_count())
    return PlainTextResponse(text, media_type=CONTENT_TYPE)


__all__ = ["metrics_router", "router"]
