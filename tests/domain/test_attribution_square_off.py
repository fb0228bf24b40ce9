"""The broker's square-off closes the strategies' intraday positions in their own books.

The square-off is an order the desk did not place (adopted as ``external``): MARKET, MIS/CO, at
or after its segment's square-off time. Its fills close what each strategy held, at the fill's
price, instead of leaving each strategy open (marked to market) beside an ``external`` position
of the opposite sign.

The desk's own square-off (``own_square_off_minutes``: MARKET MIS/CO orders it places under the
strategy ``square_off`` some minutes before the broker) is credited the same way, and so is any
other order placed outside the desk (on Kite web): it closes what it reduces, crossing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orderdesk.domain import Fill, Order, OrderType, PositionBook, Product, Side
from orderdesk.domain.attribution import (
    StrategyBook,
    attribute,
    is_own_square_off,
    is_square_off,
)
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.day import Holding
from orderdesk.domain.signal import SQUARE_OFF_STRATEGY
from orderdesk.domain.values import InstrumentKey
from tests.domain.builders import signal, step

D = Decimal
MONDAY = date(2026, 11, 23)
CALENDAR = TradingCalendar()
SBIN = InstrumentKey.parse("NSE:SBIN")
FUT = InstrumentKey.parse("NFO:NIFTY26DECFUT")
USDINR = InstrumentKey.parse("CDS:USDINR26DECFUT")
CRUDE = InstrumentKey.parse("MCX:CRUDEOIL26DECFUT")


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.combine(MONDAY, time(hour, minute, second), tzinfo=IST)


def order(
    order_id: str,
    strategy: str,
    fills: list[tuple[Side, int, str, datetime]],
    *,
    instrument: InstrumentKey = SBIN,
    product: Product = Product.MIS,
    external: bool = False,
    placed: datetime | None = None,
    order_type: OrderType = OrderType.MARKET,
    quantity: int = 10_000,
) -> Order:
    """An order of ``strategy`` for ``quantity`` with its fills (side, quantity, price, time)."""
    placed = placed or (fills[0][3] if fills else at(10, 0))
    terms = signal(
        instrument=instrument,
        product=product,
        strategy=strategy,
        quantity=quantity,
        order_type=order_type,
        price=D("1") if order_type is OrderType.LIMIT else None,
        side=fills[0][0] if fills else Side.BUY,
    )
    made = Order.from_events([Order.create(order_id, terms, placed, external=external)])
    for n, (side, quantity, price, when) in enumerate(fills):
        item = Fill(
            trade_id=f"{order_id}-t{n}",
            broker_order_id=f"b-{order_id}",
            instrument=instrument,
            side=side,
            product=product,
            quantity=quantity,
            price=D(price),
            filled_at=when,
        )
        step(made, made.on_fill(item, when))
    return made


def square_off(
    order_id: str,
    fills: list[tuple[Side, int, str]],
    *,
    instrument: InstrumentKey = SBIN,
    placed: datetime | None = None,
) -> Order:
    """The broker's square-off order, placed at 15:20 unless said, filled (whole) a second
    later."""
    placed = placed or at(15, 20)
    timed = [(side, quantity, price, placed.replace(second=1)) for side, quantity, price in fills]
    whole = sum(quantity for _, quantity, _ in fills)
    return order(
        order_id,
        "external",
        timed,
        instrument=instrument,
        external=True,
        placed=placed,
        quantity=whole,
    )


def own_square_off(
    order_id: str,
    fills: list[tuple[Side, int, str]],
    *,
    placed: datetime | None = None,
) -> Order:
    """The desk's own square-off order of SBIN MIS, placed at 15:10 unless said, filled (whole)
    a second later."""
    placed = placed or at(15, 10)
    timed = [(side, quantity, price, placed.replace(second=1)) for side, quantity, price in fills]
    whole = sum(quantity for _, quantity, _ in fills)
    return order(order_id, SQUARE_OFF_STRATEGY, timed, placed=placed, quantity=whole)


def held(books: Mapping[str, StrategyBook]) -> dict[str, int]:
    """Each book's net SBIN quantity."""
    return {name: book.positions.net_quantity(SBIN) for name, book in books.items()}


