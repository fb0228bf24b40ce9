"""Two decisions of the order about broker news that comes late or stale.

An order given up as not placed (the broker could not tell, and its book did not show it within
the late-order window) that the broker reports after all is taken back: bound and brought to the
broker's state; a rejection the broker made stays final. A broker row showing terms the order
held before (Kite's updates come out of order and twice) is not an outside modification.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.domain import BrokerStatus, Order, OrderStatus, OrderStatusReport, OrderType
from orderdesk.domain.errors import InvalidTransition
from orderdesk.domain.events import Doubt, OrderAccepted, OrderEvent, OrderModified
from orderdesk.domain.order import Terms
from tests.domain.builders import AT, fill, new_order, report, step

BROKER_ID = "250101000000001"

Decide = Callable[[Order], list[OrderEvent]]


def given_up() -> tuple[Order, list[OrderEvent]]:
    """An order the broker answered "cannot tell" for, given up as not placed; its events."""
    order = new_order()
    history: list[OrderEvent] = []
    decisions: tuple[Decide, ...] = (
        lambda o: o.submit(AT),
        lambda o: o.submit_unknown("Order request timed out", AT, Doubt.BROKER_UNSURE),
        lambda o: o.not_placed("not placed: the broker could not tell", AT),
    )
    for decide in decisions:
        events = decide(order)
        step(order, events)
        history += events
    assert order.status is OrderStatus.REJECTED
    return order, history


def test_an_order_given_up_as_not_placed_is_taken_back_by_its_broker_report() -> None:
    order, history = given_up()
    shown = report(BrokerStatus.OPEN)
    events = order.on_report(shown, AT)
    assert isinstance(events[0], OrderAccepted)
    step(order, events)
    assert order.status is OrderStatus.OPEN
    assert order.broker_order_id == BROKER_ID
    assert not order.given_up
    assert order.reason is None  # "not placed" no longer describes it
    assert order.is_open
    assert order.is_working
    # A working order again: it can be cancelled and modified like any other.
    assert order.request_cancel(AT)
    # The log replays to the same order.
    replayed = Order.from_events([*_created(order), *history, *events])
    assert (replayed.status, replayed.broker_order_id, replayed.given_up) == (
        OrderStatus.OPEN,
        BROKER_ID,
        False,
    )


def test_a_given_up_order_found_filled_takes_its_fills() -> None:
    order, _ = given_up()
    trade = fill("t1", 10)
    step(order, order.on_report(report(BrokerStatus.COMPLETE, 10), AT, [trade]))
    assert order.status is OrderStatus.FILLED
    assert (order.filled_quantity, order.fill_quantity) == (10, 10)
    assert "t1" in order.fills


def test_a_given_up_order_bound_by_an_early_fill_is_still_taken_back() -> None:
    """A trade recorded on the given-up order first binds its broker id: the report of that
    very broker order still takes it back (a log written before the fix is in this state)."""
    order, _ = given_up()
    step(order, order.on_fill(fill("t1", 10), AT, inferred=True))
    assert order.is_terminal
    assert order.broker_order_id == BROKER_ID
    step(order, order.on_report(report(BrokerStatus.COMPLETE, 10), AT))
    assert order.status is OrderStatus.FILLED


def test_only_news_of_that_very_order_takes_it_back() -> None:
    order, _ = given_up()
    step(order, order.on_fill(fill("t1", 10), AT, inferred=True))
    other = report(BrokerStatus.OPEN, broker_order_id="250101000000009")
    assert not order.taken_back(other)
    with pytest.raises(InvalidTransition):
        order.on_report(other, AT)


def test_a_rejection_by_the_broker_stays_final() -> None:
    """Refused at placement (a synchronous 4xx) or rejected after the broker took it: a report
    of it afterwards never reopens the order."""
    refused = new_order()
    step(refused, refused.submit(AT))
    step(refused, refused.submit_rejected("RMS: blocked", AT))
    assert not refused.given_up
    assert not refused.taken_back(report(BrokerStatus.OPEN))
    step(refused, refused.on_report(report(BrokerStatus.OPEN), AT))  # behind: ignored
    assert refused.status is OrderStatus.REJECTED
    assert refused.broker_order_id is None
    with pytest.raises(InvalidTransition):
        refused.on_report(report(BrokerStatus.COMPLETE, 10), AT)

    rejected = new_order()
    step(rejected, rejected.submit(AT))
    step(rejected, rejected.accepted(BROKER_ID, AT))
    step(rejected, rejected.on_report(report(BrokerStatus.REJECTED, text="REJECTED"), AT))
    assert rejected.status is OrderStatus.REJECTED
    assert not rejected.given_up
    with pytest.raises(InvalidTransition):
        rejected.on_report(report(BrokerStatus.COMPLETE, 10), AT)

    # Taken back, then rejected by the broker: final too.
    order, _ = given_up()
    step(order, order.on_report(report(BrokerStatus.OPEN), AT))
    step(order, order.on_report(report(BrokerStatus.REJECTED, text="REJECTED"), AT))
    assert order.status is OrderStatus.REJECTED
    with pytest.raises(InvalidTransition):
        order.on_report(report(BrokerStatus.COMPLETE, 10), AT)


def _created(order: Order) -> list[OrderEvent]:
    return [Order.create(order.order_id, order.signal, order.created_at)]


# -- stale reports of the desk's own terms ---------------------------------------------------


def resting() -> Order:
    order = new_order(quantity=30)
    step(order, order.submit(AT))
    step(order, order.accepted(BROKER_ID, AT))
    step(order, order.on_report(row(order, price="1500.05", modified=False), AT))
    return order


def row(order: Order, *, price: str, modified: bool = True, **more: Any) -> OrderStatusReport:
    fields: dict[str, Any] = {"quantity": order.quantity, "price": Decimal(price)}
    fields.update(more)
    return report(BrokerStatus.OPEN, modified=modified, **fields)


def modify(order: Order, price: str) -> None:
    step(order, order.request_modify(AT, price=Decimal(price)))
    step(order, order.modify_accepted(AT))


def test_a_stale_report_of_the_desks_own_earlier_terms_is_no_outside_modify() -> None:
    """The exit's re-prices 1427.10 → 1427.15 → 1427.40; the broker's updates of the earlier
    two come after: neither rolls the order back nor counts as an outside modify."""
    order = resting()
    modify(order, "1427.10")
    modify(order, "1427.15")
    modify(order, "1427.40")
    for stale in ("1427.10", "1427.15", "1500.05"):
        shown = row(order, price=stale)
        assert not order.changed_at_broker(shown), stale
        assert not [e for e in order.on_report(shown, AT) if isinstance(e, OrderModified)]
    assert order.terms == Terms(30, OrderType.LIMIT, Decimal("1427.40"), None)
    # A duplicate of the present terms changes nothing either.
    assert order.on_report(row(order, price="1427.40"), AT) == []


def test_terms_the_desk_never_set_are_still_an_outside_modify() -> None:
    order = resting()
    modify(order, "1427.10")
    modify(order, "1427.40")
    outside = row(order, price="1420")
    assert order.changed_at_broker(outside)
    events = order.on_report(outside, AT)
    assert [e for e in events if isinstance(e, OrderModified) and e.external]
    step(order, events)
    assert order.price == Decimal("1420")
    # Another quantity at a price the desk once set is new terms too.
    assert order.changed_at_broker(row(order, price="1427.10", quantity=40, pending_quantity=40))


def test_a_stale_report_of_an_outside_modify_already_taken_is_not_taken_again() -> None:
    order = resting()
    step(order, order.on_report(row(order, price="1420"), AT))
    modify(order, "1425")
    assert not order.changed_at_broker(row(order, price="1420"))
    replayed = Order.from_events(_replayable(order))
    assert replayed.held_terms == order.held_terms


def _replayable(order: Order) -> list[OrderEvent]:
    """The order's life again, as the log would hold it (for replay)."""
    fresh = new_order(quantity=30)
    history: list[OrderEvent] = [*_created(fresh)]
    decisions: tuple[Decide, ...] = (
        lambda o: o.submit(AT),
        lambda o: o.accepted(BROKER_ID, AT),
        lambda o: o.on_report(row(o, price="1500.05", modified=False), AT),
        lambda o: o.on_report(row(o, price="1420"), AT),
        lambda o: o.request_modify(AT, price=Decimal("1425")),
        lambda o: o.modify_accepted(AT),
    )
    for decide in decisions:
        events = decide(fresh)
        step(fresh, events)
        history += events
    return history
