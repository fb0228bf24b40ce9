"""A strategy's order against ``external``'s position closes it: a buy placed on Kite web that a
strategy's sale through the desk meets leaves both flat, as the account is, instead of the
strategy short beside ``external``'s long, its P&L moving with the price and counted against
its own loss limit. The strategy's order reduces its own position first; only what it opens
beyond that closes ``external``'s, and only what it opens beyond ``external``'s is its own. It
never closes another strategy's position.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from orderdesk.domain import Order, OrderType, Product, Side
from orderdesk.domain.attribution import StrategyBook, attribute
from orderdesk.domain.day import CarriedPosition, Holding, StrategyCarry
from orderdesk.domain.values import InstrumentKey
from tests.domain.test_attribution_square_off import CALENDAR, FUT, SBIN, at
from tests.domain.test_attribution_square_off import order as filled_order

D = Decimal
INFY = InstrumentKey.parse("NSE:INFY")


def order(
    order_id: str,
    strategy: str,
    fills: list[tuple[Side, int, str, datetime]],
    *,
    instrument: InstrumentKey = SBIN,
    product: Product = Product.MIS,
) -> Order:
    """An order of ``strategy`` with its fills (side, quantity, price, time); ``external``'s is
    one the desk adopted (placed on Kite web), LIMIT so that no rule reads it as a square-off."""
    external = strategy == "external"
    return filled_order(
        order_id,
        strategy,
        fills,
        instrument=instrument,
        product=product,
        external=external,
        order_type=OrderType.LIMIT if external else OrderType.MARKET,
    )


def quantity(books: dict[str, StrategyBook], name: str, product: Product = Product.MIS) -> int:
    book = books.get(name)
    return book.positions.get(SBIN, product).quantity if book is not None else 0


def test_a_strategys_sale_closes_externals_buy_at_its_price() -> None:
    """10 bought on Kite web at 850, then alpha sells 10 through the desk at 855: the account is
    flat, so are alpha and external, external realising the 50; the price moving after it moves
    neither, so alpha's loss limit (its own book, read alone) sees nothing."""
    kite_web = order("odk", "external", [(Side.BUY, 10, "850", at(10, 0))])
    alpha = order("oda", "alpha", [(Side.SELL, 10, "855", at(11, 0))])
    for mark in ("700", "900"):
        books = attribute([kite_web, alpha], {SBIN: D(mark)}, calendar=CALENDAR)
        assert (quantity(books, "alpha"), books["alpha"].pnl) == (0, 0)
        assert quantity(books, "external") == 0
        assert books["external"].pnl == books["external"].realised == 10 * (855 - 850)
        alone = attribute([kite_web, alpha], {SBIN: D(mark)}, calendar=CALENDAR, strategy="alpha")
        assert (quantity(alone, "alpha"), alone["alpha"].pnl) == (0, 0)


def test_only_what_it_opens_beyond_externals_position_is_the_strategys() -> None:
    """External long 10 and beta long 5 (the account long 15), alpha sells 12: it closes
    external's 10 and is short the other 2; beta's long is beta's own and stays (the account
    long 3 = beta's 5 - alpha's 2)."""
    kite_web = order("odk", "external", [(Side.BUY, 10, "850", at(10, 0))])
    beta = order("odb", "beta", [(Side.BUY, 5, "851", at(10, 30))])
    alpha = order("oda", "alpha", [(Side.SELL, 12, "855", at(11, 0))])
    books = attribute([kite_web, beta, alpha], {SBIN: D("860")}, calendar=CALENDAR)
    assert {name: quantity(books, name) for name in books} == {
        "external": 0,
        "beta": 5,
        "alpha": -2,
    }
    assert books["external"].realised == 10 * (855 - 850)
    assert books["alpha"].pnl == 2 * (855 - 860)
    assert books["beta"].pnl == 5 * (860 - 851)


