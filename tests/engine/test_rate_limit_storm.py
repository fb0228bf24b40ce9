"""A broker that keeps answering placements 429: the caller is answered at once with its order
still SUBMITTING, the desk keeps sending it under the same id (never twice), a lasting run of
429s is alerted once and its end said under the same key."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.engine import OrderDesk
from orderdesk.errors import BrokerRateLimited, QuotaExhausted
from orderdesk.ports.broker import PlaceOrder
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import RATE_LIMITED, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

STORM = [RATE_LIMITED] * 100_000
"""Placements answered 429 until the test clears the script (the storm ends)."""
PATIENT = replace(FAST, rate_limit_give_up=60.0)
"""Gives up on a 429 only after a minute: the storm ends first, as the test decides."""
THROTTLED = "Broker rate-limiting placements"
LIFTED = "Broker no longer rate-limiting placements"
KEY = "rate_limit:placements"
"""The run's alert and its end share one key (engine/placement.py), as the stream's do."""


async def test_a_signal_is_answered_while_the_broker_keeps_answering_429(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """submit returns at once with the order SUBMITTING; the run is alerted once; the same
    signal again is the same order; once the storm ends the order is placed exactly once and
    the end of the run is said under the alert's key."""
    broker.script = list(STORM)
    async with OrderDesk(broker, store, notifier=notifier, config=PATIENT) as desk:
        limit = signal(signal_id="storm", order_type=OrderType.LIMIT, price=Decimal("1443"))
        async with asyncio.timeout(5):
            handle = await desk.submit(limit)
        assert handle.status is OrderStatus.SUBMITTING
        await eventually(lambda: THROTTLED in notifier.titles(Severity.WARNING), what="alert")
        await eventually(lambda: len(broker.placements) > 20, what="sent again and again")
        again = await desk.submit(limit)
        assert again.order_id == handle.order_id
        assert again.status is OrderStatus.SUBMITTING

        broker.script.clear()  # the storm ends
        await handle.wait(lambda h: h.status is OrderStatus.OPEN, timeout=5)
        await eventually(lambda: LIFTED in notifier.titles(Severity.INFO), what="all clear")

    assert broker.tags() == [handle.order_id]
    assert {p.client_order_id for p in broker.placements} == {handle.order_id}
    assert store.types(handle.order_id).count("OrderSubmitting") == 1
    run = [a for a in notifier.alerts if a.title in (THROTTLED, LIFTED)]
    assert [(a.title, a.key) for a in run] == [
        (THROTTLED, KEY),
        (LIFTED, KEY),
    ]
    assert "429" in run[0].body


async def test_a_short_run_of_429s_answers_at_once_and_alerts_nobody(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """Two 429s (a burst over the broker's rate): the caller is answered after the first, the
    task sends it again after it returned, and nobody is alerted."""
    answered: list[bool] = []
    returned = False

    def note(command: PlaceOrder) -> None:
        answered.append(returned)

    broker.before_place.append(note)
    broker.script = [RATE_LIMITED, RATE_LIMITED]
    handle = await desk.submit(signal(signal_id="burst"))
    returned = True
    assert handle.status is OrderStatus.SUBMITTING
    await handle.wait(timeout=5)
    assert handle.status is OrderStatus.FILLED
    assert answered == [False, True, True]
    assert broker.tags() == [handle.order_id]
    assert THROTTLED not in notifier.titles()
    assert LIFTED not in notifier.titles()


async def test_429s_for_longer_than_the_give_up_end_rejected(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """The answer comes at once; the order ends REJECTED ("rate limited for too long") only
    when the 429s outlast ``rate_limit_give_up``, with nothing placed."""
    broker.script = list(STORM)
    handle = await desk.submit(signal(signal_id="given-up"))
    assert handle.status is OrderStatus.SUBMITTING
    await handle.wait(timeout=10)
    assert handle.status is OrderStatus.REJECTED
    assert handle.order.reason is not None
    assert handle.order.reason.startswith("rate limited for too long")
    assert broker.book == {}
    assert "Order rejected" in notifier.titles(Severity.WARNING)


async def test_a_desk_stopped_while_held_back_places_the_order_once_after_restart(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Stopping the desk stops the sends held back by 429s; the log still says SUBMITTING,
    and the next start resolves it by the book: sent again under the same id, placed once."""
    broker.script = list(STORM)
    async with OrderDesk(broker, store, notifier=notifier, config=PATIENT) as desk:
        async with asyncio.timeout(5):
            handle = await desk.submit(signal(signal_id="stopped"))
        assert handle.status is OrderStatus.SUBMITTING
        await eventually(lambda: len(broker.placements) > 3, what="sent again")
    sent = len(broker.placements)
    broker.script.clear()
    async with OrderDesk(broker, store, notifier=notifier, config=PATIENT) as desk:
        order = desk.order(handle.order_id)
        await eventually(lambda: order.status is OrderStatus.FILLED, what="placed after restart")
    assert len(broker.placements) == sent + 1
    assert broker.tags() == [handle.order_id]
    assert {p.client_order_id for p in broker.placements} == {handle.order_id}


class ThrottledCommands(FakeBroker):
    """Answers every cancel 429 (a storm) and counts the reads of its order book."""

    book_reads: int = 0

    async def cancel_order(self, *args: object, **kwargs: object) -> None:
        raise BrokerRateLimited("Too many requests", http_status=429)

    async def orders(self) -> list[OrderStatusReport]:
        self.book_reads += 1
        return await super().orders()


async def test_a_cancel_answered_429_fails_at_once_without_reading_the_book(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A 429 proves the cancel did nothing: the desk answers it as a failure to try again at
    once, rather than reading the order's row (another 429 in a storm, held for a minute by
    the adapter) to learn what it already knows; the order stays working."""
    broker = ThrottledCommands()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(
            signal(order_type=OrderType.LIMIT, price=Decimal(1400), signal_id="rest")
        )
        await eventually(lambda: handle.status is OrderStatus.OPEN, what="resting")
        reads = broker.book_reads
        with pytest.raises(BrokerRateLimited):
            await desk.cancel(handle.order_id)
        assert broker.book_reads == reads
        assert handle.status is OrderStatus.OPEN


async def test_a_spent_day_of_placements_is_said_in_its_own_words(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """The day's cap is no run of 429s: the order's reason is the cap's own words (when it comes
    back), not "rate limited for too long"."""
    spent = "the day's 5000 order placements are spent (Kite's daily cap)"

    def refuse(command: PlaceOrder) -> None:
        raise QuotaExhausted(spent, http_status=429)

    broker.before_place.append(refuse)
    handle = await desk.submit(signal(signal_id="past-the-cap"))
    await handle.wait(timeout=10)
    assert handle.status is OrderStatus.REJECTED
    assert handle.order.reason == spent
