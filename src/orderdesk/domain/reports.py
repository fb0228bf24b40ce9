"""What a broker tells us, in broker-neutral types (the adapters build these at their edge).

Reports are facts as the broker states them; the engine decides what they mean for its own
orders. Times are UTC-aware; money is Decimal.

Each report refuses a wrong type in its money, quantity and id fields when it is built (a
:class:`TypeError` naming the report, the field and the value): money is a ``Decimal`` (not a
float, which is inexact, nor an int, which the engine's ``quantize`` and the event log's
Decimal-as-string form do not take), a quantity an ``int`` (not a bool, not a float), an id a
``str``. A float price that got past an adapter used to be half-applied by the engine (the
order filled, the position not) and written to the event log as a JSON float, so that replay
rebuilt a state the live desk never had. The check is a few ``type() is`` tests on the hot
reports (:class:`OrderStatusReport`, :class:`Fill`), measured at well under a microsecond.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import (
    InstrumentKey,
    OrderType,
    Product,
    Side,
    Validity,
    Variety,
)

_WHY = {
    "Decimal": "a broker adapter builds reports with Decimal money",
    "int": "a broker adapter builds reports with int quantities",
    "str": "a broker adapter builds reports with str ids",
}


def _is(kind: str, value: object) -> bool:
    if kind == "Decimal":
        return isinstance(value, Decimal)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def _refusal(report: object, name: str, kind: str, value: object) -> TypeError:
    article = "an" if kind == "int" else "a"
    return TypeError(
        f"{type(report).__name__}.{name} must be {article} {kind}, not "
        f"{type(value).__name__} {value!r} ({_WHY[kind]})"
    )


_Spec = tuple[tuple[str, str, bool], ...]
"""Per field: its name, the type it must hold, whether it may be None."""


def _check(report: object, spec: _Spec) -> None:
    """Raise the :func:`_refusal` of the first field in ``spec`` holding a wrong type."""
    for name, kind, optional in spec:
        value = getattr(report, name)
        if optional and value is None:
            continue
        if not _is(kind, value):
            raise _refusal(report, name, kind, value)


def _fields(
    *,
    decimals: tuple[str, ...] = (),
    ints: tuple[str, ...] = (),
    strs: tuple[str, ...] = (),
    optional_decimals: tuple[str, ...] = (),
    optional_ints: tuple[str, ...] = (),
    optional_strs: tuple[str, ...] = (),
) -> _Spec:
    return (
        *((n, "str", False) for n in strs),
        *((n, "int", False) for n in ints),
        *((n, "Decimal", False) for n in decimals),
        *((n, "str", True) for n in optional_strs),
        *((n, "int", True) for n in optional_ints),
        *((n, "Decimal", True) for n in optional_decimals),
    )


_ORDER_FIELDS = _fields(
    strs=("broker_order_id",),
    ints=("quantity", "filled_quantity", "pending_quantity", "cancelled_quantity"),
    decimals=("price", "trigger_price", "average_price"),
    optional_strs=("parent_order_id", "exchange_order_id"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStatusReport:
    """One snapshot of an order at the broker (order book row, history row, stream update)."""

    broker_order_id: str
    status: BrokerStatus
    broker_status_text: str
    """The broker's own word, kept for the audit log (e.g. ``"VALIDATION PENDING"``)."""
    instrument: InstrumentKey
    side: Side
    order_type: OrderType
    product: Product
    variety: Variety
    validity: Validity
    quantity: int
    filled_quantity: int
    pending_quantity: int
    cancelled_quantity: int = 0
    price: Decimal = Decimal(0)
    trigger_price: Decimal = Decimal(0)
    average_price: Decimal = Decimal(0)
    tag: str | None = None
    tags: tuple[str, ...] = ()
    status_message: str | None = None
    parent_order_id: str | None = None
    exchange_order_id: str | None = None
    placed_by: str | None = None
    order_timestamp: datetime | None = None
    exchange_timestamp: datetime | None = None
    modified: bool = False
    slice_of: str | None = None
    """The broker's id of the one placement this order was cut from, when the broker split an
    order at the freeze quantity itself (Kite: the ``autoslice:<id>`` tag)."""

    def __post_init__(self) -> None:
        # On every order's path: exact type tests in one expression; only a mismatch (or a
        # subclass) walks the fields to name the wrong one.
        if not (
            type(self.broker_order_id) is str
            and type(self.quantity) is int
            and type(self.filled_quantity) is int
            and type(self.pending_quantity) is int
            and type(self.cancelled_quantity) is int
            and type(self.price) is Decimal
            and type(self.trigger_price) is Decimal
            and type(self.average_price) is Decimal
            and (self.parent_order_id is None or type(self.parent_order_id) is str)
            and (self.exchange_order_id is None or type(self.exchange_order_id) is str)
        ):
            _check(self, _ORDER_FIELDS)

    @property
    def progress(self) -> tuple[int, str, int]:
        """A key that identifies a distinct piece of news (for de-duplication)."""
        return (self.filled_quantity, self.status.value, self.quantity)


