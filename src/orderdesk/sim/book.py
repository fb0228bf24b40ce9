"""The exchange's order and trade store, with the indexes that keep every request flat in its size.

A simulator may hold 10,000 orders or more (an engine's acceptance run places 1,000+), so nothing
on the placement, matching or read path may walk the whole book. Beside the orders by id this
keeps:

- each user's orders and trades, oldest first (the book, ``/trades``, ``/orders/{id}/trades``);
- the orders resting ``OPEN`` or ``TRIGGER PENDING`` per instrument (matching on a price change);
- the orders the clock can change: AMOs held for the open and resting TTL orders (the sweep).

:meth:`OrderBook.reindex` must follow every change of an order's status; the exchange calls it
from the one place every change ends in. Walks that touch several orders return them in
placement order, as a walk over the whole book did, so pushes and trade ids keep their order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orderdesk.sim.orders import Order, Status, Validity

RESTING = frozenset({Status.OPEN, Status.TRIGGER_PENDING})


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill."""

    trade_id: str
    order: Order
    quantity: int
    price: Decimal
    wire: dict[str, Any]


def _is_timed(order: Order) -> bool:
    if order.status is Status.AMO_REQ_RECEIVED:
        return True
    return order.validity is Validity.TTL and order.status in RESTING


class OrderBook:
    """Orders and trades of every user, indexed for the exchange's walks."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._seq: dict[str, int] = {}
        self._by_user: dict[str, dict[str, Order]] = {}
        self._resting: dict[int, dict[str, Order]] = {}
        self._timed: dict[str, Order] = {}
        self._trades_by_user: dict[str, list[Trade]] = {}
        self._trades_by_order: dict[str, list[Trade]] = {}

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders

    def __iter__(self) -> Iterator[Order]:
        return iter(self._orders.values())

    def get(self, order_id: str) -> Order | None:
        """The order with that id, whoever placed it."""
        return self._orders.get(order_id)

    def add(self, order: Order) -> None:
        """Take a new order into the book (and into the indexes its status calls for)."""
        self._seq[order.order_id] = len(self._seq)
        self._orders[order.order_id] = order
        self._by_user.setdefault(order.user_id, {})[order.order_id] = order
        self.reindex(order)

    def reindex(self, order: Order) -> None:
        """Follow a status change of an order in the book."""
        order_id = order.order_id
        resting = self._resting.setdefault(order.instrument_token, {})
        if order.status in RESTING:
            resting[order_id] = order
        else:
            resting.pop(order_id, None)
        if _is_timed(order):
            self._timed[order_id] = order
        else:
            self._timed.pop(order_id, None)

    def of_user(self, user_id: str) -> list[Order]:
        """A user's orders, oldest first."""
        return list(self._by_user.get(user_id, {}).values())

    def _in_placement_order(self, orders: Iterable[Order]) -> list[Order]:
        seq = self._seq
        return sorted(orders, key=lambda o: seq[o.order_id])

    def resting_on(self, tokens: Iterable[int]) -> list[Order]:
        """Orders resting on any of ``tokens``, in placement order (a snapshot)."""
        found: list[Order] = []
        for token in set(tokens):
            found.extend(self._resting.get(token, {}).values())
        return self._in_placement_order(found)

    def timed(self) -> list[Order]:
        """Held AMOs and resting TTL orders, in placement order (a snapshot)."""
        return self._in_placement_order(self._timed.values())

    def add_trade(self, trade: Trade) -> None:
        """Record a fill."""
        self._trades_by_user.setdefault(trade.order.user_id, []).append(trade)
        self._trades_by_order.setdefault(trade.order.order_id, []).append(trade)

    def trades_of(self, user_id: str, order_id: str | None = None) -> list[dict[str, Any]]:
        """A user's trades (optionally one order's), oldest first, as wire rows."""
        if order_id is None:
            return [t.wire for t in self._trades_by_user.get(user_id, ())]
        trades = self._trades_by_order.get(order_id, ())
        return [t.wire for t in trades if t.order.user_id == user_id]

    def clear(self) -> None:
        """Empty (``/_sim/reset``)."""
        self._orders.clear()
        self._seq.clear()
        self._by_user.clear()
        self._resting.clear()
        self._timed.clear()
        self._trades_by_user.clear()
        self._trades_by_order.clear()


__all__ = ["RESTING", "OrderBook", "Trade"]
