"""The order state machine: the table, monotonic updates, overlays, fills."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderdesk.domain import (
    BrokerStatus,
    InvalidTransition,
    Order,
    OrderEvent,
    OrderStatus,
    OrderTransitionRefused,
    OrderUpdateIgnored,
    Product,
    Trigger,
    Variety,
)
from orderdesk.domain.order import trigger_for
from orderdesk.domain.status import OVERLAYS, RANK, RETURN_TO_BASE, TRANSITIONS
from tests.domain.builders import AT, fill, new_order, report, signal, step

BROKER_ID = "250101000000001"


def submitted(quantity: int = 10) -> Order:
    order = new_order(quantity)
    step(order, order.submit(AT))
    step(order, order.accepted(BROKER_ID, AT))
    return order


def test_every_state_trigger_pair_follows_the_table_or_raises() -> None:
    """For each (state, command trigger) the machine moves as the table says or refuses."""
    commands = {
        Trigger.SUBMIT: lambda o: o.submit(AT),
        Trigger.SUBMIT_UNKNOWN: lambda o: o.submit_unknown("timeout", AT),
        Trigger.SUBMIT_REJECTED: lambda o: o.submit_rejected("bad", AT),
        Trigger.REQUEST_MODIFY: lambda o: o.request_modify(AT, price=Decimal("1501")),
        Trigger.REQUEST_CANCEL: lambda o: o.request_cancel(AT),
        Trigger.MODIFY_REJECTED: lambda o: o.modify_rejected("no", AT),
    }
    for state in OrderStatus:
        for trigger, command in commands.items():
            order = new_order()
            order.status = order.base_status = state
            if state in OVERLAYS:
                order.base_status = OrderStatus.OPEN
            if state is OrderStatus.SUBMIT_UNKNOWN and trigger is Trigger.SUBMIT:
                trigger = Trigger.RESUBMIT
            expected = TRANSITIONS.get((state, trigger))
            if expected is None:
                if state is OrderStatus.SUBMIT_UNKNOWN and trigger is Trigger.SUBMIT_UNKNOWN:
                    assert command(order) == []  # already unknown: nothing new to say
                    continue
                with pytest.raises(InvalidTransition):
                    command(order)
                continue
            step(order, command(order))
            want = order.base_status if expected == RETURN_TO_BASE else expected
            assert order.status is want, (state, trigger)


def test_every_broker_trigger_from_every_state_follows_the_table() -> None:
    """Broker triggers are looked up on the base status and never leave the table; they move
    forward, but for one step back: a resting order made a stop waits for its trigger again
    (which the order lets through only then: tests/domain/test_stop_rearmed.py)."""
    rearmed = (OrderStatus.OPEN, Trigger.BROKER_TRIGGER_PENDING)
    for (state, trigger), target in TRANSITIONS.items():
        if not trigger.name.startswith("BROKER_"):
            continue
        assert target != RETURN_TO_BASE
        assert RANK[target] >= RANK[state] or (state, trigger) == rearmed  # type: ignore[index]


def test_happy_path_to_filled() -> None:
    """Transient, open, partial and complete reports walk the lifecycle forward."""
    order = submitted()
    for status, filled, want in [
        (BrokerStatus.RECEIVED, 0, OrderStatus.ACCEPTED),
        (BrokerStatus.OPEN, 0, OrderStatus.OPEN),
        (BrokerStatus.OPEN, 4, OrderStatus.PARTIALLY_FILLED),
        (BrokerStatus.COMPLETE, 10, OrderStatus.FILLED),
    ]:
        step(order, order.on_report(report(status, filled), AT))
        assert order.status is want
    assert order.filled_quantity == 10
    assert order.is_terminal


def test_duplicate_is_a_no_op_and_stale_is_reported() -> None:
    """A repeated report changes nothing; an older one is ignored with a reason."""
    order = submitted()
    step(order, order.on_report(report(BrokerStatus.OPEN, 5), AT))
    assert order.on_report(report(BrokerStatus.OPEN, 5), AT) == []
    events = order.on_report(report(BrokerStatus.OPEN, 0), AT)
    assert len(events) == 1
    assert isinstance(events[0], OrderUpdateIgnored)
    step(order, events)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_quantity == 5


def test_conflicting_terminal_raises() -> None:
    """A different terminal status after a terminal one is an illegal transition."""
    order = submitted()
    step(order, order.on_report(report(BrokerStatus.CANCELLED, 3), AT))
    with pytest.raises(InvalidTransition) as exc_info:
        order.on_report(report(BrokerStatus.COMPLETE, 10), AT)
    assert "CANCELLED -> BROKER_FILLED" in str(exc_info.value)
    refused = order.refused(exc_info.value, AT)
    assert isinstance(refused, OrderTransitionRefused)


def test_report_for_another_broker_order_raises() -> None:
    """Once bound, an order refuses reports about a different broker order id."""
    order = submitted()
    with pytest.raises(InvalidTransition):
        order.on_report(report(BrokerStatus.OPEN, broker_order_id="999"), AT)


def test_stream_overtaking_the_placement_reply() -> None:
    """A report that arrives before the placement returns binds the broker id."""
    order = new_order()
    step(order, order.submit(AT))
    step(order, order.on_report(report(BrokerStatus.OPEN), AT))
    assert order.broker_order_id == BROKER_ID
    assert order.status is OrderStatus.OPEN
    assert order.accepted(BROKER_ID, AT) == []
    with pytest.raises(InvalidTransition):
        order.accepted("another", AT)


def test_unknown_outcome_then_resubmit_after_proven_absence() -> None:
    """SUBMIT_UNKNOWN can only go back to SUBMITTING, counting the attempt."""
    order = new_order()
    step(order, order.submit(AT))
    step(order, order.submit_unknown("read timeout", AT))
    assert order.status is OrderStatus.SUBMIT_UNKNOWN
    assert order.is_unresolved
    step(order, order.submit(AT))
    assert order.status is OrderStatus.SUBMITTING
    assert order.submit_attempts == 2


def test_modify_overlay_keeps_advancing_base_and_returns() -> None:
    """Fills during a pending modify advance the base; acceptance applies the new terms."""
    order = submitted()
    step(order, order.on_report(report(BrokerStatus.OPEN), AT))
    step(order, order.request_modify(AT, price=Decimal("1499.95"), quantity=12))
    assert order.status is OrderStatus.MODIFY_PENDING
    step(order, order.on_report(report(BrokerStatus.OPEN, 2), AT))
    assert order.status is OrderStatus.MODIFY_PENDING
    assert order.base_status is OrderStatus.PARTIALLY_FILLED
    step(order, order.modify_accepted(AT))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert (order.quantity, order.price, order.modifications) == (12, Decimal("1499.95"), 1)


def test_rejected_modify_and_cancel_return_to_previous_state() -> None:
    """A refused modify or cancel leaves the order as it was."""
    order = submitted()
    step(order, order.on_report(report(BrokerStatus.TRIGGER_PENDING), AT))
    step(order, order.request_modify(AT, price=Decimal("1490")))
    step(order, order.modify_rejected("RMS", AT))
    assert order.status is OrderStatus.TRIGGER_PENDING
    assert order.price == Decimal("1500.05")
    step(order, order.request_cancel(AT))
    step(order, order.cancel_rejected("too late", AT))
    assert order.status is OrderStatus.TRIGGER_PENDING


def test_fill_during_cancel_pending_ends_filled() -> None:
    """An order that fills while its cancel is pending ends FILLED."""
    order = submitted()
    step(order, order.on_report(report(BrokerStatus.OPEN), AT))
    step(order, order.request_cancel(AT))
    step(order, order.on_report(report(BrokerStatus.COMPLETE, 10), AT))
    assert order.status is OrderStatus.FILLED


def test_modify_validates_like_a_signal() -> None:
    """New terms obey the same rules as a new order."""
    order = submitted()
    step(order, order.on_report(report(BrokerStatus.OPEN, 4), AT))
    with pytest.raises(ValueError, match="quantity"):
        order.request_modify(AT, quantity=4)
    with pytest.raises(ValueError, match="price"):
        order.request_modify(AT, price=Decimal("-1"))


def test_fills_are_recorded_once_and_never_overfill() -> None:
    """A repeated trade id is a no-op; fills beyond the quantity are refused."""
    order = submitted()
    step(order, order.on_fill(fill("t1", 6), AT))
    assert order.on_fill(fill("t1", 6), AT) == []
    with pytest.raises(InvalidTransition):
        order.on_fill(fill("t2", 5), AT)
    step(order, order.on_fill(fill("t2", 4, "1500.10"), AT))
    assert order.fill_quantity == 10
    assert order.average_fill_price() == Decimal("1500.07")


def test_replay_rebuilds_the_same_order() -> None:
    """Applying the recorded events to a fresh order reproduces the state."""
    order = new_order()
    history = list(_history_of(order))
    replayed = Order.from_events(history)
    for field in ("status", "base_status", "filled_quantity", "broker_order_id", "quantity"):
        assert getattr(replayed, field) == getattr(order, field)


def _history_of(order: Order) -> Iterator[OrderEvent]:
    created = Order.create(order.order_id, order.signal, AT)
    yield created
    submitting = order.submit(AT)
    step(order, submitting)
    yield from submitting
    for r in (report(BrokerStatus.OPEN), report(BrokerStatus.OPEN, 3)):
        events = order.on_report(r, AT)
        step(order, events)
        yield from events


# --- property: random delivery of a legal history -----------------------------------------


@st.composite
def legal_histories(draw: st.DrawFn) -> tuple[int, list[tuple[BrokerStatus, int]]]:
    """A broker history that only ever moves forward, ending anywhere."""
    quantity = draw(st.integers(min_value=1, max_value=50))
    history: list[tuple[BrokerStatus, int]] = [(BrokerStatus.RECEIVED, 0)]
    if draw(st.booleans()):
        history.append((BrokerStatus.TRIGGER_PENDING, 0))
    history.append((BrokerStatus.OPEN, 0))
    filled = 0
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        if filled >= quantity - 1:
            break
        filled = draw(st.integers(min_value=filled + 1, max_value=quantity - 1))
        history.append((BrokerStatus.OPEN, filled))
    end = draw(st.sampled_from(["none", "complete", "cancelled", "rejected"]))
    if end == "complete":
        history.append((BrokerStatus.COMPLETE, quantity))
    elif end == "cancelled":
        history.append((BrokerStatus.CANCELLED, filled))
    elif end == "rejected" and filled == 0:
        history.append((BrokerStatus.REJECTED, 0))
    return quantity, history


def _key(order: Order) -> tuple[int, int]:
    return RANK[order.base_status], order.filled_quantity


@settings(max_examples=400, deadline=None)
@given(data=st.data(), case=legal_histories())
def test_random_delivery_never_moves_backwards(
    data: st.DataObject, case: tuple[int, list[tuple[BrokerStatus, int]]]
) -> None:
    """Shuffled, duplicated and illegal updates end where the furthest legal update says."""
    quantity, history = case
    illegal = [
        report(BrokerStatus.OPEN, quantity=quantity, broker_order_id="other"),
        report(BrokerStatus.CANCELLED, quantity, quantity=quantity),
        report(BrokerStatus.REJECTED, 1, quantity=quantity),
    ]
    legal = [report(s, f, quantity=quantity) for s, f in history]
    deliveries = data.draw(
        st.lists(st.sampled_from(legal + illegal), min_size=0, max_size=30)
    ) + data.draw(st.permutations(legal))
    deliveries = data.draw(st.permutations(deliveries))
    order = submitted(quantity)
    for delivered in deliveries:
        before = _key(order)
        try:
            events = order.on_report(delivered, AT)
        except InvalidTransition:
            assert delivered in illegal
            continue
        step(order, events)
        assert _key(order) >= before
    last_status, last_filled = history[-1]
    want = trigger_for(report(last_status, last_filled, quantity=quantity))
    assert want is not None
    assert order.filled_quantity == last_filled
    assert order.status is TRANSITIONS[(OrderStatus.SUBMITTING, want)]


def test_adopted_external_order_takes_its_first_report() -> None:
    """An order found at the broker starts ACCEPTED and follows the broker from there."""
    created = Order.create(
        "odexternal0000000001",
        new_order().signal,
        AT,
        external=True,
        broker_order_id=BROKER_ID,
    )
    order = Order.from_events([created])
    assert order.status is OrderStatus.ACCEPTED
    assert order.submit_attempts == 0
    step(order, order.on_report(report(BrokerStatus.OPEN, 4), AT))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    with pytest.raises(InvalidTransition):
        order.submit(AT)


def test_modifying_a_cover_order_keeps_its_stop() -> None:
    """A cover order's new price keeps the stop trigger; dropping it would be refused."""
    created = Order.create(
        "odcover0000000000001",
        signal(
            product=Product.MIS,
            variety=Variety.CO,
            price=Decimal("1500"),
            trigger_price=Decimal("1490"),
        ),
        AT,
    )
    order = Order.from_events([created])
    step(order, order.submit(AT))
    step(order, order.accepted(BROKER_ID, AT))
    events = order.request_modify(AT, price=Decimal("1501"))
    step(order, events)
    step(order, order.modify_accepted(AT))
    assert (order.price, order.trigger_price) == (Decimal("1501"), Decimal("1490"))
