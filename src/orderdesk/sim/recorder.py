"""The exchange's book and the one place every change to an order ends.

Every status change, fill or amendment the exchange makes is recorded once
(:meth:`Recorder.record`): the order appends its history row (``GET /orders/{id}``), the
book's revision moves on (equal revisions, equal books: ``GET /orders`` caches its rendering on
it), and, for an order in the book, the book's indexes and the blocked margin follow the change.
What Kite pushes (KITE_API.md §10) goes to the listeners through :meth:`Recorder.push`, which the
exchange's parts call for the changes Kite pushes and not for the others (a plain placement's
acceptance).
"""

from __future__ import annotations

from collections.abc import Callable

from orderdesk.sim.blocked import BlockedMargin
from orderdesk.sim.book import OrderBook
from orderdesk.sim.clock import SimClock
from orderdesk.sim.envelope import OrderError
from orderdesk.sim.orders import Order, Status

OrderListener = Callable[[Order], None]


class Recorder:
    """The order book, its revision and the listeners of the changes Kite pushes."""

    def __init__(self, clock: SimClock, blocked: BlockedMargin) -> None:
        self._clock = clock
        self._blocked = blocked
        self._listeners: list[OrderListener] = []
        self.book = OrderBook()
        """Every order and trade of the trading day, indexed."""
        self.revision = 0
        """Bumped on every recorded change (and on a cleared book): equal revisions, equal
        books."""

    def __repr__(self) -> str:
        return f"Recorder({len(self.book)} orders, revision={self.revision})"

    def get(self, user_id: str, order_id: str) -> Order:
        """One of the user's orders, or ``OrderException``."""
        order = self.book.get(order_id)
        if order is None or order.user_id != user_id:
            raise OrderError("Couldn't find that `order_id`.", http_status=404)
        return order

    def add_listener(self, listener: OrderListener) -> None:
        """Call ``listener(order)`` on every status change Kite pushes."""
        self._listeners.append(listener)

    def push(self, order: Order) -> None:
        """Tell the listeners of ``order``'s change (postbacks, the ticker's order messages)."""
        for listener in self._listeners:
            listener(order)

    def record(self, order: Order) -> None:
        """Record a change of ``order``: its history row, the revision, the book's indexes and
        the margin it blocks."""
        order.record()
        self.revision += 1
        if order.order_id in self.book:
            self.book.reindex(order)
            self._blocked.update(order)

    def transition(self, order: Order, status: Status) -> None:
        """Move ``order`` to ``status`` and record it."""
        order.status = status
        self.record(order)

    def stamp(self, order: Order) -> None:
        """Set ``exchange_update_timestamp`` to now (to the second, as Kite writes it)."""
        order.exchange_update_timestamp = self._clock.now().replace(microsecond=0)

    def readmit(self, order: Order) -> None:
        """Put back an order the cleared book held over (an AMO for the new day): indexed and
        blocking its margin again, its history untouched."""
        self.book.add(order)
        self._blocked.update(order)

    def clear(self) -> None:
        """Empty the book and the margin its orders blocked (a new day, a reset)."""
        self.book.clear()
        self._blocked.clear()
        self.revision += 1


__all__ = ["OrderListener", "Recorder"]
