"""Intake and idempotent placement against the scripted fake broker."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from orderdesk.domain import InstrumentKey, OrderStatus, OrderType
from orderdesk.domain.errors import ValidationError
from orderdesk.engine import OrderDesk
from orderdesk.engine.errors import SessionExpired
from orderdesk.errors import BrokerTransportError
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import (
    AUTH,
    LOST_AFTER,
    LOST_BEFORE,
    RATE_LIMITED,
    REJECT,
    UNAVAILABLE,
    UNKNOWN_AFTER,
    UNKNOWN_BEFORE,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.support import eventually


async def test_intent_is_logged_before_the_broker_is_called(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore
) -> None:
    """OrderCreated and OrderSubmitting for the client id are in the log when the broker is hit."""
    seen: list[list[str]] = []
    broker.before_place.append(lambda command: seen.append(store.types(command.client_order_id)))
    handle = await desk.submit(signal(signal_id="s1"))
    assert seen == [["OrderCreated", "OrderSubmitting"]]
    assert broker.placements[0].client_order_id == handle.order_id
    await handle.wait()
    assert handle.status is OrderStatus.FILLED


async def test_same_signal_id_twice_is_one_order(desk: OrderDesk, broker: FakeBroker) -> None:
    """Submitting the same strategy and signal id again returns the first order, placed once."""
    first = await desk.submit(signal(signal_id="dup", strategy="alpha"))
    second = await desk.submit(signal(signal_id="dup", strategy="alpha"))
    other_strategy = await desk.submit(signal(signal_id="dup", strategy="beta"))
    assert first.order_id == second.order_id != other_strategy.order_id
    assert len(broker.placements) == 2


async def test_concurrent_duplicates_place_once(desk: OrderDesk, broker: FakeBroker) -> None:
    """Ten concurrent submissions of one signal id lead to a single placement."""
    handles = await asyncio.gather(*(desk.submit(signal(signal_id="race")) for _ in range(10)))
    assert {h.order_id for h in handles} == {handles[0].order_id}
    assert len(broker.placements) == 1


async def test_missing_signal_id_gets_a_fresh_one(desk: OrderDesk, broker: FakeBroker) -> None:
    """Signals without an id are distinct orders, each with a generated signal id."""
    a = await desk.submit(signal())
    b = await desk.submit(signal())
    assert a.order_id != b.order_id
    assert a.order.signal.signal_id
    assert len(a.order.signal.signal_id) == 32


async def test_lost_reply_is_resolved_from_the_book_without_resending(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore
) -> None:
    """An order placed whose reply was lost is found by its tag; nothing is sent twice."""
    broker.stream_muted = True  # only the order-book lookup can tell us
    broker.script = [UNKNOWN_AFTER]
    handle = await desk.submit(signal(signal_id="lost"))
    await handle.wait()
    assert len(broker.placements) == 1
    assert broker.tags().count(handle.order_id) == 1
    assert handle.status is OrderStatus.FILLED
    assert "OrderSubmitUnknown" in store.types(handle.order_id)


async def test_proven_absence_allows_one_resend_under_the_same_id(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """A request lost before the broker acted is re-sent once, with the same tag."""
    broker.script = [UNKNOWN_BEFORE]
    handle = await desk.submit(signal(signal_id="absent"))
    await handle.wait()
    assert [p.client_order_id for p in broker.placements] == [handle.order_id] * 2
    assert broker.tags() == [handle.order_id]
    assert handle.order.submit_attempts == 2


async def test_server_error_on_placement_is_unknown_not_rejected(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore
) -> None:
    """A 5xx during placement becomes SUBMIT_UNKNOWN and is resolved, never marked failed."""
    broker.script = [UNAVAILABLE]
    handle = await desk.submit(signal(signal_id="5xx"))
    await handle.wait()
    assert handle.status is OrderStatus.FILLED
    assert "OrderSubmitRejected" not in store.types(handle.order_id)
    assert broker.tags() == [handle.order_id]


async def test_failed_lookups_leave_the_order_unresolved_and_alerted(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """When the order book cannot be read, the order is neither failed nor re-sent."""
    broker.script = [UNKNOWN_BEFORE]
    broker.orders_fail = -1
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(signal(signal_id="blind"))
        await eventually(lambda: "Order unresolved" in notifier.titles(Severity.CRITICAL))
        assert handle.status is OrderStatus.SUBMIT_UNKNOWN
        assert len(broker.placements) == 1
        assert "Cannot resolve order" in notifier.titles()
        # Once the book can be read again, reconciliation resolves it by proven absence.
        broker.orders_fail = 0
        await desk.reconcile()
        await handle.wait()
        assert broker.tags() == [handle.order_id]


async def test_one_failed_lookup_between_clean_reads_does_not_stop_resolution(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """A flaky book read delays resolution but the order still ends placed exactly once."""
    broker.script = [UNKNOWN_AFTER]
    broker.stream_muted = True
    broker.orders_fail = 2
    handle = await desk.submit(signal(signal_id="flaky"))
    await handle.wait(lambda h: h.is_resolved)
    assert broker.tags() == [handle.order_id]
    assert len(broker.placements) == 1


async def test_rate_limited_placement_is_resent(desk: OrderDesk, broker: FakeBroker) -> None:
    """A 429 proves nothing was placed, so the desk backs off and sends again."""
    broker.script = [RATE_LIMITED, RATE_LIMITED, RATE_LIMITED]
    handle = await desk.submit(signal(signal_id="429"))
    await handle.wait()
    assert len(broker.placements) == 4
    assert broker.tags() == [handle.order_id]
    assert handle.status is OrderStatus.FILLED


async def test_rejection_is_recorded_and_alerted(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """A broker rejection ends the order REJECTED with the reason, and raises an alert."""
    broker.script = [REJECT]
    handle = await desk.submit(signal(signal_id="rej"))
    assert handle.status is OrderStatus.REJECTED
    assert handle.order.reason is not None
    assert "RMS" in handle.order.reason
    assert "Order rejected" in notifier.titles()


async def test_a_refused_session_leaves_the_signal_id_unused(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A placement refused for want of a session places nothing and raises SessionExpired;
    later signals are refused before anything is written, and after a login the same signal
    is placed under the same id."""
    broker.script = [AUTH]
    with pytest.raises(SessionExpired):
        await desk.submit(signal(signal_id="tok"))
    assert broker.book == {}
    order_id = desk.orders()[0].order_id
    assert desk.order(order_id).deferred
    await eventually(
        lambda: "Broker session ended" in notifier.titles(Severity.CRITICAL),
        what="the first refusal alerted",
    )
    rows = len(store.rows)
    with pytest.raises(SessionExpired) as refused:
        await desk.submit(signal(signal_id="other"))
    assert "log in" in str(refused.value)
    with pytest.raises(SessionExpired):
        await desk.submit(signal(signal_id="tok"))
    assert len(store.rows) == rows  # nothing recorded for refused signals
    await desk.renew_session("fresh-token")
    assert broker.renewed == ["fresh-token"]
    handle = await desk.submit(signal(signal_id="tok"))
    assert handle.order_id == order_id
    await handle.wait()
    assert handle.status is OrderStatus.FILLED
    assert [p.client_order_id for p in broker.placements] == [order_id, order_id]
    assert "SessionRenewed" in store.types("desk")


