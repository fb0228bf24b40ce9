"""The algo id each order went to the broker with, as the API (and so ``orderdesk orders``)
shows it: an autoslice's children showed none ("—"), though the broker cut them out of their
parent's one placement and each carries its algo id; a cover order's stop leg, which the broker
places itself, has none."""

from __future__ import annotations

from collections.abc import Sequence

from orderdesk.api.schemas import order_out, orders_out
from orderdesk.domain.events import AutosliceSent
from orderdesk.domain.order import Order
from tests.domain.builders import AT, signal

ALGO = "DESK-ALGO-1"


def _order(order_id: str, *, parent_id: str | None = None, leg_of: str | None = None) -> Order:
    created = Order.create(order_id, signal(), AT, parent_id=parent_id, leg_of=leg_of)
    return Order.from_events([created])


def _book() -> list[Order]:
    """An autoslice parent sent with ALGO, two of its children, a cover order's stop leg and
    an order of its own sent with another algo id."""
    parent = _order("parent")
    parent.apply(AutosliceSent(at=AT, order_id="parent", algo_id=ALGO))
    own = _order("own")
    for event in own.submit(AT, algo_id="OTHER"):
        own.apply(event)
    return [
        parent,
        _order("child1", parent_id="parent"),
        _order("child2", parent_id="parent"),
        _order("stop", leg_of="own"),
        own,
    ]


class Desk:
    """What ``order_out`` reads of a desk: its orders by id and a parent's children."""

    def __init__(self, orders: Sequence[Order]) -> None:
        self.by_id = {o.order_id: o for o in orders}

    def order(self, order_id: str) -> Order:
        return self.by_id[order_id]  # a KeyError is a LookupError, as OrderNotFound

    def children(self, order_id: str) -> Sequence[Order]:
        return [o for o in self.by_id.values() if o.parent_id == order_id]


EXPECTED = {"parent": ALGO, "child1": ALGO, "child2": ALGO, "stop": None, "own": "OTHER"}


def test_an_autoslice_child_shows_its_parents_algo_id() -> None:
    """Each child reads the algo id of the placement it came from; the stop leg none."""
    book = _book()
    desk = Desk(book)
    assert {o.order_id: order_out(desk, o).algo_id for o in book} == EXPECTED


def test_an_earlier_days_children_show_it_too() -> None:
    """Read back as a list (a past day's orders), the children find their parent in it."""
    assert {o.order_id: o.algo_id for o in orders_out(_book())} == EXPECTED


def test_a_desk_that_no_longer_has_the_parent_shows_the_childs_own() -> None:
    """A parent the desk cannot find leaves the child's own (none), not an error."""
    book = _book()
    desk = Desk([o for o in book if o.order_id != "parent"])
    child = next(o for o in book if o.order_id == "child1")
    assert order_out(desk, child).algo_id is None
