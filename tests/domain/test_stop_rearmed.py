"""A resting order made a stop waits for its trigger again: the broker's TRIGGER PENDING after
OPEN is news then, not a stale report. It read OPEN for good (every update "stale") while the
broker held the stop pending, and reconciliation said the books agreed."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import BrokerStatus, Order, OrderStatus, OrderType
from orderdesk.domain.events import OrderUpdateIgnored
from tests.domain.builders import AT, new_order, report, step

BROKER_ID = "250101000000001"
STOP = {"order_type": OrderType.SL, "trigger_price": Decimal("1495"), "price": Decimal("1500")}


def resting() -> Order:
    order = new_order()
    for decide in (
        lambda o: o.submit(AT),
        lambda o: o.accepted(BROKER_ID, AT),
        lambda o: o.on_report(report(BrokerStatus.OPEN), AT),
    ):
        step(order, decide(order))
    return order


def made_a_stop(order: Order) -> None:
    step(
        order,
        order.request_modify(
            AT, order_type=OrderType.SL, trigger_price=Decimal("1495"), price=Decimal("1500")
        ),
    )


def test_a_limit_modified_into_a_stop_waits_for_its_trigger() -> None:
    order = resting()
    made_a_stop(order)
    step(order, order.modify_accepted(AT))
    step(order, order.on_report(report(BrokerStatus.TRIGGER_PENDING, modified=True, **STOP), AT))
    assert order.status is OrderStatus.TRIGGER_PENDING
    step(order, order.on_report(report(BrokerStatus.OPEN, modified=True, **STOP), AT))
    assert order.status is OrderStatus.OPEN  # triggered
    stale = order.on_report(report(BrokerStatus.TRIGGER_PENDING, modified=True, **STOP), AT)
    assert [type(e) for e in stale] == [OrderUpdateIgnored]  # from before it triggered


def test_the_stop_is_pending_when_the_broker_says_so_before_the_modify_returns() -> None:
    order = resting()
    made_a_stop(order)
    step(order, order.on_report(report(BrokerStatus.TRIGGER_PENDING, modified=True, **STOP), AT))
    step(order, order.modify_accepted(AT))
    assert order.status is OrderStatus.TRIGGER_PENDING


def test_a_stop_made_outside_orderdesk_is_pending_from_its_first_report() -> None:
    order = resting()
    step(order, order.on_report(report(BrokerStatus.TRIGGER_PENDING, modified=True, **STOP), AT))
    assert (order.status, order.order_type) == (OrderStatus.TRIGGER_PENDING, OrderType.SL)


def test_a_plain_resting_order_still_ignores_a_stale_trigger_pending() -> None:
    order = resting()
    ignored = order.on_report(report(BrokerStatus.TRIGGER_PENDING), AT)
    assert [type(e) for e in ignored] == [OrderUpdateIgnored]
    assert order.status is OrderStatus.OPEN
