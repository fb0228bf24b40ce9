"""The interfaces the engine depends on, and the optional capabilities an adapter may offer
besides (see :mod:`orderdesk.ports.broker`). Adapters implement them; the engine never imports
an adapter by name."""

from orderdesk.ports.broker import (
    Broker,
    BrokerEvent,
    ChargesSource,
    ConnectionState,
    ConnectionStateChanged,
    DelayedStream,
    GttControl,
    HoldingsSource,
    OrderChanges,
    OrderHistorySource,
    PlaceOrder,
    PriceTick,
    SessionControl,
    WebhookSource,
)
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.notifier import Alert, Notifier, Severity
from orderdesk.ports.store import EventStore, StoredEvent, VerifyReport

__all__ = [
    "Alert",
    "Broker",
    "BrokerEvent",
    "ChargesSource",
    "Clock",
    "ConnectionState",
    "ConnectionStateChanged",
    "DelayedStream",
    "EventStore",
    "GttControl",
    "HoldingsSource",
    "Notifier",
    "OrderChanges",
    "OrderHistorySource",
    "PlaceOrder",
    "PriceTick",
    "SessionControl",
    "Severity",
    "StoredEvent",
    "SystemClock",
    "VerifyReport",
    "WebhookSource",
]
