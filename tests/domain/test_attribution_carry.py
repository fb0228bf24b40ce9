"""Positions carried overnight stay their strategies': a strategy's book opens with its share at
the previous close, and the next day's shares follow from the day's books and what the broker
carried, never crediting a strategy what the account no longer holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orderdesk.domain import Fill, InstrumentKey, Order, PositionBook, Product, Side
from orderdesk.domain.attribution import StrategyBook, attribute, carried_shares
from orderdesk.domain.contracts import multiplier_of
from orderdesk.domain.day import CarriedPosition, StrategyCarry
from tests.domain.builders import AT, fill, signal, step

D = Decimal
FUT = InstrumentKey.parse("NFO:NIFTY26DECFUT")
CRUDE = InstrumentKey.parse("MCX:CRUDEOIL26DECFUT")
NAMES = ["alpha", "beta", "gamma"]
prices = st.integers(min_value=20, max_value=40_000).map(lambda p: Decimal(p) / 20)


def _carried(
    instrument: InstrumentKey, quantity: int, close: str, average: str = "0"
) -> CarriedPosition:
    return CarriedPosition(
        instrument=instrument,
        product=Product.NRML,
        quantity=quantity,
        close_price=D(close),
        average_price=D(average) or D(close),
        multiplier=multiplier_of(instrument),
    )


def _share(strategy: str, instrument: InstrumentKey, quantity: int) -> StrategyCarry:
    return StrategyCarry(
        strategy=strategy, instrument=instrument, product=Product.NRML, quantity=quantity
    )


def _order(order_id: str, strategy: str, instrument: InstrumentKey, fills: list[Fill]) -> Order:
    placed = signal(strategy=strategy, instrument=instrument, product=Product.NRML, quantity=10_000)
    order = Order.from_events([Order.create(order_id, placed, AT)])
    for item in fills:
        step(order, order.on_fill(item, AT))
    return order


def _fill(n: int, instrument: InstrumentKey, side: Side, quantity: int, price: Decimal) -> Fill:
    return replace(
        fill(f"t{n:03}", quantity, str(price), side),
        instrument=instrument,
        product=Product.NRML,
        filled_at=AT + timedelta(seconds=n),
    )


def _book(strategy: str, instrument: InstrumentKey, quantity: int, price: str) -> StrategyBook:
    book = StrategyBook(strategy)
    if quantity:
        side = Side.BUY if quantity > 0 else Side.SELL
        book.positions.apply_fill(instrument, Product.NRML, side, abs(quantity), D(price))
    return book


def test_a_carried_share_counts_from_the_previous_close() -> None:
    """mean_rev carried a lot of crude bought at 6,100; yesterday closed at 6,000 and it trades
    at 5,800 now: with no order today, its book shows the day's 20,000 loss, not nothing."""
    line = _carried(CRUDE, 1, "6000", "6100")
    share = replace(_share("mean_rev", CRUDE, 1), average_price=D("6100"))
    books = attribute([], {CRUDE: D("5800")}, carried=[line], shares=[share])
    book = books["mean_rev"]
    assert (book.orders, book.pnl, book.realised) == (0, -20_000, 0)
    position = book.positions.get(CRUDE, Product.NRML)
    assert (position.quantity, position.overnight_quantity) == (1, 1)
    assert position.average_price == D("6100")  # what it cost, as the desk shows it
    alone = attribute([], {CRUDE: D("5800")}, carried=[line], shares=[share], strategy="mean_rev")
    assert alone["mean_rev"].pnl == -20_000
    assert attribute([], {CRUDE: D("5800")}, carried=[line], shares=[share], strategy="x") == {}


def test_a_share_goes_on_trading_with_the_days_fills() -> None:
    """A strategy short 75 carried at a close of 24,000 buys 75 back at 24,050 and sells 75
    more at 24,040: realised -3,750 on the carried lot, the new short marked at 24,020."""
    line = _carried(FUT, -75, "24000")
    bought = _order("od1", "alpha", FUT, [_fill(1, FUT, Side.BUY, 75, D(24050))])
    sold = _order("od2", "alpha", FUT, [_fill(2, FUT, Side.SELL, 75, D(24040))])
    books = attribute(
        [bought, sold], {FUT: D(24020)}, carried=[line], shares=[_share("alpha", FUT, -75)]
    )
    assert books["alpha"].realised == 75 * (24000 - 24050)
    assert books["alpha"].pnl == 75 * (24000 - 24050) + 75 * (24040 - 24020)


