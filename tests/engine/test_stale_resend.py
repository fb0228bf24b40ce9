"""A placement proven absent is sent again only while its intent is fresh: within
``resend_within`` of its ``OrderCreated``, in its own trading day and, intraday, before the
broker's square-off. Older, it is given up as not placed (REJECTED, alerted); the late-order
window still watches for it first, and one that landed is bound, never sent."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import date, datetime

from orderdesk.domain import OrderStatus, Product
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.events import DayOpened, Doubt, OrderSubmitUnknown
from orderdesk.domain.ids import client_order_id
from orderdesk.domain.order import Order
from orderdesk.domain.signal import Signal
from orderdesk.engine import DeskConfig, OrderDesk
from orderdesk.engine.config import DayRules
from orderdesk.errors import BrokerUnavailable
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import WallClock, eventually

MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
FRESH = replace(FAST, resend_within=60.0)
"""The default bound (FAST's timings shrink the waits, not the bound)."""
DAYS = replace(FRESH, days=DayRules(calendar=TradingCalendar(frozenset())))


def ist(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=IST)


def interrupted(store: MemoryStore, s: Signal, at: datetime) -> str:
    """Log an intent made at ``at`` and its send, as the desk does before calling the broker,
    then nothing: the process died before the broker's answer was recorded."""
    order_id = client_order_id(s.strategy, s.signal_id)
    created = Order.create(order_id, s, at)
    store.append([created, *Order.from_events([created]).submit(at)])
    return order_id


def desk_at(
    broker: FakeBroker,
    store: MemoryStore,
    notifier: RecordingNotifier,
    clock: WallClock,
    config: DeskConfig = FRESH,
) -> OrderDesk:
    return OrderDesk(broker, store, notifier=notifier, clock=clock, config=config)


def given_up(desk: OrderDesk, order_id: str) -> bool:
    return desk.order(order_id).status is OrderStatus.REJECTED


async def test_an_interrupted_intent_hours_old_is_not_sent_again(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A MARKET buy of 10:00 whose send a crash cut, restarted at 14:00 and absent from the
    book: watched for the window, then REJECTED as not placed, 240 minutes old, never sent."""
    s = signal(signal_id="ten", product=Product.CNC)
    order_id = interrupted(store, s, ist(MONDAY, 10, 0))
    clock = WallClock(ist(MONDAY, 14, 0))
    async with desk_at(broker, store, notifier, clock) as desk:
        await eventually(lambda: given_up(desk, order_id), what="given up")
        order = desk.order(order_id)
    assert broker.placements == []
    assert order.reason is not None
    assert order.reason.startswith("not placed:")
    assert "within 0.02 s" in order.reason  # the late-order window was watched first
    assert "not sent again, as its intent was 240 minutes old" in order.reason
    assert "resend_within_seconds" in order.reason
    (alert,) = [a for a in notifier.alerts if a.title == "Order not placed"]
    assert order.reason in alert.body
    assert "the desk stopped before the broker's answer was recorded" in alert.body
    assert store.types(order_id)[-2:] == ["OrderSubmitUnknown", "OrderSubmitRejected"]
    assert order.given_up  # should it show at the broker after all, it is taken back


async def test_an_interrupted_intent_still_fresh_is_sent_again(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Restarted 20 s after the intent, absent for the window: sent again under its id."""
    s = signal(signal_id="fresh", product=Product.CNC)
    order_id = interrupted(store, s, ist(MONDAY, 10, 0))
    clock = WallClock(ist(MONDAY, 10, 0, 20))
    async with desk_at(broker, store, notifier, clock) as desk:
        await eventually(lambda: desk.order(order_id).status is OrderStatus.FILLED)
    assert [p.client_order_id for p in broker.placements] == [order_id]
    assert "Order not placed" not in notifier.titles()


async def test_a_stale_intent_that_landed_is_bound_not_given_up(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Hours old, but the broker did take it before the crash: the book shows it, so it is the
    desk's order, bound and filled; nothing is sent, nothing given up."""
    s = signal(signal_id="landed", product=Product.CNC)
    order_id = interrupted(store, s, ist(MONDAY, 10, 0))
    broker.create(s, tag=order_id)
    clock = WallClock(ist(MONDAY, 14, 0))
    async with desk_at(broker, store, notifier, clock) as desk:
        await eventually(lambda: desk.order(order_id).status is OrderStatus.FILLED)
    assert broker.placements == []
    assert "Order not placed" not in notifier.titles()


async def test_a_request_that_never_left_is_not_sent_again_once_stale(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Any re-send after proven absence is bounded, a connection refused included: one left
    unresolved for hours (the book was unreadable meanwhile) is given up, with no window said."""
    s = signal(signal_id="refused", product=Product.CNC)
    order_id = interrupted(store, s, ist(MONDAY, 10, 0))
    store.append(
        [
            OrderSubmitUnknown(
                at=ist(MONDAY, 10, 0),
                order_id=order_id,
                reason="no connection could be opened",
                doubt=Doubt.NO_ANSWER,
            )
        ]
    )
    clock = WallClock(ist(MONDAY, 11, 30))
    async with desk_at(broker, store, notifier, clock) as desk:
        await eventually(lambda: given_up(desk, order_id), what="given up")
        reason = desk.order(order_id).reason
    assert broker.placements == []
    assert reason == (
        "not placed: the broker's order book did not show it; not sent again, as its intent "
        "was 90 minutes old (a placement is sent again only within 60 s of its intent: "
        "[engine] resend_within_seconds)"
    )


async def test_an_intraday_intent_is_not_sent_again_past_the_square_off(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """An MIS buy made at 15:19:40, its send cut, restarted at 15:20:10: 30 s old, fresh, but
    the broker refuses fresh MIS orders after its 15:20 square-off, so it is not sent."""
    store.append([DayOpened(at=ist(MONDAY, 9, 0), day=MONDAY)])
    s = signal(signal_id="mis", product=Product.MIS)
    order_id = interrupted(store, s, ist(MONDAY, 15, 19, 40))
    clock = WallClock(ist(MONDAY, 15, 20, 10))
    async with desk_at(broker, store, notifier, clock, DAYS) as desk:
        await eventually(lambda: given_up(desk, order_id), what="given up")
        reason = desk.order(order_id).reason
    assert broker.placements == []
    assert reason is not None
    assert reason.endswith(
        "not sent again, as MIS orders are refused after the broker's square-off at "
        "15:20 IST (equity)"
    )


async def test_a_delivery_intent_before_the_square_off_is_still_sent_again(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The square-off binds intraday orders only: a CNC buy cut at the same moment goes."""
    store.append([DayOpened(at=ist(MONDAY, 9, 0), day=MONDAY)])
    s = signal(signal_id="cnc", product=Product.CNC)
    order_id = interrupted(store, s, ist(MONDAY, 15, 19, 40))
    clock = WallClock(ist(MONDAY, 15, 20, 10))
    async with desk_at(broker, store, notifier, clock, DAYS) as desk:
        await eventually(lambda: desk.order(order_id).status is OrderStatus.FILLED)
    assert [p.client_order_id for p in broker.placements] == [order_id]


async def test_an_intent_of_an_earlier_day_lapses_when_the_next_day_opens(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Monday's interrupted intent, the desk restarted Tuesday: the opening finds it nowhere in
    the broker's book and lapses it before any resolver runs, so it is never sent."""
    store.append([DayOpened(at=ist(MONDAY, 9, 0), day=MONDAY)])
    s = signal(signal_id="monday", product=Product.CNC)
    order_id = interrupted(store, s, ist(MONDAY, 11, 0))
    clock = WallClock(ist(TUESDAY, 9, 30))
    async with desk_at(broker, store, notifier, clock, DAYS) as desk:
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        assert desk.order(order_id).status is OrderStatus.LAPSED
    assert broker.placements == []


async def test_an_intent_of_an_earlier_day_is_not_sent_while_the_next_day_cannot_open(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Made at 05:59:40 (still Monday's trading day, which ends at 06:00), restarted at
    06:00:10 with the broker's positions unreadable, so Tuesday cannot open to lapse it: a
    reconciliation's resolver finds it absent, 30 s old, and still does not send it."""
    store.append([DayOpened(at=ist(MONDAY, 9, 0), day=MONDAY)])
    s = signal(signal_id="night", product=Product.CNC)
    order_id = interrupted(store, s, ist(TUESDAY, 5, 59, 40))
    broker.positions_fail = 1_000_000
    clock = WallClock(ist(TUESDAY, 6, 0, 10))
    async with desk_at(broker, store, notifier, clock, DAYS) as desk:
        assert desk.trading_day == MONDAY
        with contextlib.suppress(BrokerUnavailable):
            await desk.reconcile()  # the timer's, which runs whether the day opened or not
        await eventually(lambda: given_up(desk, order_id), what="given up")
        reason = desk.order(order_id).reason
    assert broker.placements == []
    assert reason is not None
    assert reason.endswith(
        "not sent again, as it was made for trading day 2026-12-07, which is over"
    )