def test_the_square_off_closes_the_strategy_at_its_price_and_leaves_no_external_position() -> None:
    """Manual's SBIN MIS 100 bought at 849.85, squared off by the broker at 829: manual is flat
    with 100 × (829 − 849.85) realised, however the price moves after; external holds nothing."""
    bought = order("od1", "manual", [(Side.BUY, 100, "849.85", at(10, 0))])
    closed = square_off("odx", [(Side.SELL, 100, "829")])
    for mark in (D("829"), D("810"), D("870")):
        books = attribute([bought, closed], {SBIN: mark}, calendar=CALENDAR)
        manual = books["manual"].positions.get(SBIN, Product.MIS)
        assert manual.quantity == 0
        assert books["manual"].realised == books["manual"].pnl == D("-2085.00")
        external = books["external"]
        assert (external.orders, external.positions.net_quantity(SBIN), external.pnl) == (
            1,
            0,
            D(0),
        )


def test_without_the_calendar_the_square_off_is_an_order_like_any_other() -> None:
    """A desk that keeps no days tells no square-off apart: its fill closes what it reduces,
    as any order placed outside the desk does, and crosses nothing."""
    bought = order("od1", "manual", [(Side.BUY, 100, "849.85", at(10, 0))])
    sold = order("od2", "other", [(Side.SELL, 40, "850", at(10, 5))])
    closed = square_off("odx", [(Side.SELL, 60, "829")])
    books = attribute([bought, sold, closed], {SBIN: D("800")})
    assert books["manual"].positions.get(SBIN, Product.MIS).quantity == 40
    assert books["manual"].realised == 60 * (D("829") - D("849.85"))
    assert books["other"].positions.get(SBIN, Product.MIS).quantity == -40
    assert books["external"].positions.get(SBIN, Product.MIS).quantity == 0


def test_a_strategy_long_and_one_short_are_each_closed_at_the_fill_prices() -> None:
    """Alpha long 100 and beta short 40 (the account long 60), squared off by a sale of 60 in
    two fills, 30 at 830 then 30 at 828: the first closes 30 of alpha's, the last closes the
    rest, beta's 40 bought back at 828 against alpha's sale; all flat, and the books sum to the
    desk's P&L."""
    alpha = order("oda", "alpha", [(Side.BUY, 100, "850", at(10, 0))])
    beta = order("odb", "beta", [(Side.SELL, 40, "845", at(11, 0))])
    closed = order(
        "odx",
        "external",
        [(Side.SELL, 30, "830", at(15, 20, 1)), (Side.SELL, 30, "828", at(15, 20, 2))],
        external=True,
        placed=at(15, 20),
        quantity=60,
    )
    books = attribute([alpha, beta, closed], {SBIN: D("900")}, calendar=CALENDAR)
    assert held(books) == {"alpha": 0, "beta": 0, "external": 0}
    assert books["alpha"].pnl == 30 * (830 - 850) + 70 * (828 - 850)
    assert books["beta"].pnl == 40 * (845 - 828)
    whole = PositionBook()
    for made in (alpha, beta, closed):
        for item in made.fills.values():
            whole.apply_fill(SBIN, Product.MIS, item.side, item.quantity, item.price)
    whole.mark(SBIN, D("900"))
    assert sum((b.pnl for b in books.values()), D(0)) == whole.total_pnl()


def test_a_square_off_filled_in_part_closes_what_it_sold_first_come() -> None:
    """Of a square-off of 100 only 30 filled (the rest cancelled): alpha, first, sells 30 of its
    60; beta keeps its 40, as the account keeps 70."""
    alpha = order("oda", "alpha", [(Side.BUY, 60, "850", at(10, 0))])
    beta = order("odb", "beta", [(Side.BUY, 40, "845", at(11, 0))])
    closed = order(
        "odx",
        "external",
        [(Side.SELL, 30, "830", at(15, 20, 1))],
        external=True,
        placed=at(15, 20),
        quantity=100,
    )
    books = attribute([alpha, beta, closed], {SBIN: D("830")}, calendar=CALENDAR)
    assert held(books) == {"alpha": 30, "beta": 40, "external": 0}


