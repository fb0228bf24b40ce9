"""What the HTTP API needs from the order desk, as a Protocol.

The API depends on this narrow interface instead of the engine class, so the edge can be tested
with an in-memory fake and the engine can change its internals freely. The engine's
``OrderDesk`` is fitted to it by :mod:`orderdesk.api.desk_adapter` where the names differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from orderdesk.domain.events import Event
from orderdesk.domain.order import Order
from orderdesk.domain.position import Position
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import OrderType
from orderdesk.ports.broker import ConnectionState


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    engaged: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ReconcileFinding:
    kind: str
    """E.g. ``external_order``, ``missed_fill``, ``status``, ``position``."""
    order_id: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class ReconcileSummary:
    findings: tuple[ReconcileFinding, ...]
    orders_checked: int
    trades_checked: int
    positions_checked: int


class DeskService(Protocol):
    """The desk as the API drives it. Errors are orderdesk's own (see :mod:`orderdesk.errors`)."""

    async def submit(self, signal: Signal) -> Order:
        """Place ``signal``; raises ``RiskDenied`` or ``ValidationError`` when it is refused."""

    async def modify(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
    ) -> Order: ...

    async def cancel(self, order_id: str) -> Order: ...

    async def cancel_all(self) -> Sequence[Order]:
        """Ask to cancel every open order; returns the orders a cancel was sent for."""

    def orders(self) -> Sequence[Order]: ...

    def positions(self) -> Sequence[Position]: ...

    def kill_switch(self) -> KillSwitchState: ...

    async def set_kill_switch(
        self, engaged: bool, reason: str, *, cancel_open: bool = False
    ) -> KillSwitchState: ...

    def broker_connection(self) -> ConnectionState | None:
        """The live stream's state, or ``None`` when the broker has no stream."""

    def subscribe(self) -> AsyncIterator[Event]:
        """Events recorded from now on; registered before the first ``__anext__``."""

    async def reconcile(self) -> ReconcileSummary:
        """Compare local orders, fills and positions with the broker's now."""


__all__ = ["DeskService", "KillSwitchState", "ReconcileFinding", "ReconcileSummary"]
