"""The news path: many orders' updates in one append, each order's in arrival order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from decimal import Decimal

import pytest

from orderdesk.domain import Event, OrderStatus, OrderType
from orderdesk.domain.events import OrderStatusChanged
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.handle import OrderHandle
from orderdesk.ports.store import StoredEvent
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

# Nothing but the test's own dispatches reaches the desk: no polling, no first look.
STILL = replace(FAST, poll_interval=3600.0, first_look=3600.0)


class CountingStore(MemoryStore):
    """Notes how many events each append carried."""

    def __init__(self) -> None:
        super().__init__()
        self.appends: list[int] = []

    def append(self, events: Sequence[Event]) -> list[StoredEvent]:
        rows = super().append(events)
        self.appends.append(len(events))
        return rows


@pytest.fixture
def muted() -> FakeBroker:
    """A broker whose book changes without anything reaching the stream: the test dispatches."""
    return FakeBroker(stream_muted=True, fill_market=False)


@pytest.fixture
def counting() -> CountingStore:
    return CountingStore()


@pytest.fixture
async def still_desk(muted: FakeBroker, counting: CountingStore) -> AsyncIterator[OrderDesk]:
    async with OrderDesk(
        muted, counting, notifier=RecordingNotifier(), config=STILL, limits=RiskLimits()
    ) as desk:
        yield await settled(desk)


async def resting(desk: OrderDesk, n: int) -> list[OrderHandle]:
    handles = [
        await desk.submit(
            signal(
                quantity=10,
                order_type=OrderType.LIMIT,
                price=Decimal("1490"),
                signal_id=f"rest-{i}",
            )
        )
        for i in range(n)
    ]
    await desk.idle()
    assert [h.status for h in handles] == [OrderStatus.ACCEPTED] * n
    return handles


def changes(store: MemoryStore, order_id: str) -> list[tuple[int, int, str]]:
    """(seq, filled quantity, status) of each status change the log holds for the order."""
    return [
        (row.seq, row.payload["filled_quantity"], row.payload["status"])
        for row in store.rows
        if row.stream == order_id and row.type == OrderStatusChanged.__name__
    ]


async def test_updates_of_many_orders_share_one_append(
    still_desk: OrderDesk, muted: FakeBroker, counting: CountingStore
) -> None:
    """Twenty orders' updates dispatched together are decided together and written once."""
    handles = await resting(still_desk, 20)
    counting.appends.clear()
    for handle in handles:
        await still_desk.news.put(muted.report(handle.broker_order_ids[0]))
    await still_desk.idle()
    assert counting.appends == [20]
    assert all(h.status is OrderStatus.OPEN for h in handles)


async def test_each_order_sees_its_updates_in_arrival_order(
    still_desk: OrderDesk, muted: FakeBroker, counting: CountingStore
) -> None:
    """Interleaved with other orders, an order's open, two partial fills and completion apply
    in the order they came, its trades read once and recorded with the report that needed
    them, nothing ignored or refused."""
    first, *others = await resting(still_desk, 4)
    (broker_id,) = first.broker_order_ids
    opened = muted.report(broker_id)
    muted.fill(broker_id, 2)
    two = muted.report(broker_id)
    muted.fill(broker_id, 3)
    five = muted.report(broker_id)
    muted.fill(broker_id)
    done = muted.report(broker_id)
    reads_before = muted.trade_reads
    for report in (opened, two, five, done):
        await still_desk.news.put(report)
        for other in others:  # another order's news between each of ours
            await still_desk.news.put(muted.report(other.broker_order_ids[0]))
    await still_desk.idle()

    assert [(filled, status) for _, filled, status in changes(counting, first.order_id)] == [
        (0, "OPEN"),
        (2, "PARTIALLY_FILLED"),
        (5, "PARTIALLY_FILLED"),
        (10, "FILLED"),
    ]
    assert first.order.fill_quantity == 10
    assert (
        still_desk.position(first.order.signal.instrument, first.order.signal.product).quantity
        == 10
    )
    assert muted.trade_reads == reads_before + 1
    types = counting.types(first.order_id)
    assert "OrderUpdateIgnored" not in types
    assert "OrderTransitionRefused" not in types
    # The report that first showed fills carries the three trades read for it, in one event.
    (carrier,) = [r for r in counting.rows if r.type == "OrderStatusChanged" and r.payload["fills"]]
    assert carrier.payload["filled_quantity"] == 2
    assert [f["quantity"] for f in carrier.payload["fills"]] == [2, 3, 5]
    assert "OrderFillRecorded" not in types
    assert all(o.status is OrderStatus.OPEN for o in others)


