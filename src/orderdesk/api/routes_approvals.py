"""Approval mode over HTTP: list parked signals, approve or reject them."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import ApiContext, Context
from orderdesk.api.errors import ERROR_RESPONSES
from orderdesk.api.schemas import OrderOut, PendingOut, RejectIn, order_out
from orderdesk.approvals import (
    ApprovalClosed,
    ApprovalNotFound,
    ApprovalQueue,
    ApprovalState,
    PendingSignal,
)

router = APIRouter(
    prefix="/api/approvals",
    tags=["approvals"],
    dependencies=[Depends(bearer_scheme)],
    responses=ERROR_RESPONSES,
)

log = logging.getLogger(__name__)

ApprovalId = Annotated[str, Path(min_length=1, max_length=64)]


def _queue(context: ApiContext, approval_id: str) -> ApprovalQueue:
    if context.approvals is None:
        raise ApprovalNotFound(approval_id)
    return context.approvals


@router.get("")
async def list_approvals(
    context: Context,
    include_decided: Annotated[bool, Query(description="Also list decided signals.")] = False,
) -> list[PendingOut]:
    """Signals waiting for approval (oldest first); with ``include_decided``, recent ones too."""
    queue = context.approvals
    if queue is None:
        return []
    items = queue.recent() if include_decided else queue.pending()
    return [PendingOut.of(item) for item in items]


@router.post("/{approval_id}/approve")
async def approve(approval_id: ApprovalId, context: Context) -> OrderOut:
    """Submit the parked signal to the desk; its risk checks still apply. The approval is in
    the log (``OperatorCommandHandled``, operator ``api``) beside the order it placed, or, when
    the desk refused it, beside the refusal (so the log shows who tried to place what)."""
    queue = _queue(context, approval_id)
    item = queue.get(approval_id)
    try:
        order = await queue.approve(approval_id)
    except ApprovalClosed:
        raise  # nothing was tried: it is no longer pending
    except Exception as exc:
        await _record_refusal(context, item, exc)
        raise
    await context.desk.record_command(
        "api", "approve", f"placed {order.order_id}", params=approval_id
    )
    return order_out(context.desk, order)


async def _record_refusal(context: ApiContext, item: PendingSignal, refusal: Exception) -> None:
    after = (
        "still awaiting approval"
        if item.state is ApprovalState.PENDING
        else "its strategy may send it again"
    )
    outcome = f"not placed: {_what(item)} was refused by the desk ({refusal}); {after}"
    try:
        await context.desk.record_command("api", "approve", outcome, params=item.approval_id)
    except Exception:
        # The caller is told the desk's refusal, not that its record could not be written.
        log.exception("the refused approval of %s was not written to the log", item.approval_id)


@router.post("/{approval_id}/reject")
async def reject(approval_id: ApprovalId, body: RejectIn, context: Context) -> PendingOut:
    """Drop the parked signal; it will not be submitted. The rejection is in the log
    (``OperatorCommandHandled``, operator ``api``), the only trace a dropped signal leaves
    beside the ``ApprovalDecided`` that keeps its signal id closed after a restart."""
    queue = _queue(context, approval_id)
    item = queue.reject(approval_id, body.reason)
    await queue.recorded()  # answered once a restarted desk would know it too
    outcome = f"rejected {_what(item)}" + (f" ({body.reason})" if body.reason else "")
    await context.desk.record_command("api", "reject", outcome, params=approval_id)
    return PendingOut.of(item)


def _what(item: PendingSignal) -> str:
    signal = item.signal
    return f"{signal.strategy}: {signal.side} {signal.quantity} {signal.instrument}"


__all__ = ["router"]
