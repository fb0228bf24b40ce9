"""Orders that appear late (KITE_API.md §14.2): the broker's "cannot tell" reply and the send a
stop interrupted are resolved by the book over ``late_order_window``, never by a blind re-send."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.events import Doubt, OrderCreated, OrderSubmitUnknown
from orderdesk.domain.ids import client_order_id
from orderdesk.domain.order import Order
from orderdesk.engine import OrderDesk
from orderdesk.errors import AmbiguousReply, BrokerTransportError, UnknownOutcome
from orderdesk.ports.broker import PlaceOrder
from orderdesk.store.codec import from_record, to_record
from tests.engine.conftest import FAST
from tests.engine.fakes import FailingBroker, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

AT = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


class UnsureBroker(FakeBroker):
    """Answers the next ``unsure`` placements as Kite's "Order request timed out" does: an
    ``AmbiguousReply``, with nothing in the book until the test creates the late order."""

    unsure = 0

    async def place_order(self, command: PlaceOrder) -> str:
        if self.unsure:
            self.unsure -= 1
            self.placements.append(command)
            raise AmbiguousReply(
                "Order request timed out. Please check the order book.",
                tag=command.client_order_id,
                http_status=400,
                error_type="InputException",
            )
        return await super().place_order(command)


def _doubtful(desk: OrderDesk, order_id: str, doubt: Doubt) -> bool:
    order = desk.order(order_id)
    return order.status is OrderStatus.SUBMIT_UNKNOWN and order.doubt is doubt


async def test_unsure_reply_then_late_order_is_bound_and_never_resent(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """An AmbiguousReply is an unknown outcome; the order that appears later is the desk's."""
    broker = UnsureBroker()
    broker.unsure = 1
    config = replace(FAST, late_order_window=30.0)
    async with OrderDesk(broker, store, notifier=notifier, config=config) as desk:
        handle = await desk.submit(signal(signal_id="late"))
        await eventually(lambda: _doubtful(desk, handle.order_id, Doubt.BROKER_UNSURE))
        broker.create(handle.order.signal, tag=handle.order_id)  # Kite's "seconds later"
        await handle.wait(timeout=5)
        assert handle.status is OrderStatus.FILLED
    assert len(broker.placements) == 1
    assert "Order not placed" not in notifier.titles()
    assert "OrderSubmitRejected" not in store.types(handle.order_id)


async def test_unsure_reply_never_shown_is_not_placed_after_the_window(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """No order within the window: REJECTED as not placed, alerted, and sent only once."""
    broker = UnsureBroker()
    broker.unsure = 1
    window = 0.2
    config = replace(FAST, late_order_window=window)
    async with OrderDesk(broker, store, notifier=notifier, config=config) as desk:
        started = time.monotonic()
        handle = await desk.submit(signal(signal_id="never"))
        await handle.wait(timeout=5)
        waited = time.monotonic() - started
    order = handle.order
    assert order.status is OrderStatus.REJECTED
    assert order.reason is not None
    assert order.reason.startswith("not placed:")
    assert waited >= window
    assert len(broker.placements) == 1
    assert "Order not placed" in notifier.titles()
    assert store.types(handle.order_id)[-2:] == ["OrderSubmitUnknown", "OrderSubmitRejected"]


async def test_interrupted_send_waits_for_a_late_order_before_sending(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """SUBMITTING in the log after a stop: the lost answer may have been "it may come later",
    so an order that shows up within the window is bound, and nothing is sent."""
    broker = FakeBroker()
    s = signal(signal_id="cut", order_type=OrderType.MARKET)
    order_id = client_order_id(s.strategy, "cut")
    created = Order.create(order_id, s, AT)
    store.append([created, *Order.from_events([created]).submit(AT)])
    config = replace(FAST, late_order_window=30.0)
    async with OrderDesk(broker, store, notifier=notifier, config=config) as desk:
        await eventually(lambda: _doubtful(desk, order_id, Doubt.INTERRUPTED))
        broker.create(s, tag=order_id)
        await eventually(lambda: desk.order(order_id).status is OrderStatus.FILLED)
    assert broker.placements == []


async def test_interrupted_send_absent_for_the_window_is_sent_again(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Absent for the whole window, an interrupted send is sent again under the same id (its
    intent still fresh: made now)."""
    broker = FakeBroker()
    s = signal(signal_id="resend")
    order_id = client_order_id(s.strategy, "resend")
    now = datetime.now(UTC)
    created = Order.create(order_id, s, now)
    store.append([created, *Order.from_events([created]).submit(now)])
    window = 0.2
    config = replace(FAST, late_order_window=window)
    started = time.monotonic()
    async with OrderDesk(broker, store, notifier=notifier, config=config) as desk:
        await eventually(lambda: desk.order(order_id).status is OrderStatus.FILLED)
    assert time.monotonic() - started >= window
    assert [p.client_order_id for p in broker.placements] == [order_id]


@pytest.mark.parametrize(
    ("error", "doubt"),
    [
        (UnknownOutcome("timed out after sending", tag="t"), Doubt.NO_REPLY),
        (BrokerTransportError("no connection could be opened"), Doubt.NO_ANSWER),
        (RuntimeError("a transport's bug"), Doubt.NO_REPLY),
    ],
    ids=["no-reply", "never-left", "unexplained"],
)
async def test_the_doubt_follows_whether_the_request_may_have_left(
    store: MemoryStore, notifier: RecordingNotifier, error: Exception, doubt: Doubt
) -> None:
    """Only a request the broker port says never left is sent again without the window: the
    others may turn up late. Nothing shows within the window here, so after it each is sent
    again under the same id, and the order is filled once."""
    broker = FailingBroker()
    broker.error = error
    window = 1.0  # the quick path takes milliseconds: a loaded machine stays well inside it
    config = replace(FAST, late_order_window=window)
    async with OrderDesk(broker, store, notifier=notifier, config=config) as desk:
        handle = await desk.submit(signal(signal_id="doubt", order_type=OrderType.MARKET))
        failed_at = time.monotonic()
        assert handle.order.doubt is doubt
        await handle.wait(timeout=5)
        waited = time.monotonic() - failed_at
    assert handle.status is OrderStatus.FILLED
    assert [p.client_order_id for p in broker.placements] == [handle.order_id] * 2
    if doubt is Doubt.NO_ANSWER:
        assert waited < window
    else:
        assert waited >= window


def test_the_doubt_is_replayed_and_old_rows_read_as_no_answer() -> None:
    """The doubt survives the log; a row written before it existed means no answer."""
    s = signal(signal_id="replay")
    created = OrderCreated(at=AT, order_id="od1", signal=s)
    unsure = OrderSubmitUnknown(at=AT, order_id="od1", reason="r", doubt=Doubt.BROKER_UNSURE)
    kind, payload = to_record(unsure)
    assert payload["doubt"] == "broker_unsure"
    assert from_record(kind, payload) == unsure
    old = {key: value for key, value in payload.items() if key != "doubt"}
    assert from_record(kind, old) == replace(unsure, doubt=Doubt.NO_ANSWER)
    submitting = Order.from_events([created]).submit(AT)
    order = Order.from_events([created, *submitting, unsure])
    assert order.doubt is Doubt.BROKER_UNSURE
    assert order.not_placed("gone", AT)[0].reason == "gone"