_FILL_FIELDS = _fields(
    strs=("trade_id", "broker_order_id"),
    ints=("quantity",),
    decimals=("price",),
    optional_strs=("exchange_order_id",),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """One execution (Kite: a trade). ``trade_id`` is unique per broker and day."""

    trade_id: str
    broker_order_id: str
    instrument: InstrumentKey
    side: Side
    product: Product
    quantity: int
    price: Decimal
    filled_at: datetime | None = None
    exchange_order_id: str | None = None

    def __post_init__(self) -> None:
        if not (
            type(self.trade_id) is str
            and type(self.broker_order_id) is str
            and type(self.quantity) is int
            and type(self.price) is Decimal
            and (self.exchange_order_id is None or type(self.exchange_order_id) is str)
        ):
            _check(self, _FILL_FIELDS)


_POSITION_FIELDS = _fields(
    ints=(
        "quantity",
        "overnight_quantity",
        "buy_quantity",
        "sell_quantity",
        "day_buy_quantity",
        "day_sell_quantity",
    ),
    decimals=(
        "multiplier",
        "average_price",
        "last_price",
        "close_price",
        "pnl",
        "realised",
        "unrealised",
        "m2m",
        "buy_value",
        "sell_value",
    ),
    optional_ints=("instrument_token",),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionReport:
    """The broker's net position for one instrument and product."""

    instrument: InstrumentKey
    product: Product
    quantity: int
    overnight_quantity: int
    multiplier: Decimal
    average_price: Decimal
    last_price: Decimal
    close_price: Decimal
    pnl: Decimal
    realised: Decimal
    unrealised: Decimal
    m2m: Decimal
    buy_quantity: int
    buy_value: Decimal
    sell_quantity: int
    sell_value: Decimal
    day_buy_quantity: int = 0
    day_sell_quantity: int = 0
    instrument_token: int | None = None

    def __post_init__(self) -> None:
        _check(self, _POSITION_FIELDS)


_HOLDING_FIELDS = _fields(
    strs=("isin",),
    ints=("quantity", "t1_quantity"),
    decimals=("average_price", "last_price", "close_price", "pnl"),
    optional_ints=("instrument_token",),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldingReport:
    instrument: InstrumentKey
    isin: str
    quantity: int
    t1_quantity: int
    average_price: Decimal
    last_price: Decimal
    close_price: Decimal
    pnl: Decimal
    product: Product = Product.CNC
    instrument_token: int | None = None

    def __post_init__(self) -> None:
        _check(self, _HOLDING_FIELDS)


_SEGMENT_FIELDS = _fields(
    decimals=(
        "net",
        "cash",
        "opening_balance",
        "live_balance",
        "collateral",
        "utilised_debits",
        "utilised_exposure",
        "utilised_span",
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentMargins:
    enabled: bool
    net: Decimal
    cash: Decimal
    opening_balance: Decimal
    live_balance: Decimal
    collateral: Decimal
    utilised_debits: Decimal
    utilised_exposure: Decimal
    utilised_span: Decimal

    def __post_init__(self) -> None:
        _check(self, _SEGMENT_FIELDS)

    @classmethod
    def cash_only(cls, cash: Decimal) -> SegmentMargins:
        """An account holding only ``cash``, nothing used (paper trading, test brokers)."""
        zero = Decimal(0)
        return cls(
            enabled=True,
            net=cash,
            cash=cash,
            opening_balance=cash,
            live_balance=cash,
            collateral=zero,
            utilised_debits=zero,
            utilised_exposure=zero,
            utilised_span=zero,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginsReport:
    equity: SegmentMargins | None
    commodity: SegmentMargins | None


_ORDER_MARGIN_FIELDS = _fields(
    decimals=("total", "span", "exposure", "option_premium", "charges_total"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderMargin:
    """The margin an order would block (Kite: ``/margins/orders``)."""

    instrument: InstrumentKey
    total: Decimal
    span: Decimal = Decimal(0)
    exposure: Decimal = Decimal(0)
    option_premium: Decimal = Decimal(0)
    charges_total: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        _check(self, _ORDER_MARGIN_FIELDS)


_CHARGES_FIELDS = _fields(
    strs=("broker_order_id",),
    decimals=(
        "transaction_tax",
        "exchange_turnover_charge",
        "sebi_turnover_charge",
        "brokerage",
        "stamp_duty",
        "gst",
        "total",
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Charges:
    """The costs of an executed order (Kite: ``/charges/orders``)."""

    broker_order_id: str
    instrument: InstrumentKey
    transaction_tax: Decimal
    exchange_turnover_charge: Decimal
    sebi_turnover_charge: Decimal
    brokerage: Decimal
    stamp_duty: Decimal
    gst: Decimal
    total: Decimal

    def __post_init__(self) -> None:
        _check(self, _CHARGES_FIELDS)


_QUOTE_FIELDS = _fields(
    ints=("instrument_token", "volume"),
    decimals=("last_price", "open", "high", "low", "close"),
    optional_decimals=("lower_circuit_limit", "upper_circuit_limit"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    instrument: InstrumentKey
    instrument_token: int
    last_price: Decimal
    timestamp: datetime | None = None
    volume: int = 0
    open: Decimal = Decimal(0)
    high: Decimal = Decimal(0)
    low: Decimal = Decimal(0)
    close: Decimal = Decimal(0)
    lower_circuit_limit: Decimal | None = None
    upper_circuit_limit: Decimal | None = None

    def __post_init__(self) -> None:
        _check(self, _QUOTE_FIELDS)


_INSTRUMENT_FIELDS = _fields(
    ints=("instrument_token", "lot_size"),
    decimals=("tick_size", "strike"),
    optional_ints=("freeze_quantity",),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentInfo:
    """The part of an instrument master row that trading rules need."""

    instrument: InstrumentKey
    instrument_token: int
    name: str
    instrument_type: str
    segment: str
    tick_size: Decimal
    lot_size: int
    expiry: str = ""
    strike: Decimal = Decimal(0)
    freeze_quantity: int | None = None

    def __post_init__(self) -> None:
        _check(self, _INSTRUMENT_FIELDS)


_GTT_LEG_FIELDS = _fields(ints=("quantity",), decimals=("price",))


@dataclass(frozen=True, slots=True, kw_only=True)
class GttOrderLeg:
    side: Side
    quantity: int
    price: Decimal
    product: Product
    order_type: OrderType = OrderType.LIMIT

    def __post_init__(self) -> None:
        _check(self, _GTT_LEG_FIELDS)


_GTT_FIELDS = _fields(decimals=("last_price",), optional_ints=("trigger_id",))


@dataclass(frozen=True, slots=True, kw_only=True)
class GttTrigger:
    """A good-till-triggered order: single (one trigger) or two-leg (OCO, two triggers)."""

    instrument: InstrumentKey
    trigger_values: tuple[Decimal, ...]
    last_price: Decimal
    orders: tuple[GttOrderLeg, ...]
    trigger_id: int | None = None
    status: str | None = None
    kind: str = field(default="single")
    order_ids: tuple[str, ...] = ()
    """The orders it placed when it fired (Kite: each leg's ``result.order_result.order_id``)."""
    refusals: tuple[str, ...] = ()
    """Why a fired leg placed no order (Kite: ``result.order_result.rejection_reason`` of a
    ``failed`` result): the GTT is spent, its order never existed."""

    def __post_init__(self) -> None:
        _check(self, _GTT_FIELDS)
        for i, value in enumerate(self.trigger_values):
            if not isinstance(value, Decimal):
                raise _refusal(self, f"trigger_values[{i}]", "Decimal", value)
        for i, order_id in enumerate(self.order_ids):
            if not isinstance(order_id, str):
                raise _refusal(self, f"order_ids[{i}]", "str", order_id)


ALERT_OPERATORS = ("<=", ">=", "<", ">", "==")


_ALERT_ORDER_FIELDS = _fields(ints=("quantity",), decimals=("price", "trigger_price"))


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertOrder:
    """One order of an ATO alert's basket."""

    instrument: InstrumentKey
    side: Side
    quantity: int
    product: Product
    order_type: OrderType = OrderType.LIMIT
    price: Decimal = Decimal(0)
    trigger_price: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        _check(self, _ALERT_ORDER_FIELDS)


_ALERT_FIELDS = _fields(decimals=("value",), ints=("fired",), optional_strs=("alert_id",))


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceAlert:
    """A broker-kept price alert (Kite's alerts): ``instrument``'s last price ``operator``
    ``value``. With a basket it is an ATO (alert triggers order): the broker places the basket
    when the alert fires; without, it only notifies."""

    name: str
    instrument: InstrumentKey
    operator: str
    value: Decimal
    basket: tuple[AlertOrder, ...] = ()
    alert_id: str | None = None
    status: str | None = None
    fired: int = 0
    """How many times it fired (Kite's ``alert_count``)."""

    def __post_init__(self) -> None:
        _check(self, _ALERT_FIELDS)

    @property
    def kind(self) -> str:
        """Kite's ``type``: ``ato`` with a basket, ``simple`` without."""
        return "ato" if self.basket else "simple"


__all__ = [
    "ALERT_OPERATORS",
    "AlertOrder",
    "Charges",
    "Fill",
    "GttOrderLeg",
    "GttTrigger",
    "HoldingReport",
    "InstrumentInfo",
    "MarginsReport",
    "OrderMargin",
    "OrderStatusReport",
    "PositionReport",
    "PriceAlert",
    "Quote",
    "SegmentMargins",
]