def test_what_the_strategies_did_not_hold_stays_with_external() -> None:
    """The square-off sells 150 where alpha held 100 (50 came from no order on the desk):
    alpha is closed, and the 50 more are external's sale, shown as its short."""
    alpha = order("oda", "alpha", [(Side.BUY, 100, "850", at(10, 0))])
    closed = square_off("odx", [(Side.SELL, 150, "830")])
    books = attribute([alpha, closed], {SBIN: D("830")}, calendar=CALENDAR)
    assert books["alpha"].positions.get(SBIN, Product.MIS).quantity == 0
    assert books["external"].positions.get(SBIN, Product.MIS).quantity == -50


def test_what_the_strategies_held_beyond_the_account_is_closed_against_external() -> None:
    """The square-off sells 60 where alpha held 100 (the account was short 40 from no order on
    the desk): alpha is closed all the same, and external shows the 40 bought back."""
    alpha = order("oda", "alpha", [(Side.BUY, 100, "850", at(10, 0))])
    closed = square_off("odx", [(Side.SELL, 60, "830")])
    books = attribute([alpha, closed], {SBIN: D("830")}, calendar=CALENDAR)
    assert books["alpha"].positions.get(SBIN, Product.MIS).quantity == 0
    assert books["alpha"].pnl == 100 * (830 - 850)
    assert books["external"].positions.get(SBIN, Product.MIS).quantity == 40


def test_a_position_made_in_kites_app_is_closed_with_the_strategies() -> None:
    """Beta long 20, then alpha short 100, and a buy of 50 placed on Kite's app at 11:00: it
    closes 50 of alpha's short at 848 (beta's long is not on the side it reduces); the account
    is short 30, and the square-off's buy of 30 closes the rest, beta crossed against alpha at
    its price."""
    beta = order("odb", "beta", [(Side.BUY, 20, "851", at(9, 30))])
    alpha = order("oda", "alpha", [(Side.SELL, 100, "850", at(10, 0))])
    kite_app = order(
        "odk", "external", [(Side.BUY, 50, "848", at(11, 0))], external=True, placed=at(11, 0)
    )
    closed = square_off("odx", [(Side.BUY, 30, "830")])
    books = attribute([beta, alpha, kite_app, closed], {SBIN: D("830")}, calendar=CALENDAR)
    assert books["alpha"].positions.get(SBIN, Product.MIS).quantity == 0
    assert books["alpha"].pnl == 50 * (850 - 848) + 50 * (850 - 830)
    assert books["beta"].positions.get(SBIN, Product.MIS).quantity == 0
    assert books["beta"].pnl == 20 * (830 - 851)
    assert books["external"].positions.get(SBIN, Product.MIS).quantity == 0
    assert books["external"].pnl == 0


def test_an_order_placed_in_kites_app_is_not_a_square_off() -> None:
    """A MARKET MIS sale of 120 placed on Kite's app at 14:00, before the square-off time, is
    an order like any placed outside the desk, not the broker's square-off: it closes alpha's
    long 100 at its price and leaves external short 20, and a price move after it moves only
    external's P&L."""
    alpha = order("oda", "alpha", [(Side.BUY, 100, "850", at(10, 0))])
    sold = square_off("odk", [(Side.SELL, 120, "840")], placed=at(14, 0))
    assert not is_square_off(sold, CALENDAR)
    for mark in ("830", "870"):
        books = attribute([alpha, sold], {SBIN: D(mark)}, calendar=CALENDAR)
        assert books["alpha"].positions.get(SBIN, Product.MIS).quantity == 0
        assert books["alpha"].pnl == books["alpha"].realised == 100 * (840 - 850)
        assert books["external"].positions.get(SBIN, Product.MIS).quantity == -20
        assert books["external"].pnl == 20 * (840 - D(mark))


def test_only_a_market_intraday_order_after_the_segments_time_is_a_square_off() -> None:
    """Derivatives square off at 15:25, currency at 16:45, commodities at 23:05; a LIMIT, an NRML
    order, or the desk's own order is never the broker's square-off."""

    def adopted(
        instrument: InstrumentKey,
        hour: int,
        minute: int,
        *,
        product: Product = Product.MIS,
        order_type: OrderType = OrderType.MARKET,
        external: bool = True,
    ) -> Order:
        return order(
            "odz",
            "external",
            [(Side.SELL, 1, "100", at(hour, minute, 1))],
            instrument=instrument,
            product=product,
            order_type=order_type,
            external=external,
            placed=at(hour, minute),
        )

    assert not is_square_off(adopted(FUT, 15, 22), CALENDAR)
    assert is_square_off(adopted(FUT, 15, 25), CALENDAR)
    assert not is_square_off(adopted(USDINR, 16, 30), CALENDAR)
    assert is_square_off(adopted(USDINR, 16, 45), CALENDAR)
    assert not is_square_off(adopted(CRUDE, 22, 0), CALENDAR)
    assert is_square_off(adopted(CRUDE, 23, 5), CALENDAR)
    assert not is_square_off(adopted(SBIN, 15, 21, product=Product.NRML), CALENDAR)
    assert not is_square_off(adopted(SBIN, 15, 21, order_type=OrderType.LIMIT), CALENDAR)
    assert not is_square_off(adopted(SBIN, 15, 21, external=False), CALENDAR)


