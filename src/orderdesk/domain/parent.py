"""A sliced order's parent, read through its children.

A parent (an order split at the freeze quantity, by the desk or by Kite's autoslice) holds the
intent and is never an order at the broker itself: its own status stays ``INITIALIZED``, until
its day lapses it or its slicing is stopped (a cancel, the kill switch: withdrawn, CANCELLED).
What a person or a strategy asks of it (is it done? how much filled, at what price?) is its
children's, summed up here, for the handle and for the API alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from orderdesk.domain.order import Order
from orderdesk.domain.status import TERMINAL, OrderStatus

AVERAGE_PLACES = Decimal("0.0001")
"""The children's average price is rounded to the finest tick Kite quotes (0.0025)."""


def parent_status(parent: Order, children: Sequence[Order]) -> OrderStatus:
    """The parent's status as its children make it (``children`` not empty)."""
    statuses = {child.status for child in children}
    if OrderStatus.SUBMIT_UNKNOWN in statuses:
        return OrderStatus.SUBMIT_UNKNOWN
    if statuses & {OrderStatus.SUBMITTING, OrderStatus.INITIALIZED}:
        return OrderStatus.SUBMITTING
    filled = sum(child.filled_quantity for child in children)
    placed = sum(child.quantity for child in children)
    all_terminal = statuses <= TERMINAL
    stopped = (
        OrderStatus.REJECTED in statuses
        or OrderStatus.CANCELLED in statuses
        # Its slicing was stopped (cancelled): ended once its children have, as Kite shows a
        # cancelled order, with what filled before (all of its slices may have filled).
        or parent.status is OrderStatus.CANCELLED
    )
    # A parent lapses when its day ends; one whose slicing was cut short by that (the desk
    # stopped mid-way) ends there, with the rest never placed.
    cut_short = parent.status is OrderStatus.LAPSED
    lapsed = OrderStatus.LAPSED in statuses
    if all_terminal and (placed >= parent.quantity or stopped or cut_short or lapsed):
        if filled >= parent.quantity:
            return OrderStatus.FILLED
        if lapsed:
            # A child's end could no longer be learned (its day's book gone), so neither can
            # the parent's: not CANCELLED, which nobody did.
            return OrderStatus.LAPSED
        if statuses == {OrderStatus.REJECTED}:
            return OrderStatus.REJECTED
        if placed < parent.quantity and cut_short:
            return OrderStatus.LAPSED
        # Part filled (or nothing, a cancel among its ends): CANCELLED with what filled, as
        # Kite and this domain end an order whose rest was killed (an IOC's rest, the
        # exchange's cancel). Never REJECTED with fills: a rejected order filled nothing
        # (Order refuses "REJECTED after 4 filled"), and a signal's reply and `place` read it
        # as "not placed". The parent's reason says what ended it ("1 of 2 slices refused").
        return OrderStatus.CANCELLED
    return OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.OPEN


def slicing_complete(parent: Order, children: Sequence[Order]) -> bool:
    """Every child the parent needs exists, or a rejection or a stop ended the slicing: nothing
    more is to be placed for it (Kite's autoslice places them all in one request)."""
    if parent.autoslice or parent.is_terminal:
        return True
    placed = sum(child.signal.quantity for child in children)
    stopped = any(
        child.status in (OrderStatus.REJECTED, OrderStatus.LAPSED) or child.deferred
        for child in children
    )
    return stopped or placed >= parent.signal.quantity


def children_filled(children: Sequence[Order]) -> tuple[int, Decimal]:
    """The quantity the children filled, and its average price (0 before any fill)."""
    filled = sum(child.filled_quantity for child in children)
    if not filled:
        return 0, Decimal(0)
    spent = sum((child.average_price * child.filled_quantity for child in children), Decimal(0))
    return filled, (spent / filled).quantize(AVERAGE_PLACES)


def children_price(parent: Order, children: Sequence[Order]) -> Decimal | None:
    """The price the parent's slices stand at: the one price of every child the broker took,
    when they agree (all of them modified to 28.50), else the parent's asked price (none
    taken yet, or the slices modified apart: no one price is theirs). A priced parent only,
    and a price only: a slice made a MARKET order keeps the parent's terms as asked."""
    prices = {child.price for child in children if child.broker_order_id is not None}
    if parent.price is not None and len(prices) == 1:
        (price,) = prices
        if price is not None:
            return price
    return parent.price


__all__ = ["children_filled", "children_price", "parent_status", "slicing_complete"]
