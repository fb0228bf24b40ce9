"""The desk's health in detail, for the dashboard's health panel, and the audit check on demand.

``GET /api/health`` answers a script in one word; ``GET /api/health/detail`` is what a person
reads: the broker session's age and end, the live stream, the order-rate headroom, the latest
reconciliation and what it found, the event log's last verification, why the event log cannot
be written while it cannot, and each alert target's last delivery failure. Each part carries the
facts only; the page decides what is red and says what to do about it.

Verifying the hash chain reads the whole log, so it runs when asked (``POST
/api/audit/verify``, the page's button) rather than on every look; its result is kept until
the next.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import ApiContext, ChainCheck, Context
from orderdesk.api.errors import ERROR_RESPONSES
from orderdesk.api.order_rate import rate_day
from orderdesk.api.schemas import ReconcileFindingOut, SessionOut, _Response
from orderdesk.api.schemas_doctor import AlertTargetOut
from orderdesk.notify import alert_targets

router = APIRouter(
    prefix="/api",
    tags=["desk"],
    dependencies=[Depends(bearer_scheme)],
    responses={code: ERROR_RESPONSES[code] for code in (400, 401, 422)},
)


class RateOut(_Response):
    """Order requests the broker has had from the desk, against the limits the desk runs with
    (:mod:`orderdesk.api.order_rate`): none still waiting in the desk's own rate limiter."""

    second: int
    """Placements, modifies and cancels in the last second (Kite counts them together)."""
    minute: int
    """The same in the last minute."""
    day: int
    """Placements the broker answered today (Kite's daily cap counts placements only)."""
    second_limit: int
    minute_limit: int
    day_limit: int


class ReconciliationOut(_Response):
    at: datetime
    orders_checked: int
    trades_checked: int
    mismatches: int
    findings: list[ReconcileFindingOut]
    """The differences it recorded (at most the latest 20; the log has all)."""


class AuditOut(_Response):
    checked_at: datetime
    ok: bool
    rows: int
    first_bad_seq: int | None
    reason: str | None

    @classmethod
    def of(cls, check: ChainCheck) -> AuditOut:
        report = check.report
        return cls(
            checked_at=check.at,
            ok=report.ok,
            rows=report.rows,
            first_bad_seq=report.first_bad_seq,
            reason=report.reason,
        )


class HealthDetailOut(_Response):
    now: datetime
    """The server's time, so the page counts down against the desk's clock, not the phone's."""
    session: SessionOut
    session_since: datetime | None
    """When the current broker session reached the desk: its age is ``now - session_since``."""
    broker_connection: str | None
    """The live stream: CONNECTED, DISCONNECTED…, None when the broker has none."""
    order_rate: RateOut
    reconciliation: ReconciliationOut | None
    """The newest reconciliation in the log (None before the first)."""
    audit: AuditOut | None
    """The last verification of the log's hash chain asked of this desk (None: none yet)."""
    alerts: list[AlertTargetOut]
    """Each ``[alerts] urls`` entry (by its place and host, never its token) and its last
    delivery failure; empty without alert URLs."""
    event_log_unwritable: str | None = None
    """Why the event log cannot be written or read (the store's error, a database password
    never shown), until an append or read succeeds again; None while it can be."""


def detail(context: ApiContext, now: datetime) -> HealthDetailOut:
    desk = context.desk
    session = desk.session()
    connection = desk.broker_connection()
    rate = context.order_rate.use(now, rate_day(desk.trading_day(), now))
    record = desk.last_reconciliation()
    return HealthDetailOut(
        now=now,
        session=SessionOut.of(session, desk.trading_day()),
        session_since=session.since,
        broker_connection=connection.value if connection is not None else None,
        order_rate=RateOut(
            second=rate.second,
            minute=rate.minute,
            day=rate.day,
            second_limit=rate.second_limit,
            minute_limit=rate.minute_limit,
            day_limit=rate.day_limit,
        ),
        reconciliation=None
        if record is None
        else ReconciliationOut(
            at=record.at,
            orders_checked=record.orders_checked,
            trades_checked=record.trades_checked,
            mismatches=record.mismatches,
            findings=[
                ReconcileFindingOut(kind=f.kind, order_id=f.order_id, detail=f.detail)
                for f in record.findings
            ],
        ),
        audit=AuditOut.of(context.chain_check) if context.chain_check is not None else None,
        alerts=[AlertTargetOut.of(target) for target in alert_targets()],
        event_log_unwritable=desk.event_log_problem(),
    )


@router.get("/health/detail")
async def health_detail(context: Context) -> HealthDetailOut:
    """The broker session (age, expiry), the live stream, order-rate headroom, the latest
    reconciliation and its findings, and the event log's last verification."""
    return detail(context, context.desk.now())


@router.post("/audit/verify")
async def verify_audit(context: Context) -> AuditOut:
    """Walk the event log's hash chain now (as ``orderdesk audit verify``) and keep the result
    for the health panel; ``ok`` false names the first row that does not follow."""
    context.chain_check = ChainCheck(context.desk.now(), context.desk.verify_log())
    return AuditOut.of(context.chain_check)


__all__ = ["detail", "router"]
