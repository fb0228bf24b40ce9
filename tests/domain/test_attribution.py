"""Per-strategy books add up to the desk's, and each strategy sees only its own fills."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orderdesk.domain import Fill, Order, PositionBook, Product, Side
from orderdesk.domain.attribution import attribute
from orderdesk.domain.day import Holding
from tests.domain.builders import AT, INFY, fill, signal, step

D = Decimal
prices = st.integers(min_value=20, max_value=40_000).map(lambda p: Decimal(p) / 20)
TRADES = st.lists(
    st.tuples(
        st.sampled_from(["alpha", "beta", "gamma"]),
        st.sampled_from(list(Side)),
        st.integers(min_value=1, max_value=50),
        prices,
    ),
    min_size=1,
    max_size=40,
)
"""Fills as (strategy, side, quantity, price), in time order."""


def _order(order_id: str, strategy: str, fills: list[Fill]) -> Order:
    order = Order.from_events(
        [Order.create(order_id, signal(strategy=strategy, quantity=10_000), AT)]
    )
    for item in fills:
        step(order, order.on_fill(item, AT))
    return order


@settings(max_examples=200, deadline=None)
@given(
    trades=TRADES,
    last=prices,
)
def test_strategy_books_sum_to_the_desk(
    trades: list[tuple[str, Side, int, Decimal]], last: Decimal
) -> None:
    """Whatever the split of fills across strategies, their P&L adds up to the whole book's."""
    whole = PositionBook()
    per_strategy: dict[str, list[Fill]] = {}
    for n, (strategy, side, quantity, price) in enumerate(trades):
        item = replace(fill(f"t{n}", quantity, str(price)), side=side)
        per_strategy.setdefault(strategy, []).append(item)
        whole.apply_fill(INFY, Product.CNC, side, quantity, price, item.trade_id)
    whole.mark(INFY, last)
    orders = [_order(f"od{s}", s, fills) for s, fills in per_strategy.items()]
    books = attribute(orders, {INFY: last})
    assert set(books) == set(per_strategy)
    assert sum((b.pnl for b in books.values()), Decimal(0)) == whole.total_pnl()
    for name, book in books.items():
        net = sum(f.side.sign * f.quantity for f in per_strategy[name])
        assert book.positions.net_quantity(INFY) == net
        assert book.realised + book.unrealised == book.pnl


def _working(order_id: str, strategy: str) -> Order:
    order = _order(order_id, strategy, [])
    step(order, order.submit(AT))
    step(order, order.accepted(f"b{order_id}", AT))
    return order


def test_counts_orders_and_open_orders() -> None:
    """Each strategy's order count and open-order count are its own."""
    books = attribute(
        [_working("od1", "alpha"), _working("od2", "alpha"), _working("od3", "beta")], {}
    )
    assert (books["alpha"].orders, books["alpha"].open_orders) == (2, 2)
    assert books["beta"].orders == 1


def test_a_parent_or_an_unsent_intent_is_no_open_order() -> None:
    """A sliced order's parent is never at the broker (its children are), nor is an intent a
    refused session left unsent: counted open, a strategy showed an open order for ever after
    its children had all filled."""
    parent = _order("od1", "alpha", [])
    books = attribute([parent, _working("od2", "alpha")], {})
    assert (books["alpha"].orders, books["alpha"].open_orders) == (2, 1)


def _timed(n: int, quantity: int, price: str, side: Side) -> Fill:
    return replace(fill(f"t{n}", quantity, price, side), filled_at=AT + timedelta(minutes=n))


def test_holdings_go_to_the_strategies_selling_them_first_come() -> None:
    """Ten held at 1500: alpha sells 6 first, beta 6 next; beta's last 2 are a short."""
    held = [
        Holding(
            instrument=INFY, quantity=4, t1_quantity=6, average_price=D(900), close_price=D(1500)
        )
    ]
    alpha = _order("oda", "alpha", [_timed(1, 6, "1610", Side.SELL)])
    beta = _order("odb", "beta", [_timed(2, 6, "1620", Side.SELL)])
    books = attribute([alpha, beta], {INFY: D(1700)}, held)
    a, b = (books[s].positions.get(INFY, Product.CNC) for s in ("alpha", "beta"))
    assert (a.from_holdings, b.from_holdings) == (6, 4)
    assert books["alpha"].pnl == 6 * (1610 - 1500)
    assert books["beta"].pnl == 4 * (1620 - 1500) + 2 * (1620 - 1700)


def test_holdings_bought_back_pass_to_the_next_strategy_short() -> None:
    """Alpha sells all ten, beta sells 5 (a short then), alpha buys its ten back: beta's 5 now
    come out of holdings, and the books add up to the desk's."""
    held = [
        Holding(
            instrument=INFY, quantity=10, t1_quantity=0, average_price=D(900), close_price=D(1500)
        )
    ]
    alpha = _order(
        "oda", "alpha", [_timed(1, 10, "1610", Side.SELL), _timed(3, 10, "1650", Side.BUY)]
    )
    beta = _order("odb", "beta", [_timed(2, 5, "1620", Side.SELL)])
    books = attribute([alpha, beta], {INFY: D(1700)}, held)
    assert books["beta"].positions.get(INFY, Product.CNC).from_holdings == 5
    assert books["alpha"].positions.get(INFY, Product.CNC).held == 0
    whole = PositionBook()
    whole.hold(INFY, 10, D(1500))
    for order in (alpha, beta):
        for item in order.fills.values():
            whole.apply_fill(INFY, Product.CNC, item.side, item.quantity, item.price)
    whole.mark(INFY, D(1700))
    assert books["alpha"].pnl + books["beta"].pnl == whole.total_pnl()


@settings(max_examples=200, deadline=None)
@given(
    trades=TRADES,
    held=st.integers(min_value=0, max_value=200),
    close=prices,
    last=prices,
)
def test_strategies_selling_holdings_sum_to_the_desk(
    trades: list[tuple[str, Side, int, Decimal]], held: int, close: Decimal, last: Decimal
) -> None:
    """While no strategy ends long in a held stock, their P&L, holdings drawn on included,
    adds up to the desk's, and they never draw more than is held."""
    whole = PositionBook()
    whole.hold(INFY, held, close)
    per_strategy: dict[str, list[Fill]] = {}
    nets: dict[str, int] = {}
    for strategy, side, quantity, price in trades:
        per_strategy.setdefault(strategy, []).append(_timed(0, quantity, str(price), side))
        nets[strategy] = nets.get(strategy, 0) + side.sign * quantity
    for strategy, net in nets.items():  # each ends flat or short
        if net > 0:
            per_strategy[strategy].append(_timed(0, net + 1, str(last), Side.SELL))
    n = 0
    for fills in per_strategy.values():
        for i, item in enumerate(fills):
            n += 1
            fills[i] = replace(item, trade_id=f"t{n:03}", filled_at=AT + timedelta(seconds=n))
            whole.apply_fill(INFY, Product.CNC, item.side, item.quantity, item.price)
    whole.mark(INFY, last)
    orders = [_order(f"od{s}", s, fills) for s, fills in per_strategy.items()]
    holding = Holding(instrument=INFY, quantity=held, t1_quantity=0, average_price=close)
    books = attribute(orders, {INFY: last}, [holding])
    drawn = [b.positions.get(INFY, Product.CNC).from_holdings for b in books.values()]
    assert sum(drawn) == whole.get(INFY, Product.CNC).from_holdings <= held
    assert sum((b.pnl for b in books.values()), Decimal(0)) == whole.total_pnl()
