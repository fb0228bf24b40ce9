"""What a day's trading cost: the executed orders as a broker's charge calculator reads them,
and the sums of its answer.

Kite charges per executed order (its brokerage is per order, its taxes on the order's turnover),
and its calculator (``/charges/orders``, the virtual contract note) takes each order's traded
quantity at its average price. The desk has both in its own record of the fills, for today and
for any earlier day read back from the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from orderdesk.domain.order import Order
from orderdesk.domain.reports import Charges, OrderStatusReport
from orderdesk.domain.status import BrokerStatus

ZERO = Decimal(0)


def executed(orders: Iterable[Order]) -> list[tuple[Order, OrderStatusReport]]:
    """Each order that traded, with the report a charge calculator takes: what it filled, at
    the average price of its fills (an order cancelled after a part filled is charged on that
    part)."""
    found: list[tuple[Order, OrderStatusReport]] = []
    for order in orders:
        if order.broker_order_id is None or not order.fills:
            continue
        quantity = order.fill_quantity
        first = next(iter(order.fills.values()))
        report = OrderStatusReport(
            broker_order_id=order.broker_order_id,
            status=BrokerStatus.COMPLETE,
            broker_status_text="COMPLETE",
            instrument=first.instrument,
            side=first.side,
            order_type=order.order_type,
            product=first.product,
            variety=order.signal.variety,
            validity=order.signal.validity,
            quantity=quantity,
            filled_quantity=quantity,
            pending_quantity=0,
            average_price=order.average_fill_price(),
            exchange_order_id=first.exchange_order_id,
        )
        found.append((order, report))
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargesTotal:
    """Charges summed by kind over a day's orders."""

    brokerage: Decimal = ZERO
    transaction_tax: Decimal = ZERO
    exchange_turnover_charge: Decimal = ZERO
    sebi_turnover_charge: Decimal = ZERO
    stamp_duty: Decimal = ZERO
    gst: Decimal = ZERO
    total: Decimal = ZERO

    @classmethod
    def of(cls, charges: Sequence[Charges]) -> ChargesTotal:
        return cls(
            brokerage=sum((c.brokerage for c in charges), ZERO),
            transaction_tax=sum((c.transaction_tax for c in charges), ZERO),
            exchange_turnover_charge=sum((c.exchange_turnover_charge for c in charges), ZERO),
            sebi_turnover_charge=sum((c.sebi_turnover_charge for c in charges), ZERO),
            stamp_duty=sum((c.stamp_duty for c in charges), ZERO),
            gst=sum((c.gst for c in charges), ZERO),
            total=sum((c.total for c in charges), ZERO),
        )


__all__ = ["ChargesTotal", "executed"]
