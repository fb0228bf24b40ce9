"""Request and response models of the HTTP API: pydantic at the edge, domain types inside.

Requests are checked field by field here (a 422 names the field); cross-field rules are the
domain's (:class:`~orderdesk.domain.signal.Signal` raises ``ValidationError``, a 400 naming the
field), so the rules live in one place. Money travels as decimal strings, never floats.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

from orderdesk.approvals import ApprovalState, PendingSignal
from orderdesk.domain.attribution import StrategyBook
from orderdesk.domain.order import Order
from orderdesk.domain.position import Position
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.values import (
    InstrumentKey,
    OrderType,
    Product,
    Side,
    Validity,
    Variety,
)
from orderdesk.ports.notifier import Severity

# Bounds keep fuzzed input inside what Decimal arithmetic and Kite can meaningfully take.
Price = Annotated[Decimal, Field(gt=0, lt=Decimal("1e9"), max_digits=16, decimal_places=4)]
# Strict: a JSON ``1.0`` or ``true`` is not a quantity, and ``0`` is not ``false``.
Quantity = Annotated[int, Strict(), Field(gt=0, lt=10**9)]
Count = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
NewOrderProduct = Literal["CNC", "NRML", "MIS", "MTF"]
"""The products a new order may use (CO and BO only label positions), so the schema says so."""


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class SignalIn(_Request):
    """An order request, in Kite's vocabulary; ``instrument`` is ``EXCHANGE:SYMBOL``."""

    instrument: Annotated[str, Field(min_length=3, max_length=64, examples=["NSE:INFY"])]
    side: Side
    quantity: Quantity
    order_type: OrderType
    product: NewOrderProduct
    variety: Variety = Variety.REGULAR
    validity: Validity = Validity.DAY
    price: Price | None = None
    trigger_price: Price | None = None
    disclosed_quantity: Annotated[Count, Field(ge=0, lt=10**9)] = 0
    validity_ttl: Annotated[Count, Field(ge=1, le=10_000)] | None = None
    iceberg_legs: Annotated[Count, Field(ge=1, le=100)] | None = None
    iceberg_quantity: Quantity | None = None
    auction_number: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    market_protection: Annotated[Decimal, Field(ge=-1, le=100, max_digits=6)] | None = None
    strategy: Annotated[str, Field(min_length=1, max_length=32)] = "manual"
    signal_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    tag: Annotated[str, Field(min_length=1, max_length=20)] | None = None

    def to_signal(self) -> Signal:
        """The domain signal; raises the domain's ``ValidationError`` naming the field."""
        return Signal(
            instrument=InstrumentKey.parse(self.instrument),
            side=self.side,
            quantity=self.quantity,
            order_type=self.order_type,
            product=Product(self.product),
            variety=self.variety,
            validity=self.validity,
            price=self.price,
            trigger_price=self.trigger_price,
            disclosed_quantity=self.disclosed_quantity,
            validity_ttl=self.validity_ttl,
            iceberg_legs=self.iceberg_legs,
            iceberg_quantity=self.iceberg_quantity,
            auction_number=self.auction_number,
            market_protection=self.market_protection,
            strategy=self.strategy,
            signal_id=self.signal_id,
            tag=self.tag,
        )


class ModifyIn(_Request):
    """New terms for a working order; omitted fields keep their value."""

    quantity: Quantity | None = None
    price: Price | None = None
    trigger_price: Price | None = None
    order_type: OrderType | None = None


class KillSwitchIn(_Request):
    engaged: Flag
    reason: Annotated[str, Field(max_length=200)] = ""
    cancel_open: Flag = False
    """When engaging: also cancel every open order."""


class RejectIn(_Request):
    reason: Annotated[str, Field(max_length=200)] = ""


class SignalOut(_Response):
    instrument: str
    side: Side
    quantity: int
    order_type: OrderType
    product: Product
    variety: Variety
    price: Decimal | None
    trigger_price: Decimal | None
    strategy: str
    signal_id: str | None

    @classmethod
    def of(cls, signal: Signal) -> SignalOut:
        return cls(
            instrument=str(signal.instrument),
            side=signal.side,
            quantity=signal.quantity,
            order_type=signal.order_type,
            product=signal.product,
            variety=signal.variety,
            price=signal.price,
            trigger_price=signal.trigger_price,
            strategy=signal.strategy,
            signal_id=signal.signal_id,
        )


