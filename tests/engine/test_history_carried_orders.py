"""Orders carried into a trading day, read back once the day is past: an evening AMO placed
after Monday's close and filled at Tuesday's open is one of Tuesday's orders, with its fill,
as it was while Tuesday was live, and Monday's no longer (placed after Monday's close for
Tuesday's session, it was listed under both); and
reading a day back reads that day's stretch of the log and the carried orders' own histories,
never the whole log. A new signal's id is looked for in the log once, and an id absent before
its order was placed is found once its day is past."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest

from orderdesk.domain import OrderStatus
from orderdesk.domain.calendar import IST
from orderdesk.domain.events import DayClosed, DayOpened
from orderdesk.domain.ids import client_order_id
from orderdesk.engine import OrderDesk
from orderdesk.engine.errors import OrderNotFound
from orderdesk.engine.history import DayHistory, PastDay
from orderdesk.ports.store import StoredEvent
from tests.engine.fakes import MemoryStore, RecordingNotifier, signal
from tests.engine.test_amo_open import AMO, AmoBroker
from tests.engine.test_days import MONDAY, TUESDAY, events_of, open_desk
from tests.support import WallClock, eventually

WEDNESDAY = date(2026, 12, 9)
THURSDAY = date(2026, 12, 10)


@dataclass(frozen=True)
class Week:
    """What :func:`amo_carried_into_tuesday` did: Monday's day order and the evening AMO."""

    monday_order: str
    amo: str


class ReadCounting(MemoryStore):
    """Remembers how each read was bounded (what a reader of the log asks of its indexes)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[dict[str, Any]] = []

    def read(self, **where: Any) -> Iterator[StoredEvent]:
        self.reads.append(where)
        return super().read(**where)


def stream_reads(store: ReadCounting, order_id: str) -> int:
    """How many reads of the log asked for ``order_id``'s stream."""
    return sum(1 for where in store.reads if where.get("stream") == order_id)


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


@pytest.fixture
def broker() -> AmoBroker:
    return AmoBroker()


@pytest.fixture
def store() -> ReadCounting:
    return ReadCounting()


@pytest.fixture
async def desk(
    broker: AmoBroker, store: ReadCounting, clock: WallClock
) -> AsyncIterator[OrderDesk]:
    async with open_desk(broker, store, clock, RecordingNotifier()) as running:
        yield running


