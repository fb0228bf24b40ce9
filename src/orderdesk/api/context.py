"""What every route needs, held on the app and handed to routes as a dependency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from orderdesk.api.alert_feed import AlertFeed
from orderdesk.api.desk import DeskService
from orderdesk.api.metrics import Metrics
from orderdesk.approvals import ApprovalQueue


@dataclass(slots=True)
class ApiContext:
    desk: DeskService
    approvals: ApprovalQueue | None
    alerts: AlertFeed | None
    metrics: Metrics
    stream_interval: float
    """Seconds between status snapshots (positions, P&L, kill switch) on the event stream."""

    def pending_count(self) -> int:
        return len(self.approvals.pending()) if self.approvals is not None else 0


async def get_context(request: Request) -> ApiContext:
    # async on purpose: FastAPI runs a plain-function dependency in a worker thread, a thread
    # hop on every request for a dictionary lookup.
    context = request.app.state.context
    assert isinstance(context, ApiContext)
    return context


Context = Annotated[ApiContext, Depends(get_context)]

__all__ = ["ApiContext", "Context", "get_context"]
