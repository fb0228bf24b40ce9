"""The broker session: what the desk has, and the morning login handed to it.

Kite ends every access token at 06:00 IST, so a running desk needs the day's fresh token
without a restart: ``orderdesk login`` posts it here. The token is registered for log
redaction before anything else happens to it, is never part of an answer, and a body that
fails validation is answered without pydantic's echo of the input (see :mod:`.errors`).

The broker is asked about the token before anything switches to it
(:meth:`~orderdesk.ports.broker.SessionControl.renew_session`): a token it refuses (a
mis-pasted one, yesterday's, another app's) is answered 400 ``refused`` saying so, and the
session the desk has goes on working. A broker that cannot be reached to ask is a 503, and
nothing changes either.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import Context
from orderdesk.api.errors import ERROR_RESPONSES
from orderdesk.api.schemas import SessionIn, SessionOut
from orderdesk.domain.errors import OrderDeskError
from orderdesk.errors import BrokerAuthError
from orderdesk.redaction import redact, register_secret

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/api",
    tags=["session"],
    dependencies=[Depends(bearer_scheme)],
    responses={code: ERROR_RESPONSES[code] for code in (400, 401, 422)},
)


class TokenRefused(OrderDeskError):
    """The broker refused the access token handed to the desk; the desk kept its session."""


@router.get("/session")
async def get_session(context: Context) -> SessionOut:
    """The broker session's state and since when (a refused session: when the broker refused
    it), its expiry when known, and the trading day the desk has open."""
    desk = context.desk
    return SessionOut.of(desk.session(), desk.trading_day())


@router.post("/session", responses={code: ERROR_RESPONSES[code] for code in (409, 503)})
async def renew_session(body: SessionIn, context: Context) -> SessionOut:
    """Hand the day's fresh access token to the running desk: REST and the live stream switch
    to it, today's trading day opens if it is new, and the books are reconciled. The broker is
    asked about the token first: 400 ``refused`` when it refuses it (the desk keeps the session
    it has), 503 when it cannot be asked. 409 when the broker has no session (the paper
    broker)."""
    register_secret(body.access_token)
    desk = context.desk
    try:
        status = await desk.renew_session(body.access_token)
    except BrokerAuthError as exc:
        # Raised before the switch: what follows it (the day's opening, reconciliation) is
        # alerted, never raised, so an auth error here is the broker's verdict on the token.
        reason = redact(exc.message)
        kept = (
            "the desk keeps its working session"
            if desk.session().usable
            else "the desk still has no usable session"
        )
        log.warning("the broker refused the access token handed to the desk (%s); %s", reason, kept)
        raise TokenRefused(
            f"the broker refused this access token ({reason}); {kept}. Check that it is "
            "today's token, whole, of the app (api_key) the desk uses"
        ) from None
    return SessionOut.of(status, desk.trading_day())


__all__ = ["TokenRefused", "router"]
