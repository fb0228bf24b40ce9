"""Strategies holding an intraday line on both sides while the account is flat there: the
broker has nothing to square off, so once the square-off time passes the desk crosses their
positions at the price of the fill that left the account flat. They stayed open into the
evening, each P&L moving with the price while the account held nothing."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import Order, PositionBook, Product, Side
from orderdesk.domain.attribution import attribute
from tests.domain.test_attribution_square_off import CALENDAR, SBIN, at, held, order, square_off

D = Decimal


def offsetting() -> list[Order]:
    """Alpha buys 40 MIS at 850; gamma sells 40 at 845, leaving the account flat."""
    return [
        order("oda", "alpha", [(Side.BUY, 40, "850", at(10, 0))]),
        order("odg", "gamma", [(Side.SELL, 40, "845", at(11, 0))]),
    ]


def test_past_the_square_off_offsetting_shares_cross_at_the_flattening_fill() -> None:
    """At 15:25, whatever the price, alpha is flat with 40 × (845 − 850) and gamma flat with
    nothing: the books sum to the account's realised −200."""
    for mark in (D("845"), D("800"), D("900")):
        books = attribute(offsetting(), {SBIN: mark}, calendar=CALENDAR, now=at(15, 25))
        assert held(books) == {"alpha": 0, "gamma": 0}
        assert books["alpha"].pnl == books["alpha"].realised == D("-200")
        assert books["gamma"].pnl == D(0)


def test_before_the_square_off_each_strategy_keeps_its_share() -> None:
    """At 15:19 the strategies still hold their shares: either may close its own."""
    books = attribute(offsetting(), {SBIN: D("900")}, calendar=CALENDAR, now=at(15, 19))
    assert held(books) == {"alpha": 40, "gamma": -40}
    assert books["alpha"].pnl == 40 * (900 - 850)
    assert books["gamma"].pnl == -40 * (900 - 845)


def test_a_line_the_account_still_holds_is_left_to_the_brokers_square_off() -> None:
    """Alpha +40, gamma −30 (the account long 10): nothing is crossed by the desk; the broker's
    square-off of 10 closes every share at its price."""
    alpha = order("oda", "alpha", [(Side.BUY, 40, "850", at(10, 0))])
    gamma = order("odg", "gamma", [(Side.SELL, 30, "845", at(11, 0))])
    before = attribute([alpha, gamma], {SBIN: D("900")}, calendar=CALENDAR, now=at(15, 20, 0))
    assert held(before) == {"alpha": 40, "gamma": -30}
    closed = square_off("odx", [(Side.SELL, 10, "830")])
    after = attribute([alpha, gamma, closed], {SBIN: D("900")}, calendar=CALENDAR, now=at(15, 25))
    assert held(after) == {"alpha": 0, "gamma": 0, "external": 0}
    whole = PositionBook()
    for made in (alpha, gamma, closed):
        for item in made.fills.values():
            whole.apply_fill(SBIN, Product.MIS, item.side, item.quantity, item.price)
    assert sum((b.pnl for b in after.values()), D(0)) == whole.total_pnl()


def test_a_carried_product_is_not_crossed() -> None:
    """NRML is carried overnight: the shares stay each strategy's."""
    alpha = order("oda", "alpha", [(Side.BUY, 40, "850", at(10, 0))], product=Product.NRML)
    gamma = order("odg", "gamma", [(Side.SELL, 40, "845", at(11, 0))], product=Product.NRML)
    books = attribute([alpha, gamma], {SBIN: D("900")}, calendar=CALENDAR, now=at(15, 25))
    assert held(books) == {"alpha": 40, "gamma": -40}
