"""GTT triggers (good till triggered): single and two-leg (OCO), firing into real orders.

A trigger watches one instrument's last price. A single trigger fires when the price reaches its
value from the side it started on; a two-leg trigger fires its first order when the price falls
to the lower value and its second when it rises to the upper one. Firing places a regular LIMIT
order through the exchange and records Kite's ``result`` block (with ``order_result``), including
a failed placement's rejection reason.

Triggers outlive trading days (the rollover keeps them); one on a contract that expires becomes
``expired`` at the rollover that delists it (UNVERIFIED: Kite's exact handling).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from orderdesk.sim.clock import SimClock, fmt
from orderdesk.sim.envelope import InputError, NotFoundError, SimError
from orderdesk.sim.exchange import Exchange
from orderdesk.sim.ids import IdGenerator
from orderdesk.sim.order_params import PlaceRequest
from orderdesk.sim.orders import OrderType, Product, Side, Status, Validity, Variety, money
from orderdesk.sim.ports import PriceSource

GTT_LIFETIME = timedelta(days=365)


class GttType(StrEnum):
    SINGLE = "single"
    TWO_LEG = "two-leg"


class GttStatus(StrEnum):
    ACTIVE = "active"
    TRIGGERED = "triggered"
    DISABLED = "disabled"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class GttOrder:
    """One order a trigger would place."""

    transaction_type: Side
    quantity: int
    price: Decimal
    product: Product
    order_type: OrderType


@dataclass(frozen=True, slots=True)
class GttSpec:
    """A validated place or modify call."""

    kind: GttType
    exchange: str
    tradingsymbol: str
    instrument_token: int
    trigger_values: tuple[Decimal, ...]
    last_price: Decimal
    orders: tuple[GttOrder, ...]


@dataclass(slots=True)
class Trigger:
    """A stored trigger and what happened when it fired."""

    id: int
    user_id: str
    api_key: str | None
    spec: GttSpec
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    status: GttStatus = GttStatus.ACTIVE
    results: list[dict[str, Any] | None] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        """Kite's GTT object."""
        spec = self.spec
        return {
            "id": self.id,
            "user_id": self.user_id,
            "parent_trigger": None,
            "type": str(spec.kind),
            "created_at": fmt(self.created_at),
            "updated_at": fmt(self.updated_at),
            "expires_at": fmt(self.expires_at),
            "status": str(self.status),
            "condition": {
                "exchange": spec.exchange,
                "last_price": money(spec.last_price),
                "tradingsymbol": spec.tradingsymbol,
                "trigger_values": [money(v) for v in spec.trigger_values],
                "instrument_token": spec.instrument_token,
            },
            "orders": [
                {
                    "exchange": spec.exchange,
                    "tradingsymbol": spec.tradingsymbol,
                    "product": str(o.product),
                    "order_type": str(o.order_type),
                    "transaction_type": str(o.transaction_type),
                    "quantity": o.quantity,
                    "price": money(o.price),
                    "result": self.results[i] if i < len(self.results) else None,
                }
                for i, o in enumerate(spec.orders)
            ],
            "meta": {},
        }