def test_a_share_of_a_line_the_broker_did_not_carry_is_ignored() -> None:
    """A share is credited only against a position the day opened with: none, no book."""
    books = attribute([], {FUT: D(1)}, carried=[], shares=[_share("alpha", FUT, 75)])
    assert books == {}


@settings(max_examples=200, deadline=None)
@given(
    split=st.lists(
        st.tuples(st.sampled_from(NAMES), st.integers(min_value=-5, max_value=5)), max_size=4
    ),
    trades=st.lists(
        st.tuples(
            st.sampled_from(NAMES),
            st.sampled_from(list(Side)),
            st.integers(min_value=1, max_value=5),
            prices,
        ),
        max_size=30,
    ),
    close=prices,
    last=prices,
)
def test_strategies_with_shares_sum_to_the_desk(
    split: list[tuple[str, int]],
    trades: list[tuple[str, Side, int, Decimal]],
    close: Decimal,
    last: Decimal,
) -> None:
    """While the shares add up to what the broker carried, the strategies' P&L from the
    previous close, the day's trades on top, adds up to the desk's book (a multiplier of 100)."""
    shares: dict[str, int] = {}
    for name, quantity in split:
        shares[name] = shares.get(name, 0) + quantity
    carried = sum(shares.values())
    line = _carried(CRUDE, carried, str(close))
    whole = PositionBook.opening([line.position()] if carried else [])
    per_strategy: dict[str, list[Fill]] = {}
    for n, (name, side, quantity, price) in enumerate(trades):
        item = _fill(n, CRUDE, side, quantity, price)
        per_strategy.setdefault(name, []).append(item)
        whole.apply_fill(CRUDE, Product.NRML, side, quantity, price, item.trade_id)
    whole.mark(CRUDE, last)
    orders = [_order(f"od{name}", name, CRUDE, fills) for name, fills in per_strategy.items()]
    opening = [_share(name, CRUDE, quantity) for name, quantity in shares.items()]
    books = attribute(orders, {CRUDE: last}, carried=[line] if carried else [], shares=opening)
    assert sum((b.pnl for b in books.values()), D(0)) == whole.total_pnl()
    for name, book in books.items():
        # Shares of a line the broker did not carry (they netted to nothing) are ignored.
        opened = shares.get(name, 0) if carried else 0
        traded = sum(f.side.sign * f.quantity for f in per_strategy.get(name, []))
        assert book.positions.net_quantity(CRUDE) == opened + traded


def test_shares_that_add_up_are_kept_whole_netted_ones_too() -> None:
    """Alpha long 150 and beta short 75 net to the 75 the broker carries: both carry theirs,
    at their own average prices."""
    books = [_book("alpha", FUT, 150, "24000"), _book("beta", FUT, -75, "24100")]
    shares = carried_shares(books, [_carried(FUT, 75, "24050")])
    assert [(s.strategy, s.quantity, s.average_price) for s in shares] == [
        ("alpha", 150, D(24000)),
        ("beta", -75, D(24100)),
    ]


def test_a_line_the_account_holds_less_of_is_shared_first_come() -> None:
    """The strategies net to 150 and the broker carries 75 (a lot closed there): alpha, first,
    keeps 75, beta none, and gamma, on the other side, is credited nothing; at 200 carried,
    alpha keeps its 150 and beta 50."""
    books = [
        _book("alpha", FUT, 150, "24000"),
        _book("beta", FUT, 75, "24000"),
        _book("gamma", FUT, -75, "24000"),
    ]
    shares = carried_shares(books, [_carried(FUT, 75, "24050")])
    assert [(s.strategy, s.quantity) for s in shares] == [("alpha", 75)]
    partly = carried_shares(books, [_carried(FUT, 200, "24050")])
    assert [(s.strategy, s.quantity) for s in partly] == [("alpha", 150), ("beta", 50)]


