"""The kill switch's cancel keeps the desk's own exits that can only reduce the position they
exit: cancelled, an exit in progress leaves that position open (the operator walk: a RELIANCE
MIS long 26, `orderdesk exit`, then `kill-switch on --cancel-open` cancelled the exit with 21
of 26 filled and left 5 long)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orderdesk.domain import Order, OrderType, PositionBook, Product, Side
from orderdesk.domain.protection import protective_orders
from orderdesk.domain.signal import ACCOUNT_EXIT_STRATEGY, SQUARE_OFF_STRATEGY
from orderdesk.domain.status import BrokerStatus
from tests.domain.builders import AT, report, step
from tests.domain.test_protection import SBIN, holding, kept_ids, working

LONG_26 = (SBIN, Product.MIS, 26)


def exit_order(
    quantity: int = 26, strategy: str = ACCOUNT_EXIT_STRATEGY, **overrides: Any
) -> Order:
    """The desk's exit of SBIN MIS at market: a SELL (of the account's position by default)."""
    fields: dict[str, Any] = {
        "quantity": quantity,
        "order_type": OrderType.MARKET,
        "trigger_price": None,
        "strategy": strategy,
    }
    return working(**{**fields, **overrides})


def test_the_accounts_exit_is_kept_and_says_why() -> None:
    """`orderdesk exit` of a MIS long 26: its SELL 26 at market is kept, as cancelling it would
    leave the position open."""
    exiting = exit_order()
    (kept,) = protective_orders([exiting], holding(LONG_26))
    assert kept.order_id == exiting.order_id
    assert kept.reason == (
        "exit of the MIS long 26 in NSE:SBIN (SELL 26 MARKET): cancelling it would leave the "
        "position open"
    )


def test_an_exit_partly_filled_is_kept_for_what_it_has_left() -> None:
    """21 of the exit's 26 filled, 5 left long: the exit's remaining 5 is what is judged."""
    exiting = exit_order()
    assert exiting.broker_order_id is not None
    partly = report(
        BrokerStatus.OPEN,
        21,
        quantity=26,
        broker_order_id=exiting.broker_order_id,
        instrument=SBIN,
        side=Side.SELL,
        order_type=OrderType.MARKET,
        product=Product.MIS,
        price=Decimal(0),
        average_price=Decimal("800"),
    )
    step(exiting, exiting.on_report(partly, AT))
    assert exiting.remaining_quantity == 5
    (kept,) = protective_orders([exiting], holding((SBIN, Product.MIS, 5)))
    assert kept.reason.startswith("exit of the MIS long 5 in NSE:SBIN (SELL 5 MARKET)")


def test_the_own_square_offs_exit_is_kept_too() -> None:
    """The desk's square-off of a MIS short 40 buys it back: kept."""
    square_off = exit_order(40, SQUARE_OFF_STRATEGY, side=Side.BUY)
    assert kept_ids([square_off], holding((SBIN, Product.MIS, -40))) == [square_off.order_id]


def test_an_exit_that_could_reverse_the_position_is_judged_like_a_stop() -> None:
    """An exit larger than the position (it shrank meanwhile), on its own side, or of a flat
    one could open a position: not kept."""
    assert kept_ids([exit_order(27)], holding(LONG_26)) == []
    assert kept_ids([exit_order(side=Side.BUY)], holding(LONG_26)) == []
    assert kept_ids([exit_order()], PositionBook()) == []


def test_a_strategys_exit_is_kept_when_the_desk_says_it_is_one() -> None:
    """A strategy's exit of its share is under the strategy's name: its record cannot tell it
    from a sell of that strategy's, so it is kept only when ``exits`` names it; a plain market
    sell of the same strategy is not."""
    share_exit, plain_sell = exit_order(10, "alpha"), exit_order(10, "alpha")
    book = holding(LONG_26)
    assert kept_ids([share_exit, plain_sell], book) == []
    kept = protective_orders(
        [share_exit, plain_sell], book, exits=lambda o: o.order_id == share_exit.order_id
    )
    assert [k.order_id for k in kept] == [share_exit.order_id]


def test_the_exit_has_the_first_claim_on_the_position_before_the_stops() -> None:
    """Against a long 26, a stop of 26 made before an exit of 20 (one that left the stops
    working): the exit is judged first, as it is taking the position away now; the stop of 26
    would then reverse what it leaves, so it is not kept, and a stop of those 6 is."""
    stop, exiting = working(quantity=26), exit_order(20)
    small = working(quantity=6)
    assert kept_ids([stop, exiting, small], holding(LONG_26)) == [exiting.order_id, small.order_id]
