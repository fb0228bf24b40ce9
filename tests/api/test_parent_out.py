"""A sliced order's parent as the API shows it (``GET /api/orders/{id}``), from an operator walk
with Kite's autoslice: a working parent read ``"status": "OPEN", "open": false`` and listed none
of the children the README promised; a parent whose slices were all modified from 29.00 to
28.50 still showed 29.00; one whose children lapsed with their day read CANCELLED, though
nobody had cancelled anything. A parent part filled, the rest refused, stays CANCELLED with its
reason: the domain's end of an order whose rest was killed, where REJECTED says nothing filled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from orderdesk.api.schemas import order_out
from orderdesk.domain import BrokerStatus, InstrumentKey, Order, OrderStatus, OrderType, Product
from orderdesk.domain.events import AutosliceAnswered, AutosliceSent
from orderdesk.domain.signal import Signal
from tests.domain.builders import AT, report, signal, step

CE = InstrumentKey.parse("NFO:NIFTY26DEC24500CE")
ASKED = Decimal("29.00")


class Desk:
    """What ``order_out`` reads of a desk: its orders by id and a parent's children."""

    def __init__(self, orders: Sequence[Order]) -> None:
        self.by_id = {o.order_id: o for o in orders}

    def order(self, order_id: str) -> Order:
        return self.by_id[order_id]

    def children(self, order_id: str) -> Sequence[Order]:
        return [o for o in self.by_id.values() if o.parent_id == order_id]


def _asked(quantity: int = 2600, order_type: OrderType = OrderType.LIMIT) -> Signal:
    price = ASKED if order_type is OrderType.LIMIT else None
    return signal(
        instrument=CE, quantity=quantity, product=Product.NRML, order_type=order_type, price=price
    )


def _parent(asked: Signal, refused: tuple[str, ...] = ()) -> Order:
    """An autoslice parent the broker answered, ``refused`` naming the slices it refused."""
    parent = Order.from_events([Order.create("parent", asked, AT)])
    parent.apply(AutosliceSent(at=AT, order_id="parent", algo_id=None))
    placed = ("b1", "b2")[: 2 - len(refused)]
    parent.apply(
        AutosliceAnswered(
            at=AT, order_id="parent", broker_parent_id="p1", placed=placed, refused=refused
        )
    )
    return parent


def _child(asked: Signal, order_id: str, quantity: int, broker_id: str | None = None) -> Order:
    """A slice of ``asked``: adopted from the broker's book as ``broker_id``, or (None) one the
    broker refused in the placement's answer."""
    child_signal = asked.with_quantity(quantity, signal_id=order_id)
    created = Order.create(
        order_id, child_signal, AT, parent_id="parent", broker_order_id=broker_id
    )
    child = Order.from_events([created])
    if broker_id is None:
        step(child, child.submit(AT))
        step(child, child.submit_rejected("Insufficient funds", AT))
    return child


def _report(child: Order, status: BrokerStatus, filled: int = 0) -> None:
    assert child.broker_order_id is not None
    step(
        child,
        child.on_report(
            report(
                status,
                filled,
                quantity=child.quantity,
                broker_order_id=child.broker_order_id,
                instrument=CE,
                product=Product.NRML,
                order_type=child.order_type,
                price=child.price or Decimal(0),
                average_price=ASKED if filled else Decimal(0),
            ),
            AT,
        ),
    )


def _modified(child: Order, price: Decimal) -> None:
    step(child, child.request_modify(AT, price=price))
    step(child, child.modify_accepted(AT))