def test_a_line_the_account_holds_more_of_leaves_the_rest_to_no_strategy() -> None:
    """An outside trade added 75: alpha keeps its 75, the other 75 are nobody's."""
    shares = carried_shares([_book("alpha", FUT, 75, "24000")], [_carried(FUT, 150, "24050")])
    assert [(s.strategy, s.quantity) for s in shares] == [("alpha", 75)]


def test_what_the_broker_no_longer_carries_is_nobodys() -> None:
    """A line closed at the broker, or never carried (squared off, delivered), has no shares,
    and a strategy flat in a carried line gets none."""
    books = [_book("alpha", FUT, 75, "24000"), _book("beta", CRUDE, 0, "6000")]
    assert carried_shares(books, []) == ()
    assert carried_shares(books, [_carried(CRUDE, 1, "6000")]) == ()


@settings(max_examples=300, deadline=None)
@given(
    held=st.lists(st.integers(min_value=-300, max_value=300), min_size=1, max_size=4),
    carried=st.integers(min_value=-400, max_value=400),
)
def test_no_strategy_is_credited_what_the_account_does_not_hold(
    held: list[int], carried: int
) -> None:
    """Whatever the strategies held and the broker carried: each share is on its strategy's
    side and no larger than what it held; shares that add up are kept whole; otherwise they
    are all on the account's side, and use up the carried quantity as far as they reach."""
    books = [_book(f"s{n}", FUT, quantity, "24000") for n, quantity in enumerate(held)]
    shares = carried_shares(books, [_carried(FUT, carried, "24000")] if carried else [])
    own = {f"s{n}": quantity for n, quantity in enumerate(held)}
    for share in shares:
        assert share.quantity * own[share.strategy] > 0
        assert abs(share.quantity) <= abs(own[share.strategy])
    total = sum(share.quantity for share in shares)
    if not carried:
        # Nothing carried (the strategies netted to 0 at the broker, or all were closed):
        # no line, so no shares, however the strategies stood.
        assert shares == ()
    elif sum(held) == carried:
        assert {s.strategy: s.quantity for s in shares} == {k: v for k, v in own.items() if v}
    else:
        assert all(share.quantity * carried > 0 for share in shares)
        same_side = sum(abs(q) for q in held if q * carried > 0)
        assert abs(total) == min(abs(carried), same_side)


@settings(max_examples=100, deadline=None)
@given(
    monday=st.lists(
        st.tuples(
            st.sampled_from(NAMES),
            st.sampled_from(list(Side)),
            st.integers(min_value=1, max_value=5),
            prices,
        ),
        min_size=1,
        max_size=20,
    ),
    close=prices,
    last=prices,
)
def test_a_day_carried_into_the_next_sums_to_the_desk(
    monday: list[tuple[str, Side, int, Decimal]], close: Decimal, last: Decimal
) -> None:
    """Monday's books, the broker carrying the desk's net: Tuesday's shares are each
    strategy's own net (carried by no broker line when they net to nothing), and from
    Tuesday's opening their P&L sums to the desk's."""
    fills: dict[str, list[Fill]] = {}
    for n, (name, side, quantity, price) in enumerate(monday):
        fills.setdefault(name, []).append(_fill(n, CRUDE, side, quantity, price))
    orders = [_order(f"od{name}", name, CRUDE, items) for name, items in fills.items()]
    books = attribute(orders, {CRUDE: close})
    net = sum(b.positions.net_quantity(CRUDE) for b in books.values())
    line = _carried(CRUDE, net, str(close))
    shares = carried_shares(books.values(), [line] if net else [])
    for name, book in books.items():
        share = next((s.quantity for s in shares if s.strategy == name), 0)
        assert share == book.positions.net_quantity(CRUDE)
    tuesday = attribute([], {CRUDE: last}, carried=[line] if net else [], shares=shares)
    whole = PositionBook.opening([line.position()] if net else [])
    whole.mark(CRUDE, last)
    assert sum((b.pnl for b in tuesday.values()), D(0)) == whole.total_pnl()
