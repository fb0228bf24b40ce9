"""Events survive the trip to JSON and back, byte-stably."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import (
    BrokerStatus,
    KillSwitchChanged,
    OrderCreated,
    OrderFillRecorded,
    OrderStatus,
    OrderStatusChanged,
    SignalDenied,
)
from orderdesk.domain.codec import canonical_json, from_record, to_record
from tests.domain.builders import AT, fill, signal


def test_round_trip_of_every_kind_of_field() -> None:
    """Signals, Decimals, enums, datetimes and nested fills decode to equal events."""
    events = [
        OrderCreated(at=AT, order_id="od1", signal=signal(tag="x1", signal_id="s-1")),
        OrderStatusChanged(
            at=AT,
            order_id="od1",
            status=OrderStatus.OPEN,
            base_status=OrderStatus.OPEN,
            broker_status=BrokerStatus.OPEN,
            broker_status_text="OPEN",
            filled_quantity=0,
            average_price=Decimal("0.10"),
            broker_order_id="1",
        ),
        OrderFillRecorded(at=AT, order_id="od1", fill=fill("t1", 3), inferred=True),
        SignalDenied(at=AT, signal=signal(), check="max_quantity", reason="too big"),
        KillSwitchChanged(at=AT, engaged=True, reason="drill"),
    ]
    for event in events:
        name, payload = to_record(event)
        again = from_record(name, payload)
        assert again == event
        assert canonical_json(to_record(again)[1]) == canonical_json(payload)


def test_decimals_are_strings_in_the_payload() -> None:
    """Prices are stored as exact strings, never floats."""
    _, payload = to_record(OrderFillRecorded(at=AT, order_id="od1", fill=fill("t1", 3, "0.1")))
    assert payload["fill"]["price"] == "0.1"
    assert '"price":"0.1"' in canonical_json(payload)
