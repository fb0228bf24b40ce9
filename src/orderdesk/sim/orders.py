"""The simulator's order record and Kite's vocabulary for it (statuses, varieties, types).

An :class:`Order` is the exchange's live, mutable record of one order; :meth:`Order.to_wire`
renders it in Kite's field names and JSON types, and :meth:`Order.record` appends that rendering
to the order's history (``GET /orders/{id}``). Money is ``Decimal`` inside and a JSON number on the
wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from orderdesk.sim.clock import fmt


class Status(StrEnum):
    """Kite's order statuses, final, resting and transient."""

    PUT_ORDER_REQ_RECEIVED = "PUT ORDER REQ RECEIVED"
    AMO_REQ_RECEIVED = "AMO REQ RECEIVED"
    VALIDATION_PENDING = "VALIDATION PENDING"
    OPEN_PENDING = "OPEN PENDING"
    OPEN = "OPEN"
    TRIGGER_PENDING = "TRIGGER PENDING"
    MODIFY_VALIDATION_PENDING = "MODIFY VALIDATION PENDING"
    MODIFY_PENDING = "MODIFY PENDING"
    MODIFIED = "MODIFIED"
    CANCEL_PENDING = "CANCEL PENDING"
    COMPLETE = "COMPLETE"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


TERMINAL = frozenset({Status.COMPLETE, Status.CANCELLED, Status.REJECTED})
WORKING = frozenset({Status.OPEN, Status.TRIGGER_PENDING, Status.AMO_REQ_RECEIVED})


class Variety(StrEnum):
    REGULAR = "regular"
    AMO = "amo"
    CO = "co"
    ICEBERG = "iceberg"
    AUCTION = "auction"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL"
    SLM = "SL-M"


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class Product(StrEnum):
    CNC = "CNC"
    NRML = "NRML"
    MIS = "MIS"
    MTF = "MTF"
    CO = "CO"


class Validity(StrEnum):
    DAY = "DAY"
    IOC = "IOC"
    TTL = "TTL"


def money(value: Decimal) -> float | int:
    """A Decimal as Kite prints money: an int when whole (``72``), else a float (``109.4``)."""
    return int(value) if value == value.to_integral_value() else float(value)


def as_decimal(value: float) -> Decimal:
    """A float price (the market's, an instrument's tick) as the Decimal it reads as."""
    # str() first: Decimal(1502.1) would carry the binary float's tail into the arithmetic.
    return Decimal(str(value))