def test_a_working_parent_lists_its_children_and_is_not_itself_open() -> None:
    """One slice filled, one resting: the parent reads PARTIALLY_FILLED and names both children
    with their statuses; ``open`` stays false, its working child the one open order."""
    asked = _asked()
    parent = _parent(asked)
    first, second = _child(asked, "c1", 1755, "b1"), _child(asked, "c2", 845, "b2")
    _report(first, BrokerStatus.COMPLETE, 1755)
    _report(second, BrokerStatus.OPEN)
    desk = Desk([parent, first, second])

    shown = order_out(desk, parent)

    assert shown.status is OrderStatus.PARTIALLY_FILLED
    assert shown.filled_quantity == 1755
    assert [(c.order_id, c.status, c.quantity, c.filled_quantity) for c in shown.children] == [
        ("c1", OrderStatus.FILLED, 1755, 1755),
        ("c2", OrderStatus.OPEN, 845, 0),
    ]
    assert shown.open is False
    assert order_out(desk, second).open is True
    assert order_out(desk, second).children == []
    assert order_out(desk, second).parent_id == "parent"


def test_children_modified_alike_show_their_price_on_the_parent() -> None:
    """Both placed slices modified to 28.50: the parent shows 28.50 (the refused slice, never
    at the broker, keeps the asked price and is no slice standing); one modified only: 29.00."""
    asked = _asked(quantity=1755 + 845 + 1755)
    parent = _parent(asked)
    first, second = _child(asked, "c1", 1755, "b1"), _child(asked, "c2", 845, "b2")
    refused = _child(asked, "c3", 1755)
    for child in (first, second):
        _report(child, BrokerStatus.OPEN)
    desk = Desk([parent, first, second, refused])

    _modified(first, Decimal("28.50"))
    assert order_out(desk, parent).price == ASKED

    _modified(second, Decimal("28.50"))
    assert order_out(desk, parent).price == Decimal("28.50")
    assert parent.price == ASKED  # the intent, as asked, is the log's


def test_a_market_parent_shows_no_price() -> None:
    asked = _asked(order_type=OrderType.MARKET)
    parent = _parent(asked)
    child = _child(asked, "c1", 1755, "b1")
    _report(child, BrokerStatus.OPEN)
    assert order_out(Desk([parent, child]), parent).price is None


def test_children_lapsed_with_their_day_lapse_the_parent() -> None:
    """The day ended with one slice filled and the other's end never learned: LAPSED, with
    the fill, not CANCELLED."""
    asked = _asked()
    parent = _parent(asked)
    first, second = _child(asked, "c1", 1755, "b1"), _child(asked, "c2", 845, "b2")
    _report(first, BrokerStatus.COMPLETE, 1755)
    _report(second, BrokerStatus.OPEN)
    for order in (second, parent):
        step(order, order.lapse(date(2026, 11, 23), "the day ended", AT))

    shown = order_out(Desk([parent, first, second]), parent)

    assert shown.status is OrderStatus.LAPSED
    assert shown.filled_quantity == 1755


def test_part_filled_the_rest_refused_ends_cancelled_with_its_reason() -> None:
    """The walk: slice 1 (1755) refused for margin, slice 2 (845) filled. The parent ends
    CANCELLED with 845 filled and says why; REJECTED would tell a strategy, `place` and a
    signal sent again that nothing was placed."""
    asked = _asked(order_type=OrderType.MARKET)
    parent = _parent(asked, refused=("c1",))
    refused, filled = _child(asked, "c1", 1755), _child(asked, "c2", 845, "b1")
    _report(filled, BrokerStatus.COMPLETE, 845)

    shown = order_out(Desk([parent, refused, filled]), parent)

    assert shown.status is OrderStatus.CANCELLED
    assert shown.filled_quantity == 845
    assert shown.reason == "1 of 2 slices refused by the broker: c1"
    assert [c.status for c in shown.children] == [OrderStatus.REJECTED, OrderStatus.FILLED]


def test_every_slice_refused_rejects_the_parent() -> None:
    asked = _asked(order_type=OrderType.MARKET)
    parent = _parent(asked, refused=("c1", "c2"))
    children = [_child(asked, "c1", 1755), _child(asked, "c2", 845)]
    shown = order_out(Desk([parent, *children]), parent)
    assert shown.status is OrderStatus.REJECTED
    assert shown.filled_quantity == 0
