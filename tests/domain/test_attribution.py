"""Per-strategy books add up to the desk's, and each strategy sees only its own fills."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orderdesk.domain import Fill, Order, PositionBook, Product, Side
from orderdesk.domain.attribution import attribute
from tests.domain.builders import AT, INFY, fill, signal, step

prices = st.integers(min_value=20, max_value=40_000).map(lambda p: Decimal(p) / 20)


def _order(order_id: str, strategy: str, fills: list[Fill]) -> Order:
    order = Order.from_events(
        [Order.create(order_id, signal(strategy=strategy, quantity=10_000), AT)]
    )
    for item in fills:
        step(order, order.on_fill(item, AT))
    return order


@settings(max_examples=200, deadline=None)
@given(
    trades=st.lists(
        st.tuples(
            st.sampled_from(["alpha", "beta", "gamma"]),
            st.sampled_from(list(Side)),
            st.integers(min_value=1, max_value=50),
            prices,
        ),
        min_size=1,
        max_size=40,
    ),
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


def test_counts_orders_and_open_orders() -> None:
    """Each strategy's order count and open-order count are its own."""
    books = attribute(
        [_order("od1", "alpha", []), _order("od2", "alpha", []), _order("od3", "beta", [])], {}
    )
    assert (books["alpha"].orders, books["alpha"].open_orders) == (2, 2)
    assert books["beta"].orders == 1
