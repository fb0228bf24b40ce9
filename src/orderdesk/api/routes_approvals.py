"""Approval mode over HTTP: list parked signals, approve or reject them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import ApiContext, Context
from orderdesk.api.errors import ERROR_RESPONSES
from orderdesk.api.schemas import OrderOut, PendingOut, RejectIn, order_out
from orderdesk.approvals import ApprovalNotFound, ApprovalQueue

router = APIRouter(
    prefix="/api/approvals",
    tags=["approvals"],
    dependencies=[Depends(bearer_scheme)],
    responses=ERROR_RESPONSES,
)

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
    the log (``OperatorCommandHandled``, operator ``api``) beside the order it placed."""
    order = await _queue(context, approval_id).approve(approval_id)
    await context.desk.record_command(
        "api", "approve", f"placed {order.order_id}", params=approval_id
    )
    return order_out(context.desk, order)


@router.post("/{approval_id}/reject")
async def reject(approval_id: ApprovalId, body: RejectIn, context: Context) -> PendingOut:
    """Drop the parked signal; it will not be submitted. The rejection is in the log
    (``OperatorCommandHandled``, operator ``api``), the only trace a dropped signal leaves
    beside the ``ApprovalDecided`` that keeps its signal id closed after a restart."""
    queue = _queue(context, approval_id)
    item = queue.reject(approval_id, body.reason)
    await queue.recorded()  # answered once a restarted desk would know it too
    signal = item.signal
    what = f"{signal.strategy}: {signal.side} {signal.quantity} {signal.instrument}"
    outcome = f"rejected {what}" + (f" ({body.reason})" if body.reason else "")
    await context.desk.record_command("api", "reject", outcome, params=approval_id)
    return PendingOut.of(item)


__all__ = ["router"]
