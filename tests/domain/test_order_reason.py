"""An order's ``reason`` describes where the order is now, not a complaint it has outlived."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import BrokerStatus, Order, OrderEvent, OrderStatus
from orderdesk.domain.events import Doubt
from tests.domain.builders import AT, new_order, report, step

BROKER_ID = "250101000000001"


def resting() -> tuple[Order, list[OrderEvent]]:
    """An order open at the broker, and the events that made it (for replays)."""
    order = new_order()
    history: list[OrderEvent] = [Order.create(order.order_id, order.signal, AT)]
    for decide in (
        lambda o: o.submit(AT),
        lambda o: o.accepted(BROKER_ID, AT),
        lambda o: o.on_report(report(BrokerStatus.OPEN), AT),
    ):
        events = decide(order)
        step(order, events)
        history += events
    return order, history


def run(order: Order, history: list[OrderEvent], events: list[OrderEvent]) -> None:
    step(order, events)
    history += events


def test_a_refused_modify_is_forgotten_once_a_later_modify_is_accepted() -> None:
    """The broker's refusal of one modify no longer shows once the next is accepted."""
    order, history = resting()
    run(order, history, order.request_modify(AT, price=Decimal("1490")))
    run(order, history, order.modify_rejected("Price outside the circuit limits", AT))
    assert order.reason == "modify refused: Price outside the circuit limits"
    run(order, history, order.request_modify(AT, price=Decimal("1495")))
    run(order, history, order.modify_accepted(AT))
    assert (order.status, order.price, order.reason) == (
        OrderStatus.OPEN,
        Decimal("1495"),
        None,
    )
    assert Order.from_events(history).reason is None


def test_a_refusal_is_not_shown_as_the_answer_to_the_next_request() -> None:
    """A cancel sent again after one the broker refused (429) reads CANCEL_PENDING with no
    reason until its own answer: the CLI printed "CANCEL_PENDING … cancel refused: Too many
    requests" for a cancel that had just gone out. So does a modify after a refused modify."""
    order, history = resting()
    run(order, history, order.request_cancel(AT))
    run(order, history, order.cancel_rejected("Too many requests", AT))
    assert order.reason == "cancel refused: Too many requests"
    run(order, history, order.request_cancel(AT))
    assert (order.status, order.reason) == (OrderStatus.CANCEL_PENDING, None)
    run(order, history, order.cancel_rejected("Too many requests", AT))
    run(order, history, order.request_modify(AT, price=Decimal("1490")))
    assert (order.status, order.reason) == (OrderStatus.MODIFY_PENDING, None)
    assert Order.from_events(history).reason is None


def test_a_refused_modify_is_forgotten_when_the_order_fills() -> None:
    """A COMPLETE order shows no complaint left over from a modify the broker refused."""
    order, history = resting()
    run(order, history, order.request_modify(AT, price=Decimal("1490")))
    run(order, history, order.modify_rejected("RMS: price band", AT))
    run(order, history, order.on_report(report(BrokerStatus.COMPLETE, 10), AT))
    assert (order.status, order.reason) == (OrderStatus.FILLED, None)
    assert Order.from_events(history).reason is None


def test_a_refused_cancel_is_forgotten_when_the_order_fills() -> None:
    """A cancel refused because the fill won the race leaves no complaint on the filled order."""
    order, history = resting()
    run(order, history, order.request_cancel(AT))
    run(order, history, order.cancel_rejected("Order cannot be cancelled as it is complete.", AT))
    assert order.reason == "cancel refused: Order cannot be cancelled as it is complete."
    run(order, history, order.on_report(report(BrokerStatus.COMPLETE, 10), AT))
    assert (order.status, order.reason) == (OrderStatus.FILLED, None)


def test_a_refusal_is_forgotten_at_a_partial_fill_and_kept_while_nothing_moves() -> None:
    """A repeated report keeps the refusal; the order's next status (partly filled) drops it."""
    order, history = resting()
    run(order, history, order.request_cancel(AT))
    run(order, history, order.cancel_rejected("being processed", AT))
    assert order.on_report(report(BrokerStatus.OPEN), AT) == []
    assert order.reason == "cancel refused: being processed"
    run(order, history, order.on_report(report(BrokerStatus.OPEN, 4), AT))
    assert (order.status, order.reason) == (OrderStatus.PARTIALLY_FILLED, None)


def test_the_brokers_words_for_a_rejection_or_cancellation_stay() -> None:
    """A REJECTED or CANCELLED order keeps the broker's reason, replacing an older complaint,
    and a refused cancel of the ended order changes nothing."""
    for status, filled in ((BrokerStatus.REJECTED, 0), (BrokerStatus.CANCELLED, 3)):
        order, history = resting()
        run(order, history, order.request_modify(AT, price=Decimal("1490")))
        run(order, history, order.modify_rejected("RMS: price band", AT))
        words = f"{status}: by the exchange"
        run(order, history, order.on_report(report(status, filled, status_message=words), AT))
        assert order.reason == words
        assert order.cancel_rejected("too late", AT) == []
        assert Order.from_events(history).reason == words


def test_a_lost_reply_is_forgotten_once_the_order_is_found() -> None:
    """The words of an unknown placement go once the broker's book shows the order."""
    order = new_order()
    step(order, order.submit(AT))
    step(order, order.submit_unknown("ReadTimeout", AT, Doubt.NO_ANSWER))
    assert order.reason == "ReadTimeout"
    step(order, order.accepted(BROKER_ID, AT))
    assert (order.status, order.reason) == (OrderStatus.ACCEPTED, None)


def test_a_deferral_is_forgotten_when_the_order_is_sent_again() -> None:
    """An intent held for a login loses the session's complaint when it is sent again."""
    order = new_order()
    step(order, order.submit(AT))
    step(order, order.submit_deferred("session refused", AT))
    assert order.reason == "session refused"
    step(order, order.submit(AT))
    assert (order.status, order.reason) == (OrderStatus.SUBMITTING, None)
