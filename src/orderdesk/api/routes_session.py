"""The broker session: what the desk has, and the morning login handed to it.

Kite ends every access token at 06:00 IST, so a running desk needs the day's fresh token
without a restart: ``orderdesk login`` posts it here. The token is registered for log
redaction before anything else happens to it, is never part of an answer, and a body that
fails validation is answered without pydantic's echo of the input (see :mod:`.errors`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import Context
from orderdesk.api.errors import ERROR_RESPONSES
from orderdesk.api.schemas import SessionIn, SessionOut
from orderdesk.redaction import register_secret

router = APIRouter(
    prefix="/api",
    tags=["session"],
    dependencies=[Depends(bearer_scheme)],
    responses={code: ERROR_RESPONSES[code] for code in (400, 401, 422)},
)


@router.get("/session")
async def get_session(context: Context) -> SessionOut:
    """The broker session's state and expiry, and the trading day the desk has open."""
    desk = context.desk
    return SessionOut.of(desk.session(), desk.trading_day())


@router.post("/session", responses={code: ERROR_RESPONSES[code] for code in (409, 503)})
async def renew_session(body: SessionIn, context: Context) -> SessionOut:
    """Hand the day's fresh access token to the running desk: REST and the live stream switch
    to it, today's trading day opens if it is new, and the books are reconciled. 409 when the
    broker has no session (the paper broker)."""
    register_secret(body.access_token)
    desk = context.desk
    status = await desk.renew_session(body.access_token)
    return SessionOut.of(status, desk.trading_day())


__all__ = ["router"]
