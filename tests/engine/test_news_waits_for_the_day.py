"""Broker news of a new trading day is that day's: an evening AMO released and filled at the
09:15 open before the person logs in (09:20) is the new day's order, with its fill and its
position, whichever way the fill comes: by postback before the login, on the stream the login
reconnects (its gap-fill), by a poll while the day is being opened, or when the desk itself is
started after the open. Each race is made certain: the broker's positions read, one of the
reads that open the day, brings the fill and lets the desk take it before it answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.domain import OrderStatus, OrderType, Product
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.events import DayClosed, DayOpened, OrderEvent, recorded_fills
from orderdesk.domain.reports import PositionReport
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import Variety
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import DayRules
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import (
    INFY,
    AmoHoldingBroker,
    ExpiringBroker,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.support import WallClock, eventually

MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
DAYS = replace(FAST, days=DayRules(calendar=TradingCalendar(frozenset())))
AMO = signal(
    order_type=OrderType.LIMIT,
    price=Decimal("1400"),
    product=Product.CNC,
    variety=Variety.AMO,
    signal_id="evening-amo",
)


class MorningBroker(ExpiringBroker, AmoHoldingBroker):
    """Kite's night and morning: sessions end at 06:00 IST; an AMO waits at the broker (``AMO
    REQ RECEIVED``, nothing pushed) through the night's change of books; a new session
    reconnects the stream (``reconnects``), whose connection starts the desk's gap-fill; and
    the next read of the positions first runs what the test gave it (``during_positions``)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.reconnects = True
        self.during_positions: list[Callable[[], Awaitable[None]]] = []

    def next_day(self) -> None:
        """The broker's morning, its AMOs still waiting for the open."""
        waiting = {
            broker_order_id: entry
            for broker_order_id, entry in self.book.items()
            if entry.report.status is BrokerStatus.RECEIVED
        }
        super().next_day()
        self.book.update(waiting)

    async def renew_session(self, credentials: str) -> None:
        await super().renew_session(credentials)
        if self.reconnects:
            self.reconnect()

    async def positions(self) -> list[PositionReport]:
        hooks, self.during_positions = self.during_positions, []
        for hook in hooks:
            await hook()
        return await super().positions()


def open_desk(broker: FakeBroker, store: MemoryStore, clock: WallClock, **kw: Any) -> OrderDesk:
    return OrderDesk(broker, store, clock=clock, config=DAYS, limits=RiskLimits(), **kw)


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


@pytest.fixture
def broker() -> MorningBroker:
    return MorningBroker()


