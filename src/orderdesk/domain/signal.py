"""A ``Signal``: what a strategy asks for, validated before anything else happens.

Cross-field rules follow Kite's order rules (price and trigger per order type, iceberg and TTL
parameters only where they apply, cover-order stop, auction number). Every rule that fails raises
one :class:`~orderdesk.domain.errors.ValidationError` naming the field and the reason, so a caller
can fix its input without reading a broker error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from decimal import Decimal

from orderdesk.domain.calendar import SEGMENT_OF, Segment
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.ids import validate_signal_id, validate_tag
from orderdesk.domain.money import is_multiple_of
from orderdesk.domain.values import (
    ORDER_PRODUCTS,
    InstrumentKey,
    OrderType,
    Product,
    Side,
    Validity,
    Variety,
)

MAX_ICEBERG_LEGS = 50
MIN_ICEBERG_LEGS = 2
STRATEGY_NAME = re.compile(r"[A-Za-z0-9_\-]{1,32}")
"""What a strategy may be called (whole, by ``fullmatch``); the config holds its tables to it."""
DEFAULT_STRATEGY = "manual"
SQUARE_OFF_STRATEGY = "square_off"
"""The strategy of the orders the desk places to square off its own intraday positions
(``[trading_day] own_square_off_minutes``); the per-strategy books credit their fills to the
strategies whose positions they close (``attribution.is_own_square_off``)."""
EXTERNAL_STRATEGY = "external"
"""The strategy of orders the desk adopts from the broker's book (placed outside it)."""
ACCOUNT_EXIT_STRATEGY = "account_exit"
"""The strategy of the desk's exits of the account's whole position (``exit_position`` naming
no strategy, or the default one): the per-strategy books credit their fills to the strategies
whose positions they close, as the square-off's (``attribution.is_account_exit``)."""
RESERVED_STRATEGIES = frozenset({SQUARE_OFF_STRATEGY, EXTERNAL_STRATEGY, ACCOUNT_EXIT_STRATEGY})
"""Names the desk gives its own orders: a signal, an exit or a config table may not take them,
or its orders would be read as a square-off, as adopted or as the account's exit, and their
books credited accordingly."""

_RESERVED_FOR = {
    SQUARE_OFF_STRATEGY: "its square-off",
    EXTERNAL_STRATEGY: "the orders it adopts",
    ACCOUNT_EXIT_STRATEGY: "its exits of the account's whole position",
}


def reserved_strategy(name: str) -> str | None:
    """Why ``name`` may not be a signal's (or an exit's) strategy, or None: the one wording of
    the refusal the API, the CLI, the config's ``[strategies]`` and embedded code
    (``Runtime.submit``) give."""
    if name not in RESERVED_STRATEGIES:
        return None
    return f"{name!r} is the name of the desk's own orders ({_RESERVED_FOR[name]}); choose another"


def _positive(value: Decimal | None, field: str) -> None:
    if value is not None and value <= 0:
        raise ValidationError(field, "must be greater than 0")


def check_tick(field: str, value: Decimal | None, tick_size: Decimal) -> None:
    """Raise, naming ``field``, if ``value`` is not a whole number of ticks of the instrument.

    The rule a signal's prices are held to, and with them every price the desk hands the
    broker to place later (a GTT's legs and trigger values, an ATO's basket)."""
    if value is not None and not is_multiple_of(value, tick_size):
        raise ValidationError(field, f"{value} is not a multiple of the tick {tick_size}")


