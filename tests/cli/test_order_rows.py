"""The orders table shows an order's average price only once something has filled: a resting or
unfilled MARKET order's 0.00 read as a fill at nothing."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.api.schemas import OrderOut
from orderdesk.cli._common import cell
from orderdesk.cli.desk_commands import ORDER_COLUMNS, _order_row
from orderdesk.domain import Order
from orderdesk.domain.status import BrokerStatus
from tests.domain.builders import AT, fill, report, signal, step


def avg(order: Order) -> str:
    return cell(_order_row(OrderOut.of(order, ()))[ORDER_COLUMNS.index("avg")])


def test_an_unfilled_order_has_no_average_and_a_filled_one_has_its_own() -> None:
    order = Order.from_events([Order.create("od1", signal(quantity=10), AT)])
    step(order, order.submit(AT))
    step(order, order.accepted("250101000000001", AT))
    assert avg(order) == "—"
    step(order, order.on_report(report(BrokerStatus.COMPLETE, 10), AT, [fill("t1", 10)]))
    assert avg(order) == f"{Decimal('1500.05'):,.2f}"
