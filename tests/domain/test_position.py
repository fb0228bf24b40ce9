"""Positions: exact P&L, no drift, whatever the fills."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orderdesk.domain import InstrumentKey, Position, PositionBook, Product, Side

KEY = InstrumentKey.parse("NSE:INFY")
prices = st.integers(min_value=1, max_value=2_000_000).map(lambda p: Decimal(p) / 20)
fills = st.lists(
    st.tuples(st.sampled_from(list(Side)), st.integers(min_value=1, max_value=500), prices),
    min_size=1,
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    fills=fills,
    last=prices,
    multiplier=st.sampled_from([Decimal(1), Decimal(25), Decimal(1000)]),
    carry=st.integers(min_value=-300, max_value=300),
    carry_price=prices,
)
def test_realised_plus_unrealised_is_cash_flow_mark_to_market(
    fills: list[tuple[Side, int, Decimal]],
    last: Decimal,
    multiplier: Decimal,
    carry: int,
    carry_price: Decimal,
) -> None:
    """For any fills, realised + unrealised equals cash flow marked at the last price."""
    position = Position.carried(KEY, Product.NRML, carry, carry_price, multiplier)
    cash = -carry * carry_price * multiplier
    net = carry
    for side, quantity, price in fills:
        position.apply_fill(side, quantity, price)
        cash += -side.sign * quantity * price * multiplier
        net += side.sign * quantity
    assert position.quantity == net
    mtm = cash + net * last * multiplier
    assert position.realised + position.unrealised(last) == mtm
    assert position.pnl(last) == mtm
    if net == 0:
        assert position.realised == cash
        assert position.unrealised(last) == 0


def test_average_cost_realises_on_reduction() -> None:
    """Buy 10 @ 100, buy 10 @ 110, sell 5 @ 120 realises 5 × (120 − 105)."""
    position = Position(KEY, Product.CNC)
    position.apply_fill(Side.BUY, 10, Decimal(100))
    position.apply_fill(Side.BUY, 10, Decimal(110))
    position.apply_fill(Side.SELL, 5, Decimal(120))
    assert position.average_price == Decimal(105)
    assert position.realised == Decimal(75)
    assert position.unrealised(Decimal(100)) == Decimal(-75)


def test_flip_from_long_to_short_opens_at_fill_price() -> None:
    """Selling through zero closes the long and opens a short at the fill price."""
    position = Position(KEY, Product.MIS)
    position.apply_fill(Side.BUY, 10, Decimal(100))
    position.apply_fill(Side.SELL, 15, Decimal(90))
    assert position.quantity == -5
    assert position.realised == Decimal(-100)
    assert position.average_price == Decimal(90)


def test_book_ignores_repeated_trade_ids() -> None:
    """The same trade booked twice moves the position once."""
    book = PositionBook()
    assert book.apply_fill(KEY, Product.CNC, Side.BUY, 3, Decimal(10), trade_id="t1")
    assert not book.apply_fill(KEY, Product.CNC, Side.BUY, 3, Decimal(10), trade_id="t1")
    assert book.net_quantity(KEY) == 3


def test_a_sale_out_of_holdings_is_stock_sold_not_a_short() -> None:
    """Holding 10 closed at 1500, sold at 1610, now 1700: a realised 1,100 against the close,
    nothing left to mark; the quantity stays the broker's short -10."""
    book = PositionBook()
    book.hold(KEY, 10, Decimal(1500))
    book.apply_fill(KEY, Product.CNC, Side.SELL, 10, Decimal(1610))
    book.mark(KEY, Decimal(1700))
    position = book.get(KEY, Product.CNC)
    assert (position.quantity, position.from_holdings, position.average_price) == (-10, 10, 1610)
    assert (position.realised, position.unrealised(), position.pnl()) == (1100, 0, 1100)
    short = Position(KEY, Product.CNC)  # the same sale with nothing held: a short
    short.apply_fill(Side.SELL, 10, Decimal(1610))
    assert short.pnl(Decimal(1700)) == -900


def test_a_sale_beyond_holdings_is_a_short_for_the_rest() -> None:
    """Selling 15 of 10 held: 10 are stock sold, 5 a short marked at the last price."""
    position = Position(KEY, Product.CNC)
    position.hold(10, Decimal(1500))
    position.apply_fill(Side.SELL, 15, Decimal(1610))
    assert position.from_holdings == 10
    assert position.realised == 10 * (1610 - 1500)
    assert position.unrealised(Decimal(1700)) == 5 * (1610 - 1700)


