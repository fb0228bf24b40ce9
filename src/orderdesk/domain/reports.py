"""What a broker tells us, in broker-neutral types (the adapters build these at their edge).

Reports are facts as the broker states them; the engine decides what they mean for its own
orders. Times are UTC-aware; money is Decimal.
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

    @property
    def progress(self) -> tuple[int, str, int]:
        """A key that identifies a distinct piece of news (for de-duplication)."""
        return (self.filled_quantity, self.status.value, self.quantity)


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


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderMargin:
    """The margin an order would block (Kite: ``/margins/orders``)."""

    instrument: InstrumentKey
    total: Decimal
    span: Decimal = Decimal(0)
    exposure: Decimal = Decimal(0)
    option_premium: Decimal = Decimal(0)
    charges_total: Decimal = Decimal(0)


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


@dataclass(frozen=True, slots=True, kw_only=True)
class GttOrderLeg:
    side: Side
    quantity: int
    price: Decimal
    product: Product
    order_type: OrderType = OrderType.LIMIT


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


ALERT_OPERATORS = ("<=", ">=", "<", ">", "==")


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
