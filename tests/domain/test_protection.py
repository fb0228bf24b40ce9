"""Which open orders the kill switch's cancel keeps: those that can only reduce a position the
desk holds (a cover order's stop leg; a stop on the other side of a position, within it)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from orderdesk.domain import InstrumentKey, Order, OrderType, PositionBook, Product, Side
from orderdesk.domain.protection import protective_orders
from tests.domain.builders import AT, INFY, signal

SBIN = InstrumentKey.parse("NSE:SBIN")
_ids = itertools.count(1)


def working(*, leg_of: str | None = None, **overrides: Any) -> Order:
    """An order the broker holds (accepted, nothing filled): a sell stop of 100 SBIN MIS."""
    fields: dict[str, Any] = {
        "instrument": SBIN,
        "side": Side.SELL,
        "quantity": 100,
        "order_type": OrderType.SL_M,
        "product": Product.MIS,
        "price": None,
        "trigger_price": Decimal("790"),
    }
    fields.update(overrides)
    number = next(_ids)
    created = Order.create(
        f"od{number:018d}", signal(**fields), AT, broker_order_id=f"25{number:013d}", leg_of=leg_of
    )
    return Order.from_events([created])


def holding(*positions: tuple[InstrumentKey, Product, int]) -> PositionBook:
    book = PositionBook()
    for number, (instrument, product, quantity) in enumerate(positions):
        side = Side.BUY if quantity > 0 else Side.SELL
        book.apply_fill(instrument, product, side, abs(quantity), Decimal("800"), f"t{number}")
    return book


def kept_ids(orders: list[Order], book: PositionBook) -> list[str]:
    return [kept.order_id for kept in protective_orders(orders, book)]


def test_a_stop_against_a_long_within_it_is_kept_and_says_why() -> None:
    """A SL-M sell of 100 against MIS long 100 is kept, its reason naming the position."""
    stop = working()
    (kept,) = protective_orders([stop], holding((SBIN, Product.MIS, 100)))
    assert kept.order_id == stop.order_id
    assert kept.reason.startswith("protective stop of the MIS long 100 in NSE:SBIN")
    assert "SELL 100 SL-M, trigger 790" in kept.reason


def test_a_stop_against_a_short_is_kept_too() -> None:
    """A SL buy of 40 against a short of 50 is kept: it can only buy back part of it."""
    stop = working(
        side=Side.BUY,
        quantity=40,
        order_type=OrderType.SL,
        price=Decimal("812"),
        trigger_price=Decimal("810"),
    )
    assert kept_ids([stop], holding((SBIN, Product.MIS, -50))) == [stop.order_id]


def test_anything_that_could_add_risk_is_not_kept() -> None:
    """Not kept: a limit sell (a stop only), a stop on the position's own side, a stop on a
    flat instrument, a stop larger than the position, a stop in another product."""
    book = holding((SBIN, Product.MIS, 100))
    orders = [
        working(order_type=OrderType.LIMIT, price=Decimal("820"), trigger_price=None),
        working(side=Side.BUY, trigger_price=Decimal("810")),
        working(instrument=INFY),
        working(quantity=101),
        working(product=Product.CNC),
    ]
    assert kept_ids(orders, book) == []


def test_stops_together_are_kept_only_up_to_the_position() -> None:
    """Two stops of 60 against a long of 100: the first is kept, the second would take the
    position short once both fire, so it is not; one of 40 still fits after the first."""
    first, second, third = working(quantity=60), working(quantity=60), working(quantity=40)
    book = holding((SBIN, Product.MIS, 100))
    assert kept_ids([first, second, third], book) == [first.order_id, third.order_id]


def test_a_cover_orders_stop_leg_is_kept_whatever_the_positions_say() -> None:
    """A cover order's stop leg is kept even with no position booked in its product: its
    cancel would exit the cover order at market."""
    leg = working(leg_of="od000000000000000099")
    (kept,) = protective_orders([leg], PositionBook())
    assert kept.order_id == leg.order_id
    assert "stop leg of cover order od000000000000000099" in kept.reason
    assert "exit that NSE:SBIN position at market" in kept.reason


def test_a_cnc_stop_may_protect_the_days_delivered_stock() -> None:
    """Holding 100 delivered SBIN (sold 30 of them today), a CNC stop sell of 70 is kept and
    one of 71 is not."""
    book = PositionBook()
    book.hold(SBIN, 100, Decimal("800"))
    book.apply_fill(SBIN, Product.CNC, Side.SELL, 30, Decimal("805"), "t1")
    fits = working(product=Product.CNC, quantity=70)
    assert kept_ids([fits], book) == [fits.order_id]
    assert kept_ids([working(product=Product.CNC, quantity=71)], book) == []
