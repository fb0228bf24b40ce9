"""Which open orders only take risk away: the ones the kill switch's cancel leaves working.

An open order is *protective* when it can only reduce a position the desk holds:

- a cover order's stop leg: the broker placed it to close the cover order's position, and
  cancelling it exits that position at market (Kite's way of exiting a cover order);
- the desk's own exit of a position (``orderdesk exit``, ``POST /api/positions/exit``, a
  strategy's exit of its share, the own square-off), on the side opposite to the position in
  its instrument and product, whose remaining quantity, added to that of the exits kept before it
  on the same position, is no more than the position: cancelled, it would leave open the
  position it is taking away; or
- a stop (SL or SL-M) on the side opposite to the position in its instrument and product, whose
  remaining quantity, added to that of the exits and protective stops kept on the same position,
  is no more than the position (a CNC position counts the day's delivered stock as held).

The exits are judged first: one is closing the position now, so it has the first claim on it,
and a stop beyond what the exits leave would reverse the position once both filled. Anything
else may open a position or add to one: a limit or market order, a stop on the position's own
side, a stop on a flat position, or exits and stops that together exceed what is held (filled,
they would reverse it). The kill switch exists to stop new risk, so its cancel takes those away
and leaves the protective ones, which an operator can still cancel one by one.
The judgement is the moment's: an order kept then is not cancelled later if the position it
protected is closed some other way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from orderdesk.domain.order import Order
from orderdesk.domain.position import PositionBook, PositionKey
from orderdesk.domain.signal import ACCOUNT_EXIT_STRATEGY, SQUARE_OFF_STRATEGY
from orderdesk.domain.values import OrderType, Product

STOPS = frozenset({OrderType.SL, OrderType.SL_M})
DESK_EXIT_STRATEGIES = frozenset({ACCOUNT_EXIT_STRATEGY, SQUARE_OFF_STRATEGY})
"""The names under which the desk places its own exits (no signal may take them)."""


@dataclass(frozen=True, slots=True)
class KeptOrder:
    """An open order the kill switch's cancel left working, and why it is protective."""

    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class KillSwitchCancel:
    """What engaging the kill switch with ``cancel_open`` did to the open orders."""

    cancelled: tuple[str, ...] = ()
    """The orders withdrawn unsent (held back by the broker's 429s) and those a cancel was sent
    for (or will be, once an unresolved one is found)."""
    kept: tuple[KeptOrder, ...] = ()
    """The protective orders left working (see the module docstring)."""


def is_desk_exit(order: Order) -> bool:
    """Whether ``order`` is (a slice of) one of the desk's own exits that its record tells: the
    account's exit (``orderdesk exit``, ``POST /api/positions/exit``) or the own square-off,
    under the names the desk keeps for them. A strategy's exit of its share is under that
    strategy's name, so only the desk knows it (``protective_orders``'s ``exits``)."""
    return not order.external and order.signal.strategy in DESK_EXIT_STRATEGIES


def protective_orders(
    orders: Iterable[Order],
    positions: PositionBook,
    *,
    exits: Callable[[Order], bool] | None = None,
) -> tuple[KeptOrder, ...]:
    """The protective orders among the open ``orders``, taken in the order given (the book's:
    the order they were made in), each with the reason it is kept.

    ``exits`` tells the desk's exits that :func:`is_desk_exit` cannot (a strategy's exit of
    its share, which the desk watches); those it tells are exits whatever ``exits`` says."""
    orders = list(orders)

    def exiting(order: Order) -> bool:
        return is_desk_exit(order) or (exits is not None and exits(order))

    left: dict[PositionKey, int] = {}  # per position: what is left for the next ones to reduce
    reasons: dict[str, str] = {}
    # The exits first: each is taking its position away now, so the stops get what is left.
    for order in orders:
        if order.leg_of is None and exiting(order):
            _keep_if_reducing(order, positions, left, reasons, _exit_reason)
    for order in orders:
        if order.leg_of is not None:
            reasons[order.order_id] = (
                f"stop leg of cover order {order.leg_of}: cancelling it would exit that "
                f"{order.signal.instrument} position at market"
            )
        elif order.order_type in STOPS and not exiting(order):
            _keep_if_reducing(order, positions, left, reasons, _stop_reason)
    return tuple(
        KeptOrder(o.order_id, reasons[o.order_id]) for o in orders if o.order_id in reasons
    )


Reason = Callable[[Order, str], str]
"""Why ``order`` is kept, given the position it reduces in words ("the MIS long 26 in ...")."""


def _keep_if_reducing(
    order: Order,
    positions: PositionBook,
    left: dict[PositionKey, int],
    reasons: dict[str, str],
    reason: Reason,
) -> None:
    """Keep ``order`` (into ``reasons``) if it is on the other side of its position and fits
    in what ``left`` says the orders kept before it leave of that position; if so, take its
    remaining quantity from ``left``. Filled, it can then only reduce the position."""
    instrument = order.signal.instrument
    key = (instrument, order.signal.product)
    position = _position(positions, key)
    held = left.setdefault(key, position)
    side, quantity = order.signal.side, order.remaining_quantity
    if held * side.sign < 0 and quantity <= abs(held):
        left[key] = held + side.sign * quantity
        direction = "long" if position > 0 else "short"
        held_words = f"the {key[1]} {direction} {abs(position)} in {instrument}"
        reasons[order.order_id] = reason(order, held_words)


def _exit_reason(order: Order, position: str) -> str:
    terms = f"{order.signal.side} {order.remaining_quantity} {order.order_type}"
    return f"exit of {position} ({terms}): cancelling it would leave the position open"


def _stop_reason(order: Order, position: str) -> str:
    terms = f"{order.signal.side} {order.remaining_quantity} {order.order_type}"
    return (
        f"protective stop of {position} ({terms}, trigger {order.trigger_price}): it can only "
        "reduce that position"
    )


def _position(positions: PositionBook, key: PositionKey) -> int:
    """The signed quantity held in ``key``'s instrument and product; for CNC, with the day's
    delivered stock still held (the position is what was bought and sold today)."""
    instrument, product = key
    position = positions.positions.get(key)
    quantity = position.quantity if position is not None else 0
    if product is Product.CNC:
        delivered, _price = positions.held.get(instrument, (0, None))
        quantity += delivered
    return quantity


__all__ = [
    "DESK_EXIT_STRATEGIES",
    "STOPS",
    "KeptOrder",
    "KillSwitchCancel",
    "is_desk_exit",
    "protective_orders",
]