class OrderOut(_Response):
    order_id: str
    broker_order_id: str | None
    parent_id: str | None
    external: bool
    status: OrderStatus
    instrument: str
    side: Side
    product: Product
    variety: Variety
    order_type: OrderType
    quantity: int
    filled_quantity: int
    price: Decimal | None
    trigger_price: Decimal | None
    average_price: Decimal
    strategy: str
    reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        signal = order.signal
        return cls(
            order_id=order.order_id,
            broker_order_id=order.broker_order_id,
            parent_id=order.parent_id,
            external=order.external,
            status=order.status,
            instrument=str(signal.instrument),
            side=signal.side,
            product=signal.product,
            variety=signal.variety,
            order_type=order.order_type,
            quantity=order.quantity or signal.quantity,
            filled_quantity=order.filled_quantity,
            price=order.price,
            trigger_price=order.trigger_price,
            average_price=order.average_price,
            strategy=signal.strategy,
            reason=order.reason,
            created_at=order.created_at,
            updated_at=order.updated_at,
        )


class PositionOut(_Response):
    instrument: str
    product: Product
    quantity: int
    average_price: Decimal
    last_price: Decimal | None
    realised: Decimal
    unrealised: Decimal
    pnl: Decimal

    @classmethod
    def of(cls, position: Position) -> PositionOut:
        return cls(
            instrument=str(position.instrument),
            product=position.product,
            quantity=position.quantity,
            average_price=position.average_price,
            last_price=position.last_price,
            realised=position.realised,
            unrealised=position.unrealised(),
            pnl=position.pnl(),
        )


class StrategyOut(_Response):
    """One strategy's share of the desk: its orders and the P&L of its own fills."""

    strategy: str
    orders: int
    open_orders: int
    realised: Decimal
    unrealised: Decimal
    pnl: Decimal
    positions: list[PositionOut]

    @classmethod
    def of(cls, book: StrategyBook) -> StrategyOut:
        return cls(
            strategy=book.strategy,
            orders=book.orders,
            open_orders=book.open_orders,
            realised=book.realised,
            unrealised=book.unrealised,
            pnl=book.pnl,
            positions=[PositionOut.of(p) for p in book.positions if p.quantity or p.realised],
        )


class PendingOut(_Response):
    approval_id: str
    state: ApprovalState
    signal: SignalOut
    received_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    reason: str | None
    order_id: str | None

    @classmethod
    def of(cls, item: PendingSignal) -> PendingOut:
        return cls(
            approval_id=item.approval_id,
            state=item.state,
            signal=SignalOut.of(item.signal),
            received_at=item.received_at,
            expires_at=item.expires_at,
            decided_at=item.decided_at,
            reason=item.reason,
            order_id=item.order_id,
        )


class SubmitOut(_Response):
    """``submitted`` with the order, or ``pending_approval`` with the parked signal."""

    outcome: Literal["submitted", "pending_approval"]
    order: OrderOut | None = None
    pending: PendingOut | None = None


class KillSwitchOut(_Response):
    engaged: bool
    reason: str


class HealthOut(_Response):
    status: Literal["ok", "degraded"]
    broker_connection: str | None
    kill_switch: KillSwitchOut
    open_orders: int
    pending_approvals: int


class AlertOut(_Response):
    severity: Severity
    title: str
    body: str
    key: str
    order_id: str | None
    at: datetime


class ReconcileFindingOut(_Response):
    kind: str
    order_id: str | None
    detail: str


class ReconcileOut(_Response):
    ok: bool
    orders_checked: int
    trades_checked: int
    positions_checked: int
    findings: list[ReconcileFindingOut]


class FieldProblem(_Response):
    field: str
    reason: str


class ErrorOut(_Response):
    """Every error the API answers with: a machine word, a sentence, and the fields at fault."""

    error: str
    message: str
    fields: list[FieldProblem] = []
    check: str | None = None
    """The risk check that denied a signal (403 only)."""


__all__ = [
    "AlertOut",
    "ErrorOut",
    "FieldProblem",
    "HealthOut",
    "KillSwitchIn",
    "KillSwitchOut",
    "ModifyIn",
    "OrderOut",
    "PendingOut",
    "PositionOut",
    "RejectIn",
    "SignalIn",
    "SignalOut",
    "SubmitOut",
]
