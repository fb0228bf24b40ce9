"""Triggers the broker keeps for the desk: GTTs (single and OCO) and price alerts (simple, and
ATO, whose basket the broker places when it fires). Each belongs to a strategy, so whatever
order it places is that strategy's.

A trigger is the fold of its events (:mod:`orderdesk.domain.events`: ``TriggerPlaced``,
``TriggerModified``, ``TriggerDeleted``, ``TriggerEnded``); it lives at the broker across trading
days, so the desk keeps it until it ends: fired, deleted by the desk, or gone at the broker.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from orderdesk.domain.reports import GttTrigger, PriceAlert
from orderdesk.domain.values import InstrumentKey, Side


class TriggerKind(StrEnum):
    GTT = "gtt"
    ALERT = "alert"


class TriggerState(StrEnum):
    ACTIVE = "active"
    FIRED = "fired"
    """The broker fired it (a GTT placed its order, an ATO its basket, a simple alert rang)."""
    DELETED = "deleted"
    """The desk deleted it."""
    GONE = "gone"
    """It ended at the broker without the desk: deleted elsewhere, expired, cancelled."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskTrigger:
    """A GTT or an alert as the desk holds it."""

    trigger_id: str
    """The desk's id: ``gtt-<broker id>`` or ``alert-<broker uuid>``."""
    kind: TriggerKind
    strategy: str
    broker_id: str
    gtt: GttTrigger | None = None
    alert: PriceAlert | None = None
    state: TriggerState = TriggerState.ACTIVE
    order_ids: tuple[str, ...] = ()
    """Broker ids of the orders it placed."""
    detail: str = ""

    @property
    def active(self) -> bool:
        return self.state is TriggerState.ACTIVE

    @property
    def places_orders(self) -> bool:
        """Whether firing places orders (a GTT, an ATO); a simple alert only rings."""
        return self.gtt is not None or (self.alert is not None and bool(self.alert.basket))

    def could_place(self, instrument: InstrumentKey, side: Side) -> bool:
        """Whether an order on ``instrument`` to ``side`` could be one this trigger placed."""
        if self.gtt is not None:
            legs = self.gtt.orders
            return self.gtt.instrument == instrument and any(leg.side is side for leg in legs)
        if self.alert is not None:
            return any(o.instrument == instrument and o.side is side for o in self.alert.basket)
        return False

    def ended(self, state: TriggerState, detail: str, order_ids: tuple[str, ...]) -> DeskTrigger:
        return replace(self, state=state, detail=detail, order_ids=order_ids)


def gtt_trigger_id(broker_id: int | str) -> str:
    return f"gtt-{broker_id}"


def alert_trigger_id(broker_id: str) -> str:
    return f"alert-{broker_id}"


__all__ = [
    "DeskTrigger",
    "TriggerKind",
    "TriggerState",
    "alert_trigger_id",
    "gtt_trigger_id",
]
