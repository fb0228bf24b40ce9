"""Reconciliation over a broker whose stream polls (``DelayedStream``) and whose books carry no
times: the age of what it finds is reckoned from the desk's last word on the order. News younger
than the stream's delay is recorded without a mismatch; older news is a missed fill still."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.calendar import IST
from orderdesk.engine import OrderDesk
from orderdesk.engine.handle import OrderHandle
from orderdesk.ports.broker import stream_delay
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import WallClock

DELAY = 10.0
MISSED = {"status", "missed_fill"}


@dataclass
class PollingFake(FakeBroker):
    """The fake broker, its stream as late as a poll's (``DelayedStream``)."""

    def stream_delay(self) -> float:
        return DELAY


@pytest.fixture
def clock() -> WallClock:
    """Still unless a test moves it, so the desk never looks at the books of itself."""
    return WallClock(datetime(2026, 12, 7, 11, 0, tzinfo=IST))


@pytest.fixture
async def desk(clock: WallClock) -> AsyncIterator[tuple[OrderDesk, PollingFake]]:
    broker = PollingFake()
    async with OrderDesk(
        broker, MemoryStore(), notifier=RecordingNotifier(), config=FAST, clock=clock
    ) as running:
        yield running, broker


async def filled_untimed(desk: OrderDesk, broker: PollingFake) -> OrderHandle:
    """A resting order the stream told open, then filled at the broker unseen: its book row
    and its trade carry no time."""
    resting = await desk.submit(signal(order_type=OrderType.LIMIT, price=Decimal("1490")))
    await resting.wait(lambda h: h.status is OrderStatus.OPEN)
    broker.stream_muted = True
    fill = broker.fill(resting.broker_order_ids[0])
    broker.trade_book[broker.trade_book.index(fill)] = replace(fill, filled_at=None)
    return resting


async def test_untimed_news_within_the_delay_of_the_last_word_is_not_missed(
    desk: tuple[OrderDesk, PollingFake],
) -> None:
    running, broker = desk
    resting = await filled_untimed(running, broker)
    report = await running.reconcile()
    assert not {row.kind for row in report.rows} & MISSED, report.rows
    assert resting.status is OrderStatus.FILLED


async def test_untimed_news_older_than_the_delay_is_missed(
    desk: tuple[OrderDesk, PollingFake], clock: WallClock
) -> None:
    running, broker = desk
    resting = await filled_untimed(running, broker)
    clock.at += timedelta(seconds=stream_delay(broker) + 1)
    report = await running.reconcile()
    assert {row.kind for row in report.rows} >= MISSED, report.rows
    assert resting.status is OrderStatus.FILLED