async def test_an_intent_held_for_a_login_is_withdrawn_by_a_cancel(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore
) -> None:
    """The intent a session refusal held is cancelled without the broker (nothing was ever
    placed, and the session is gone): CANCELLED, said so, and its signal no longer sends it.
    It was refused as "not sent to the broker yet; cancel it once the broker has it"."""
    broker.script = [AUTH]
    with pytest.raises(SessionExpired):
        await desk.submit(signal(signal_id="held"))
    (held,) = desk.orders()
    handle = await desk.cancel(held.order_id)
    assert handle.status is OrderStatus.CANCELLED
    assert handle.order.reason == "cancelled while held for a login"
    assert "OrderWithdrawn" in store.types(held.order_id)
    await desk.renew_session("fresh-token")
    again = await desk.submit(signal(signal_id="held"))
    assert again.status is OrderStatus.CANCELLED
    assert [p.client_order_id for p in broker.placements] == [held.order_id]  # the refused one


async def test_stream_report_overtaking_the_reply_is_not_unknown(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore
) -> None:
    """If the stream bound the order before the lost reply surfaced, nothing is unknown."""
    broker.script = [UNKNOWN_AFTER]
    # Deliver the stream before the placement call raises: run the queue dry first.
    original = broker.place_order

    async def place_then_drain(command):  # type: ignore[no-untyped-def]
        try:
            return await original(command)
        finally:
            await eventually(lambda: broker._queue.empty())
            await eventually(lambda: desk.order(command.client_order_id).fills)

    broker.place_order = place_then_drain  # type: ignore[method-assign]
    handle = await desk.submit(signal(signal_id="overtake"))
    assert "OrderSubmitUnknown" not in store.types(handle.order_id)
    assert "OrderTransitionRefused" not in store.types(handle.order_id)
    assert handle.status is OrderStatus.FILLED


