"""GTTs and price alerts of the desk: ``/api/gtt`` and ``/api/price-alerts`` (``/api/alerts`` is
the desk's own notifications). Each is placed for a strategy; the orders it places when it
fires are that strategy's. A broker without them answers 501 ``not_offered``."""

from __future__ import annotations

from typing import Annotated, Protocol, runtime_checkable

from fastapi import APIRouter, Depends, Path, Query

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import ApiContext, Context
from orderdesk.api.errors import ERROR_RESPONSES, NOT_OFFERED_RESPONSE
from orderdesk.api.trigger_schemas import AlertIn, GttIn, TriggerOut
from orderdesk.domain.reports import GttTrigger, PriceAlert
from orderdesk.domain.triggers import DeskTrigger, TriggerKind
from orderdesk.errors import NotOffered

router = APIRouter(
    prefix="/api",
    tags=["gtt and alerts"],
    dependencies=[Depends(bearer_scheme)],
    responses={**ERROR_RESPONSES, **NOT_OFFERED_RESPONSE},
)

TriggerId = Annotated[
    str, Path(min_length=1, max_length=64, description="The desk's id: gtt-… or alert-…")
]
StrategyFilter = Annotated[
    str | None, Query(pattern=r"^[A-Za-z0-9_\-]{1,32}$", description="Only this strategy's.")
]
ActiveFilter = Annotated[bool, Query(description="Only those still live at the broker.")]


@runtime_checkable
class TriggerService(Protocol):
    """What these routes need of the desk (the engine's ``Triggers``)."""

    def listing(
        self, *, strategy: str | None = None, active_only: bool = False
    ) -> list[DeskTrigger]: ...
    def get(self, trigger_id: str) -> DeskTrigger: ...
    def check_offered(self, kind: TriggerKind) -> None: ...
    async def place_gtt(self, strategy: str, gtt: GttTrigger) -> DeskTrigger: ...
    async def modify_gtt(self, trigger_id: str, gtt: GttTrigger) -> DeskTrigger: ...
    async def place_alert(self, strategy: str, alert: PriceAlert) -> DeskTrigger: ...
    async def modify_alert(self, trigger_id: str, alert: PriceAlert) -> DeskTrigger: ...
    async def delete(self, trigger_id: str, reason: str = "") -> DeskTrigger: ...


def _service(context: ApiContext) -> TriggerService:
    service = getattr(context.desk, "triggers", None)
    if not isinstance(service, TriggerService):
        raise NotOffered("this desk's", "GTT triggers or price alerts")
    return service


def _of_kind(service: TriggerService, trigger_id: str, kind: TriggerKind) -> DeskTrigger:
    trigger = service.get(trigger_id)
    if trigger.kind is not kind:
        service.get(f"{kind.value}:{trigger_id}")  # a 404 naming what was asked for
    return trigger


def _listing(
    context: ApiContext, kind: TriggerKind, strategy: str | None, active: bool
) -> list[TriggerOut]:
    service = _service(context)
    found = [t for t in service.listing(strategy=strategy, active_only=active) if t.kind is kind]
    if not found:
        # An empty list read as "none placed" on a broker that has none (the paper broker),
        # while placing one said it is not offered. Those kept from another broker still list.
        service.check_offered(kind)
    return [TriggerOut.of(t) for t in found]


# -- GTT ---------------------------------------------------------------------------------------


@router.get("/gtt")
async def list_gtts(
    context: Context, strategy: StrategyFilter = None, active: ActiveFilter = False
) -> list[TriggerOut]:
    """The desk's GTTs (live, fired, deleted, gone), oldest first."""
    return _listing(context, TriggerKind.GTT, strategy, active)


@router.post("/gtt", status_code=201)
async def place_gtt(body: GttIn, context: Context) -> TriggerOut:
    """Place a GTT at the broker for ``strategy``."""
    return TriggerOut.of(await _service(context).place_gtt(body.strategy, body.to_gtt()))


@router.get("/gtt/{trigger_id}")
async def get_gtt(trigger_id: TriggerId, context: Context) -> TriggerOut:
    return TriggerOut.of(_of_kind(_service(context), trigger_id, TriggerKind.GTT))


@router.put("/gtt/{trigger_id}")
async def modify_gtt(trigger_id: TriggerId, body: GttIn, context: Context) -> TriggerOut:
    """New terms for a live GTT (its strategy stays)."""
    service = _service(context)
    _of_kind(service, trigger_id, TriggerKind.GTT)
    return TriggerOut.of(await service.modify_gtt(trigger_id, body.to_gtt()))


@router.delete("/gtt/{trigger_id}")
async def delete_gtt(trigger_id: TriggerId, context: Context) -> TriggerOut:
    """Delete a live GTT at the broker."""
    service = _service(context)
    _of_kind(service, trigger_id, TriggerKind.GTT)
    return TriggerOut.of(await service.delete(trigger_id, "deleted through the API"))


# -- price alerts ------------------------------------------------------------------------------


@router.get("/price-alerts")
async def list_alerts(
    context: Context, strategy: StrategyFilter = None, active: ActiveFilter = False
) -> list[TriggerOut]:
    """The desk's price alerts (simple and ATO), oldest first."""
    return _listing(context, TriggerKind.ALERT, strategy, active)


@router.post("/price-alerts", status_code=201)
async def place_alert(body: AlertIn, context: Context) -> TriggerOut:
    """Create a price alert at the broker for ``strategy`` (an ATO with a ``basket``)."""
    return TriggerOut.of(await _service(context).place_alert(body.strategy, body.to_alert()))


@router.get("/price-alerts/{trigger_id}")
async def get_alert(trigger_id: TriggerId, context: Context) -> TriggerOut:
    return TriggerOut.of(_of_kind(_service(context), trigger_id, TriggerKind.ALERT))


@router.put("/price-alerts/{trigger_id}")
async def modify_alert(trigger_id: TriggerId, body: AlertIn, context: Context) -> TriggerOut:
    """New terms for a live alert (its strategy and type stay)."""
    service = _service(context)
    _of_kind(service, trigger_id, TriggerKind.ALERT)
    return TriggerOut.of(await service.modify_alert(trigger_id, body.to_alert()))


@router.delete("/price-alerts/{trigger_id}")
async def delete_alert(trigger_id: TriggerId, context: Context) -> TriggerOut:
    """Delete a live alert at the broker."""
    service = _service(context)
    _of_kind(service, trigger_id, TriggerKind.ALERT)
    return TriggerOut.of(await service.delete(trigger_id, "deleted through the API"))


__all__ = ["TriggerService", "router"]