def test_a_derivatives_square_off_closes_the_future() -> None:
    """The 15:25 square-off of an MIS NIFTY future closes the strategy holding it."""
    bought = order("od1", "swing", [(Side.BUY, 75, "25000", at(10, 0))], instrument=FUT)
    closed = square_off("odx", [(Side.SELL, 75, "25010")], instrument=FUT, placed=at(15, 25))
    books = attribute([bought, closed], {FUT: D("24900")}, calendar=CALENDAR)
    assert books["swing"].positions.get(FUT, Product.MIS).quantity == 0
    assert books["swing"].pnl == 75 * 10


def test_one_strategys_book_alone_is_what_the_whole_attribution_gives_it() -> None:
    """Asked for alpha alone, attribution still takes in beta's position the square-off
    crossed: alpha is flat, as in the books of every strategy."""
    alpha = order("oda", "alpha", [(Side.BUY, 100, "850", at(10, 0))])
    beta = order("odb", "beta", [(Side.SELL, 40, "845", at(11, 0))])
    gamma = order("odg", "gamma", [(Side.BUY, 5, "850", at(11, 0))], product=Product.CNC)
    closed = square_off("odx", [(Side.SELL, 60, "830")])
    orders = [alpha, beta, gamma, closed]
    alone = attribute(orders, {SBIN: D("900")}, calendar=CALENDAR, strategy="alpha")
    assert list(alone) == ["alpha"]
    assert alone["alpha"].positions.get(SBIN, Product.MIS).quantity == 0
    assert alone["alpha"].pnl == attribute(orders, {SBIN: D("900")}, calendar=CALENDAR)["alpha"].pnl
    assert attribute(orders, {}, calendar=CALENDAR, strategy="delta") == {}


def test_the_desks_own_square_off_closes_the_strategy_and_holds_nothing_itself() -> None:
    """Manual's SBIN MIS 100 bought at 849.85, exited by the desk's own square-off at 15:10 at
    829: manual is flat with 100 × (829 − 849.85) realised, however the price moves after;
    ``square_off`` has its order and no position, no P&L."""
    bought = order("od1", "manual", [(Side.BUY, 100, "849.85", at(10, 0))])
    exited = own_square_off("ods", [(Side.SELL, 100, "829")])
    assert is_own_square_off(exited)
    for mark in (D("829"), D("810"), D("870")):
        books = attribute([bought, exited], {SBIN: mark}, calendar=CALENDAR)
        assert books["manual"].positions.get(SBIN, Product.MIS).quantity == 0
        assert books["manual"].realised == books["manual"].pnl == D("-2085.00")
        own = books[SQUARE_OFF_STRATEGY]
        assert (own.orders, own.positions.get(SBIN, Product.MIS).quantity, own.pnl) == (
            1,
            0,
            D(0),
        )


