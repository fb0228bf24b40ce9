"""Which open orders only take risk away: the ones the kill switch's cancel leaves working.

An open order is *protective* when it can only reduce a position the desk holds:

- a cover order's stop leg: the broker placed it to close the cover order's position, and
  cancelling it exits that position at market (Kite's way of exiting a cover order); or
- a stop (SL or SL-M) on the side opposite to the position in its instrument and product, whose
  remaining quantity, added to that of the protective stops before it on the same position, is
  no more than the position (a CNC position counts the day's delivered stock as held).

Anything else may open a position or add to one: a limit or market order, a stop on the
position's own side, a stop on a flat position, or stops that together exceed what is held
(filled, they would reverse it). The kill switch exists to stop new risk, so its cancel takes
those away and leaves the protective ones, which an operator can still cancel one by one.
The judgement is the moment's: a stop kept then is not cancelled later if the position it
protected is closed some other way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orderdesk.domain.order import Order
from orderdesk.domain.position import PositionBook, PositionKey
from orderdesk.domain.values import OrderType, Product

STOPS = frozenset({OrderType.SL, OrderType.SL_M})


@dataclass(frozen=True, slots=True)
class KeptOrder:
    """An open order the kill switch's cancel left working, and why it is protective."""

    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class KillSwitchCancel:
    """What engaging the kill switch with ``cancel_open`` did to the open orders."""

    cancelled: tuple[str, ...] = ()
    """The orders a cancel was sent for (or will be, once an unresolved one is found)."""
    kept: tuple[KeptOrder, ...] = ()
    """The protective orders left working (see the module docstring)."""


def protective_orders(orders: Iterable[Order], positions: PositionBook) -> tuple[KeptOrder, ...]:
    """The protective orders among the open ``orders``, taken in the order given (the book's:
    the order they were made in), each with the reason it is kept."""
    held: dict[PositionKey, int] = {}  # per position: what is left for the next stops to cover
    kept: list[KeptOrder] = []
    for order in orders:
        instrument = order.signal.instrument
        if order.leg_of is not None:
            reason = (
                f"stop leg of cover order {order.leg_of}: cancelling it would exit that "
                f"{instrument} position at market"
            )
            kept.append(KeptOrder(order.order_id, reason))
            continue
        if order.order_type not in STOPS:
            continue
        key = (instrument, order.signal.product)
        position = _position(positions, key)
        left = held.setdefault(key, position)
        side, quantity = order.signal.side, order.remaining_quantity
        opposite = left * side.sign < 0
        if opposite and quantity <= abs(left):
            held[key] = left + side.sign * quantity
            direction = "long" if position > 0 else "short"
            reason = (
                f"protective stop of the {key[1]} {direction} {abs(position)} in {instrument} "
                f"({side} {quantity} {order.order_type}, trigger {order.trigger_price}): it can "
                "only reduce that position"
            )
            kept.append(KeptOrder(order.order_id, reason))
    return tuple(kept)


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


__all__ = ["STOPS", "KeptOrder", "KillSwitchCancel", "protective_orders"]
