"""A conversion moves each part of a line at its own cost, as Kite does: a carried quantity at
the close it was carried at, today's quantity at today's, never the two blended (the walk's
NRML→MIS --overnight split a 65 + 65 line's P&L equally between the products)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orderdesk.domain import InstrumentKey, Position, PositionBook, Product, Side
from orderdesk.domain.conversion import PositionConversion
from orderdesk.sim.portfolio import Portfolio

D = Decimal
FUT = InstrumentKey.parse("NFO:NIFTY26DECFUT")
CLOSE = D("25111.30")
TODAY = D("25105")
prices = st.integers(min_value=480_000, max_value=520_000).map(lambda p: Decimal(p) / 20)


def _move(quantity: int, *, overnight: bool, side: Side = Side.BUY) -> PositionConversion:
    return PositionConversion(
        instrument=FUT,
        side=side,
        quantity=quantity,
        old_product=Product.NRML,
        new_product=Product.MIS,
        overnight=overnight,
    )


def _mixed_line(
    carried: int = 65, bought: int = 65, carry_price: Decimal | None = None
) -> PositionBook:
    """NRML: ``carried`` brought in at the close, ``bought`` today at 25,105."""
    opening = Position.carried(FUT, Product.NRML, carried, CLOSE, carry_price=carry_price)
    book = PositionBook.opening([opening])
    side = Side.BUY if bought > 0 else Side.SELL
    book.apply_fill(FUT, Product.NRML, side, abs(bought), TODAY, "t1")
    return book


def test_the_carried_part_moves_at_its_close_and_today_s_stays() -> None:
    """The walk's case: after the exit each product shows the broker's P&L, not half the sum."""
    book = _mixed_line(carry_price=D("25119.2667"))
    book.convert(_move(65, overnight=True))
    mis, nrml = book.get(FUT, Product.MIS), book.get(FUT, Product.NRML)
    assert (mis.open_cost, nrml.open_cost) == (65 * CLOSE, 65 * TODAY)
    assert (mis.average_price, nrml.average_price) == (D("25119.2667"), TODAY)
    assert (mis.overnight_quantity, nrml.overnight_quantity) == (65, 0)

    book.apply_fill(FUT, Product.MIS, Side.SELL, 65, D("25083.30"), "x1")
    book.apply_fill(FUT, Product.NRML, Side.SELL, 65, D("25078"), "x2")
    assert (mis.realised, nrml.realised) == (D("-1820.00"), D("-1755.00"))


def test_today_s_part_moves_at_today_s_cost_and_the_carried_part_stays() -> None:
    book = _mixed_line(carry_price=D("25200"))
    book.convert(_move(65, overnight=False))
    mis, nrml = book.get(FUT, Product.MIS), book.get(FUT, Product.NRML)
    assert (mis.open_cost, nrml.open_cost) == (65 * TODAY, 65 * CLOSE)
    assert (mis.average_price, nrml.average_price) == (TODAY, D("25200"))
    assert (mis.day_buy_quantity, nrml.day_buy_quantity, nrml.overnight_quantity) == (65, 0, 65)


def test_a_carried_short_moves_at_its_close() -> None:
    book = _mixed_line(carried=-65, bought=-65)
    book.convert(_move(65, overnight=True, side=Side.SELL))
    mis, nrml = book.get(FUT, Product.MIS), book.get(FUT, Product.NRML)
    assert (mis.open_cost, nrml.open_cost) == (-65 * CLOSE, -65 * TODAY)
    assert (mis.quantity, mis.overnight_quantity, nrml.quantity) == (-65, -65, -65)


def test_parts_of_the_carry_add_up_to_its_close() -> None:
    """Moved in two goes (26 then 39), the carry leaves at exactly 65 × the close."""
    book = _mixed_line()
    book.convert(_move(26, overnight=True))
    book.convert(_move(39, overnight=True))
    mis, nrml = book.get(FUT, Product.MIS), book.get(FUT, Product.NRML)
    assert (mis.open_cost, mis.overnight_cost) == (65 * CLOSE, 65 * CLOSE)
    assert (nrml.open_cost, nrml.overnight_quantity, nrml.overnight_cost) == (65 * TODAY, 0, 0)


def test_a_carry_whose_day_was_closed_out_leaves_the_day_s_trade_realised() -> None:
    """65 carried, 65 bought and 65 sold today: the carry moves at its close, and the NRML
    line is left flat with the day's round trip as its P&L (the broker's), no cost behind."""
    book = _mixed_line()
    book.apply_fill(FUT, Product.NRML, Side.SELL, 65, D("25130"), "t2")
    book.convert(_move(65, overnight=True))
    mis, nrml = book.get(FUT, Product.MIS), book.get(FUT, Product.NRML)
    assert mis.open_cost == 65 * CLOSE
    assert (nrml.quantity, nrml.open_cost) == (0, 0)
    assert nrml.realised == nrml.pnl(D("25000")) == 65 * (D("25130") - TODAY)


@given(
    carried=st.integers(min_value=1, max_value=20).map(lambda lots: lots * 65),
    fills=st.lists(st.tuples(st.booleans(), st.integers(1, 200), prices), max_size=6),
    close=prices,
    last=prices,
    take=st.floats(min_value=0.01, max_value=1),
)
@settings(max_examples=150, deadline=None)
def test_each_product_s_pnl_is_the_simulator_s_after_an_overnight_conversion(
    carried: int,
    fills: list[tuple[bool, int, Decimal]],
    close: Decimal,
    last: Decimal,
    take: float,
) -> None:
    """The simulator (which follows Kite) moves the carry at its price: so does the desk."""
    sim = Portfolio(lambda _token: float(last))
    line = sim.position("u", "NFO", "NIFTY26DECFUT", "NRML", 1)
    line.overnight_quantity, line.overnight_price, line.close_price = carried, close, close
    book = PositionBook.opening([Position.carried(FUT, Product.NRML, carried, close)])
    for n, (buy, quantity, price) in enumerate(fills):
        line.add_fill(buy, quantity, price)
        book.apply_fill(FUT, Product.NRML, Side.BUY if buy else Side.SELL, quantity, price, f"{n}")
    room = book.get(FUT, Product.NRML).convertible(side=Side.BUY, overnight=True)
    quantity = max(1, int(room * take))
    if not room:
        return
    sim.convert(
        "u",
        exchange="NFO",
        tradingsymbol="NIFTY26DECFUT",
        buy=True,
        quantity=quantity,
        old_product="NRML",
        new_product="MIS",
        overnight=True,
    )
    book.convert(_move(quantity, overnight=True))

    for product in (Product.NRML, Product.MIS):
        simulated = sim.find("u", "NFO", "NIFTY26DECFUT", product.value)
        assert simulated is not None
        desk = book.get(FUT, product)
        assert (desk.quantity, desk.overnight_quantity) == (
            simulated.quantity,
            simulated.overnight_quantity,
        )
        assert desk.pnl(last) == simulated.pnl(last)
