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

from orderdesk.domain.reports import AlertOrder, GttTrigger, InstrumentInfo, PriceAlert
from orderdesk.domain.signal import check_lot, check_tick
from orderdesk.domain.values import InstrumentKey, Side


class TriggerKind(StrEnum):
    GTT = "gtt"
    ALERT = "alert"


class TriggerState(StrEnum):
    ACTIVE = "active"
    FIRED = "fired"
    """The broker fired it (a GTT placed its order, an ATO its basket, a simple alert rang)."""
    REFUSED = "refused"
    """The broker fired it and refused every order it was to place: spent, and what it stood
    for (a stop loss's exit) did not happen."""
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
    def fired(self) -> bool:
        """Whether the broker fired it, whatever became of its orders."""
        return self.state in (TriggerState.FIRED, TriggerState.REFUSED)

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


def check_gtt_rules(gtt: GttTrigger, info: InstrumentInfo) -> None:
    """Hold a GTT to its instrument's tick and lot sizes as a signal is held to them, naming
    the field as the API does (``trigger_values[1]``, ``orders[0].price``,
    ``orders[0].quantity``).

    The broker keeps a GTT whose order is off the tick or the lot and refuses the order only
    when the GTT fires: a stop loss refused then is an exit that never happened, so the desk
    refuses it when it is made or changed.

    The trigger values are held to the tick too. Kite's documentation does not say whether it
    refuses one off the tick (``KITE_API.md`` §8 is silent), but the last price it is compared
    with moves in whole ticks: a value between two ticks is never met, only passed, and fires
    at the tick beyond it, which is not the price the caller wrote. Refusing it costs a
    rounding, and holds a GTT's trigger to the rule a stop order's ``trigger_price`` is held
    to."""
    for n, value in enumerate(gtt.trigger_values):
        check_tick(f"trigger_values[{n}]", value, info.tick_size)
    for n, leg in enumerate(gtt.orders):
        check_tick(f"orders[{n}].price", leg.price, info.tick_size)
        check_lot(f"orders[{n}].quantity", leg.quantity, info.lot_size)


def check_basket_order_rules(n: int, order: AlertOrder, info: InstrumentInfo) -> None:
    """Hold an ATO's ``n``-th basket order (from 0) to its instrument's tick and lot sizes,
    as :func:`check_gtt_rules` holds a GTT's legs (``basket[0].price``, …): the broker would
    refuse it only when the alert fires. A price of 0 is no price (a MARKET order)."""
    where = f"basket[{n}]"
    check_tick(f"{where}.price", order.price, info.tick_size)
    check_tick(f"{where}.trigger_price", order.trigger_price, info.tick_size)
    check_lot(f"{where}.quantity", order.quantity, info.lot_size)


def gtt_trigger_id(broker_id: int | str) -> str:
    return f"gtt-{broker_id}"


def alert_trigger_id(broker_id: str) -> str:
    return f"alert-{broker_id}"


__all__ = [
    "DeskTrigger",
    "TriggerKind",
    "TriggerState",
    "alert_trigger_id",
    "check_basket_order_rules",
    "check_gtt_rules",
    "gtt_trigger_id",
]