def test_the_desks_own_square_off_closes_a_long_and_a_short_at_its_fill_prices() -> None:
    """Alpha long 100 and beta short 40, exited by the desk's own sale of 60 in two fills (30 at
    830, 30 at 828): all flat, alpha's first 30 closed at 830, and the books sum to the desk's
    P&L, ``square_off``'s included."""
    alpha = order("oda", "alpha", [(Side.BUY, 100, "850", at(10, 0))])
    beta = order("odb", "beta", [(Side.SELL, 40, "845", at(11, 0))])
    exited = order(
        "ods",
        SQUARE_OFF_STRATEGY,
        [(Side.SELL, 30, "830", at(15, 10, 1)), (Side.SELL, 30, "828", at(15, 10, 2))],
        placed=at(15, 10),
        quantity=60,
    )
    books = attribute([alpha, beta, exited], {SBIN: D("900")}, calendar=CALENDAR)
    assert held(books) == {"alpha": 0, "beta": 0, SQUARE_OFF_STRATEGY: 0}
    assert books["alpha"].pnl == 30 * (830 - 850) + 70 * (828 - 850)
    assert books["beta"].pnl == 40 * (845 - 828)
    whole = PositionBook()
    for made in (alpha, beta, exited):
        for item in made.fills.values():
            whole.apply_fill(SBIN, Product.MIS, item.side, item.quantity, item.price)
    whole.mark(SBIN, D("900"))
    assert sum((b.pnl for b in books.values()), D(0)) == whole.total_pnl()
    alone = attribute([alpha, beta, exited], {SBIN: D("900")}, calendar=CALENDAR, strategy="beta")
    assert alone["beta"].pnl == books["beta"].pnl


def test_a_position_opened_after_the_own_square_off_is_closed_by_the_brokers() -> None:
    """The desk exits alpha's 100 at 15:10; alpha buys 20 more at 15:15, which the broker
    squares off at 15:20: alpha is flat, each close at its own price, and neither square-off's
    strategy holds anything."""
    first = order("oda", "alpha", [(Side.BUY, 100, "850", at(10, 0))])
    exited = own_square_off("ods", [(Side.SELL, 100, "840")])
    again = order("odb", "alpha", [(Side.BUY, 20, "842", at(15, 15))])
    closed = square_off("odx", [(Side.SELL, 20, "845")])
    books = attribute([first, exited, again, closed], {SBIN: D("800")}, calendar=CALENDAR)
    assert held(books) == {"alpha": 0, SQUARE_OFF_STRATEGY: 0, "external": 0}
    assert books["alpha"].pnl == 100 * (840 - 850) + 20 * (845 - 842)


def test_only_the_desks_market_intraday_order_under_square_off_is_its_own_square_off() -> None:
    """Another strategy's order, a LIMIT or an NRML order under ``square_off``, or an adopted
    one, is not the desk's own square-off; without the calendar (a desk keeping no days, so no
    own square-off) the order is one like any other."""

    def made(
        strategy: str = SQUARE_OFF_STRATEGY,
        *,
        product: Product = Product.MIS,
        order_type: OrderType = OrderType.MARKET,
        external: bool = False,
    ) -> Order:
        return order(
            "odz",
            strategy,
            [(Side.SELL, 1, "100", at(15, 10, 1))],
            product=product,
            order_type=order_type,
            external=external,
            placed=at(15, 10),
        )

    assert is_own_square_off(made())
    assert not is_own_square_off(made("manual"))
    assert not is_own_square_off(made(product=Product.NRML))
    assert not is_own_square_off(made(order_type=OrderType.LIMIT))
    assert not is_own_square_off(made(external=True))
    bought = order("od1", "manual", [(Side.BUY, 100, "849.85", at(10, 0))])
    exited = own_square_off("ods", [(Side.SELL, 100, "829")])
    books = attribute([bought, exited], {SBIN: D("829")})
    assert held(books) == {"manual": 100, SQUARE_OFF_STRATEGY: -100}


prices = st.integers(min_value=20, max_value=40_000).map(lambda p: Decimal(p) / 20)