async def test_an_order_whose_lock_is_held_waits_without_holding_up_others(
    still_desk: OrderDesk, muted: FakeBroker, counting: CountingStore
) -> None:
    """While a command holds an order's lock, its updates wait in arrival order and every
    other order's updates still apply."""
    held, free = await resting(still_desk, 2)
    (held_id,) = held.broker_order_ids
    lock = still_desk.recorder.lock(held.order_id)
    await lock.acquire()
    try:
        opened = muted.report(held_id)
        muted.fill(held_id, 4)
        partly = muted.report(held_id)
        await still_desk.news.put(opened)
        await still_desk.news.put(partly)
        await still_desk.news.put(muted.report(free.broker_order_ids[0]))
        await eventually(lambda: free.status is OrderStatus.OPEN, what="the free order applied")
        assert held.status is OrderStatus.ACCEPTED
        assert changes(counting, held.order_id) == []
    finally:
        lock.release()
    await still_desk.idle()
    assert [(f, s) for _, f, s in changes(counting, held.order_id)] == [
        (0, "OPEN"),
        (4, "PARTIALLY_FILLED"),
    ]
    assert held.order.fill_quantity == 4


async def test_a_failed_append_loses_that_batch_only(
    still_desk: OrderDesk, muted: FakeBroker, counting: CountingStore
) -> None:
    """When the log cannot be written, the batch's updates are not applied (state stays equal
    to the log) and the same orders' next updates apply once it can be written again."""
    handles = await resting(still_desk, 3)
    counting.fail_appends = True
    for handle in handles:
        await still_desk.news.put(muted.report(handle.broker_order_ids[0]))
    await still_desk.idle()
    assert all(h.status is OrderStatus.ACCEPTED for h in handles)
    counting.fail_appends = False
    for handle in handles:
        await still_desk.news.put(muted.report(handle.broker_order_ids[0]))
    await still_desk.idle()
    assert all(h.status is OrderStatus.OPEN for h in handles)


async def test_a_fill_on_the_stream_is_applied_in_the_batch(
    still_desk: OrderDesk, muted: FakeBroker, counting: CountingStore
) -> None:
    """A fill message for a bound order is recorded once, positions included, with no read."""
    (handle,) = await resting(still_desk, 1)
    (broker_id,) = handle.broker_order_ids
    fill = muted.fill(broker_id, 6)
    reads_before = muted.trade_reads
    await still_desk.news.put(fill)
    await still_desk.news.put(fill)  # the stream repeats itself
    await still_desk.idle()
    assert handle.order.fill_quantity == 6
    assert counting.types(handle.order_id).count("OrderFillRecorded") == 1
    assert still_desk.position(fill.instrument, fill.product).quantity == 6
    assert muted.trade_reads == reads_before


async def test_a_report_whose_trades_came_first_reads_nothing(
    still_desk: OrderDesk, muted: FakeBroker, counting: CountingStore
) -> None:
    """When the stream delivers the trades before the report that shows them (as the Kite
    adapter does), the report finds them recorded and the broker is not read again."""
    (handle,) = await resting(still_desk, 1)
    (broker_id,) = handle.broker_order_ids
    fill = muted.fill(broker_id, 6)
    reads_before = muted.trade_reads
    await still_desk.news.put(fill)
    await still_desk.news.put(muted.report(broker_id))
    await still_desk.idle()
    assert muted.trade_reads == reads_before
    assert handle.status is OrderStatus.PARTIALLY_FILLED
    assert handle.order.fill_quantity == 6
    assert [(f, s) for _, f, s in changes(counting, handle.order_id)] == [(6, "PARTIALLY_FILLED")]


async def test_the_stream_waits_while_too_many_updates_are_queued(
    muted: FakeBroker, counting: CountingStore
) -> None:
    """Past the queue's bound, putting waits (the stream is read no faster than updates are
    recorded) and goes on, losing nothing, once the queue drains."""
    config = replace(STILL, max_queued_news=2)
    async with OrderDesk(
        muted, counting, notifier=RecordingNotifier(), config=config, limits=RiskLimits()
    ) as desk:
        still_desk = await settled(desk)
        await _backpressure(still_desk, muted)


async def _backpressure(still_desk: OrderDesk, muted: FakeBroker) -> None:
    (handle,) = await resting(still_desk, 1)
    (broker_id,) = handle.broker_order_ids
    reports = [muted.report(broker_id)]
    for _ in range(3):
        muted.fill(broker_id, 1)
        reports.append(muted.report(broker_id))
    lock = still_desk.recorder.lock(handle.order_id)
    await lock.acquire()  # the first update goes out and waits; the next two fill the queue
    try:
        for report in reports[:3]:
            await still_desk.news.put(report)
        blocked = asyncio.get_running_loop().create_task(still_desk.news.put(reports[3]))
        for _ in range(20):  # let every runnable callback run: the dispatch must still wait
            await asyncio.sleep(0)
        assert not blocked.done()
    finally:
        lock.release()
    await blocked
    await still_desk.idle()
    assert handle.filled_quantity == 3
    assert handle.order.fill_quantity == 3
