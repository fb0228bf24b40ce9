"""Position conversions: quantity moves between products at its cost, and P&L does not move."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderdesk.domain import InstrumentKey, Position, PositionBook, Product, Side, ValidationError
from orderdesk.domain.conversion import PositionConversion, found_conversions

INFY = InstrumentKey.parse("NSE:INFY")
FUT = InstrumentKey.parse("NFO:NIFTY26DECFUT")
prices = st.integers(min_value=1, max_value=2_000_000).map(lambda p: Decimal(p) / 20)


def conversion(
    quantity: int,
    *,
    side: Side = Side.BUY,
    old: Product = Product.MIS,
    new: Product = Product.CNC,
    instrument: InstrumentKey = INFY,
    overnight: bool = False,
) -> PositionConversion:
    return PositionConversion(
        instrument=instrument,
        side=side,
        quantity=quantity,
        old_product=old,
        new_product=new,
        overnight=overnight,
    )


def test_a_long_mis_position_moves_to_cnc_at_its_cost() -> None:
    book = PositionBook()
    book.apply_fill(INFY, Product.MIS, Side.BUY, 10, Decimal("1500"), "t1")
    book.apply_fill(INFY, Product.MIS, Side.BUY, 10, Decimal("1510"), "t2")
    book.mark(INFY, Decimal("1520"))

    book.convert(conversion(15))

    mis, cnc = book.get(INFY, Product.MIS), book.get(INFY, Product.CNC)
    assert (mis.quantity, cnc.quantity) == (5, 15)
    assert mis.average_price == cnc.average_price == Decimal("1505")
    assert (cnc.day_buy_quantity, cnc.buy_quantity) == (15, 15)
    assert (mis.day_buy_quantity, mis.buy_quantity) == (5, 5)
    assert cnc.last_price == Decimal("1520")
    assert cnc.unrealised() == 15 * Decimal("15")
    assert book.total_pnl() == 20 * Decimal("1520") - 10 * Decimal("1500") - 10 * Decimal("1510")


def test_a_cost_that_does_not_divide_evenly_keeps_the_books_finite() -> None:
    """300.10 over 3 is 100.0333…: the position it enters holds the cost itself, not 3 × a
    28-digit price, or sums with it drift in their last digit (hypothesis found 3e-21)."""
    book = PositionBook()
    book.apply_fill(INFY, Product.CNC, Side.BUY, 480, Decimal("20806.75"), "t0")
    book.apply_fill(INFY, Product.MIS, Side.BUY, 1, Decimal("100"), "t1")
    book.apply_fill(INFY, Product.MIS, Side.BUY, 2, Decimal("100.05"), "t2")
    book.convert(conversion(3))
    cnc = book.get(INFY, Product.CNC)
    assert cnc.open_cost == Decimal("9987540.10")
    assert cnc.open_cost.as_tuple().exponent >= -4
    assert cnc.cash.as_tuple().exponent >= -4


def test_a_short_moves_as_a_short_and_keeps_the_realised_part_where_it_was() -> None:
    book = PositionBook()
    book.apply_fill(FUT, Product.NRML, Side.SELL, 130, Decimal("25100"), "t1")
    book.apply_fill(FUT, Product.NRML, Side.BUY, 65, Decimal("25000"), "t2")
    realised = book.get(FUT, Product.NRML).realised
    assert realised == 65 * Decimal("100")

    book.convert(conversion(65, side=Side.SELL, old=Product.NRML, new=Product.MIS, instrument=FUT))

    nrml, mis = book.get(FUT, Product.NRML), book.get(FUT, Product.MIS)
    assert (nrml.quantity, mis.quantity) == (0, -65)
    assert nrml.realised == realised
    assert mis.average_price == Decimal("25100")
    assert mis.day_sell_quantity == 65


def test_a_carried_quantity_moves_only_as_overnight() -> None:
    carried = Position.carried(FUT, Product.NRML, 65, Decimal("25000"))
    book = PositionBook.opening([carried])
    day_move = conversion(65, old=Product.NRML, new=Product.MIS, instrument=FUT)
    with pytest.raises(ValidationError, match="has 0 to convert, not 65"):
        book.convert(day_move)

    book.convert(conversion(65, old=Product.NRML, new=Product.MIS, instrument=FUT, overnight=True))

    mis = book.get(FUT, Product.MIS)
    assert (mis.quantity, mis.overnight_quantity, carried.overnight_quantity) == (65, 65, 0)


def test_more_than_the_position_has_is_refused_and_nothing_moves() -> None:
    book = PositionBook()
    book.apply_fill(INFY, Product.MIS, Side.BUY, 10, Decimal("1500"), "t1")
    with pytest.raises(ValidationError, match="long MIS position in NSE:INFY has 10 to convert"):
        book.convert(conversion(11))
    with pytest.raises(ValidationError, match="short MIS position in NSE:INFY has 0"):
        book.convert(conversion(1, side=Side.SELL))
    assert book.get(INFY, Product.MIS).quantity == 10
    assert (INFY, Product.CNC) not in book.positions


def test_stock_sold_out_of_holdings_is_no_position_to_convert() -> None:
    book = PositionBook()
    book.hold(INFY, 10, Decimal("1490"))
    book.apply_fill(INFY, Product.CNC, Side.SELL, 15, Decimal("1500"), "t1")
    with pytest.raises(ValidationError, match="has 5 to convert, not 6"):
        book.convert(conversion(6, side=Side.SELL, old=Product.CNC, new=Product.MIS))
    book.convert(conversion(5, side=Side.SELL, old=Product.CNC, new=Product.MIS))
    assert book.get(INFY, Product.CNC).quantity == -10


@pytest.mark.parametrize(
    ("instrument", "old", "new", "field", "words"),
    [
        (INFY, Product.MIS, Product.NRML, "to_product", "NRML is not a product of NSE"),
        (FUT, Product.CNC, Product.MIS, "from_product", "CNC is not a product of NFO"),
        (INFY, Product.MIS, Product.MIS, "to_product", "the position is MIS already"),
        (INFY, Product.CO, Product.CNC, "from_product", "CO is not a product of NSE"),
    ],
)
def test_products_the_exchange_does_not_trade_are_refused(
    instrument: InstrumentKey, old: Product, new: Product, field: str, words: str
) -> None:
    with pytest.raises(ValidationError, match=words) as refused:
        conversion(1, instrument=instrument, old=old, new=new)
    assert refused.value.field == field


def test_a_quantity_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="positive"):
        conversion(0)


@settings(max_examples=300, deadline=None)
@given(
    fills=st.lists(
        st.tuples(st.sampled_from(list(Side)), st.integers(1, 500), prices), max_size=30
    ),
    already=st.lists(
        st.tuples(st.sampled_from(list(Side)), st.integers(1, 500), prices), max_size=5
    ),
    share=st.fractions(min_value=0, max_value=1),
    later=st.lists(
        st.tuples(st.sampled_from(list(Side)), st.integers(1, 500), prices), max_size=10
    ),
    last=prices,
)
def test_a_conversion_moves_no_pnl_whatever_came_before_and_after(
    fills: list[tuple[Side, int, Decimal]],
    already: list[tuple[Side, int, Decimal]],
    share: object,
    later: list[tuple[Side, int, Decimal]],
    last: Decimal,
) -> None:
    """Any MIS fills (and some CNC ones), a conversion of any part of what is convertible, more
    fills in both after it: the book's P&L at any mark is what the fills alone make it, and the
    MIS position's realised P&L is what it was before the move."""
    book = PositionBook()
    untouched = PositionBook()
    trade = 0
    for product, side, quantity, price in [
        *((Product.CNC, *f) for f in already),
        *((Product.MIS, *f) for f in fills),
    ]:
        trade += 1
        for target in (book, untouched):
            target.apply_fill(INFY, product, side, quantity, price, f"t{trade}")
    mis = book.get(INFY, Product.MIS)
    side = Side.BUY if mis.quantity >= 0 else Side.SELL
    room = mis.convertible(side=side, overnight=False)
    moved = int(room * share)  # type: ignore[operator]
    realised = mis.realised
    if moved:
        book.convert(conversion(moved, side=side))
        assert book.get(INFY, Product.MIS).realised == realised
    for index, (side_, quantity, price) in enumerate(later):
        product = Product.MIS if index % 2 else Product.CNC
        trade += 1
        for target in (book, untouched):
            target.apply_fill(INFY, product, side_, quantity, price, f"t{trade}")
    for target in (book, untouched):
        target.mark(INFY, last)
    assert book.total_pnl() == untouched.total_pnl()
    assert book.net_quantity(INFY) == untouched.net_quantity(INFY)


