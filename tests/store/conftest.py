"""Real domain events for the store tests: order lifecycles built from ``orderdesk.domain``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.domain import (
    BrokerStatus,
    Event,
    Exchange,
    Fill,
    InstrumentKey,
    KillSwitchChanged,
    OrderAccepted,
    OrderCreated,
    OrderFillRecorded,
    OrderStatus,
    OrderStatusChanged,
    OrderSubmitting,
    OrderType,
    Product,
    Side,
    Signal,
    client_order_id,
)
from orderdesk.store import SqlEventStore

START = datetime(2026, 1, 5, 3, 45, tzinfo=UTC)

Lifecycle = Callable[[int], list[Event]]


def order_lifecycle(n: int) -> list[Event]:
    """Order ``n`` created from a limit signal, accepted, opened, filled in one trade."""
    order_id = client_order_id("test", f"sig-{n}")
    broker_id = f"25010500{n:07d}"
    at = [START + timedelta(minutes=n, seconds=i) for i in range(6)]
    signal = Signal(
        instrument=InstrumentKey(Exchange.NSE, "INFY"),
        side=Side.BUY,
        quantity=5 + n,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1520.35"),
        strategy="test",
        signal_id=f"sig-{n}",
    )

    def changed(status: OrderStatus, broker: BrokerStatus, filled: int, i: int) -> Event:
        return OrderStatusChanged(
            at=at[i],
            order_id=order_id,
            status=status,
            base_status=status,
            broker_status=broker,
            broker_status_text=broker.value,
            filled_quantity=filled,
            average_price=Decimal("1520.35") if filled else Decimal(0),
            broker_order_id=broker_id,
        )

    fill = Fill(
        trade_id=f"T{n:08d}",
        broker_order_id=broker_id,
        instrument=signal.instrument,
        side=signal.side,
        product=signal.product,
        quantity=signal.quantity,
        price=Decimal("1520.35"),
        filled_at=at[4],
    )
    return [
        OrderCreated(at=at[0], order_id=order_id, signal=signal),
        OrderSubmitting(at=at[1], order_id=order_id, attempt=1),
        OrderAccepted(at=at[2], order_id=order_id, broker_order_id=broker_id),
        changed(OrderStatus.OPEN, BrokerStatus.OPEN, 0, 3),
        OrderFillRecorded(at=at[4], order_id=order_id, fill=fill),
        changed(OrderStatus.FILLED, BrokerStatus.COMPLETE, signal.quantity, 5),
    ]


def desk_event(n: int = 0) -> Event:
    """An event of the desk stream (not an order)."""
    return KillSwitchChanged(at=START + timedelta(hours=n), engaged=True, reason="test")


@pytest.fixture
def desk() -> Callable[[int], Event]:
    """The desk-event factory as a fixture."""
    return desk_event


@pytest.fixture
def lifecycle() -> Lifecycle:
    """The order-lifecycle factory as a fixture."""
    return order_lifecycle


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's SQLite store file goes."""
    return tmp_path / "data" / "events.db"


@pytest.fixture
def sql_store(db_path: Path) -> Iterator[SqlEventStore]:
    """A fresh SQLite store holding nothing yet."""
    store = SqlEventStore.open(db_path)
    yield store
    store.close()
