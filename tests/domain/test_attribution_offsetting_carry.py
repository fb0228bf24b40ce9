"""Strategies holding an NRML line on both sides while the account is flat there: the broker
carries nothing of it, and both shares were dropped at the next opening. Alpha's sale of its
65 the next morning then read as a new short for alpha, beta's short was in no book, and some
₹15,000 of the day's P&L sat under the wrong strategy (an operator's week of P&L)."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import Product, Side
from orderdesk.domain.attribution import StrategyBook, attribute, carried_shares
from orderdesk.domain.day import StrategyCarry
from tests.domain.test_attribution_carry import FUT, _book, _carried, _fill, _order

D = Decimal


def monday_books() -> list[StrategyBook]:
    alpha = _book("alpha", FUT, 65, "25063.40")
    beta = _book("beta", FUT, -65, "25067.80")
    for book in (alpha, beta):
        book.positions.mark(FUT, D("25300"))
    return [alpha, beta]


def test_offsetting_shares_are_carried_at_the_close() -> None:
    shares = carried_shares(monday_books(), carried=())
    assert {(s.strategy, s.quantity, s.close_price) for s in shares} == {
        ("alpha", 65, D("25300")),
        ("beta", -65, D("25300")),
    }


def test_the_next_morning_alpha_closes_its_long_and_beta_keeps_its_short() -> None:
    """Tuesday alpha sells 65 at 25,067.90: flat with 65 × (25,067.90 − 25,300); beta short 65
    from 25,300, marked at 25,070; the books sum to the account's day (short 65 sold at
    25,067.90, marked at 25,070: −136.50)."""
    shares = carried_shares(monday_books(), carried=())
    sale = _order("ot1", "alpha", FUT, [_fill(1, FUT, Side.SELL, 65, D("25067.90"))])
    books = attribute([sale], {FUT: D("25070")}, shares=shares, carried=())
    alpha, beta = books["alpha"], books["beta"]
    assert alpha.positions.get(FUT, Product.NRML).quantity == 0
    assert alpha.pnl == 65 * (D("25067.90") - D("25300"))
    assert beta.positions.get(FUT, Product.NRML).quantity == -65
    assert beta.pnl == -65 * (D("25070") - D("25300"))
    assert alpha.pnl + beta.pnl == -65 * (D("25070") - D("25067.90"))


def test_a_share_of_no_carried_line_without_its_own_close_is_still_ignored() -> None:
    """A share recorded before shares had their own close stays as it was: ignored."""
    share = StrategyCarry(strategy="alpha", instrument=FUT, product=Product.NRML, quantity=65)
    assert attribute([], {FUT: D("25070")}, shares=[share], carried=()) == {}


def test_a_line_that_does_not_net_to_nothing_is_left_to_the_carried_rule() -> None:
    alpha = _book("alpha", FUT, 65, "25063.40")
    beta = _book("beta", FUT, -40, "25067.80")
    for book in (alpha, beta):
        book.positions.mark(FUT, D("25300"))
    assert carried_shares([alpha, beta], carried=()) == ()
    carried = (_carried(FUT, 25, "25300"),)
    assert {
        (s.strategy, s.quantity, s.close_price) for s in carried_shares([alpha, beta], carried)
    } == {
        ("alpha", 65, None),
        ("beta", -40, None),
    }
