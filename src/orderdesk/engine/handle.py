"""``OrderHandle``: what ``submit`` returns — a live view of one order (or one sliced parent).

A handle reads the desk's projection, so it is always current; ``wait`` blocks until a
condition on the order holds, woken by each change instead of polling. A parent order (an
order split at the freeze limit) is not an order at the broker: its status is derived from its
children's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from orderdesk.domain.order import Order
from orderdesk.domain.parent import parent_status
from orderdesk.domain.status import TERMINAL, UNRESOLVED, OrderStatus
from orderdesk.domain.values import OrderType

if TYPE_CHECKING:
    from orderdesk.engine.desk import OrderDesk


class OrderHandle:
    """A live view of one order, with shortcuts to wait for it, modify and cancel it."""

    def __init__(self, desk: OrderDesk, order_id: str) -> None:
        self._desk = desk
        self.order_id = order_id

    def __repr__(self) -> str:
        return f"OrderHandle({self.order_id!r}, {self.status})"

    @property
    def order(self) -> Order:
        """The order itself (for a sliced order: the parent, which holds the intent)."""
        return self._desk.order(self.order_id)

    @property
    def children(self) -> list[Order]:
        """The child orders of a sliced order (empty for an ordinary one)."""
        return self._desk.children(self.order_id)

    @property
    def is_parent(self) -> bool:
        return bool(self.children)

    @property
    def status(self) -> OrderStatus:
        children = self.children
        if not children:
            return self.order.status
        return parent_status(self.order, children)

    @property
    def filled_quantity(self) -> int:
        children = self.children
        if not children:
            return self.order.filled_quantity
        return sum(child.filled_quantity for child in children)

    @property
    def broker_order_ids(self) -> list[str]:
        orders = self.children or [self.order]
        return [o.broker_order_id for o in orders if o.broker_order_id is not None]

    @property
    def is_done(self) -> bool:
        """Terminal: nothing more will happen to it at the broker."""
        return self.status in TERMINAL

    @property
    def is_resolved(self) -> bool:
        """Known at the broker (or known not to be): no placement outcome is pending."""
        return self.status not in UNRESOLVED and self.status is not OrderStatus.INITIALIZED

    async def wait(
        self,
        until: Callable[[OrderHandle], bool] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a bound in the same call reads plainly
    ) -> OrderHandle:
        """Wait until ``until(handle)`` holds (default: the order is done: filled, cancelled,
        rejected or lapsed).

        No time limit by default: a resting limit order may take the whole day, and that is
        what "wait until done" means. Give ``timeout`` (seconds) to be told otherwise: then
        ``TimeoutError``, and the order carries on regardless.
        """
        condition = until or (lambda handle: handle.is_done)
        async with asyncio.timeout(timeout):
            while not condition(self):
                await self._desk.changed(self.order_id).wait()
        return self

    async def cancel(self) -> None:
        await self._desk.cancel(self.order_id)

    async def modify(
        self,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
    ) -> None:
        await self._desk.modify(
            self.order_id,
            quantity=quantity,
            price=price,
            trigger_price=trigger_price,
            order_type=order_type,
        )


__all__ = ["OrderHandle"]
