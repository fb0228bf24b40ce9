"""Terms changed at the broker, outside orderdesk: every term is seen, none is invented."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orderdesk.domain import (
    BrokerStatus,
    Order,
    OrderModified,
    OrderStatusReport,
    OrderType,
    Side,
    Variety,
)
from orderdesk.domain.order import Terms
from tests.domain.builders import AT, report, signal, step

BROKER_ID = "250101000000001"


def resting(**terms: Any) -> Order:
    """A desk order the broker holds, waiting (its first report applied)."""
    order = Order.from_events([Order.create("od0000000000000000001", signal(**terms), AT)])
    step(order, order.submit(AT))
    step(order, order.accepted(BROKER_ID, AT))
    status = (
        BrokerStatus.TRIGGER_PENDING
        if order.order_type in (OrderType.SL, OrderType.SL_M)
        else BrokerStatus.OPEN
    )
    step(order, order.on_report(shown(order, status), AT))
    return order


def shown(order: Order, status: BrokerStatus, **changes: Any) -> OrderStatusReport:
    """The broker's row of ``order`` as Kite writes it (0 for a term its type takes none of)."""
    fields: dict[str, Any] = {
        "quantity": order.quantity,
        "order_type": order.order_type,
        "price": order.price or Decimal(0),
        "trigger_price": order.trigger_price or Decimal(0),
    }
    fields.update(changes)
    return report(status, **fields)


STOP = {
    "order_type": OrderType.SL_M,
    "price": None,
    "trigger_price": Decimal("1530"),
    "quantity": 1,
}


def test_a_trigger_moved_at_the_broker_is_recorded() -> None:
    """A new trigger alone (same status, quantity and fills) is news: the desk takes it."""
    order = resting(**STOP)
    moved = shown(order, BrokerStatus.TRIGGER_PENDING, trigger_price=Decimal("1600"), modified=True)
    events = order.on_report(moved, AT)
    assert events == [
        OrderModified(
            at=AT,
            order_id=order.order_id,
            quantity=1,
            price=None,
            trigger_price=Decimal("1600"),
            order_type=OrderType.SL_M,
            external=True,
        )
    ]
    step(order, events)
    assert order.trigger_price == Decimal("1600")
    assert order.on_report(moved, AT) == []  # the same row again is no news


def test_a_type_changed_at_the_broker_is_recorded_with_the_terms_it_takes() -> None:
    """SL changed to LIMIT at the broker: the order becomes a LIMIT at the row's price, and
    the trigger Kite still shows on it is not one it has."""
    order = resting(order_type=OrderType.SL, price=Decimal("1535"), trigger_price=Decimal("1530"))
    limit = shown(
        order,
        BrokerStatus.OPEN,
        order_type=OrderType.LIMIT,
        price=Decimal("1400"),
        modified=True,
    )
    step(order, order.on_report(limit, AT))
    assert order.terms == Terms(10, OrderType.LIMIT, Decimal("1400"), None)


def test_a_modify_on_its_way_or_refused_is_not_taken_for_an_outside_one() -> None:
    """Rows that show terms not in force (our own modify pending, Kite's MODIFY PENDING or NOT
    MODIFIED) change nothing."""
    order = resting(**STOP)
    other = {"quantity": 5, "trigger_price": Decimal("1600"), "modified": True}
    for status in (BrokerStatus.MODIFY_PENDING, BrokerStatus.MODIFY_REJECTED):
        assert order.on_report(shown(order, status, **other), AT) == []
    step(order, order.request_modify(AT, trigger_price=Decimal("1610")))
    moved = shown(order, BrokerStatus.TRIGGER_PENDING, **other)
    assert order.on_report(moved, AT) == []
    assert order.terms == Terms(1, OrderType.SL_M, None, Decimal("1530"))


def test_a_cover_orders_stop_leg_is_not_modified_by_the_type_its_row_names() -> None:
    """The desk holds a cover order's stop leg as an SL-M; a row naming it SL with a price is
    the same stop, not a modification."""
    stop = signal(
        side=Side.SELL,
        quantity=1,
        order_type=OrderType.SL_M,
        price=None,
        trigger_price=Decimal("1480"),
    )
    created = Order.create(
        "od0000000000000000002",
        stop,
        AT,
        broker_order_id=BROKER_ID,
        leg_of="od0000000000000000009",
    )
    leg = Order.from_events([created])
    row = report(
        BrokerStatus.TRIGGER_PENDING,
        quantity=1,
        side=Side.SELL,
        order_type=OrderType.SL,
        variety=Variety.CO,
        price=Decimal("1479"),
        trigger_price=Decimal("1480"),
        modified=True,
    )
    assert not leg.changed_at_broker(row)


def test_changes_are_told_term_by_term() -> None:
    """What changed reads from → to, only the terms that moved."""
    before = Terms(1, OrderType.LIMIT, Decimal("1456"), None)
    after = Terms(400, OrderType.LIMIT, Decimal("1456"), None)
    assert after.changes_from(before) == "quantity 1 → 400"
    stop = Terms(1, OrderType.SL_M, None, Decimal("1600"))
    assert stop.changes_from(Terms(1, OrderType.SL_M, None, Decimal("1530"))) == (
        "trigger 1530 → 1600"
    )
    assert str(stop) == "1 SL-M trigger 1600"
