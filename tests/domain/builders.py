"""Small builders for domain tests: a valid signal, a broker report, a fill."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from orderdesk.domain import (
    BrokerStatus,
    Fill,
    InstrumentKey,
    Order,
    OrderStatusReport,
    OrderType,
    Product,
    Side,
    Signal,
    Validity,
    Variety,
)

AT = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
INFY = InstrumentKey.parse("NSE:INFY")


def signal(**overrides: Any) -> Signal:
    fields: dict[str, Any] = {
        "instrument": INFY,
        "side": Side.BUY,
        "quantity": 10,
        "order_type": OrderType.LIMIT,
        "product": Product.CNC,
        "price": Decimal("1500.05"),
    }
    fields.update(overrides)
    return Signal(**fields)


def new_order(quantity: int = 10, order_id: str = "od0000000000000000001") -> Order:
    order_id = order_id[:20]
    return Order.from_events([Order.create(order_id, signal(quantity=quantity), AT)])


def report(
    status: BrokerStatus,
    filled: int = 0,
    *,
    quantity: int = 10,
    broker_order_id: str = "250101000000001",
    text: str | None = None,
    **overrides: Any,
) -> OrderStatusReport:
    fields: dict[str, Any] = {
        "broker_order_id": broker_order_id,
        "status": status,
        "broker_status_text": text or status.value,
        "instrument": INFY,
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "product": Product.CNC,
        "variety": Variety.REGULAR,
        "validity": Validity.DAY,
        "quantity": quantity,
        "filled_quantity": filled,
        "pending_quantity": quantity - filled,
        "price": Decimal("1500.05"),
        "average_price": Decimal("1500.05") if filled else Decimal(0),
    }
    fields.update(overrides)
    return OrderStatusReport(**fields)


def fill(trade_id: str, quantity: int, price: str = "1500.05", side: Side = Side.BUY) -> Fill:
    return Fill(
        trade_id=trade_id,
        broker_order_id="250101000000001",
        instrument=INFY,
        side=side,
        product=Product.CNC,
        quantity=quantity,
        price=Decimal(price),
        filled_at=AT,
    )


def step(order: Order, events: list[Any]) -> None:
    for event in events:
        order.apply(event)
