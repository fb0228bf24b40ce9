"""Form fields of place and modify calls, checked the way Kite's API layer checks them.

Everything here fails with :class:`InputError` (HTTP 400, ``InputException``) before an order
exists, as Kite's pre-OMS validation does. Margin and state checks come later, in the exchange.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

from orderdesk.sim.envelope import InputError
from orderdesk.sim.orders import OrderType, Product, Side, Validity, Variety

E = TypeVar("E", bound=StrEnum)

MAX_TAG_LENGTH = 20
ICEBERG_LEGS = range(2, 51)


def _text(form: Mapping[str, str], key: str) -> str | None:
    value = form.get(key)
    return None if value is None or value == "" else value


def _required(form: Mapping[str, str], key: str) -> str:
    value = _text(form, key)
    if value is None:
        raise InputError(f"Missing or empty field `{key}`.")
    return value


def _as_enum(value: str, key: str, kind: type[E]) -> E:
    try:
        return kind(value)
    except ValueError:
        raise InputError(f"Invalid `{key}`.") from None


def _enum(form: Mapping[str, str], key: str, kind: type[E]) -> E:
    return _as_enum(_required(form, key), key, kind)


def _optional_enum(form: Mapping[str, str], key: str, kind: type[E]) -> E | None:
    value = _text(form, key)
    return None if value is None else _as_enum(value, key, kind)


def _as_int(value: str, key: str) -> int:
    try:
        # The official client sends ints as text; a float-looking "10.0" is tolerated.
        number = Decimal(value)
    except InvalidOperation:
        raise InputError(f"Invalid `{key}`.") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise InputError(f"Invalid `{key}`.")
    return int(number)


def _int(form: Mapping[str, str], key: str) -> int | None:
    value = _text(form, key)
    return None if value is None else _as_int(value, key)


def _price(form: Mapping[str, str], key: str) -> Decimal | None:
    value = _text(form, key)
    if value is None:
        return None
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise InputError(f"Invalid `{key}`.") from None
    if not price.is_finite() or price < 0:
        raise InputError(f"Invalid `{key}`.")
    return price


MARKET_PROTECTION_VALUES = "-1 (automatic) or 1 to 100 (percent)"
MARKET_NEEDS_PROTECTION = (
    "Market orders without market protection are not allowed via API. "
    f"Send `market_protection`: {MARKET_PROTECTION_VALUES}."
)
"""Kite's refusal of an unprotected MARKET order (KITE_API.md §14.2 quotes its first sentence),
with the accepted values of the field (§4.3)."""


def _market_protection(form: Mapping[str, str], order_type: OrderType | None) -> int | None:
    """The form's ``market_protection``: ``-1`` or ``1..100``, ``None`` when left out.

    Kite's 2026 rule (KITE_API.md §4.3): a MARKET order needs it, ``0`` is refused and
    omission no longer defaults to ``-1``. Refusing the omission is the caller's part, which
    knows the order type the order ends up with (a modify may keep the order's own).
    """
    value = _int(form, "market_protection")
    if value is None:
        return None
    if value != -1 and not 1 <= value <= 100:
        raise InputError(f"Invalid `market_protection`: use {MARKET_PROTECTION_VALUES}.")
    if order_type is not None and order_type not in (OrderType.MARKET, OrderType.SLM):
        raise InputError("`market_protection` applies only to MARKET and SL-M orders.")
    return value


def require_market_protection(order_type: OrderType, protection: int | None) -> None:
    """Refuse a MARKET or SL-M order that reaches Kite's API without market protection.

    KITE_API.md's table (§4.3) names MARKET orders, its 2026 rules (§14.2) MARKET and SL-M.
    The stricter reading is the simulator's: code that leaves it out of an SL-M order passed
    here and would have its stop loss refused by Kite, while a refusal here that Kite would
    not make costs a developer one field. Only orders that come through the API's place and
    modify calls are held to it: orders Kite places itself (the broker's square-off, a fired
    GTT or ATO alert, a cover order's exit) are not API requests, and the simulator protects
    them automatically.
    """
    if order_type in (OrderType.MARKET, OrderType.SLM) and protection is None:
        raise InputError(MARKET_NEEDS_PROTECTION)


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    """A validated placement."""

    variety: Variety
    exchange: str
    tradingsymbol: str
    transaction_type: Side
    order_type: OrderType
    quantity: int
    product: Product
    price: Decimal
    trigger_price: Decimal
    validity: Validity
    validity_ttl: int
    disclosed_quantity: int
    iceberg_legs: int
    iceberg_quantity: int
    auction_number: str | None
    market_protection: int
    tag: str | None
    autoslice: bool
    algo_id: str | None = None
    """The exchange algo id (the 2026 SDKs' ``algo_id``), kept and echoed in the order's rows."""

    @classmethod
    def parse(cls, variety_text: str, form: Mapping[str, str]) -> PlaceRequest:
        """Check a place call's fields; raise :class:`InputError` on the first problem."""
        try:
            variety = Variety(variety_text)
        except ValueError:
            raise InputError("Invalid `variety`.") from None
        exchange = _required(form, "exchange")
        tradingsymbol = _required(form, "tradingsymbol")
        side = _enum(form, "transaction_type", Side)
        order_type = _enum(form, "order_type", OrderType)
        product = _enum(form, "product", Product)
        quantity = _as_int(_required(form, "quantity"), "quantity")
        if quantity <= 0:
            raise InputError("Invalid `quantity`.")
        price = _price(form, "price") or Decimal(0)
        trigger = _price(form, "trigger_price") or Decimal(0)
        if order_type in (OrderType.LIMIT, OrderType.SL) and price <= 0:
            raise InputError("Invalid `price`: a LIMIT or SL order needs a price above 0.")
        if order_type in (OrderType.SL, OrderType.SLM) and trigger <= 0:
            raise InputError("Invalid `trigger_price`: an SL or SL-M order needs a trigger price.")
        if order_type is OrderType.MARKET:
            price = Decimal(0)
        validity = _optional_enum(form, "validity", Validity) or Validity.DAY
        ttl = _int(form, "validity_ttl") or 0
        if validity is Validity.TTL and ttl <= 0:
            raise InputError("Invalid `validity_ttl`: TTL validity needs minutes above 0.")
        if validity is not Validity.TTL:
            ttl = 0
        disclosed = _int(form, "disclosed_quantity") or 0
        if not 0 <= disclosed <= quantity:
            raise InputError("Invalid `disclosed_quantity`.")
        legs = _int(form, "iceberg_legs") or 0
        leg_quantity = _int(form, "iceberg_quantity") or 0
        if variety is Variety.ICEBERG:
            if legs not in ICEBERG_LEGS:
                raise InputError("Invalid `iceberg_legs`: iceberg orders need 2 to 50 legs.")
            if leg_quantity <= 0 or leg_quantity * legs < quantity or leg_quantity >= quantity:
                raise InputError("Invalid `iceberg_quantity`.")
        auction = _text(form, "auction_number")
        if variety is Variety.AUCTION and auction is None:
            raise InputError("Missing or empty field `auction_number`.")
        if variety is Variety.CO:
            if order_type not in (OrderType.MARKET, OrderType.LIMIT):
                raise InputError("Cover orders must be MARKET or LIMIT.")
            if trigger <= 0:
                raise InputError("Invalid `trigger_price`: a cover order needs a stop loss.")
        tag = _text(form, "tag")
        if tag is not None and len(tag) > MAX_TAG_LENGTH:
            raise InputError(f"Invalid `tag`: at most {MAX_TAG_LENGTH} characters.")
        autoslice = (form.get("autoslice") or "").lower() == "true"
        protection = _market_protection(form, order_type)
        require_market_protection(order_type, protection)
        return cls(
            variety=variety,
            exchange=exchange,
            tradingsymbol=tradingsymbol,
            transaction_type=side,
            order_type=order_type,
            quantity=quantity,
            product=Product.CO if variety is Variety.CO else product,
            price=price,
            trigger_price=trigger,
            validity=validity,
            validity_ttl=ttl,
            disclosed_quantity=disclosed,
            iceberg_legs=legs if variety is Variety.ICEBERG else 0,
            iceberg_quantity=leg_quantity if variety is Variety.ICEBERG else 0,
            auction_number=auction,
            market_protection=protection or 0,
            tag=tag,
            autoslice=autoslice,
            algo_id=_text(form, "algo_id"),
        )


@dataclass(frozen=True, slots=True)
class ModifyRequest:
    """The fields a modify call may change; ``None`` = unchanged."""

    quantity: int | None
    price: Decimal | None
    trigger_price: Decimal | None
    order_type: OrderType | None
    validity: Validity | None
    disclosed_quantity: int | None
    market_protection: int | None

    @classmethod
    def parse(cls, form: Mapping[str, str]) -> ModifyRequest:
        """Check a modify call's fields."""
        quantity = _int(form, "quantity")
        if quantity is not None and quantity <= 0:
            raise InputError("Invalid `quantity`.")
        order_type = _optional_enum(form, "order_type", OrderType)
        protection = _market_protection(form, order_type)
        return cls(
            quantity=quantity,
            price=_price(form, "price"),
            trigger_price=_price(form, "trigger_price"),
            order_type=order_type,
            validity=_optional_enum(form, "validity", Validity),
            disclosed_quantity=_int(form, "disclosed_quantity"),
            market_protection=protection,
        )


__all__ = [
    "MARKET_NEEDS_PROTECTION",
    "ModifyRequest",
    "PlaceRequest",
    "require_market_protection",
]
