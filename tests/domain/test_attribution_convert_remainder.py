"""A conversion the broker made is attributed whole: the broker nets a line's carried and
today's quantity, so when the strategies' own positions cannot give all of it (one strategy's
carried quantity sold today, another's bought today), the rest moves from the books still
holding that side, and the books keep summing to the account."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal

from orderdesk.domain import Order, PositionBook, Product, Side
from orderdesk.domain.attribution import StrategyBook, attribute
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.day import CarriedPosition, StrategyCarry
from tests.domain.test_attribution_square_off import FUT
from tests.domain.test_attribution_square_off import order as filled_order

D = Decimal
TUESDAY = date(2026, 11, 24)
CALENDAR = TradingCalendar()
CLOSE = D("24000")


def at(hour: int, minute: int) -> datetime:
    return datetime.combine(TUESDAY, time(hour, minute), tzinfo=IST)


def order(
    order_id: str,
    strategy: str,
    side: Side,
    quantity: int,
    price: str,
    when: datetime,
    *,
    product: Product = Product.NRML,
    external: bool = False,
) -> Order:
    """An order of ``strategy`` in FUT, filled whole at ``price`` when placed."""
    return filled_order(
        order_id,
        strategy,
        [(side, quantity, price, when)],
        instrument=FUT,
        product=product,
        external=external,
        quantity=quantity,
    )


def carried(quantity: int) -> CarriedPosition:
    return CarriedPosition(
        instrument=FUT,
        product=Product.NRML,
        quantity=quantity,
        close_price=CLOSE,
        average_price=CLOSE,
    )


def share(strategy: str, quantity: int) -> StrategyCarry:
    return StrategyCarry(strategy=strategy, instrument=FUT, product=Product.NRML, quantity=quantity)


def to_mis(quantity: int, *, side: Side = Side.BUY, overnight: bool) -> PositionConversion:
    return PositionConversion(
        instrument=FUT,
        side=side,
        quantity=quantity,
        old_product=Product.NRML,
        new_product=Product.MIS,
        overnight=overnight,
    )


def held(books: Mapping[str, StrategyBook], product: Product) -> dict[str, int]:
    """Each book's quantity of FUT in ``product`` (books without one left out)."""
    return {
        name: position.quantity
        for name, book in books.items()
        if (position := book.positions.positions.get((FUT, product))) is not None
        and position.quantity
    }


def test_todays_quantity_stands_in_for_a_carried_one_sold_today() -> None:
    """Beta carried 65 long and sold them at 10:00; alpha bought 65 at 10:30; the broker then
    converted 65 of the carried long NRML to MIS, as it nets them. Alpha's 65 move to MIS at its
    cost (they were left in NRML beside an MIS no strategy held), so the books show what the
    account does, and the square-off at 15:25 closes alpha, leaving no ``external`` short."""
    beta = order("odb", "beta", Side.SELL, 65, "24010", at(10, 0))
    alpha = order("oda", "alpha", Side.BUY, 65, "24020", at(10, 30))
    converted = [(at(11, 0), to_mis(65, overnight=True))]
    day = {"carried": [carried(65)], "shares": [share("beta", 65)], "conversions": converted}

    books = attribute([beta, alpha], {FUT: D("24050")}, calendar=CALENDAR, **day)

    assert held(books, Product.NRML) == {}
    assert held(books, Product.MIS) == {"alpha": 65}
    mis = books["alpha"].positions.get(FUT, Product.MIS)
    assert (mis.average_price, mis.unrealised()) == (D("24020"), 65 * 30)
    alone = attribute([beta, alpha], {FUT: D("24050")}, strategy="alpha", **day)["alpha"]
    assert held({"alpha": alone}, Product.MIS) == {"alpha": 65}

    squared = order(
        "odx", "external", Side.SELL, 65, "24040", at(15, 25), product=Product.MIS, external=True
    )
    for mark in ("23000", "25000"):  # the account is flat: no book moves with the price
        books = attribute([beta, alpha, squared], {FUT: D(mark)}, calendar=CALENDAR, **day)
        assert held(books, Product.NRML) == held(books, Product.MIS) == {}
        assert (books["alpha"].pnl, books["alpha"].realised) == (65 * 20, 65 * 20)
        assert books["external"].pnl == 0