async def amo_carried_into_tuesday(
    desk: OrderDesk, broker: AmoBroker, store: MemoryStore, clock: WallClock
) -> Week:
    """Monday: a day order filled, the close, then at 16:30 an AMO buy the broker holds for the
    next session (ACCEPTED). Tuesday: the day opens carrying the AMO, which fills at 09:15.
    The desk is left on Tuesday, still live."""
    day_order = await desk.submit(signal(signal_id="mon-day"))
    await day_order.wait()
    clock.set(MONDAY, 16, 20)
    await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
    clock.set(MONDAY, 16, 30)
    amo = await desk.submit(signal(**AMO, signal_id="mon-evening-amo"))
    await eventually(lambda: amo.order.broker_order_id, what="the AMO bound")
    assert amo.status is OrderStatus.ACCEPTED
    broker_order_id = amo.order.broker_order_id
    assert broker_order_id is not None

    held = broker.book[broker_order_id]
    broker.next_day()
    broker.book[broker_order_id] = held  # the broker keeps an AMO for its session
    clock.set(TUESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    assert events_of(store, DayOpened)[-1].carried_orders == (amo.order_id,)
    clock.set(TUESDAY, 9, 15)
    broker.release(amo)
    broker.fill(broker_order_id)
    await amo.wait(lambda h: h.status is OrderStatus.FILLED)
    return Week(day_order.order_id, amo.order_id)


async def on_to_wednesday(
    desk: OrderDesk, broker: AmoBroker, store: MemoryStore, clock: WallClock
) -> None:
    """Tuesday closes and Wednesday opens: Tuesday is read back from the log from now on."""
    clock.set(TUESDAY, 16, 20)
    await eventually(lambda: len(events_of(store, DayClosed)) == 2, what="Tuesday closed")
    broker.next_day()
    clock.set(WEDNESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == WEDNESDAY, what="Wednesday opened")


def past(history: DayHistory, day: date) -> PastDay:
    found = history.day(day)
    assert found is not None
    return found


def shown(history: DayHistory, day: date) -> list[tuple[str, OrderStatus, int, int]]:
    """Each of the day's orders read back: id, status, filled quantity, fills."""
    return [
        (o.order_id, o.status, o.filled_quantity, len(o.fills))
        for o in history.orders(past(history, day))
    ]


async def test_an_amo_carried_into_a_day_is_that_days_order_once_the_day_is_past(
    desk: OrderDesk, broker: AmoBroker, store: ReadCounting, clock: WallClock
) -> None:
    """Read back on Wednesday by a fresh reader of the log (as after a restart), Tuesday's
    orders are what Tuesday's live book held, the carried AMO filled with its one fill; its
    count agrees; Monday shows its own order alone, and counts it alone."""
    week = await amo_carried_into_tuesday(desk, broker, store, clock)
    live = [(o.order_id, o.status, o.filled_quantity, len(o.fills)) for o in desk.orders()]
    assert live == [(week.amo, OrderStatus.FILLED, 10, 1)]
    await on_to_wednesday(desk, broker, store, clock)

    restarted = DayHistory(store, calendar=desk.config.days.calendar if desk.config.days else None)
    for history in (desk.history, restarted):  # the desk's own, and a restart's
        assert shown(history, TUESDAY) == live
        assert history.order_count(past(history, TUESDAY)) == 1
        assert shown(history, MONDAY) == [(week.monday_order, OrderStatus.FILLED, 10, 1)]
        assert history.order_count(past(history, MONDAY)) == 1
    assert {o.order_id for o in desk.day_orders(TUESDAY)} == {week.amo}
    assert desk.past_orders({TUESDAY})[TUESDAY][0].fills == desk.order(week.amo).fills


async def test_reading_a_day_back_reads_its_stretch_and_its_carried_orders_only(
    desk: OrderDesk, broker: AmoBroker, store: ReadCounting, clock: WallClock
) -> None:
    """Tuesday read back is one read of its own stretch of the log, between its checkpoint and
    Wednesday's, and one of the carried AMO's history before Tuesday's checkpoint: the cost is
    the day's, whatever the log holds before it."""
    week = await amo_carried_into_tuesday(desk, broker, store, clock)
    await on_to_wednesday(desk, broker, store, clock)
    tuesday = past(DayHistory(store), TUESDAY)
    store.reads.clear()

    orders = DayHistory(store).orders(tuesday)

    assert [o.order_id for o in orders] == [week.amo]
    assert tuesday.end_seq is not None
    assert sorted(store.reads, key=lambda where: "stream" in where) == [
        {"after": tuesday.first_seq, "before": tuesday.end_seq},
        {"stream": week.amo, "before": tuesday.first_seq},
    ]


async def test_an_order_carried_through_several_days_is_each_days_order(
    desk: OrderDesk, broker: AmoBroker, store: ReadCounting, clock: WallClock
) -> None:
    """An order the broker keeps working across days (placed Monday evening, carried into
    Tuesday unfilled, then into Wednesday, where it fills) is one of each day's orders, as each
    day's end left it, and each day's count says so."""
    clock.set(MONDAY, 16, 20)
    await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
    clock.set(MONDAY, 16, 30)
    kept = await desk.submit(signal(**AMO, signal_id="kept"))
    await eventually(lambda: kept.order.broker_order_id, what="bound")
    broker_order_id = kept.order.broker_order_id
    assert broker_order_id is not None

    async def next_morning(day: date) -> None:
        held = broker.book[broker_order_id]
        broker.next_day()
        broker.book[broker_order_id] = held
        clock.set(day, 9, 0)
        await eventually(lambda: desk.trading_day == day, what=f"{day} opened")

    await next_morning(TUESDAY)
    clock.set(TUESDAY, 16, 20)
    await eventually(lambda: len(events_of(store, DayClosed)) == 2, what="Tuesday closed")
    await next_morning(WEDNESDAY)
    broker.release(kept)
    broker.fill(broker_order_id)
    await kept.wait(lambda h: h.status is OrderStatus.FILLED)
    clock.set(WEDNESDAY, 16, 20)
    await eventually(lambda: len(events_of(store, DayClosed)) == 3, what="Wednesday closed")
    await next_morning(THURSDAY)

    history = DayHistory(store)
    waiting = [(kept.order_id, OrderStatus.ACCEPTED, 0, 0)]
    assert shown(history, MONDAY) == shown(history, TUESDAY) == waiting
    assert shown(history, WEDNESDAY) == [(kept.order_id, OrderStatus.FILLED, 10, 1)]
    assert [history.order_count(past(history, day)) for day in (MONDAY, TUESDAY, WEDNESDAY)] == [
        1,
        1,
        1,
    ]


async def test_a_new_signal_reads_the_log_for_its_id_once(
    desk: OrderDesk, store: ReadCounting
) -> None:
    sent = signal(signal_id="fresh-1")
    order_id = client_order_id(sent.strategy, "fresh-1")
    with pytest.raises(OrderNotFound):
        desk.order(order_id)  # the API: was it sent before?
    handle = await desk.submit(sent)  # the desk: place it, or answer with an earlier one?
    await handle.wait()
    assert handle.order_id == order_id
    assert stream_reads(store, order_id) == 1


async def test_an_id_absent_before_its_order_is_found_once_its_day_is_past(
    desk: OrderDesk, broker: AmoBroker, store: ReadCounting, clock: WallClock
) -> None:
    """Monday: the id is asked for before its signal comes (absent), then placed. Tuesday:
    the same id is Monday's order, read back from the log, and sending the signal again
    answers with it rather than placing a second order."""
    sent = signal(signal_id="monday-1")
    order_id = client_order_id(sent.strategy, "monday-1")
    with pytest.raises(OrderNotFound):
        desk.order(order_id)
    placed = await desk.submit(sent)
    await placed.wait()
    clock.set(MONDAY, 16, 20)
    await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
    broker.next_day()
    clock.set(TUESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    assert order_id not in desk.book.orders  # today's book holds Tuesday only

    assert desk.order(order_id).order_id == order_id
    again = await desk.submit(sent)
    assert again.order_id == order_id
    assert len(broker.placements) == 1