def test_a_move_between_two_products_is_found_as_a_conversion() -> None:
    book = PositionBook()
    book.apply_fill(INFY, Product.MIS, Side.BUY, 10, Decimal("1500"), "t1")
    book.apply_fill(FUT, Product.MIS, Side.SELL, 65, Decimal("25000"), "t2")
    broker = {
        (INFY, Product.MIS): 4,
        (INFY, Product.CNC): 6,
        (FUT, Product.MIS): 0,
        (FUT, Product.NRML): -65,
    }
    found = found_conversions(book, broker)
    assert sorted(found, key=lambda c: str(c.instrument)) == [
        conversion(65, side=Side.SELL, old=Product.MIS, new=Product.NRML, instrument=FUT),
        conversion(6),
    ]


@pytest.mark.parametrize(
    "broker",
    [
        {(INFY, Product.MIS): 10},  # in agreement
        {(INFY, Product.MIS): 10, (INFY, Product.CNC): 5},  # a buy the desk has not seen
        {(INFY, Product.MIS): 0, (INFY, Product.CNC): 5},  # a sale and a conversion
        {(INFY, Product.MIS): 20, (INFY, Product.CNC): -10},  # the desk's position cannot give
        {(INFY, Product.MIS): 0, (INFY, Product.CNC): 5, (INFY, Product.MTF): 5},  # three
    ],
)
def test_other_differences_are_not_taken_for_a_conversion(
    broker: dict[tuple[InstrumentKey, Product], int],
) -> None:
    book = PositionBook()
    book.apply_fill(INFY, Product.MIS, Side.BUY, 10, Decimal("1500"), "t1")
    assert found_conversions(book, broker) == []


def test_a_carried_quantity_takes_its_carry_price_along() -> None:
    """The average shown (Kite's, at the carry price) moves with the quantity converted."""
    carried = Position.carried(FUT, Product.NRML, 65, Decimal("25000"), carry_price=Decimal(24800))
    book = PositionBook.opening([carried])
    book.convert(conversion(26, old=Product.NRML, new=Product.MIS, instrument=FUT, overnight=True))

    mis = book.get(FUT, Product.MIS)
    assert (mis.average_price, carried.average_price) == (Decimal(24800), Decimal(24800))
    assert mis.pnl(Decimal(25100)) == 26 * 100