@settings(max_examples=200, deadline=None)
@given(
    trades=st.lists(
        st.tuples(
            st.sampled_from(["alpha", "beta", "gamma", "external"]),
            st.sampled_from(list(Side)),
            st.integers(min_value=1, max_value=50),
            prices,
        ),
        min_size=1,
        max_size=30,
    ),
    unknown=st.integers(min_value=-20, max_value=20),
    cuts=st.lists(st.integers(min_value=1, max_value=1000), max_size=3),
    close=st.lists(prices, min_size=4, max_size=4),
    last=prices,
)
def test_after_a_full_square_off_every_strategy_is_flat_and_the_books_sum_to_the_desk(
    trades: list[tuple[str, Side, int, Decimal]],
    unknown: int,
    cuts: list[int],
    close: list[Decimal],
    last: Decimal,
) -> None:
    """Whatever the strategies held, and ``unknown`` more the account held from no order of the
    desk, a square-off of the account's position in a few fills leaves every strategy flat and
    external showing the unknown part closed; the books and that part's opening sum to the
    desk's P&L; and each strategy's book alone is the one the whole attribution gives it."""
    whole = PositionBook()
    if unknown:  # opened at 1, by no order the desk has
        whole.apply_fill(
            SBIN, Product.MIS, Side.BUY if unknown > 0 else Side.SELL, abs(unknown), D(1)
        )
    per_strategy: dict[str, list[tuple[Side, int, str, datetime]]] = {}
    for n, (strategy, side, quantity, price) in enumerate(trades):
        per_strategy.setdefault(strategy, []).append((side, quantity, str(price), at(10, n)))
        whole.apply_fill(SBIN, Product.MIS, side, quantity, price)
    orders = [
        order(f"od{s}", s, fills, external=s == "external") for s, fills in per_strategy.items()
    ]
    account = whole.get(SBIN, Product.MIS).quantity
    if account:
        side = Side.SELL if account > 0 else Side.BUY
        sizes, left = [], abs(account)
        for cut in cuts:
            if left > 1:
                size = 1 + cut % (left - 1)
                sizes.append(size)
                left -= size
        sizes.append(left)
        fills = [(side, n, str(close[i]), at(15, 20, i + 1)) for i, n in enumerate(sizes)]
        made = order(
            "odx", "external", fills, external=True, placed=at(15, 20), quantity=abs(account)
        )
        orders.append(made)
        for _, n, paid, _ in fills:
            whole.apply_fill(SBIN, Product.MIS, side, n, D(paid))
        assert whole.get(SBIN, Product.MIS).quantity == 0
    whole.mark(SBIN, last)
    books = attribute(orders, {SBIN: last}, calendar=CALENDAR)
    if account:
        for name, book in books.items():
            expected = -unknown if name == "external" else 0
            assert book.positions.get(SBIN, Product.MIS).quantity == expected, name
    opening = unknown * (last - 1)
    assert sum((b.pnl for b in books.values()), D(0)) + opening == whole.total_pnl()
    for name, book in books.items():
        alone = attribute(orders, {SBIN: last}, calendar=CALENDAR, strategy=name)[name]
        assert (alone.pnl, alone.orders) == (book.pnl, book.orders)


def test_a_conversion_moves_the_strategys_share_before_the_square_off_closes_the_rest() -> None:
    """Manual bought 4 SBIN MIS at 850 and converted 2 to CNC at 11:00; the broker squared off
    the other 2 at 860. Manual held MIS 0 and no CNC line (all 4 booked as squared off) beside an
    external MIS +2 nobody held; it holds CNC 2 at its cost and has realised the 2 sold."""
    bought = order("od1", "manual", [(Side.BUY, 4, "850", at(10, 0))])
    squared = square_off("sq1", [(Side.SELL, 2, "860")])
    kept = PositionConversion(
        instrument=SBIN,
        side=Side.BUY,
        quantity=2,
        old_product=Product.MIS,
        new_product=Product.CNC,
    )

    books = attribute(
        [bought, squared], {SBIN: D("865")}, calendar=CALENDAR, conversions=[(at(11, 0), kept)]
    )

    manual = books["manual"].positions
    mis, cnc = manual.get(SBIN, Product.MIS), manual.get(SBIN, Product.CNC)
    assert (mis.quantity, mis.realised) == (0, 20)  # 2 × (860 − 850)
    assert (cnc.quantity, cnc.average_price, cnc.unrealised()) == (2, 850, 30)
    assert books["external"].positions.net_quantity(SBIN) == 0
    alone = attribute(
        [bought, squared],
        {SBIN: D("865")},
        calendar=CALENDAR,
        strategy="manual",
        conversions=[(at(11, 0), kept)],
    )
    assert alone["manual"].pnl == books["manual"].pnl == 50


