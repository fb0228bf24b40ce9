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