def test_a_strategys_order_reduces_its_own_position_first() -> None:
    """Alpha long 10, a buy of 5 on Kite web beside it (external's), then alpha sells 8: alpha
    keeps 2, as it means to, external its 5; alpha's next sale of 6 closes its 2 and 4 of
    external's, the account long 1 as external is."""
    alpha = order("oda", "alpha", [(Side.BUY, 10, "850", at(10, 0))])
    kite_web = order("odk", "external", [(Side.BUY, 5, "852", at(10, 30))])
    sold = order("ods", "alpha", [(Side.SELL, 8, "855", at(11, 0))])
    books = attribute([alpha, kite_web, sold], {SBIN: D("860")}, calendar=CALENDAR)
    assert (quantity(books, "alpha"), quantity(books, "external")) == (2, 5)
    more = order("odm", "alpha", [(Side.SELL, 6, "856", at(11, 30))])
    books = attribute([alpha, kite_web, sold, more], {SBIN: D("860")}, calendar=CALENDAR)
    assert (quantity(books, "alpha"), quantity(books, "external")) == (0, 1)
    assert books["alpha"].pnl == 8 * (855 - 850) + 2 * (856 - 850)
    assert books["external"].realised == 4 * (856 - 852)


def test_a_strategys_order_never_closes_another_strategys_position() -> None:
    """Beta long 10, alpha sells 10: each holds its own, as before."""
    beta = order("odb", "beta", [(Side.BUY, 10, "850", at(10, 0))])
    alpha = order("oda", "alpha", [(Side.SELL, 10, "855", at(11, 0))])
    books = attribute([beta, alpha], {SBIN: D("860")}, calendar=CALENDAR)
    assert (quantity(books, "beta"), quantity(books, "alpha")) == (10, -10)


def test_a_strategys_order_closes_externals_carried_position_read_alone() -> None:
    """External carried long 50 NIFTY futures from yesterday's close at 24,000 (a position
    bought on Kite web); alpha sells 50 today at 24,100: the account is flat, so is alpha, read
    alone too (its loss limit's view), and external realises the 5,000 from the close."""
    carried = CarriedPosition(
        instrument=FUT,
        product=Product.NRML,
        quantity=50,
        close_price=D("24000"),
        average_price=D("23900"),
    )
    share = StrategyCarry(strategy="external", instrument=FUT, product=Product.NRML, quantity=50)
    alpha = order(
        "oda", "alpha", [(Side.SELL, 50, "24100", at(10, 0))], instrument=FUT, product=Product.NRML
    )
    marks = {FUT: D("23000")}
    books = attribute([alpha], marks, calendar=CALENDAR, carried=[carried], shares=[share])
    alone = attribute(
        [alpha], marks, calendar=CALENDAR, strategy="alpha", carried=[carried], shares=[share]
    )
    for found in (books, alone):
        mine = found["alpha"].positions.get(FUT, Product.NRML)
        assert (mine.quantity, found["alpha"].pnl) == (0, 0)
    theirs = books["external"].positions.get(FUT, Product.NRML)
    assert (theirs.quantity, books["external"].pnl) == (0, 50 * 100)


def test_a_strategys_cnc_sale_closes_externals_buy_before_drawing_holdings() -> None:
    """As the broker nets a day's CNC buy and sale: 5 INFY bought on Kite web today, 10 held
    from before, and alpha sells 8: external's 5 are closed at alpha's price, and alpha's other
    3 come out of the holdings (stock sold, no short)."""
    kite_web = order(
        "odk", "external", [(Side.BUY, 5, "1500", at(10, 0))], instrument=INFY, product=Product.CNC
    )
    alpha = order(
        "oda", "alpha", [(Side.SELL, 8, "1520", at(11, 0))], instrument=INFY, product=Product.CNC
    )
    held = Holding(instrument=INFY, quantity=10, t1_quantity=0, average_price=D(1400))
    books = attribute([kite_web, alpha], {INFY: D("1510")}, [held], calendar=CALENDAR)
    theirs = books["external"].positions.get(INFY, Product.CNC)
    mine = books["alpha"].positions.get(INFY, Product.CNC)
    assert (theirs.quantity, books["external"].pnl) == (0, 5 * 20)
    assert (mine.quantity, mine.from_holdings) == (-3, 3)