@dataclass(slots=True)
class Order:
    """One order as the simulated exchange holds it."""

    order_id: str
    user_id: str
    api_key: str | None
    """The app that placed it; ``None`` for orders placed "from Kite web" (no postbacks)."""
    variety: Variety
    exchange: str
    tradingsymbol: str
    instrument_token: int
    transaction_type: Side
    order_type: OrderType
    product: Product
    validity: Validity
    quantity: int
    price: Decimal
    trigger_price: Decimal
    placed_at: datetime
    validity_ttl: int = 0
    disclosed_quantity: int = 0
    market_protection: int = 0
    tag: str | None = None
    tags: list[str] = field(default_factory=list)
    auction_number: str | None = None
    parent_order_id: str | None = None
    iceberg_legs: int = 0
    iceberg_quantity: int = 0
    co_trigger_price: Decimal = Decimal(0)
    status: Status = Status.PUT_ORDER_REQ_RECEIVED
    status_message: str | None = None
    status_message_raw: str | None = None
    exchange_order_id: str | None = None
    order_timestamp: datetime | None = None
    exchange_timestamp: datetime | None = None
    exchange_update_timestamp: datetime | None = None
    modified: bool = False
    modifications: int = 0
    filled_quantity: int = 0
    fill_value: Decimal = Decimal(0)
    cancelled_quantity: int = 0
    triggered: bool = False
    placed_by: str | None = None
    """Who placed it when not the user: the broker's system for its square-off orders."""
    algo_id: str | None = None
    """The exchange algo id the placement carried (``algo_id``); echoed in every row."""
    protected_price: Decimal | None = None
    """A MARKET order's bound under market protection: it fills no worse than this."""
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_buy(self) -> bool:
        """True for a BUY."""
        return self.transaction_type is Side.BUY

    @property
    def pending_quantity(self) -> int:
        """What is still to fill; 0 once final."""
        if self.status in TERMINAL:
            return 0
        return self.quantity - self.filled_quantity - self.cancelled_quantity

    @property
    def unfilled_quantity(self) -> int:
        """Ordered minus filled (postbacks carry it even for final orders); of the working leg
        for an iceberg order, as its rows are."""
        quantity, filled, _pending, _cancelled = self.row_quantities()
        return quantity - filled

    @property
    def average_price(self) -> Decimal:
        """Volume-weighted fill price; 0 before any fill."""
        if not self.filled_quantity:
            return Decimal(0)
        return self.fill_value / self.filled_quantity

    @property
    def is_iceberg(self) -> bool:
        """An iceberg order with its legs (one placed without them, as an ATO basket item
        could be, trades as one piece)."""
        return self.variety is Variety.ICEBERG and self.iceberg_quantity > 0

    def iceberg_leg(self) -> tuple[int, int, int]:
        """The working leg of an iceberg order: its number, the quantity the legs before it
        released, and its size.

        Legs follow one another, each released when the one before has filled, so the legs
        before the working one are filled in full. The last leg carries what is left of the
        total (``iceberg_quantity × legs`` may exceed it).
        """
        leg_quantity = self.iceberg_quantity
        last_leg = -(-self.quantity // leg_quantity)
        leg = min(last_leg, self.filled_quantity // leg_quantity + 1)
        released_before = (leg - 1) * leg_quantity
        return leg, released_before, min(leg_quantity, self.quantity - released_before)

    def iceberg_meta(self) -> dict[str, int]:
        """``meta.iceberg``: which leg is working now, and what the legs after it still hold."""
        leg, released_before, size = self.iceberg_leg()
        return {
            "leg": leg,
            "legs": self.iceberg_legs,
            "leg_quantity": self.iceberg_quantity,
            "total_quantity": self.quantity,
            "remaining_quantity": self.quantity - released_before - size,
        }

    def row_quantities(self) -> tuple[int, int, int, int]:
        """``quantity``, ``filled_quantity``, ``pending_quantity`` and ``cancelled_quantity`` as
        the order's rows show them.

        An iceberg order's row is its working leg, as Kite's sample book shows one
        (``kite-mocks/orders.json``: ``quantity`` is the leg's, the total is in
        ``meta.iceberg``): the leg's size, what of it has filled, is still open or was
        cancelled (cancelling the order cancels the working leg; the legs after it are never
        released, and ``remaining_quantity`` keeps showing them). Its ``average_price`` stays
        the order's, over every leg's fills: the simulator keeps one order for all legs.
        """
        if not self.is_iceberg:
            return (
                self.quantity,
                self.filled_quantity,
                self.pending_quantity,
                self.cancelled_quantity,
            )
        _leg, released_before, size = self.iceberg_leg()
        filled = self.filled_quantity - released_before
        unreleased = self.quantity - released_before - size
        cancelled = max(0, self.cancelled_quantity - unreleased)
        pending = 0 if self.status in TERMINAL else size - filled - cancelled
        return size, filled, pending, cancelled

    def to_wire(self) -> dict[str, Any]:
        """The order in Kite's field names and types (book, history and update payloads)."""
        meta: dict[str, Any] = {}
        if self.is_iceberg:
            meta["iceberg"] = self.iceberg_meta()
        quantity, filled, pending, cancelled = self.row_quantities()
        row: dict[str, Any] = {
            "account_id": self.user_id,
            "placed_by": self.placed_by or self.user_id,
            "order_id": self.order_id,
            "exchange_order_id": self.exchange_order_id,
            "parent_order_id": self.parent_order_id,
            "status": str(self.status),
            "status_message": self.status_message,
            "status_message_raw": self.status_message_raw,
            "order_timestamp": fmt(self.order_timestamp),
            "exchange_update_timestamp": fmt(self.exchange_update_timestamp),
            "exchange_timestamp": fmt(self.exchange_timestamp),
            "variety": str(self.variety),
            "modified": self.modified,
            "exchange": self.exchange,
            "tradingsymbol": self.tradingsymbol,
            "instrument_token": self.instrument_token,
            "order_type": str(self.order_type),
            "transaction_type": str(self.transaction_type),
            "validity": str(self.validity),
            "validity_ttl": self.validity_ttl,
            "product": str(self.product),
            "quantity": quantity,
            "disclosed_quantity": self.disclosed_quantity,
            "price": money(self.price),
            "trigger_price": money(self.trigger_price),
            "average_price": money(self.average_price),
            "filled_quantity": filled,
            "pending_quantity": pending,
            "cancelled_quantity": cancelled,
            "market_protection": self.market_protection,
            "meta": meta,
            "tag": self.tag,
            "tags": list(self.tags),
            "algo_id": self.algo_id,
            "guid": None,
        }
        if self.variety is Variety.AUCTION:
            row["auction_number"] = self.auction_number
        return row

    def record(self) -> None:
        """Append the current state to the history (one row per status change)."""
        self.history.append(self.to_wire())

    def book_row(self) -> dict[str, Any]:
        """The order book's row: the latest history row.

        Every change the exchange makes ends in :meth:`record`, so the last snapshot *is* the
        current state; reusing it keeps ``GET /orders`` from re-rendering every order per call.
        Callers must not mutate the returned dict.
        """
        return self.history[-1] if self.history else self.to_wire()


__all__ = [
    "TERMINAL",
    "WORKING",
    "Order",
    "OrderType",
    "Product",
    "Side",
    "Status",
    "Validity",
    "Variety",
    "as_decimal",
    "money",
]
