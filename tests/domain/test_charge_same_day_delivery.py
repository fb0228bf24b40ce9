"""Delivery (CNC) bought and sold on the same day, as the charge calculator is asked: the
exchange nets a scrip's day, so the quantity both bought and sold is charged as intraday (MIS),
the earliest fills of each side first, and only the rest as delivery; the part of the day's CNC
sales beyond its CNC buys is stock sold from the demat, which pays the DP charge once a scrip."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import OrderStatusReport, Product, Side
from orderdesk.domain.charge_schedule import (
    ContractKind,
    ScheduledCharges,
    dp_charges,
    scheduled_charges,
)
from orderdesk.domain.charges import ChargesTotal, executed, holding_sales
from tests.domain.test_charge_conversions import HDFCBANK, converted, lines, traded

CNC = Product.CNC


def charged(report: OrderStatusReport) -> ScheduledCharges:
    """A line's charges by the desk's schedule, as the simulator and the paper broker answer."""
    return scheduled_charges(
        ContractKind.EQUITY,
        buy=report.side is Side.BUY,
        delivery=report.product is CNC,
        quantity=report.filled_quantity,
        price=report.average_price,
    )


def test_the_quantity_bought_and_sold_in_the_day_is_charged_as_intraday() -> None:
    """The walk: INFY 100 bought at 1500 and 30 sold at 1520, both CNC. The 30 squared off
    pays intraday STT on the sale (11.40, not 45.60) and none on its buy; the 70 kept pays
    delivery STT (105, not 150): 116.40 where all-delivery charged 195.60."""
    buy = traded(1, [(100, "1500", 1)], product=CNC)
    sale = traded(2, [(30, "1520", 2)], side=Side.SELL, product=CNC)

    found = executed([sale, buy])

    assert lines(found) == [
        (sale.order_id, Product.MIS, 30, Decimal(1520)),
        (buy.order_id, Product.CNC, 70, Decimal(1500)),
        (buy.order_id, Product.MIS, 30, Decimal(1500)),
    ]
    total = ChargesTotal.of([charged(report) for _, report in found])
    assert total.transaction_tax == Decimal("116.40")  # 70 x 1500 x 0.1 % + 30 x 1520 x 0.025 %
    assert total.stamp_duty == Decimal("17.10")  # 70 x 1500 x 0.015 % + 30 x 1500 x 0.003 %
    assert total.brokerage == Decimal("27.18")  # 0.03 % of 45,000 and of 45,600
    assert not holding_sales(found)


def test_an_order_matched_in_part_pays_brokerage_on_that_part_capped_at_20() -> None:
    """1,000 bought at 1500 and 100 sold: the buy's intraday part is 150,000, whose 0.03 %
    (45) is capped at 20; its delivered 900 pay none."""
    buy = traded(1, [(1000, "1500", 1)], product=CNC)
    sale = traded(2, [(100, "1500", 2)], side=Side.SELL, product=CNC)

    brokerage = [
        (report.product, charged(report).brokerage) for order, report in executed([buy, sale])
    ]

    assert brokerage == [(Product.CNC, 0), (Product.MIS, 20), (Product.MIS, 20)]


def test_the_earliest_fills_are_squared_off_first_and_other_products_are_left() -> None:
    """Buys of 10 at minutes 1 and 2, a sale of 15 at minute 3 (a sale's side matched whole):
    the first buy and 5 of the second's are intraday, 5 kept; an MIS order and another
    scrip's CNC buy are as they were."""
    first = traded(1, [(10, "100", 1)], product=CNC)
    second = traded(2, [(6, "104", 2), (4, "106", 4)], product=CNC)
    sale = traded(3, [(15, "110", 3)], side=Side.SELL, product=CNC)
    intraday = traded(5, [(7, "108", 5)])
    other = traded(6, [(10, "50", 6)], instrument=HDFCBANK, product=CNC)

    found = executed([first, second, sale, intraday, other])

    assert lines(found) == [
        (first.order_id, Product.MIS, 10, Decimal(100)),
        (second.order_id, Product.CNC, 5, Decimal("105.6")),  # 1 at 104, 4 at 106
        (second.order_id, Product.MIS, 5, Decimal(104)),
        (sale.order_id, Product.MIS, 15, Decimal(110)),
        (intraday.order_id, Product.MIS, 7, Decimal(108)),
        (other.order_id, Product.CNC, 10, Decimal(50)),
    ]


def test_a_sale_from_holdings_bought_back_the_same_day_is_intraday() -> None:
    """Held stock sold, then as much bought back: the day nets to nothing delivered, so no
    delivery STT and no DP charge."""
    sale = traded(1, [(10, "100", 1)], side=Side.SELL, product=CNC)
    buy = traded(2, [(10, "99", 2)], product=CNC)

    found = executed([sale, buy])

    assert {report.product for _, report in found} == {Product.MIS}
    assert not holding_sales(found)


def test_a_scrip_sold_from_holdings_pays_the_dp_charge_once_a_day() -> None:
    """INFY: 50 sold in two orders, 20 bought: 30 from holdings, one DP charge (13.50 and
    18 % GST, 15.93) whatever the orders; HDFCBANK sold from holdings too: a second; a
    delivery buy and an intraday sale pay none."""
    morning = traded(1, [(20, "1500", 1)], side=Side.SELL, product=CNC)
    afternoon = traded(2, [(30, "1510", 2)], side=Side.SELL, product=CNC)
    bought = traded(3, [(20, "1505", 3)], product=CNC)
    other = traded(4, [(5, "980", 4)], side=Side.SELL, instrument=HDFCBANK, product=CNC)
    kept = traded(5, [(5, "1490", 5)], instrument=HDFCBANK, product=CNC)
    intraday = traded(6, [(5, "1500", 6)], side=Side.SELL)

    sales = holding_sales(executed([morning, afternoon, bought, other, intraday]))

    assert [(s.instrument, s.quantity) for s in sales] == [
        (morning.signal.instrument, 30),
        (HDFCBANK, 5),
    ]
    assert {s.charges for s in sales} == {dp_charges()}
    assert (dp_charges().dp_charge, dp_charges().gst, dp_charges().total) == (
        Decimal("13.5"),
        Decimal("2.43"),
        Decimal("15.93"),
    )
    assert not holding_sales(executed([kept, intraday]))
    total = ChargesTotal.of([s.charges for s in sales])
    assert (total.dp_charge, total.gst, total.total) == (27, Decimal("4.86"), Decimal("31.86"))


def test_an_intraday_sale_converted_to_delivery_is_a_sale_from_holdings() -> None:
    """An MIS short of 10 converted to CNC (held stock delivered against it): sold from the
    demat, so the DP charge; no CNC buy to square it off."""
    sale = traded(1, [(10, "100", 1)], side=Side.SELL)

    found = executed([sale], [converted(10, 5, side=Side.SELL)])

    assert lines(found) == [(sale.order_id, Product.CNC, 10, Decimal(100))]
    assert [s.quantity for s in holding_sales(found)] == [10]
