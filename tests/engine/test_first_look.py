"""The first look after an acceptance: a few orders from their own histories, many from one
read of the book, so that what a look costs does not grow with the day's book."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderStatusReport, OrderType
from orderdesk.engine import OrderDesk
from orderdesk.engine.handle import OrderHandle
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal

LIMIT = {"order_type": OrderType.LIMIT, "price": Decimal("1490")}
LOOKING = replace(FAST, first_look=0.01, look_singly=2)
"""A look is due 10 ms (of the test's wall clock) after an acceptance; two are read singly."""


@dataclass
class StillClock:
    """Wall time stands still until the test moves it; monotonic time is real (timers)."""

    at: datetime = field(default_factory=lambda: datetime(2026, 12, 7, 4, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()


class HistoryBroker(FakeBroker):
    """The fake broker with order histories (Kite's ``GET /orders/{id}``), counting reads."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.book_reads = 0
        self.history_reads: list[str] = []

    async def orders(self) -> list[OrderStatusReport]:
        self.book_reads += 1
        return await super().orders()

    async def order_history(self, broker_order_id: str) -> list[OrderStatusReport]:
        self.history_reads.append(broker_order_id)
        return [self.report(broker_order_id)]


async def rest_unseen(desk: OrderDesk, broker: HistoryBroker, count: int) -> list[OrderHandle]:
    """``count`` limit orders the broker rests without pushing a word (as Kite does)."""
    await settled(desk)
    broker.drop_reports = True
    handles = [await desk.submit(signal(**LIMIT, signal_id=f"rest{i}")) for i in range(count)]
    assert {h.status for h in handles} == {OrderStatus.ACCEPTED}
    return handles


async def test_a_few_orders_are_looked_at_in_their_own_histories() -> None:
    """Orders awaiting their first look, no more than ``look_singly``, are read one by one
    from their histories and seen OPEN; the book is not read for them."""
    broker, clock = HistoryBroker(), StillClock()
    async with OrderDesk(
        broker, MemoryStore(), notifier=RecordingNotifier(), config=LOOKING, clock=clock
    ) as desk:
        handles = await rest_unseen(desk, broker, 2)
        book_reads = broker.book_reads
        clock.at += timedelta(seconds=1)
        for handle in handles:
            await handle.wait(lambda h: h.status is OrderStatus.OPEN, timeout=5)
        assert sorted(broker.history_reads) == sorted(h.order.broker_order_id for h in handles)
        assert broker.book_reads == book_reads


async def test_many_orders_are_looked_at_in_one_read_of_the_book() -> None:
    """More orders awaiting their first look than ``look_singly`` are seen OPEN from one read
    of the book, and no history is read."""
    broker, clock = HistoryBroker(), StillClock()
    async with OrderDesk(
        broker, MemoryStore(), notifier=RecordingNotifier(), config=LOOKING, clock=clock
    ) as desk:
        handles = await rest_unseen(desk, broker, 3)
        book_reads = broker.book_reads
        clock.at += timedelta(seconds=1)
        for handle in handles:
            await handle.wait(lambda h: h.status is OrderStatus.OPEN, timeout=5)
        assert broker.book_reads == book_reads + 1
        assert broker.history_reads == []


async def test_without_histories_the_book_is_read_for_a_single_order() -> None:
    """A broker that offers no order history has even one order's first look read from the
    book."""
    broker, clock = FakeBroker(), StillClock()
    async with OrderDesk(
        broker, MemoryStore(), notifier=RecordingNotifier(), config=LOOKING, clock=clock
    ) as desk:
        await settled(desk)
        broker.drop_reports = True
        handle = await desk.submit(signal(**LIMIT, signal_id="alone"))
        clock.at += timedelta(seconds=1)
        await handle.wait(lambda h: h.status is OrderStatus.OPEN, timeout=5)


async def test_the_book_indexes_the_orders_awaiting_their_first_look() -> None:
    """``OrderBook.accepted`` holds the orders the broker took and said nothing more of, and
    lets each go once it is seen resting: the tracker finds them without walking the day."""
    broker, clock = HistoryBroker(), StillClock()
    async with OrderDesk(
        broker, MemoryStore(), notifier=RecordingNotifier(), config=LOOKING, clock=clock
    ) as desk:
        (handle,) = await rest_unseen(desk, broker, 1)
        assert list(desk.book.accepted) == [handle.order_id]
        clock.at += timedelta(seconds=1)
        await handle.wait(lambda h: h.status is OrderStatus.OPEN, timeout=5)
        assert desk.book.accepted == {}
