"""What the operator is told of a placement whose outcome is unknown: what the desk will do by
its doubt, never an invitation to place it again by hand (the desk may send it itself, and a
hand-placed copy makes two), and, once it is settled at the broker, one alert saying how."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.events import Doubt
from orderdesk.domain.signal import Signal
from orderdesk.engine import OrderDesk
from orderdesk.errors import AmbiguousReply, BrokerTransportError, UnknownOutcome
from orderdesk.ports.notifier import Alert, Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import (
    UNAVAILABLE,
    UNKNOWN_AFTER,
    FailingBroker,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.support import eventually

HANDS_OFF = "Do not place it again by hand; the desk settles it and alerts when it has."
UNKNOWN = "Placement outcome unknown"
SETTLED = "Placement outcome settled"


def resting(signal_id: str) -> Signal:
    """A LIMIT buy below the price: it rests OPEN at the broker once placed."""
    return signal(signal_id=signal_id, order_type=OrderType.LIMIT, price=Decimal("1400"))


def alerts(notifier: RecordingNotifier, title: str) -> list[Alert]:
    return [a for a in notifier.alerts if a.title == title]


@pytest.mark.parametrize(
    ("error", "doubt", "plan"),
    [
        (
            BrokerTransportError("connection refused"),
            Doubt.NO_ANSWER,
            "The request never left: the desk looks for the order in the broker's order book "
            "and, proven absent, sends it again itself under the same id while its intent is "
            "fresh (within 60 s of it), else gives it up as not placed.",
        ),
        (
            UnknownOutcome("read timeout", tag="t"),
            Doubt.NO_REPLY,
            "found, it is the desk's order; proven absent, the desk sends it again itself "
            "under the same id while its intent is fresh (within 60 s of it), else gives it "
            "up as not placed.",
        ),
        (
            AmbiguousReply("Order request timed out.", tag="t", http_status=400),
            Doubt.BROKER_UNSURE,
            "found, it is the desk's order; not found, it is given up as not placed and never "
            "sent again, as a late order would make two.",
        ),
    ],
)
async def test_the_unknown_outcome_alert_says_what_the_desk_does(
    store: MemoryStore,
    notifier: RecordingNotifier,
    error: Exception,
    doubt: Doubt,
    plan: str,
) -> None:
    """Each doubt's alert says the desk's own course and tells the operator to keep hands off,
    never to place it again once the book is checked."""
    broker = FailingBroker()
    broker.error = error
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(resting(f"doubt-{doubt}"))
        await eventually(lambda: alerts(notifier, UNKNOWN), what="the unknown alert")
        assert desk.order(handle.order_id).doubt is doubt
    (alert,) = alerts(notifier, UNKNOWN)
    assert alert.severity is Severity.WARNING
    assert plan in alert.body
    assert alert.body.endswith(HANDS_OFF)
    assert "before placing again" not in alert.body


async def test_a_5xx_proven_absent_and_sent_again_is_said_settled(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Kite's 5xx (the simulator's ``error_5xx``): the desk proves the order absent, sends it
    again under the same id, and says so once the broker accepts it; the operator, told to keep
    hands off, hears how it ended."""
    broker.script = [UNAVAILABLE]
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(resting("fivexx"))
        await eventually(lambda: alerts(notifier, SETTLED), what="the settled alert")
        order = desk.order(handle.order_id)
    assert [p.client_order_id for p in broker.placements] == [order.order_id] * 2
    assert order.broker_order_id is not None
    (unknown,) = alerts(notifier, UNKNOWN)
    (settled,) = alerts(notifier, SETTLED)
    assert settled.severity is unknown.severity is Severity.WARNING
    assert settled.key == f"settled:{order.order_id}" != unknown.key
    assert settled.order_id == order.order_id
    assert "sent again by the desk under the same id, and accepted as " in settled.body
    assert order.broker_order_id in settled.body


async def test_a_reply_lost_after_placing_is_said_found_at_the_broker(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The broker placed it and the reply was lost: found under its tag and bound, nothing sent
    again, and the alert names the broker's order and its state."""
    broker.script = [UNKNOWN_AFTER]
    broker.stream_muted = True  # found by the resolver's read of the book, not told
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(resting("lost"))
        await eventually(lambda: alerts(notifier, SETTLED), what="the settled alert")
        order = desk.order(handle.order_id)
    assert len(broker.placements) == 1
    assert order.status is OrderStatus.OPEN
    (settled,) = alerts(notifier, SETTLED)
    assert settled.severity is Severity.WARNING
    assert f"is at the broker as {order.broker_order_id}, OPEN" in settled.body
    assert "nothing sent again" in settled.body


async def test_a_placement_given_up_is_not_said_settled(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The broker could not tell and its book never showed the order: "Order not placed" says
    how it ended, no settled alert beside it."""
    broker = FailingBroker()
    broker.error = AmbiguousReply("Order request timed out.", tag="t", http_status=400)
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(resting("unsure"))
        await handle.wait(timeout=5)
        assert desk.order(handle.order_id).status is OrderStatus.REJECTED
    assert notifier.titles().count("Order not placed") == 1
    assert SETTLED not in notifier.titles()


async def test_found_by_reconciliation_after_the_resolver_gave_up_is_said_critical(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The book could not be read until the resolver gave up (CRITICAL "Order unresolved"):
    the reconciliation that finds the order later says it settled, at CRITICAL too."""
    broker.script = [UNKNOWN_AFTER]
    broker.stream_muted = True
    broker.orders_fail = -1
    config = replace(FAST, resolve_max_lookups=2)
    async with OrderDesk(broker, store, notifier=notifier, config=config) as desk:
        handle = await desk.submit(resting("unread"))
        await eventually(lambda: alerts(notifier, "Order unresolved"), what="given up looking")
        (unresolved,) = alerts(notifier, "Order unresolved")
        assert unresolved.body.endswith(HANDS_OFF)
        assert "before re-placing" not in unresolved.body
        broker.orders_fail = 0
        await desk.reconcile()
        await eventually(lambda: alerts(notifier, SETTLED), what="the settled alert")
        order = desk.order(handle.order_id)
    assert len(broker.placements) == 1
    (settled,) = alerts(notifier, SETTLED)
    assert settled.severity is Severity.CRITICAL
    assert f"is at the broker as {order.broker_order_id}, OPEN" in settled.body
