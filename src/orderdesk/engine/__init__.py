"""The order engine: intake, risk gate, idempotent placement, tracking, reconciliation.

It knows the domain and the ports only — never a broker adapter, a store implementation, the
simulator or a web framework — so the same engine runs against Kite, the simulator, or a
scripted fake in tests. :class:`OrderDesk` is the entry point.

The names below are loaded when first used (:mod:`orderdesk.lazy`): importing one of its modules
(``orderdesk.engine.config``, which the settings need) ran all of it, and every CLI command paid
for the whole engine (python -X importtime -m orderdesk place --help, 2026-12-04).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderdesk.lazy import exports

if TYPE_CHECKING:
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

_HOMES = {
    "AllowedExchanges": "orderdesk.engine.risk",
    "AllowedSymbols": "orderdesk.engine.risk",
    "BasketAborted": "orderdesk.engine.errors",
    "BlockedSymbols": "orderdesk.engine.risk",
    "CommandRefused": "orderdesk.engine.errors",
    "DailyLossLimit": "orderdesk.engine.risk",
    "DeskClosed": "orderdesk.engine.errors",
    "DeskConfig": "orderdesk.engine.config",
    "EventWriter": "orderdesk.engine.journal",
    "KillSwitchCheck": "orderdesk.engine.risk",
    "LoggingNotifier": "orderdesk.engine.alerts",
    "MarginAvailable": "orderdesk.engine.risk",
    "MaxOpenOrders": "orderdesk.engine.risk",
    "MaxOrderValue": "orderdesk.engine.risk",
    "MaxQuantity": "orderdesk.engine.risk",
    "ModificationLimitReached": "orderdesk.engine.errors",
    "OrderDesk": "orderdesk.engine.desk",
    "OrderHandle": "orderdesk.engine.handle",
    "OrderNotFound": "orderdesk.engine.errors",
    "OrdersPerMinute": "orderdesk.engine.risk",
    "PriceBand": "orderdesk.engine.risk",
    "ReconciliationReport": "orderdesk.engine.reconcile",
    "ReconciliationRow": "orderdesk.engine.reconcile",
    "RiskCheck": "orderdesk.engine.risk",
    "RiskContext": "orderdesk.engine.risk",
    "RiskLimits": "orderdesk.engine.risk",
}


__getattr__ = exports(__name__, _HOMES)

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