def test_a_carried_quantity_stands_in_for_todays_bought_back() -> None:
    """The other way: alpha carried 65 short and bought them back today, beta carried 130
    long (the broker carried their sum, 65). The broker holds 65 of today's long, which it
    converts (not ``--overnight``): 65 of beta's carried long move, the only long there is."""
    alpha = order("oda", "alpha", Side.BUY, 65, "24010", at(10, 0))
    day = {
        "carried": [carried(65)],
        "shares": [share("alpha", -65), share("beta", 130)],
        "conversions": [(at(11, 0), to_mis(65, overnight=False))],
    }

    books = attribute([alpha], {FUT: D("24050")}, calendar=CALENDAR, **day)

    assert held(books, Product.NRML) == {"beta": 65}
    assert held(books, Product.MIS) == {"beta": 65}
    assert books["beta"].positions.get(FUT, Product.MIS).average_price == CLOSE


def test_a_strategys_own_convertible_quantity_moves_first() -> None:
    """Beta's carried 65 are what a carried conversion names: they move, not alpha's bought
    today, though alpha came first."""
    alpha = order("oda", "alpha", Side.BUY, 65, "24020", at(9, 30))
    day = {
        "carried": [carried(65)],
        "shares": [share("beta", 65)],
        "conversions": [(at(11, 0), to_mis(65, overnight=True))],
    }

    books = attribute([alpha], {FUT: D("24050")}, calendar=CALENDAR, **day)

    assert held(books, Product.NRML) == {"alpha": 65}
    assert held(books, Product.MIS) == {"beta": 65}


def test_the_books_keep_summing_to_the_account_after_any_conversion_it_allows() -> None:
    """For each quantity the account's own book lets convert (carried or today's), the books
    together move exactly that: each product's quantities sum to the account's."""
    trades = [
        order("odb", "beta", Side.SELL, 40, "24010", at(10, 0)),
        order("oda", "alpha", Side.BUY, 50, "24020", at(10, 30)),
        order("odg", "gamma", Side.BUY, 15, "24030", at(10, 40)),
    ]
    for overnight in (True, False):
        account = PositionBook.opening([carried(65).position()])
        for made in trades:
            for item in made.fills.values():
                account.apply_fill(FUT, Product.NRML, item.side, item.quantity, item.price)
        room = account.positions[(FUT, Product.NRML)].convertible(
            side=Side.BUY, overnight=overnight
        )
        assert room
        for quantity in range(1, room + 1):
            day = {
                "carried": [carried(65)],
                "shares": [share("beta", 65)],
                "conversions": [(at(11, 0), to_mis(quantity, overnight=overnight))],
            }
            books = attribute(trades, {FUT: D("24050")}, **day)
            total = {
                product: sum(held(books, product).values())
                for product in (Product.NRML, Product.MIS)
            }
            assert total == {Product.NRML: 65 - 40 + 50 + 15 - quantity, Product.MIS: quantity}


def test_a_conversion_no_book_holds_moves_nothing() -> None:
    """Nobody on the desk holds a short there: the conversion is no strategy's, and no book
    changes (nor fails)."""
    alpha = order("oda", "alpha", Side.BUY, 65, "24020", at(10, 0))
    short = [(at(11, 0), to_mis(65, side=Side.SELL, overnight=True))]

    books = attribute([alpha], {FUT: D("24050")}, conversions=short)

    assert held(books, Product.NRML) == {"alpha": 65}
    assert held(books, Product.MIS) == {}
