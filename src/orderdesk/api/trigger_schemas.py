"""Request and response models of the GTT and price-alert routes (``/api/gtt``,
``/api/price-alerts``). Money travels as decimal strings; ``instrument`` is ``EXCHANGE:SYMBOL``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from orderdesk.api.schemas import NewOrderProduct, OneLine, Price, Quantity
from orderdesk.domain.reports import AlertOrder, GttOrderLeg, GttTrigger, PriceAlert
from orderdesk.domain.signal import DEFAULT_STRATEGY
from orderdesk.domain.triggers import DeskTrigger
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side

Instrument = Annotated[str, Field(min_length=3, max_length=64, examples=["NSE:INFY"])]
Strategy = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
Operator = Literal["<=", ">=", "<", ">", "=="]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class GttLegIn(_Request):
    """One LIMIT order the GTT places when it fires."""

    side: Side
    quantity: Quantity
    price: Price
    product: NewOrderProduct = "CNC"


class GttIn(_Request):
    """A GTT: ``single`` (one trigger value, one order) or ``two-leg`` (OCO: the lower value
    fires the first order, the upper the second)."""

    instrument: Instrument
    type: Literal["single", "two-leg"] = "single"
    trigger_values: Annotated[list[Price], Field(min_length=1, max_length=2)]
    last_price: Price
    """The price when placing (Kite decides a single trigger's direction by it)."""
    orders: Annotated[list[GttLegIn], Field(min_length=1, max_length=2)]
    strategy: Strategy = DEFAULT_STRATEGY

    def to_gtt(self) -> GttTrigger:
        return GttTrigger(
            instrument=InstrumentKey.parse(self.instrument),
            trigger_values=tuple(self.trigger_values),
            last_price=self.last_price,
            orders=tuple(
                GttOrderLeg(
                    side=leg.side,
                    quantity=leg.quantity,
                    price=leg.price,
                    product=Product(leg.product),
                )
                for leg in self.orders
            ),
            kind=self.type,
        )


class AlertOrderIn(_Request):
    """One order of an ATO's basket (``instrument`` defaults to the alert's)."""

    instrument: Instrument | None = None
    side: Side
    quantity: Quantity
    product: NewOrderProduct = "CNC"
    order_type: Literal["LIMIT", "MARKET"] = "LIMIT"
    price: Price | None = None


class AlertIn(_Request):
    """A price alert: ``instrument``'s last price ``operator`` ``value``. With a ``basket`` it
    is an ATO: the broker places the basket, for ``strategy``, when it fires."""

    name: Annotated[str, Field(min_length=1, max_length=64), OneLine]
    instrument: Instrument
    operator: Operator
    value: Price
    basket: Annotated[list[AlertOrderIn], Field(max_length=20)] = []
    strategy: Strategy = DEFAULT_STRATEGY

    def to_alert(self) -> PriceAlert:
        key = InstrumentKey.parse(self.instrument)
        return PriceAlert(
            name=self.name,
            instrument=key,
            operator=self.operator,
            value=self.value,
            basket=tuple(
                AlertOrder(
                    instrument=InstrumentKey.parse(o.instrument) if o.instrument else key,
                    side=o.side,
                    quantity=o.quantity,
                    product=Product(o.product),
                    order_type=OrderType(o.order_type),
                    price=o.price or Decimal(0),
                )
                for o in self.basket
            ),
        )


class TriggerLegOut(_Response):
    instrument: str
    side: Side
    quantity: int
    product: Product
    order_type: OrderType
    price: Decimal


class TriggerOut(_Response):
    """A GTT or price alert of the desk."""

    id: str
    kind: Literal["gtt", "alert"]
    type: str
    """``single`` or ``two-leg`` for a GTT; ``simple`` or ``ato`` for an alert."""
    strategy: str
    broker_id: str
    state: Literal["active", "fired", "refused", "deleted", "gone"]
    instrument: str
    condition: str
    """What fires it, in words: ``LTP <= 1400`` (alert), ``LTP reaches 1600`` (GTT)."""
    orders: list[TriggerLegOut]
    order_ids: list[str]
    """Broker ids of the orders it placed (once fired)."""
    fired: int
    """How many times it fired (a simple alert stays live and may fire again)."""
    detail: str

    @classmethod
    def of(cls, trigger: DeskTrigger) -> TriggerOut:
        if trigger.gtt is not None:
            gtt = trigger.gtt
            instrument = gtt.instrument
            kind_word = gtt.kind
            condition = " / ".join(f"LTP reaches {v}" for v in gtt.trigger_values)
            legs = [
                TriggerLegOut(
                    instrument=str(instrument),
                    side=leg.side,
                    quantity=leg.quantity,
                    product=leg.product,
                    order_type=leg.order_type,
                    price=leg.price,
                )
                for leg in gtt.orders
            ]
        else:
            alert = trigger.alert
            assert alert is not None
            instrument = alert.instrument
            kind_word = alert.kind
            condition = f"LTP {alert.operator} {alert.value}"
            legs = [
                TriggerLegOut(
                    instrument=str(o.instrument),
                    side=o.side,
                    quantity=o.quantity,
                    product=o.product,
                    order_type=o.order_type,
                    price=o.price,
                )
                for o in alert.basket
            ]
        return cls(
            id=trigger.trigger_id,
            kind=trigger.kind.value,
            type=kind_word,
            strategy=trigger.strategy,
            broker_id=trigger.broker_id,
            state=trigger.state.value,
            instrument=str(instrument),
            condition=condition,
            orders=legs,
            order_ids=list(trigger.order_ids),
            fired=_fired(trigger),
            detail=trigger.detail,
        )


def _fired(trigger: DeskTrigger) -> int:
    if trigger.alert is not None and trigger.alert.fired:
        return trigger.alert.fired
    return 1 if trigger.fired else 0


__all__ = ["AlertIn", "AlertOrderIn", "GttIn", "GttLegIn", "TriggerLegOut", "TriggerOut"]