@pytest.fixture
async def desk(
    broker: MorningBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> AsyncIterator[OrderDesk]:
    async with open_desk(broker, store, clock, notifier=notifier) as running:
        yield running


async def amo_after_the_close(desk: OrderDesk, broker: MorningBroker, clock: WallClock) -> str:
    """Monday closes; at 20:00 the AMO is placed and held by the broker (ACCEPTED). Returns
    its order id."""
    clock.set(MONDAY, 20, 0)
    await eventually(lambda: desk.days and desk.days.state.closed, what="Monday closed")
    handle = await desk.submit(AMO)
    await handle.wait(lambda h: h.status is OrderStatus.ACCEPTED, timeout=5)
    return handle.order_id


async def tuesday_before_the_login(
    desk: OrderDesk, broker: MorningBroker, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Tuesday 09:20: the books changed overnight, the token died at 06:00 (the stream with
    it), and nobody has logged in yet."""
    broker.next_day()
    clock.set(TUESDAY, 9, 20)
    await eventually(
        lambda: "Broker session ended" in notifier.titles(Severity.CRITICAL),
        what="the session's end seen",
    )
    broker.token_dead = True
    broker.disconnect()


def released_and_filled(broker: MorningBroker, order_id: str) -> None:
    """The exchange's open: the AMO fills at the broker (pushed, unless the stream is muted)."""
    (broker_order_id,) = [b for b, entry in broker.book.items() if entry.report.tag == order_id]
    broker.fill(broker_order_id)


async def taken(desk: OrderDesk, order_id: str) -> None:
    """The desk has taken the fill's news: recorded (the AMO FILLED), or waiting for its day."""
    await eventually(
        # (``held`` is how the desk says news waits for its day: absent before it did.)
        lambda: desk.order(order_id).status is OrderStatus.FILLED or getattr(desk.news, "held", 0),
        what="the fill's news taken",
    )


def log_position(store: MemoryStore, order_id: str) -> tuple[int, int]:
    """Where Tuesday's DayOpened and the AMO's fill are in the log."""
    events = store.events()
    opened = next(i for i, e in enumerate(events) if isinstance(e, DayOpened) and e.day == TUESDAY)
    filled = next(
        i
        for i, e in enumerate(events)
        if isinstance(e, OrderEvent) and e.order_id == order_id and recorded_fills(e)
    )
    return opened, filled


async def assert_tuesdays(desk: OrderDesk, store: MemoryStore, order_id: str) -> None:
    """Tuesday's book holds the AMO with its fill and its position, the log has the fill after
    Tuesday's DayOpened, and the broker agrees."""
    await desk.idle()
    assert desk.trading_day == TUESDAY
    assert [(o.order_id, o.status, o.filled_quantity, len(o.fills)) for o in desk.orders()] == [
        (order_id, OrderStatus.FILLED, 10, 1)
    ]
    assert desk.position(INFY, Product.CNC).quantity == 10
    assert [o.order_id for o in desk.day_orders(TUESDAY)] == [order_id]
    opened, filled = log_position(store, order_id)
    assert opened < filled
    report = await desk.reconcile()
    assert report.ok, report.rows


async def test_a_fill_on_the_logins_stream_while_the_day_opens_is_the_new_days(
    desk: OrderDesk,
    broker: MorningBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
) -> None:
    """The login at 09:20 reconnects the stream; the AMO's fill comes on it while the desk
    reads the broker's books to open Tuesday: it is recorded after Tuesday's DayOpened, and
    Tuesday's orders, fills and positions hold it, after a restart too."""
    order_id = await amo_after_the_close(desk, broker, clock)
    await tuesday_before_the_login(desk, broker, clock, notifier)

    async def fill_while_opening() -> None:
        released_and_filled(broker, order_id)
        await taken(desk, order_id)

    broker.during_positions.append(fill_while_opening)
    await desk.renew_session("fresh")
    assert not broker.during_positions  # the opening read the positions
    await assert_tuesdays(desk, store, order_id)
    await desk.close()
    async with open_desk(broker, store, clock) as again:
        await assert_tuesdays(again, store, order_id)


async def test_a_fill_pushed_before_the_login_waits_for_the_new_day(
    desk: OrderDesk,
    broker: MorningBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
) -> None:
    """At 09:15 the broker pushes the AMO's fill (a postback needs no session) while the desk
    has no session and Monday is still its day: the news waits, and the login's opening of
    Tuesday carries the AMO, which then fills in Tuesday's book."""
    order_id = await amo_after_the_close(desk, broker, clock)
    await tuesday_before_the_login(desk, broker, clock, notifier)
    released_and_filled(broker, order_id)
    await taken(desk, order_id)
    assert desk.trading_day == MONDAY
    await desk.renew_session("fresh")
    await assert_tuesdays(desk, store, order_id)


async def test_a_fill_a_poll_reads_while_the_day_opens_is_the_new_days(
    desk: OrderDesk,
    broker: MorningBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
) -> None:
    """No stream after the login (it stays down): the desk polls the order book, and a poll
    while Tuesday is being opened finds the AMO filled; the fill is Tuesday's all the same."""
    order_id = await amo_after_the_close(desk, broker, clock)
    await tuesday_before_the_login(desk, broker, clock, notifier)
    broker.reconnects = False
    broker.stream_muted = True

    async def fill_while_opening() -> None:
        released_and_filled(broker, order_id)
        await taken(desk, order_id)

    broker.during_positions.append(fill_while_opening)
    await desk.renew_session("fresh")
    assert not broker.during_positions
    await assert_tuesdays(desk, store, order_id)


async def test_a_desk_started_after_the_open_opens_the_day_before_its_news(
    broker: MorningBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """The desk stopped on Monday evening and started at 09:20 on Tuesday with the morning's
    token: its stream (started first) and its catch-up bring the AMO's fill while the day
    opens; the fill is Tuesday's, and Monday's close is untouched."""
    async with open_desk(broker, store, clock, notifier=notifier) as monday:
        order_id = await amo_after_the_close(monday, broker, clock)
    broker.next_day()
    clock.set(TUESDAY, 9, 20)
    tuesday = open_desk(broker, store, clock, notifier=notifier)

    async def fill_while_opening() -> None:
        released_and_filled(broker, order_id)
        await taken(tuesday, order_id)

    broker.during_positions.append(fill_while_opening)
    async with tuesday:
        assert not broker.during_positions
        await assert_tuesdays(tuesday, store, order_id)
    (closed,) = [e for e in store.events() if isinstance(e, DayClosed)]
    assert (closed.day, closed.fills) == (MONDAY, 0)
