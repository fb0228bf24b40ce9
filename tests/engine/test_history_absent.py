"""A new signal's id is looked for in the log once: the API asks whether the signal was sent
before, then the desk whether to place it, and the second answer is the first one's. The
remembered absence lasts only while the book holds its day: an id that got its order today is
still found once that day is past."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from orderdesk.domain.calendar import IST
from orderdesk.domain.events import DayClosed
from orderdesk.domain.ids import client_order_id
from orderdesk.engine import OrderDesk
from orderdesk.engine.book import OrderBook
from orderdesk.engine.errors import OrderNotFound
from orderdesk.engine.history import DayHistory
from tests.engine.fakes import RecordingNotifier, signal
from tests.engine.test_amo_open import AmoBroker
from tests.engine.test_days import MONDAY, TUESDAY, events_of, open_desk
from tests.engine.test_history_carried_orders import ReadCounting
from tests.support import WallClock, eventually


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


@pytest.fixture
def store() -> ReadCounting:
    return ReadCounting()


@pytest.fixture
def broker() -> AmoBroker:
    return AmoBroker()


@pytest.fixture
async def desk(
    broker: AmoBroker, store: ReadCounting, clock: WallClock
) -> AsyncIterator[OrderDesk]:
    async with open_desk(broker, store, clock, RecordingNotifier()) as running:
        yield running


def stream_reads(store: ReadCounting, order_id: str) -> int:
    return sum(1 for where in store.reads if where.get("stream") == order_id)


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


def test_without_a_book_an_absence_is_read_each_time() -> None:
    """A reader of the log alone (``orderdesk days``, a restart's history) cannot know when
    an order is created, so it remembers no absence."""
    log = ReadCounting()
    history = DayHistory(log)
    assert history.order("od1") is None
    assert history.order("od1") is None
    assert stream_reads(log, "od1") == 2


def test_a_started_day_forgets_the_absences_of_the_one_before() -> None:
    log = ReadCounting()
    book = OrderBook()
    history = DayHistory(log, book)
    assert history.order("od1") is None
    assert history.order("od1") is None
    assert stream_reads(log, "od1") == 1
    book.days_started += 1  # what OrderBook.start_day counts
    assert history.order("od1") is None
    assert stream_reads(log, "od1") == 2
