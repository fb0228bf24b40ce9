"""The order engine: intake, risk gate, idempotent placement, tracking, reconciliation.

It knows the domain and the ports only — never a broker adapter, a store implementation, the
simulator or a web framework — so the same engine runs against Kite, the simulator, or a
scripted fake in tests. :class:`OrderDesk` is the entry point.
"""

from orderdesk.engine.alerts import LoggingNotifier
from orderdesk.engine.config import DeskConfig
from orderdesk.engine.desk import OrderDesk
from orderdesk.engine.errors import (
    BasketAborted,
    CommandRefused,
    DeskClosed,
    ModificationLimitReached,
    OrderNotFound,
)
from orderdesk.engine.handle import OrderHandle
from orderdesk.engine.journal import EventWriter
from orderdesk.engine.reconcile import ReconciliationReport, ReconciliationRow
from orderdesk.engine.risk import (
    AllowedExchanges,
    AllowedSymbols,
    BlockedSymbols,
    DailyLossLimit,
    KillSwitchCheck,
    MarginAvailable,
    MaxOpenOrders,
    MaxOrderValue,
    MaxQuantity,
    OrdersPerMinute,
    PriceBand,
    RiskCheck,
    RiskContext,
    RiskLimits,
)

__all__ = [
    "AllowedExchanges",
    "AllowedSymbols",
    "BasketAborted",
    "BlockedSymbols",
    "CommandRefused",
    "DailyLossLimit",
    "DeskClosed",
    "DeskConfig",
    "EventWriter",
    "KillSwitchCheck",
    "LoggingNotifier",
    "MarginAvailable",
    "MaxOpenOrders",
    "MaxOrderValue",
    "MaxQuantity",
    "ModificationLimitReached",
    "OrderDesk",
    "OrderHandle",
    "OrderNotFound",
    "OrdersPerMinute",
    "PriceBand",
    "ReconciliationReport",
    "ReconciliationRow",
    "RiskCheck",
    "RiskContext",
    "RiskLimits",
]