async def test_a_modify_whose_reply_was_lost_is_not_sent_again_once_carried_out(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """The reply of a modify is lost after the broker acted: the desk reads the order, sees
    the new terms, and does not spend another of the order's modifications."""
    handle = await desk.submit(signal(order_type=OrderType.LIMIT, price=Decimal("1490")))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    broker.command_faults = [LOST_AFTER]
    await desk.modify(handle.order_id, price=Decimal("1495"))
    assert broker.modify_calls == 1
    assert handle.order.price == Decimal("1495")
    assert handle.status is OrderStatus.OPEN


async def test_a_modify_lost_before_the_broker_acted_is_sent_again(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """A modify that never reached the broker (its row shows the old terms) is sent again."""
    handle = await desk.submit(signal(order_type=OrderType.LIMIT, price=Decimal("1490")))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    broker.command_faults = [LOST_BEFORE]
    await desk.modify(handle.order_id, price=Decimal("1495"))
    assert broker.modify_calls == 2
    assert broker.report(handle.broker_order_ids[0]).price == Decimal("1495")


async def test_a_modify_that_got_no_answer_is_said_unanswered_not_refused(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """The modify's connection dropped and the broker's book could not be read to see what
    became of it: the order's reason said "modify refused", a "no" the broker never gave."""
    handle = await desk.submit(signal(order_type=OrderType.LIMIT, price=Decimal("1490")))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    broker.command_faults = [LOST_BEFORE]
    broker.orders_fail = -1
    with pytest.raises(BrokerTransportError):
        await desk.modify(handle.order_id, price=Decimal("1495"))
    broker.orders_fail = 0
    assert handle.status is OrderStatus.OPEN
    assert handle.order.reason == ("modify unanswered: connection reset before the broker acted")


async def test_unknown_instrument_is_refused_at_intake_as_unknown(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore
) -> None:
    """A symbol the instrument master does not list is refused as unknown, before any risk
    check or placement, so the trader reads "unknown instrument", not a price-band failure."""
    foobar = InstrumentKey.parse("NSE:FOOBAR")
    with pytest.raises(ValidationError) as exc_info:
        await desk.submit(signal(instrument=foobar, signal_id="typo"))
    assert str(exc_info.value) == "instrument: unknown instrument NSE:FOOBAR"
    assert exc_info.value.field == "instrument"
    assert broker.placements == []
    assert "SignalDenied" not in [row.type for row in store.rows]