def _decimal(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InputError(f"Invalid `{what}`.") from None
    if not number.is_finite() or number <= 0:
        raise InputError(f"Invalid `{what}`.")
    return number


def _json(form: Mapping[str, str], key: str) -> Any:
    text = form.get(key)
    if not text:
        raise InputError(f"Missing or empty field `{key}`.")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise InputError(f"Invalid `{key}`: not JSON.") from None


class GttBook:
    """Every user's triggers, checked on each price change."""

    def __init__(
        self,
        *,
        clock: SimClock,
        ids: IdGenerator,
        exchange: Exchange,
        prices: PriceSource,
        app_id: int,
    ) -> None:
        self._app_id = app_id
        self._clock = clock
        self._ids = ids
        self._exchange = exchange
        self._prices = prices
        self._triggers: dict[int, Trigger] = {}

    def parse(self, form: Mapping[str, str]) -> GttSpec:
        """Check a place/modify form: ``type``, ``condition`` and ``orders`` (JSON)."""
        try:
            kind = GttType(form.get("type", ""))
        except ValueError:
            raise InputError("Invalid `type`: use single or two-leg.") from None
        condition = _json(form, "condition")
        orders = _json(form, "orders")
        if not isinstance(condition, dict) or not isinstance(orders, list):
            raise InputError("Invalid `condition` or `orders`.")
        inst = self._exchange.instrument(
            str(condition.get("exchange", "")), str(condition.get("tradingsymbol", ""))
        )
        values = condition.get("trigger_values")
        wanted = 1 if kind is GttType.SINGLE else 2
        if not isinstance(values, list) or len(values) != wanted or len(orders) != wanted:
            raise InputError(f"A {kind} trigger takes {wanted} trigger value(s) and order(s).")
        triggers = tuple(_decimal(v, "trigger_values") for v in values)
        if kind is GttType.TWO_LEG and not triggers[0] < triggers[1]:
            raise InputError("Invalid `trigger_values`: the lower value must come first.")
        parsed = []
        for raw in orders:
            if not isinstance(raw, dict):
                raise InputError("Invalid `orders`.")
            try:
                parsed.append(
                    GttOrder(
                        transaction_type=Side(str(raw.get("transaction_type"))),
                        quantity=int(raw.get("quantity", 0)),
                        price=_decimal(raw.get("price"), "price"),
                        product=Product(str(raw.get("product"))),
                        order_type=OrderType(str(raw.get("order_type", "LIMIT"))),
                    )
                )
            except (ValueError, TypeError):
                raise InputError("Invalid `orders`.") from None
            if parsed[-1].quantity <= 0 or parsed[-1].order_type is not OrderType.LIMIT:
                raise InputError("Invalid `orders`: GTT orders are LIMIT with a quantity.")
        last = condition.get("last_price")
        return GttSpec(
            kind=kind,
            exchange=inst.exchange,
            tradingsymbol=inst.tradingsymbol,
            instrument_token=inst.instrument_token,
            trigger_values=triggers,
            last_price=_decimal(last, "last_price")
            if last is not None
            else Decimal(str(self._prices.last_price(inst.instrument_token))),
            orders=tuple(parsed),
        )

    def place(self, user_id: str, api_key: str | None, spec: GttSpec) -> int:
        """Store a new active trigger; returns its id."""
        now = self._clock.now().replace(microsecond=0)
        trigger = Trigger(
            id=self._ids.gtt_id(),
            user_id=user_id,
            api_key=api_key,
            spec=spec,
            created_at=now,
            updated_at=now,
            expires_at=now + GTT_LIFETIME,
        )
        self._triggers[trigger.id] = trigger
        self._check(trigger)
        return trigger.id

    def get(self, user_id: str, trigger_id: int) -> Trigger:
        """One of the user's triggers, or 404."""
        trigger = self._triggers.get(trigger_id)
        if trigger is None or trigger.user_id != user_id:
            raise NotFoundError("Trigger not found.")
        return trigger

    def triggers_of(self, user_id: str) -> list[dict[str, Any]]:
        """The user's triggers, newest first (as Kite lists them)."""
        return [t.to_wire() for t in reversed(self._triggers.values()) if t.user_id == user_id]

    def modify(self, user_id: str, trigger_id: int, spec: GttSpec) -> int:
        """Replace an active trigger's condition and orders."""
        trigger = self.get(user_id, trigger_id)
        if trigger.status is not GttStatus.ACTIVE:
            raise InputError(f"Trigger is {trigger.status}; only active triggers can be modified.")
        trigger.spec = spec
        trigger.updated_at = self._clock.now().replace(microsecond=0)
        self._check(trigger)
        return trigger.id

    def delete(self, user_id: str, trigger_id: int) -> int:
        """Delete an active trigger."""
        trigger = self.get(user_id, trigger_id)
        if trigger.status is not GttStatus.ACTIVE:
            raise InputError(f"Trigger is {trigger.status}; only active triggers can be deleted.")
        trigger.status = GttStatus.DELETED
        trigger.updated_at = self._clock.now().replace(microsecond=0)
        return trigger.id

    def on_prices(self, tokens: list[int]) -> None:
        """Price listener: fire triggers whose price was reached."""
        changed = set(tokens)
        for trigger in list(self._triggers.values()):
            if trigger.spec.instrument_token in changed:
                self._check(trigger)

    def _check(self, trigger: Trigger) -> None:
        if trigger.status is not GttStatus.ACTIVE:
            return
        spec = trigger.spec
        ltp = Decimal(str(self._prices.last_price(spec.instrument_token)))
        leg: int | None = None
        if spec.kind is GttType.SINGLE:
            value = spec.trigger_values[0]
            rising = value > spec.last_price
            if (rising and ltp >= value) or (not rising and ltp <= value):
                leg = 0
        elif ltp <= spec.trigger_values[0]:
            leg = 0
        elif ltp >= spec.trigger_values[1]:
            leg = 1
        if leg is not None:
            self._fire(trigger, leg, ltp)

    def _fire(self, trigger: Trigger, leg: int, ltp: Decimal) -> None:
        spec = trigger.spec
        order = spec.orders[leg]
        now = self._clock.now().replace(microsecond=0)
        trigger.status = GttStatus.TRIGGERED
        trigger.updated_at = now
        # Built here, not parsed from a form: Kite places a fired GTT's order itself, so the
        # API's rules for callers (MARKET orders need market protection, KITE_API.md §4.3)
        # do not apply; a GTT order is LIMIT anyway. The RMS's checks (circuit limits,
        # margin, holdings for a CNC sale) do, in Exchange.place.
        request = PlaceRequest(
            variety=Variety.REGULAR,
            exchange=spec.exchange,
            tradingsymbol=spec.tradingsymbol,
            transaction_type=order.transaction_type,
            order_type=OrderType.LIMIT,
            quantity=order.quantity,
            product=order.product,
            price=order.price,
            trigger_price=Decimal(0),
            validity=Validity.DAY,
            validity_ttl=0,
            disclosed_quantity=0,
            iceberg_legs=0,
            iceberg_quantity=0,
            auction_number=None,
            market_protection=0,
            tag=None,
            autoslice=False,
        )
        try:
            placed = self._exchange.place(trigger.user_id, trigger.api_key, request)
            rejected = placed.status is Status.REJECTED
            outcome = {
                "status": "failed" if rejected else "success",
                "order_id": placed.order_id,
                "rejection_reason": placed.status_message or "" if rejected else "",
            }
        except SimError as exc:
            outcome = {"status": "failed", "order_id": "", "rejection_reason": exc.message}
        result = {
            "account_id": trigger.user_id,
            "exchange": spec.exchange,
            "tradingsymbol": spec.tradingsymbol,
            "validity": "DAY",
            "product": str(order.product),
            "order_type": "LIMIT",
            "transaction_type": str(order.transaction_type),
            "quantity": order.quantity,
            "price": money(order.price),
            # Kite's sample: "{\"app_id\":12617,\"gtt\":105099}" (which app's id, the one that
            # created the trigger or Kite's own, is UNVERIFIED; the simulator has one app).
            "meta": json.dumps({"app_id": self._app_id, "gtt": trigger.id}, separators=(",", ":")),
            "timestamp": fmt(now),
            "triggered_at": money(ltp),
            "order_result": outcome,
        }
        trigger.results = [result if i == leg else None for i in range(len(spec.orders))]

    def expire(self, tokens: Collection[int]) -> list[int]:
        """Active triggers on these (expired) instruments become ``expired``; returns their ids."""
        now = self._clock.now().replace(microsecond=0)
        ended = []
        for trigger in self._triggers.values():
            active = trigger.status is GttStatus.ACTIVE
            if active and trigger.spec.instrument_token in tokens:
                trigger.status = GttStatus.EXPIRED
                trigger.updated_at = now
                ended.append(trigger.id)
        return ended

    def reset(self) -> None:
        """No triggers (``/_sim/reset``)."""
        self._triggers.clear()


__all__ = ["GttBook", "GttSpec", "GttStatus", "GttType", "Trigger"]