def test_buying_back_returns_the_stock_to_holdings() -> None:
    """Sold at 1610, bought back at 1650: the stock is held again (its move is the holdings',
    not the day's), and the day keeps the round trip's -400."""
    position = Position(KEY, Product.CNC)
    position.hold(10, Decimal(1500))
    position.apply_fill(Side.SELL, 10, Decimal(1610))
    assert position.pnl(Decimal(1650)) == 1100
    position.apply_fill(Side.BUY, 10, Decimal(1650))
    assert (position.quantity, position.from_holdings) == (0, 0)
    assert position.pnl(Decimal(1700)) == -400


def test_holdings_cover_only_delivery_sales() -> None:
    """An intraday (MIS) sale of a held stock is a short, as the broker squares it off."""
    book = PositionBook()
    book.apply_fill(KEY, Product.CNC, Side.BUY, 1, Decimal(1500))  # a CNC line before the hold
    book.hold(KEY, 10, Decimal(1500))
    book.apply_fill(KEY, Product.MIS, Side.SELL, 10, Decimal(1610))
    book.apply_fill(KEY, Product.CNC, Side.SELL, 5, Decimal(1610))
    assert book.get(KEY, Product.MIS).from_holdings == 0
    assert book.get(KEY, Product.CNC).from_holdings == 4  # held after the line was opened


@settings(max_examples=300, deadline=None)
@given(
    fills=fills,
    last=prices,
    held=st.integers(min_value=0, max_value=400),
    close=prices,
)
def test_selling_holdings_adds_their_move_since_the_close(
    fills: list[tuple[Side, int, Decimal]], last: Decimal, held: int, close: Decimal
) -> None:
    """For any fills, the P&L is the cash flow marked at the last price plus, for the stock
    sold out of holdings, its move from the close to the last price (it is not held any more,
    so its day counts); realised and unrealised still add up to it."""
    position = Position(KEY, Product.CNC)
    position.hold(held, close)
    cash, net = Decimal(0), 0
    for side, quantity, price in fills:
        position.apply_fill(side, quantity, price)
        cash += -side.sign * quantity * price
        net += side.sign * quantity
    sold = min(max(-net, 0), held)
    assert position.from_holdings == sold
    expected = cash + net * last + sold * (last - close)
    assert position.realised + position.unrealised(last) == position.pnl(last) == expected
    if net == -sold:
        assert position.unrealised(last) == 0


def test_a_carried_position_shows_what_it_cost_and_counts_pnl_from_the_close() -> None:
    """Kite's ``average_price`` of a carried position is its carry price (597.2), while the
    day's P&L (its m2m) counts from the previous close (600)."""
    position = Position.carried(KEY, Product.NRML, 65, Decimal(600), carry_price=Decimal("597.2"))
    assert position.average_price == Decimal("597.2")
    assert position.pnl(Decimal(610)) == 65 * 10

    position.apply_fill(Side.BUY, 65, Decimal(605))
    assert position.average_price == Decimal("601.1")  # (597.2 + 605) / 2
    position.apply_fill(Side.SELL, 65, Decimal(610))
    assert position.average_price == Decimal("601.1")  # a reduction keeps the average
    assert position.realised == 65 * (610 - Decimal("602.5"))  # from the close's basis
    position.apply_fill(Side.SELL, 100, Decimal(610))
    assert (position.quantity, position.average_price) == (-35, Decimal(610))


@settings(max_examples=200, deadline=None)
@given(fills=fills, last=prices, close=prices, carry_price=prices)
def test_a_carry_price_changes_the_average_shown_and_no_pnl(
    fills: list[tuple[Side, int, Decimal]], last: Decimal, close: Decimal, carry_price: Decimal
) -> None:
    """Whatever follows, the carry price moves no P&L; and while the position only grows,
    its average is the carried lots at their carry price with the day's at theirs."""
    at_close = Position.carried(KEY, Product.NRML, 40, close)
    shown = Position.carried(KEY, Product.NRML, 40, close, carry_price=carry_price)
    cost, quantity, growing = 40 * carry_price, 40, True
    for side, size, price in fills:
        at_close.apply_fill(side, size, price)
        shown.apply_fill(side, size, price)
        growing = growing and side is Side.BUY
        if growing:
            cost, quantity = cost + size * price, quantity + size
            assert shown.average_price == (cost / quantity).quantize(Decimal("0.0001"))
        assert (shown.realised, shown.unrealised(last)) == (
            at_close.realised,
            at_close.unrealised(last),
        )
    if not shown.quantity:
        assert shown.average_price == 0