def test_a_sale_on_kite_web_closes_the_strategys_position_at_its_price() -> None:
    """Alpha bought 10 MIS through the desk at 850, and 10 were sold on Kite web at 860 at
    11:00 (a LIMIT, adopted as external): the account is flat, so is alpha, its 100 realised;
    the price moving after it moves neither alpha's P&L (its loss limit reads it) nor
    external's, which holds nothing."""
    alpha = order("oda", "alpha", [(Side.BUY, 10, "850", at(10, 0))])
    kite_web = order(
        "odk",
        "external",
        [(Side.SELL, 10, "860", at(11, 0))],
        external=True,
        order_type=OrderType.LIMIT,
    )
    for mark in ("700", "900"):
        books = attribute([alpha, kite_web], {SBIN: D(mark)}, calendar=CALENDAR)
        assert books["alpha"].positions.get(SBIN, Product.MIS).quantity == 0
        assert (books["alpha"].pnl, books["alpha"].realised) == (100, 100)
        assert books["external"].positions.get(SBIN, Product.MIS).quantity == 0
        assert books["external"].pnl == 0
    only_alpha = attribute([alpha, kite_web], {SBIN: D("700")}, strategy="alpha")
    assert only_alpha["alpha"].pnl == 100


def test_an_order_outside_the_desk_adding_to_a_position_is_externals() -> None:
    """A buy on Kite web beside alpha's long reduces nothing: it is external's own position."""
    alpha = order("oda", "alpha", [(Side.BUY, 10, "850", at(10, 0))])
    kite_web = order("odk", "external", [(Side.BUY, 5, "855", at(11, 0))], external=True)
    books = attribute([alpha, kite_web], {SBIN: D("860")}, calendar=CALENDAR)
    assert books["alpha"].positions.get(SBIN, Product.MIS).quantity == 10
    assert books["external"].positions.get(SBIN, Product.MIS).quantity == 5
    assert books["external"].pnl == 5 * (860 - 855)


def test_a_sale_on_kite_web_of_stock_bought_today_closes_it_before_drawing_holdings() -> None:
    """As the broker nets a day's CNC buy and sale: alpha bought 5 INFY today, and 8 were sold on
    Kite web with 10 held from before; alpha's 5 are closed at the sale's price and the other 3
    come out of the holdings, as external's sale."""
    infy = InstrumentKey.parse("NSE:INFY")
    alpha = order(
        "oda", "alpha", [(Side.BUY, 5, "1500", at(10, 0))], instrument=infy, product=Product.CNC
    )
    kite_web = order(
        "odk",
        "external",
        [(Side.SELL, 8, "1520", at(11, 0))],
        instrument=infy,
        product=Product.CNC,
        external=True,
    )
    held = Holding(instrument=infy, quantity=10, t1_quantity=0, average_price=D(1400))
    books = attribute([alpha, kite_web], {infy: D("1510")}, [held], calendar=CALENDAR)
    mine = books["alpha"].positions.get(infy, Product.CNC)
    theirs = books["external"].positions.get(infy, Product.CNC)
    assert (mine.quantity, books["alpha"].pnl) == (0, 5 * 20)
    assert (theirs.quantity, theirs.from_holdings) == (-3, 3)


@settings(max_examples=200, deadline=None)
@given(
    trades=st.lists(
        st.tuples(
            st.sampled_from(["alpha", "beta", "external"]),
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(min_value=1, max_value=50),
            st.integers(min_value=800, max_value=900),
        ),
        min_size=1,
        max_size=12,
    ),
    last=st.integers(min_value=700, max_value=1000),
)
def test_with_orders_outside_the_desk_the_books_still_sum_to_the_account(
    trades: list[tuple[str, Side, int, int]], last: int
) -> None:
    """Whatever orders were placed outside the desk among the strategies', the books' net
    quantities and P&L add up to the account's, and no strategy is left against external."""
    whole = PositionBook()
    orders = []
    for n, (name, side, quantity, price) in enumerate(trades):
        when = at(10, 0, n)
        orders.append(
            order(f"od{n}", name, [(side, quantity, str(price), when)], external=name == "external")
        )
        whole.apply_fill(SBIN, Product.MIS, side, quantity, D(price), f"od{n}-t0")
    whole.mark(SBIN, D(last))
    books = attribute(orders, {SBIN: D(last)}, calendar=CALENDAR)
    assert sum(b.positions.net_quantity(SBIN) for b in books.values()) == whole.net_quantity(SBIN)
    assert sum((b.pnl for b in books.values()), D(0)) == whole.total_pnl()
    # Each way round, an order closes what it reduces: no strategy is left on the other side
    # of external's position (a pair the account does not hold).
    theirs = books["external"].positions.net_quantity(SBIN) if "external" in books else 0
    assert all(b.positions.net_quantity(SBIN) * theirs >= 0 for b in books.values())
