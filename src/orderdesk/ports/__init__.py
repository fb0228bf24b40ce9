"""The interfaces the engine depends on. Adapters implement them; the engine never imports an
adapter by name."""

from orderdesk.ports.broker import (
    Broker,
    BrokerEvent,
    ConnectionState,
    ConnectionStateChanged,
    OrderChanges,
    PlaceOrder,
    PriceTick,
)
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.notifier import Alert, Notifier, Severity
from orderdesk.ports.store import EventStore, StoredEvent, VerifyReport

__all__ = [
    "Alert",
    "Broker",
    "BrokerEvent",
    "Clock",
    "ConnectionState",
    "ConnectionStateChanged",
    "EventStore",
    "Notifier",
    "OrderChanges",
    "PlaceOrder",
    "PriceTick",
    "Severity",
    "StoredEvent",
    "SystemClock",
    "VerifyReport",
]
