"""``GET /api/doctor``: the morning pre-flight (:mod:`orderdesk.doctor`), behind the token."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import Context
from orderdesk.api.errors import ERROR_RESPONSES
from orderdesk.api.schemas_doctor import AlertTargetOut, CheckOut, DoctorOut
from orderdesk.domain.calendar import as_ist
from orderdesk.notify import TargetStatus, alert_targets

router = APIRouter(
    tags=["desk"],
    dependencies=[Depends(bearer_scheme)],
    responses={code: ERROR_RESPONSES[code] for code in (401, 422)},
)


@router.get("/api/doctor")
async def doctor(context: Context) -> DoctorOut:
    """Whether trading can work now, check by check: the address the desk leaves from and
    whether the broker takes orders from it (a probe that changes nothing: for Kite, a cancel
    of an order that cannot exist), the session, the order rate, the clock offset to the
    broker, the stream, the last reconciliation and the kill switch. ``ready`` is false when
    any check fails. The ``alerts`` check warns (it does not stop trading) when the last
    delivery to an ``[alerts] urls`` entry failed, naming it by its place and host."""
    out = DoctorOut.of(await context.desk.doctor())
    targets = alert_targets()
    return out.model_copy(
        update={
            "checks": [*out.checks, alerts_check(targets)],
            "alert_targets": [AlertTargetOut.of(t) for t in targets],
        }
    )


def alerts_check(targets: list[TargetStatus]) -> CheckOut:
    """The ``alerts`` line: each failing target, its last failure and why; else how many."""
    if not targets:
        return CheckOut(
            name="alerts",
            status="ok",
            summary="no [alerts] urls: alerts reach the log and the dashboard only",
        )
    failing = [t for t in targets if t.failing]
    if not failing:
        delivered = sum(t.delivered for t in targets)
        return CheckOut(
            name="alerts",
            status="ok",
            summary=f"{len(targets)} target(s); {delivered} delivered, none failing",
        )
    return CheckOut(
        name="alerts",
        status="warn",
        summary="; ".join(
            f"{t.name}: last delivery failed"
            + (f" at {as_ist(t.last_failed_at):%Y-%m-%d %H:%M:%S} IST" if t.last_failed_at else "")
            + (f" ({t.last_error})" if t.last_error else "")
            for t in failing
        ),
    )


__all__ = ["alerts_check", "router"]
