"""Kite alerts: ``simple`` (a notice) and ``ato`` (alert-triggers-order: a basket placed when it
fires), checked on each price change.

The wire shape is Kite's own (``kite-mocks/alerts_*.json``): an alert compares an instrument's
``LastTradedPrice`` (the left-hand side) with a constant or another instrument's last price (the
right-hand side) by ``<= >= < > ==``. What is not in the samples, and so is this simulator's
reading (UNVERIFIED against Kite):

- an alert fires when its condition *becomes* true (checked at creation and on each price
  change), not on every tick while it stays true; each firing adds one history entry and
  counts in ``alert_count``;
- a ``simple`` alert stays enabled after firing; an ``ato`` alert places its basket once and is
  then ``disabled`` (the sample shows a fired ATO so: ``disabled``, ``alert_count`` 1);
- a history entry's ``order_meta`` is ``null`` for a simple alert and, for an ATO, one entry per
  basket item: ``{"id", "exchange", "tradingsymbol", "order_id", "status", "error"}``
  (``status`` ``success`` or ``failed``). This is how a desk learns which orders an ATO placed:
  Kite's order rows carry no link back to the alert;
- at most 500 alerts may be enabled per user (Kite's documented cap); the 501st is refused with
  an ``InputException`` (the exact message is UNVERIFIED);
- a deleted alert is gone (``GET`` answers 404);
- an index is named as Kite's samples name it, ``lhs_exchange="INDICES"`` with the index's
  trading symbol (``NIFTY 50``), and is echoed so; the simulator's own key (``NSE:NIFTY 50``)
  works too. An instrument the simulator does not list is an ``InputException`` naming it.

Alerts outlive trading days: the rollover never touches them.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from orderdesk.sim.clock import SimClock, fmt
from orderdesk.sim.envelope import InputError, NotFoundError, SimError
from orderdesk.sim.exchange import Exchange
from orderdesk.sim.instruments import Instrument
from orderdesk.sim.order_params import PlaceRequest
from orderdesk.sim.orders import OrderType, Product, Side, Status, Validity, Variety, money
from orderdesk.sim.snapshot import TickSnapshot

MAX_ACTIVE = 500
"""Enabled alerts per user (Kite's cap)."""
LIMIT_MESSAGE = f"You can have at most {MAX_ACTIVE} active alerts. Delete some and try again."
OPERATORS = ("<=", ">=", "<", ">", "==")
ATTRIBUTE = "LastTradedPrice"
INDICES = "INDICES"
"""The exchange Kite's alerts name an index by (``kite-mocks/alerts_*.json``); the instrument
dump lists indices under NSE or BSE with the segment ``INDICES``."""


class Quotes(Protocol):
    """What alerts read of the market."""

    def last_price(self, token: int) -> float: ...
    def snapshot(self, token: int) -> TickSnapshot: ...


class Listing(Protocol):
    """What alerts read of the instrument master."""

    def by_symbol(self, exchange: str, tradingsymbol: str) -> Instrument | None: ...
    def __iter__(self) -> Iterator[Instrument]: ...


@dataclass(frozen=True, slots=True)
class Operand:
    """One side of a condition: an instrument's last price, or a constant."""

    exchange: str
    tradingsymbol: str
    instrument_token: int


@dataclass(frozen=True, slots=True)
class BasketItem:
    """One order an ATO places."""

    id: int
    exchange: str
    tradingsymbol: str
    instrument_token: int
    weight: int
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """A validated create or modify call."""

    kind: str
    name: str
    lhs: Operand
    operator: str
    rhs_type: str
    rhs_constant: Decimal
    rhs: Operand | None
    basket: tuple[BasketItem, ...]


@dataclass(slots=True)
class Alert:
    uuid: str
    user_id: str
    api_key: str | None
    spec: AlertSpec
    created_at: datetime
    updated_at: datetime
    status: str = "enabled"
    alert_count: int = 0
    holding: bool = False
    """Whether the condition held at the last check (an alert fires when it starts to)."""
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return self.status == "enabled"

    def to_wire(self) -> dict[str, Any]:
        """Kite's alert object (the key order of the samples)."""
        spec = self.spec
        wire: dict[str, Any] = {
            "type": spec.kind,
            "user_id": self.user_id,
            "uuid": self.uuid,
            "name": spec.name,
            "status": self.status,
            "disabled_reason": "",
        }
        if spec.kind == "ato":
            wire["basket"] = {
                "items": [
                    {
                        "id": item.id,
                        "tradingsymbol": item.tradingsymbol,
                        "exchange": item.exchange,
                        "instrument_token": item.instrument_token,
                        "weight": item.weight,
                        "params": item.params,
                    }
                    for item in spec.basket
                ]
            }
        rhs = spec.rhs
        wire |= {
            "lhs_attribute": ATTRIBUTE,
            "lhs_exchange": spec.lhs.exchange,
            "lhs_tradingsymbol": spec.lhs.tradingsymbol,
            "operator": spec.operator,
            "rhs_type": spec.rhs_type,
            "rhs_attribute": ATTRIBUTE if rhs is not None else "",
            "rhs_exchange": rhs.exchange if rhs is not None else "",
            "rhs_tradingsymbol": rhs.tradingsymbol if rhs is not None else "",
            "rhs_constant": money(spec.rhs_constant),
            "alert_count": self.alert_count,
            "created_at": fmt(self.created_at),
            "updated_at": fmt(self.updated_at),
        }
        return wire


def _decimal(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InputError(f"Invalid `{what}`.") from None
    if not number.is_finite():
        raise InputError(f"Invalid `{what}`.")
    return number


def _required(form: Mapping[str, str], key: str) -> str:
    value = form.get(key, "")
    if not value:
        raise InputError(f"Missing or empty field `{key}`.")
    return value


def _holds(left: Decimal, operator: str, right: Decimal) -> bool:
    if operator == "<=":
        return left <= right
    if operator == ">=":
        return left >= right
    if operator == "<":
        return left < right
    if operator == ">":
        return left > right
    return left == right


# The params a basket item's order takes, with the defaults Kite shows in its sample.
_PARAM_DEFAULTS: dict[str, Any] = {
    "validity": "DAY",
    "validity_ttl": 0,
    "variety": "regular",
    "disclosed_quantity": 0,
    "price": 0,
    "trigger_price": 0,
    "squareoff": 0,
    "stoploss": 0,
    "trailing_stoploss": 0,
    "gtt": {"target": 0, "stoploss": 0},
    "tags": [],
}


class AlertBook:
    """Every user's alerts, checked on each price change."""

    def __init__(
        self,
        *,
        clock: SimClock,
        exchange: Exchange,
        quotes: Quotes,
        instruments: Listing,
        seed: int,
    ) -> None:
        self._clock = clock
        self._exchange = exchange
        self._quotes = quotes
        self._instruments = instruments
        self._alerts: dict[str, Alert] = {}
        self._seed = seed
        self._rng = random.Random(seed)
        self._item_id = 0

    # -- parsing --------------------------------------------------------------------------------

    def _side(self, exchange: str, tradingsymbol: str, where: str) -> Operand:
        """The instrument an alert names, as it names it; ``where`` says which field did."""
        inst = self._lookup(exchange, tradingsymbol)
        if inst is None:
            raise InputError(f"Invalid {where}: no instrument {exchange}:{tradingsymbol}.")
        return Operand(exchange, inst.tradingsymbol, inst.instrument_token)

    def _lookup(self, exchange: str, tradingsymbol: str) -> Instrument | None:
        if exchange != INDICES:
            return self._instruments.by_symbol(exchange, tradingsymbol)
        return next(
            (
                inst
                for inst in self._instruments
                if inst.is_index and inst.tradingsymbol == tradingsymbol
            ),
            None,
        )

    def parse(self, form: Mapping[str, str]) -> AlertSpec:
        """Check a create/modify form (Kite's field names; ``basket`` is JSON for an ATO)."""
        kind = _required(form, "type")
        if kind not in ("simple", "ato"):
            raise InputError("Invalid `type`: use simple or ato.")
        name = _required(form, "name")
        if form.get("lhs_attribute", ATTRIBUTE) != ATTRIBUTE:
            raise InputError(f"Invalid `lhs_attribute`: only {ATTRIBUTE} is supported.")
        lhs = self._side(
            _required(form, "lhs_exchange"),
            _required(form, "lhs_tradingsymbol"),
            "`lhs_exchange`/`lhs_tradingsymbol`",
        )
        operator = _required(form, "operator")
        if operator not in OPERATORS:
            raise InputError(f"Invalid `operator`: use one of {' '.join(OPERATORS)}.")
        rhs_type = form.get("rhs_type", "constant")
        rhs: Operand | None = None
        constant = Decimal(0)
        if rhs_type == "constant":
            constant = _decimal(_required(form, "rhs_constant"), "rhs_constant")
        elif rhs_type == "instrument":
            if form.get("rhs_attribute", ATTRIBUTE) != ATTRIBUTE:
                raise InputError(f"Invalid `rhs_attribute`: only {ATTRIBUTE} is supported.")
            rhs = self._side(
                _required(form, "rhs_exchange"),
                _required(form, "rhs_tradingsymbol"),
                "`rhs_exchange`/`rhs_tradingsymbol`",
            )
        else:
            raise InputError("Invalid `rhs_type`: use constant or instrument.")
        basket: tuple[BasketItem, ...] = ()
        if kind == "ato":
            basket = self._basket(_required(form, "basket"))
        elif form.get("basket"):
            raise InputError("Invalid `basket`: only an ato alert takes one.")
        return AlertSpec(kind, name, lhs, operator, rhs_type, constant, rhs, basket)

    def _basket(self, text: str) -> tuple[BasketItem, ...]:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError:
            raise InputError("Invalid `basket`: not JSON.") from None
        items = raw.get("items") if isinstance(raw, dict) else None
        if not isinstance(items, list) or not items:
            raise InputError("Invalid `basket`: it needs at least one item.")
        parsed = []
        for entry in items:
            if not isinstance(entry, dict) or not isinstance(entry.get("params"), dict):
                raise InputError("Invalid `basket`: each item needs its params.")
            side = self._side(
                str(entry.get("exchange", "")), str(entry.get("tradingsymbol", "")), "`basket`"
            )
            params = {**_PARAM_DEFAULTS, **entry["params"]}
            self._request(side, params)  # refuse an order that could never be placed, now
            self._item_id += 1
            parsed.append(
                BasketItem(
                    id=self._item_id,
                    exchange=side.exchange,
                    tradingsymbol=side.tradingsymbol,
                    instrument_token=side.instrument_token,
                    weight=int(entry.get("weight", 0) or 0),
                    params=params,
                )
            )
        return tuple(parsed)

    @staticmethod
    def _request(side: Operand, params: Mapping[str, Any]) -> PlaceRequest:
        """The placement a basket item stands for."""
        try:
            quantity = int(params["quantity"])
            request = PlaceRequest(
                variety=Variety(str(params["variety"])),
                exchange=side.exchange,
                tradingsymbol=side.tradingsymbol,
                transaction_type=Side(str(params["transaction_type"])),
                order_type=OrderType(str(params["order_type"])),
                quantity=quantity,
                product=Product(str(params["product"])),
                price=Decimal(str(params["price"])),
                trigger_price=Decimal(str(params["trigger_price"])),
                validity=Validity(str(params["validity"])),
                validity_ttl=int(params["validity_ttl"]),
                disclosed_quantity=int(params["disclosed_quantity"]),
                iceberg_legs=0,
                iceberg_quantity=0,
                auction_number=None,
                market_protection=int(params.get("market_protection", 0) or 0),
                tag=None,
                autoslice=False,
            )
        except (KeyError, ValueError, TypeError, InvalidOperation):
            raise InputError(
                "Invalid `basket`: an item's params need transaction_type, order_type, "
                "product and quantity."
            ) from None
        if quantity <= 0:
            raise InputError("Invalid `basket`: an item's quantity must be positive.")
        return request

    # -- CRUD -----------------------------------------------------------------------------------

    def _new_uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _active(self, user_id: str) -> int:
        return sum(1 for a in self._alerts.values() if a.user_id == user_id and a.enabled)

    def create(self, user_id: str, api_key: str | None, spec: AlertSpec) -> Alert:
        """Store a new enabled alert (refused beyond :data:`MAX_ACTIVE`) and check it now."""
        if self._active(user_id) >= MAX_ACTIVE:
            raise InputError(LIMIT_MESSAGE)
        now = self._clock.now().replace(microsecond=0)
        alert = Alert(self._new_uuid(), user_id, api_key, spec, now, now)
        self._alerts[alert.uuid] = alert
        self._check(alert)
        return alert

    def get(self, user_id: str, alert_id: str) -> Alert:
        alert = self._alerts.get(alert_id)
        if alert is None or alert.user_id != user_id:
            raise NotFoundError("Alert not found.")
        return alert

    def alerts_of(self, user_id: str, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        """The user's alerts, newest first; ``status`` and ``type`` filter them."""
        wanted_status, wanted_type = filters.get("status"), filters.get("type")
        return [
            a.to_wire()
            for a in reversed(self._alerts.values())
            if a.user_id == user_id
            and (wanted_status is None or a.status == wanted_status)
            and (wanted_type is None or a.spec.kind == wanted_type)
        ]

    def modify(self, user_id: str, alert_id: str, spec: AlertSpec) -> Alert:
        """New terms for an alert; it is checked against the prices at once."""
        alert = self.get(user_id, alert_id)
        if spec.kind != alert.spec.kind:
            raise InputError("Invalid `type`: an alert's type cannot change.")
        alert.spec = spec
        alert.updated_at = self._clock.now().replace(microsecond=0)
        alert.holding = False
        self._check(alert)
        return alert

    def delete(self, user_id: str, alert_ids: list[str]) -> None:
        """Delete alerts by uuid (all or none: an unknown uuid refuses the call)."""
        if not alert_ids:
            raise InputError("Missing or empty field `uuid`.")
        for alert_id in alert_ids:
            self.get(user_id, alert_id)
        for alert_id in alert_ids:
            del self._alerts[alert_id]

    def history(self, user_id: str, alert_id: str) -> list[dict[str, Any]]:
        return list(self.get(user_id, alert_id).history)

    # -- firing ---------------------------------------------------------------------------------

    def on_prices(self, tokens: list[int]) -> None:
        """Price listener: fire alerts whose condition became true."""
        changed = set(tokens)
        for alert in list(self._alerts.values()):
            spec = alert.spec
            rhs_token = spec.rhs.instrument_token if spec.rhs is not None else None
            if spec.lhs.instrument_token in changed or rhs_token in changed:
                self._check(alert)

    def _price(self, token: int) -> Decimal:
        return Decimal(str(self._quotes.last_price(token)))

    def _check(self, alert: Alert) -> None:
        if not alert.enabled:
            return
        spec = alert.spec
        right = self._price(spec.rhs.instrument_token) if spec.rhs else spec.rhs_constant
        holds = _holds(self._price(spec.lhs.instrument_token), spec.operator, right)
        started = holds and not alert.holding
        alert.holding = holds
        if started:
            self._fire(alert, right)

    def _fire(self, alert: Alert, right: Decimal) -> None:
        spec = alert.spec
        now = self._clock.now().replace(microsecond=0)
        alert.alert_count += 1
        alert.updated_at = now
        order_meta: list[dict[str, Any]] | None = None
        if spec.kind == "ato":
            alert.status = "disabled"
            order_meta = [self._place(alert, item) for item in spec.basket]
        alert.history.append(
            {
                "uuid": alert.uuid,
                "type": spec.kind,
                "meta": [self._meta(spec.lhs, now)],
                "condition": (
                    f'{ATTRIBUTE}("{spec.lhs.exchange}:{spec.lhs.tradingsymbol}") '
                    f"{spec.operator} {money(right)}"
                ),
                "created_at": fmt(now),
                "order_meta": order_meta,
            }
        )

    def _place(self, alert: Alert, item: BasketItem) -> dict[str, Any]:
        outcome = {
            "id": item.id,
            "exchange": item.exchange,
            "tradingsymbol": item.tradingsymbol,
            "order_id": "",
            "status": "failed",
            "error": "",
        }
        try:
            request = self._request(Operand(item.exchange, item.tradingsymbol, 0), item.params)
            placed = self._exchange.place(alert.user_id, alert.api_key, request)
        except SimError as exc:
            return outcome | {"error": exc.message}
        rejected = placed.status is Status.REJECTED
        return outcome | {
            "order_id": placed.order_id,
            "status": "failed" if rejected else "success",
            "error": (placed.status_message or "") if rejected else "",
        }

    def _meta(self, side: Operand, now: datetime) -> dict[str, Any]:
        """The quote at the moment of firing, as the history sample shows it."""
        snap = self._quotes.snapshot(side.instrument_token)
        return {
            "instrument_token": side.instrument_token,
            "tradingsymbol": side.tradingsymbol,
            "timestamp": fmt(now),
            "last_price": snap.last_price,
            "ohlc": snap.ohlc,
            "net_change": round(snap.change, 2),
            "exchange": side.exchange,
            "last_trade_time": "0001-01-01 00:00:00",
            "last_quantity": snap.last_quantity,
            "buy_quantity": snap.buy_quantity,
            "sell_quantity": snap.sell_quantity,
            "volume": snap.volume,
            "volume_tick": 0,
            "average_price": snap.average_price,
            "oi": snap.oi,
            "oi_day_high": snap.oi_day_high,
            "oi_day_low": snap.oi_day_low,
            "lower_circuit_limit": 0,
            "upper_circuit_limit": 0,
        }

    def reset(self) -> None:
        """No alerts (``/_sim/reset``)."""
        self._alerts.clear()
        self._rng = random.Random(self._seed)
        self._item_id = 0


__all__ = ["MAX_ACTIVE", "Alert", "AlertBook", "AlertSpec"]
