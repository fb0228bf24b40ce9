"""The orders table's time column: an order taken on the calendar date of the trading day it
is listed under shows its time alone; one taken on another date (carried from an earlier day,
taken on a holiday the day before's book still held, a signal's order of another day) shows
its date too, so it does not read as a time of that day."""

from __future__ import annotations

from datetime import date, datetime

from orderdesk.api.schemas import OrderOut
from orderdesk.cli._common import cell
from orderdesk.cli.desk_commands import ORDER_COLUMNS, _order_row
from orderdesk.domain import Order
from orderdesk.domain.calendar import IST
from tests.domain.builders import signal

CHRISTMAS = datetime(2026, 12, 25, 10, 0, 8, tzinfo=IST)


def time_cell(order: Order, day: date | None) -> str:
    return cell(_order_row(OrderOut.of(order, ()), day)[ORDER_COLUMNS.index("time")])


def test_an_order_of_another_date_shows_its_date_and_one_of_the_day_its_time() -> None:
    """Taken 10:00:08 on 25 Dec (a holiday) and listed under 24 Dec, it reads
    2026-12-25 10:00:08; listed under 25 Dec, or where the day is not known, 10:00:08."""
    order = Order.from_events([Order.create("od1", signal(quantity=10), CHRISTMAS)])
    assert time_cell(order, date(2026, 12, 24)) == "2026-12-25 10:00:08"
    assert time_cell(order, date(2026, 12, 25)) == "10:00:08"
    assert time_cell(order, None) == "10:00:08"
