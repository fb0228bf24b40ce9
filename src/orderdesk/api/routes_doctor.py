"""``GET /api/doctor``: the morning pre-flight (:mod:`orderdesk.doctor`), behind the token."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import Context
from orderdesk.api.errors import ERROR_RESPONSES
from orderdesk.api.order_rate import rate_day
from orderdesk.api.schemas_doctor import AlertTargetOut, CheckOut, DoctorOut
from orderdesk.doctor import ist_moment
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
    any check fails. The ``alerts`` check warns (it does not stop trading) while an alert to an
    ``[alerts] urls`` entry waits to be retried or its last delivery failed, and when alerts
    to it were given up since the desk started (how many, since when), naming the entry by
    its place and host."""
    desk = context.desk
    placed = context.order_rate.use(desk.now(), rate_day(desk.trading_day(), desk.now())).day
    out = DoctorOut.of(await desk.doctor(placed_today=placed))
    targets = alert_targets()
    return out.model_copy(
        update={
            "checks": [*out.checks, alerts_check(targets)],
            "alert_targets": [AlertTargetOut.of(t) for t in targets],
        }
    )


def alerts_check(targets: list[TargetStatus]) -> CheckOut:
    """The ``alerts`` line: each troubled target (alerts waiting, lost, or its last failure
    and why); else how many were delivered."""
    if not targets:
        return CheckOut(
            name="alerts",
            status="ok",
            summary="no [alerts] urls: alerts reach the log and the dashboard only",
        )
    troubled = [t for t in targets if t.troubled]
    if not troubled:
        delivered = sum(t.delivered for t in targets)
        return CheckOut(
            name="alerts",
            status="ok",
            summary=f"{len(targets)} target(s); {delivered} delivered, none failing",
        )
    return CheckOut(
        name="alerts",
        status="warn",
        summary="; ".join(f"{t.name}: {', '.join(_troubles(t))}" for t in troubled),
    )


def _troubles(target: TargetStatus) -> list[str]:
    """What is wrong with one target, in the operator's words."""
    troubles: list[str] = []
    if target.last_failed:
        failed_at = target.last_failed_at
        troubles.append(
            "last delivery failed"
            + (f" at {ist_moment(failed_at, seconds=True)}" if failed_at else "")
            + (f" ({target.last_error})" if target.last_error else "")
        )
    if target.waiting:
        troubles.append(
            f"{target.waiting} alert(s) not delivered yet{_since(target.waiting_since)}, "
            "being retried"
        )
    if target.lost:
        troubles.append(
            f"{target.lost} alert(s) could not be delivered{_since(target.first_lost_at)}"
            " (see the dashboard's alerts)"
        )
    return troubles


def _since(when: datetime | None) -> str:
    return f" since {ist_moment(when, seconds=True)}" if when is not None else ""


__all__ = ["alerts_check", "router"]
