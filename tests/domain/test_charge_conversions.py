"""A day's conversions, as the charge calculator is asked: the quantity a conversion moved is
charged in its new product (an MIS buy kept as CNC is delivery), taken from the latest fills
first, an order moved in part asked for in two lines."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from orderdesk.domain import (
    Fill,
    InstrumentKey,
    Order,
    OrderStatusReport,
    OrderType,
    Product,
    Side,
)
from orderdesk.domain.charges import executed
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.events import PositionConverted
from tests.domain.builders import AT, INFY, signal, step

HDFCBANK = InstrumentKey.parse("NSE:HDFCBANK")
NIFTY_FUT = InstrumentKey.parse("NFO:NIFTY26DECFUT")


def minutes(count: int) -> datetime:
    return AT + timedelta(minutes=count)


def traded(
    number: int,
    fills: list[tuple[int, str, int]],
    *,
    side: Side = Side.BUY,
    instrument: InstrumentKey = INFY,
    product: Product = Product.MIS,
) -> Order:
    """Order ``number``, created at minute ``number``, filled by ``fills`` (quantity, price,
    exchange minute)."""
    quantity = sum(q for q, _, _ in fills)
    broker_id = f"25010100000000{number}"
    order = Order.from_events(
        [
            Order.create(
                f"od{number:018d}",
                signal(
                    instrument=instrument,
                    side=side,
                    quantity=quantity,
                    order_type=OrderType.MARKET,
                    price=None,
                    product=product,
                ),
                minutes(number),
            )
        ]
    )
    step(order, order.submit(minutes(number)))
    step(order, order.accepted(broker_id, minutes(number)))
    for index, (filled, price, minute) in enumerate(fills):
        fill = Fill(
            trade_id=f"t{number}-{index}",
            broker_order_id=broker_id,
            instrument=instrument,
            side=side,
            product=product,
            quantity=filled,
            price=Decimal(price),
            filled_at=minutes(minute),
        )
        step(order, order.on_fill(fill, minutes(minute)))
    return order


def converted(
    quantity: int,
    minute: int,
    *,
    side: Side = Side.BUY,
    instrument: InstrumentKey = INFY,
    old: Product = Product.MIS,
    new: Product = Product.CNC,
    overnight: bool = False,
) -> PositionConverted:
    conversion = PositionConversion(
        instrument=instrument,
        side=side,
        quantity=quantity,
        old_product=old,
        new_product=new,
        overnight=overnight,
    )
    return PositionConverted(at=minutes(minute), conversion=conversion, source="desk")


def lines(found: list[tuple[Order, OrderStatusReport]]) -> list[tuple[str, Product, int, Decimal]]:
    return [
        (order.order_id, report.product, report.filled_quantity, report.average_price)
        for order, report in found
    ]


def test_a_buy_converted_whole_is_charged_as_delivery() -> None:
    """HDFCBANK 5 bought MIS, all converted to CNC: one CNC line, as the order was."""
    buy = traded(1, [(5, "1636.8", 2)], instrument=HDFCBANK)

    found = executed([buy], [converted(5, 10, instrument=HDFCBANK)])

    assert lines(found) == [(buy.order_id, Product.CNC, 5, Decimal("1636.8"))]
    [(_, report)] = found
    assert (report.broker_order_id, report.instrument, report.side) == (
        buy.broker_order_id,
        HDFCBANK,
        Side.BUY,
    )


def test_an_order_converted_in_part_is_split_the_latest_fills_first() -> None:
    """40 bought MIS in fills of 25 at 100 then 15 at 102; 20 converted to CNC: the 15 and
    5 of the 25 are CNC (at their average), 20 of the 25 stay MIS, its own product first."""
    buy = traded(1, [(25, "100", 2), (15, "102", 3)])

    found = executed([buy], [converted(20, 10)])

    assert lines(found) == [
        (buy.order_id, Product.MIS, 20, Decimal(100)),
        (buy.order_id, Product.CNC, 20, Decimal("101.5")),  # (15 x 102 + 5 x 100) / 20
    ]


def test_the_latest_order_gives_first_and_later_fills_are_passed_over() -> None:
    """Buys at minutes 1 and 2, 15 converted at minute 5, another buy at minute 8: the
    conversion takes the minute-2 order's 10, then 5 of the first; the later buy, the sale
    (a long was converted) and another instrument's buy stay MIS; the orders keep the order
    they were given in."""
    first = traded(1, [(10, "100", 1)])
    second = traded(2, [(10, "104", 2)])
    sale = traded(3, [(4, "105", 3)], side=Side.SELL)
    other = traded(4, [(10, "50", 4)], instrument=HDFCBANK)
    later = traded(8, [(10, "108", 8)])

    found = executed([later, other, sale, second, first], [converted(15, 5)])

    assert lines(found) == [
        (later.order_id, Product.MIS, 10, Decimal(108)),
        (other.order_id, Product.MIS, 10, Decimal(50)),
        (sale.order_id, Product.MIS, 4, Decimal(105)),
        (second.order_id, Product.CNC, 10, Decimal(104)),
        (first.order_id, Product.MIS, 5, Decimal(100)),
        (first.order_id, Product.CNC, 5, Decimal(100)),
    ]


def test_conversions_apply_in_log_order_and_a_carried_one_moves_no_fill() -> None:
    """10 to CNC then 4 back to MIS leaves 6 CNC; a short's conversion to NRML takes from
    the sale; an ``overnight`` conversion names carried quantity, not today's fills."""
    buy = traded(1, [(10, "100", 1)])
    short = traded(2, [(6, "200", 2)], side=Side.SELL, instrument=NIFTY_FUT)

    found = executed(
        [buy, short],
        [
            converted(10, 3),
            converted(4, 4, old=Product.CNC, new=Product.MIS),
            converted(2, 5, side=Side.SELL, instrument=NIFTY_FUT, new=Product.NRML),
            converted(4, 6, overnight=True),
        ],
    )

    assert lines(found) == [
        (buy.order_id, Product.MIS, 4, Decimal(100)),
        (buy.order_id, Product.CNC, 6, Decimal(100)),
        (short.order_id, Product.MIS, 4, Decimal(200)),
        (short.order_id, Product.NRML, 2, Decimal(200)),
    ]


def test_without_conversions_each_order_is_one_line_in_its_product() -> None:
    """No conversion: what the calculator was always asked."""
    buy = traded(1, [(6, "100", 1), (2, "104", 2)])

    assert lines(executed([buy])) == [(buy.order_id, Product.MIS, 8, Decimal(101))]