def check_lot(field: str, quantity: int, lot_size: int) -> None:
    """Raise, naming ``field``, if ``quantity`` is not a whole number of lots (derivatives)."""
    if lot_size > 1 and quantity % lot_size:
        raise ValidationError(field, f"{quantity} is not a multiple of lot {lot_size}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """An order request before it has an identity at the broker.

    ``signal_id`` is the caller's idempotency key; when absent the engine assigns one.
    ``tag`` is an optional extra label; orderdesk's own client order id is what travels as
    Kite's tag.
    """

    instrument: InstrumentKey
    side: Side
    quantity: int
    order_type: OrderType
    product: Product
    variety: Variety = Variety.REGULAR
    validity: Validity = Validity.DAY
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    disclosed_quantity: int = 0
    validity_ttl: int | None = None
    iceberg_legs: int | None = None
    iceberg_quantity: int | None = None
    auction_number: str | None = None
    market_protection: Decimal | None = None
    strategy: str = DEFAULT_STRATEGY
    signal_id: str | None = None
    tag: str | None = None

    def __post_init__(self) -> None:
        self._check_basics()
        self._check_prices()
        self._check_variety()
        self._check_validity()

    def _check_basics(self) -> None:
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise ValidationError("quantity", "must be a whole number")
        if self.quantity <= 0:
            raise ValidationError("quantity", "must be greater than 0")
        if self.product not in ORDER_PRODUCTS:
            raise ValidationError("product", f"{self.product} cannot be used for a new order")
        if not 0 <= self.disclosed_quantity <= self.quantity:
            raise ValidationError("disclosed_quantity", "must be between 0 and quantity")
        if not STRATEGY_NAME.fullmatch(self.strategy):  # fullmatch: "$" lets a final newline by
            raise ValidationError("strategy", "must be 1 to 32 ASCII letters, digits, _ or -")
        if self.signal_id is not None:
            validate_signal_id(self.signal_id)
        if self.tag is not None:
            validate_tag(self.tag)

    def _check_prices(self) -> None:
        _positive(self.price, "price")
        _positive(self.trigger_price, "trigger_price")
        kind = self.order_type
        if kind in (OrderType.LIMIT, OrderType.SL) and self.price is None:
            raise ValidationError("price", f"is required for a {kind} order")
        if kind in (OrderType.MARKET, OrderType.SL_M) and self.price is not None:
            raise ValidationError("price", f"must be empty for a {kind} order")
        needs_trigger = kind in (OrderType.SL, OrderType.SL_M) or self.variety is Variety.CO
        if needs_trigger and self.trigger_price is None:
            what = "a cover order's stop" if self.variety is Variety.CO else f"a {kind} order"
            raise ValidationError("trigger_price", f"is required for {what}")
        if not needs_trigger and self.trigger_price is not None:
            raise ValidationError("trigger_price", f"does not apply to a {kind} order")
        if kind is OrderType.SL and self.price is not None and self.trigger_price is not None:
            # A stop-limit buy triggers below its limit; a sell above. The reverse is a
            # marketable limit the exchange would reject or fill at a surprising price.
            if self.side is Side.BUY and self.trigger_price > self.price:
                raise ValidationError("trigger_price", "must not exceed price for an SL buy")
            if self.side is Side.SELL and self.trigger_price < self.price:
                raise ValidationError("trigger_price", "must not be below price for an SL sell")
        if self.market_protection is not None:
            if kind not in (OrderType.MARKET, OrderType.SL_M):
                raise ValidationError("market_protection", "applies to MARKET and SL-M only")
            mp = self.market_protection
            if mp != -1 and not 0 < mp <= 100:
                raise ValidationError("market_protection", "must be -1 (automatic) or 0 < % ≤ 100")

    def _check_variety(self) -> None:
        iceberg_fields = (self.iceberg_legs, self.iceberg_quantity)
        if self.variety is Variety.ICEBERG:
            legs, leg_quantity = iceberg_fields
            if legs is None:
                raise ValidationError("iceberg_legs", "is required for an iceberg order")
            if leg_quantity is None:
                raise ValidationError("iceberg_quantity", "is required for an iceberg order")
            if not MIN_ICEBERG_LEGS <= legs <= MAX_ICEBERG_LEGS:
                raise ValidationError(
                    "iceberg_legs", f"must be {MIN_ICEBERG_LEGS} to {MAX_ICEBERG_LEGS}"
                )
            if leg_quantity <= 0 or leg_quantity * legs < self.quantity:
                raise ValidationError(
                    "iceberg_quantity",
                    f"{legs} legs of {leg_quantity} do not cover the quantity {self.quantity}",
                )
            if leg_quantity >= self.quantity:
                raise ValidationError("iceberg_quantity", "must be less than quantity")
        elif any(value is not None for value in iceberg_fields):
            given = "iceberg_legs" if self.iceberg_legs is not None else "iceberg_quantity"
            raise ValidationError(given, "applies to the iceberg variety only")
        if self.variety is Variety.AUCTION:
            if not self.auction_number:
                raise ValidationError("auction_number", "is required for an auction order")
        elif self.auction_number is not None:
            raise ValidationError("auction_number", "applies to the auction variety only")
        if self.variety is Variety.CO:
            if self.order_type not in (OrderType.MARKET, OrderType.LIMIT):
                raise ValidationError("order_type", "a cover order is MARKET or LIMIT")
            if self.product is not Product.MIS:
                raise ValidationError("product", "a cover order is intraday (MIS)")

    def _check_validity(self) -> None:
        if self.validity is Validity.TTL:
            if self.validity_ttl is None or self.validity_ttl < 1:
                raise ValidationError("validity_ttl", "is required (minutes ≥ 1) for TTL validity")
        elif self.validity_ttl is not None:
            raise ValidationError("validity_ttl", "applies to TTL validity only")

    def check_tick_size(self, tick_size: Decimal) -> None:
        """Raise if price or trigger is not a whole number of ticks of the instrument."""
        check_tick("price", self.price, tick_size)
        check_tick("trigger_price", self.trigger_price, tick_size)

    def check_lot_size(self, lot_size: int) -> None:
        """Raise if the quantity, or an iceberg's leg, is not a whole number of lots
        (derivatives): the broker fills each leg as an order of its own, and a leg of part of
        a lot left a position no exit could close.

        The last leg carries what the legs before it leave of the quantity: whole lots too,
        once quantity and leg are."""
        check_lot("quantity", self.quantity, lot_size)
        if self.iceberg_quantity is not None:
            check_lot("iceberg_quantity", self.iceberg_quantity, lot_size)

    def check_disclosed_quantity(self) -> None:
        """Raise if a disclosed quantity is asked for outside equity (NSE, BSE): the broker
        refuses it there, an order request spent to learn it.

        Checked at intake with the instrument's terms, not in ``__post_init__``: the log
        rebuilds every signal it holds through ``__post_init__``, and holds such signals,
        sent (and refused) before the desk checked it."""
        exchange = self.instrument.exchange
        if self.disclosed_quantity and SEGMENT_OF[exchange] is not Segment.EQUITY:
            raise ValidationError(
                "disclosed_quantity", f"applies to equity orders (NSE, BSE) only, not to {exchange}"
            )

    def with_quantity(self, quantity: int, *, signal_id: str | None = None) -> Signal:
        """A copy for a different quantity (slices and target-position deltas)."""
        return replace(self, quantity=quantity, signal_id=signal_id or self.signal_id)

    @property
    def notional(self) -> Decimal | None:
        """quantity × (price or trigger), when the order names a price."""
        reference = self.price if self.price is not None else self.trigger_price
        return None if reference is None else reference * self.quantity


def differing_terms(first: Signal, second: Signal) -> list[str]:
    """The names of the fields in which two signals differ (the words of a signal id reused
    for another signal)."""
    return [f.name for f in fields(Signal) if getattr(first, f.name) != getattr(second, f.name)]


__all__ = [
    "ACCOUNT_EXIT_STRATEGY",
    "DEFAULT_STRATEGY",
    "EXTERNAL_STRATEGY",
    "RESERVED_STRATEGIES",
    "SQUARE_OFF_STRATEGY",
    "STRATEGY_NAME",
    "Signal",
    "check_lot",
    "check_tick",
    "differing_terms",
    "reserved_strategy",
]
