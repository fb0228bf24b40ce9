"""orderdesk: a personal order desk for Zerodha Kite Connect.

Strategy code needs only this package's top level::

    from orderdesk import OrderDesk, Signal, InstrumentKey, Side, OrderType, Product

The domain types are imported eagerly (they are pure and cheap); the engine and the HTTP client
load on first use so that ``orderdesk sim`` and the CLI start without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from orderdesk.domain import (
    Exchange,
    InstrumentKey,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Side,
    Signal,
    ValidationError,
    Validity,
    Variety,
)
from orderdesk.errors import OrderDeskError, RiskDenied

if TYPE_CHECKING:
    from orderdesk.client import DeskClient
    from orderdesk.engine import OrderDesk

_LAZY = {"OrderDesk": "orderdesk.engine", "DeskClient": "orderdesk.client"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'orderdesk' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DeskClient",
    "Exchange",
    "InstrumentKey",
    "Order",
    "OrderDesk",
    "OrderDeskError",
    "OrderStatus",
    "OrderType",
    "Position",
    "Product",
    "RiskDenied",
    "Side",
    "Signal",
    "ValidationError",
    "Validity",
    "Variety",
]
