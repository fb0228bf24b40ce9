"""What every route needs, held on the app and handed to routes as a dependency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from orderdesk.api.alert_feed import AlertFeed
from orderdesk.api.desk import DeskService
from orderdesk.api.metrics import Metrics
from orderdesk.api.order_rate import OrderRate
from orderdesk.api.pnl_series import PnlSeries
from orderdesk.approvals import ApprovalQueue
from orderdesk.ports.store import VerifyReport


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """One verification of the event log's hash chain, and when it ran."""

    at: datetime
    report: VerifyReport


@dataclass(slots=True)
class ApiContext:
    desk: DeskService
    approvals: ApprovalQueue | None
    alerts: AlertFeed | None
    metrics: Metrics
    stream_interval: float
    """Seconds between status snapshots (positions, P&L, kill switch) on the event stream."""
    pnl: PnlSeries = field(default_factory=PnlSeries)
    """The day's P&L over time, sampled while the API runs (the dashboard's chart)."""
    order_rate: OrderRate = field(default_factory=OrderRate)
    chain_check: ChainCheck | None = None
    """The last verification of the log's hash chain asked through the API."""

    def pending_count(self) -> int:
        return len(self.approvals.pending()) if self.approvals is not None else 0


async def get_context(request: Request) -> ApiContext:
    # async on purpose: FastAPI runs a plain-function dependency in a worker thread, a thread
    # hop on every request for a dictionary lookup.
    context = request.app.state.context
    assert isinstance(context, ApiContext)
    return context


Context = Annotated[ApiContext, Depends(get_context)]

__all__ = ["ApiContext", "ChainCheck", "Context", "get_context"]
