"""``GET /api/doctor``: the morning pre-flight (:mod:`orderdesk.doctor`), behind the token."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import Context
from orderdesk.api.errors import ERROR_RESPONSES
from orderdesk.api.schemas_doctor import DoctorOut

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
    any check fails."""
    return DoctorOut.of(await context.desk.doctor())


__all__ = ["router"]
