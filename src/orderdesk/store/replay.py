"""State from the log: every order rebuilt by replaying its events in seq order."""

from __future__ import annotations

from orderdesk.domain.events import OrderCreated, OrderEvent
from orderdesk.domain.order import Order
from orderdesk.errors import StoreError
from orderdesk.ports.store import EventStore


def replay_orders(store: EventStore) -> dict[str, Order]:
    """Every order in ``store`` by client order id, as its events leave it.

    Non-order events (desk events) are skipped. An order event whose stream has no earlier
    :class:`OrderCreated` means the log is damaged or foreign, and raises :class:`StoreError`
    naming the row rather than inventing an order.
    """
    orders: dict[str, Order] = {}
    for stored in store.read():
        event = stored.event()
        if not isinstance(event, OrderEvent):
            continue
        order = orders.get(event.order_id)
        if order is None:
            if not isinstance(event, OrderCreated):
                raise StoreError(
                    f"event {stored.seq} ({stored.type}) belongs to order {event.order_id}, "
                    "which was never created"
                )
            orders[event.order_id] = Order.from_events([event])
        else:
            order.apply(event)
    return orders


__all__ = ["replay_orders"]
