"""A closed day reads as its close recorded it: the live positions (``day_positions``) of a day
whose ``DayClosed`` is in the log are that close's, in the process that closed it and in one
started later, before the next morning's login, which has seen no price of the day. A position
the desk has no price for says its P&L is an estimate instead of counting it as 0.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.domain import Product, Side
from orderdesk.domain.calendar import IST
from orderdesk.domain.events import DayClosed
from orderdesk.domain.signal import Signal
from orderdesk.engine import RiskLimits
from orderdesk.engine.config import LossLimitAction
from orderdesk.ports.notifier import Severity
from tests.engine.fakes import INFY, NIFTY_FUT, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.engine.test_days import DAYS, MONDAY, TUESDAY, events_of, open_desk
from tests.engine.test_late_close import a_monday_stopped_at_three
from tests.support import WallClock, eventually


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


def carried_future(**overrides: Any) -> Signal:
    """A buy of one lot of NIFTY futures (75 at 24000) in NRML: a position carried overnight
    (Kite has no NRML for stock)."""
    fields: dict[str, Any] = {"instrument": NIFTY_FUT, "quantity": 75, "product": Product.NRML}
    return signal(**fields | overrides)


async def a_closed_monday(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> DayClosed:
    """Monday: 75 INFY MIS bought at 1500 and sold at 1495 (realised 75 x -5 = -375), 75
    NIFTY futures NRML bought at 24000 and last at 23990 (unrealised 75 x -10 = -750); closed
    at 16:20 while the desk ran, then the desk stopped. Returns the close."""
    async with open_desk(broker, store, clock, notifier) as desk:
        for n, (instrument, quantity, product) in enumerate(
            [(INFY, 75, Product.MIS), (NIFTY_FUT, 75, Product.NRML)]
        ):
            bought = await desk.submit(
                signal(signal_id=f"b{n}", instrument=instrument, quantity=quantity, product=product)
            )
            await bought.wait()
        broker.tick(INFY, Decimal("1495"))
        broker.tick(NIFTY_FUT, Decimal("23990"))
        await eventually(lambda: desk.day_pnl() == -375 - 750, what="the desk marked them")
        sold = await desk.submit(
            signal(
                signal_id="s0",
                instrument=INFY,
                side=Side.SELL,
                quantity=75,
                product=Product.MIS,
            )
        )
        await sold.wait()
        clock.set(MONDAY, 16, 20)
        (closed,) = await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
    broker.stream_muted = True  # no desk listens until the next start
    return closed


async def test_a_closed_day_reads_as_its_close_after_a_restart_before_the_login(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Restarted on Tuesday at 08:00 with Monday's dead token, the desk still has Monday open
    and closed: its positions are the close's, the carried NRML line at its closing price and
    loss, the total the close's P&L, not the realised part alone."""
    closed = await a_closed_monday(broker, store, clock, notifier)
    assert (closed.realised, closed.pnl) == (-375, -1125)  # -375 realised, -750 carried
    broker.next_day()
    broker.prices[NIFTY_FUT] = Decimal("24200")  # Tuesday's, never the desk's for Monday
    broker.token_dead = True
    clock.set(TUESDAY, 8, 0)
    broker.stream_muted = False
    async with open_desk(broker, store, clock, notifier) as desk:
        await eventually(
            lambda: "Broker session ended" in notifier.titles(Severity.CRITICAL),
            what="Tuesday's opening refused",
        )
        assert desk.trading_day == MONDAY
        lines = desk.day_positions()
        carried = next(p for p in lines if p.instrument == NIFTY_FUT)
        assert (carried.quantity, carried.last_price, carried.unrealised) == (75, 23990, -750)
        assert sum((p.pnl for p in lines), Decimal(0)) == closed.pnl == -1125
        assert lines == list(closed.positions)
        assert not any(p.estimated for p in lines)


async def test_the_evening_ticks_do_not_move_a_closed_day(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """In the process that closed Monday, a price that arrives in the evening marks the book
    but not Monday's figures, the strategies' included: they stay the close's."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await (await desk.submit(carried_future())).wait()
        broker.tick(NIFTY_FUT, Decimal("23990"))  # 75 x -10
        await eventually(lambda: desk.day_pnl() == -750, what="the desk marked the future")
        clock.set(MONDAY, 16, 20)
        (closed,) = await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
        clock.set(MONDAY, 18, 0)
        broker.tick(NIFTY_FUT, Decimal("24200"))  # would read 75 x +200 = +15,000
        await eventually(
            lambda: desk.book.last_prices.get(NIFTY_FUT) == 24200, what="the evening's tick marked"
        )
        assert sum((p.pnl for p in desk.day_positions()), Decimal(0)) == closed.pnl == -750
        assert desk.day_positions() == list(closed.positions)
        assert desk.day_pnl() == -750
        # The strategies' books too (the dashboard's chart and panel moved with the evening
        # while the day's total stood, and the chart kept those points in the day's file).
        assert sum(book.pnl for book in desk.strategy_books().values()) == -750


async def test_a_closed_days_loss_limit_is_not_reached_by_the_next_mornings_prices(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Between 06:00 and the login Monday is still the open day, closed; Tuesday's prices
    marked its raw book and passed the loss limit: a critical alarm (and, with
    ``on_daily_loss``, the kill switch) for a day that had closed at -750."""
    limits = RiskLimits(daily_loss_limit=Decimal("1000"))
    async with open_desk(broker, store, clock, notifier, limits=limits) as desk:
        await (await desk.submit(carried_future())).wait()
        broker.tick(NIFTY_FUT, Decimal("23990"))  # 75 x -10
        await eventually(lambda: desk.day_pnl() == -750, what="the desk marked the future")
        clock.set(MONDAY, 16, 20)
        await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
        broker.token_dead = True  # Monday's token, past 06:00
        clock.set(TUESDAY, 9, 20)  # no login yet: Monday is still the desk's day
        broker.tick(NIFTY_FUT, Decimal("23900"))  # the raw book: 75 x -100 = -7,500
        await eventually(lambda: desk.book.last_prices.get(NIFTY_FUT) == 23900, what="marked")
        await desk._watch_loss()  # the clock loop's look, taken now
        assert desk.trading_day == MONDAY
        assert desk.day_pnl() == -750
    assert "Daily loss limit reached" not in notifier.titles()


async def test_a_day_closed_late_reads_as_its_close_after_a_restart(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Monday closed late the same evening at the broker's prices, by a desk stopped again
    before Tuesday's login: the next start reads Monday's positions at those prices, as the
    close recorded them, not its own unpriced book."""
    await a_monday_stopped_at_three(broker, store, clock, notifier)
    broker.prices[INFY] = Decimal("1512")
    clock.set(MONDAY, 16, 30)
    broker.stream_muted = False
    async with open_desk(broker, store, clock, notifier):
        (closed,) = await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
    assert closed.late
    broker.stream_muted = True
    broker.next_day()
    broker.token_dead = True
    clock.set(TUESDAY, 8, 0)
    broker.stream_muted = False
    async with open_desk(broker, store, clock, notifier) as desk:
        assert desk.trading_day == MONDAY
        assert sum((p.pnl for p in desk.day_positions()), Decimal(0)) == closed.pnl
        assert desk.day_positions() == list(closed.positions)


async def test_a_position_without_a_price_says_its_pnl_is_an_estimate(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Restarted mid-day with a refused token, the desk has no price for its NIFTY futures: the
    line says it is an estimate rather than show a P&L of 0 as a figure, and so does the close
    it makes without the broker's prices."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await (await desk.submit(carried_future())).wait()
    broker.stream_muted = True
    broker.token_dead = True
    clock.set(MONDAY, 11, 0)
    broker.stream_muted = False
    async with open_desk(broker, store, clock, notifier) as desk:
        (future,) = desk.day_positions()
        assert (future.quantity, future.last_price, future.unrealised, future.estimated) == (
            75,
            None,
            0,
            True,
        )
        clock.set(MONDAY, 16, 20)
        (closed,) = await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
        assert closed.estimated
        assert [(p.last_price, p.estimated) for p in closed.positions] == [(None, True)]
        assert desk.day_positions() == list(closed.positions)


async def test_the_close_alert_says_the_pnl_in_paise(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Half of a position sold leaves its cost to four places, and the close's P&L with them
    (kept so in the log); the "Trading day closed" alert says it in paise, as the desk shows
    money elsewhere."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await (await desk.submit(carried_future(signal_id="b", quantity=150))).wait()
        broker.tick(NIFTY_FUT, Decimal("23990"))  # 150 x -10
        await eventually(lambda: desk.day_pnl() == -1500, what="the desk marked the future")
        # One lot sold at 23990: 75 x -10 realised, 75 x -10 still open, -1500 all the same.
        await (await desk.submit(carried_future(signal_id="s", side=Side.SELL))).wait()
        clock.set(MONDAY, 16, 20)
        (closed,) = await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
    assert str(closed.pnl) == "-1500.0000"  # the event as written: old logs replay the same
    (body,) = [a.body for a in notifier.alerts if a.title == "Trading day closed"]
    assert body.startswith(f"{MONDAY}: P&L -1500.00 ("), body


async def test_a_loss_limit_first_passed_in_the_close_is_acted_on(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """The future falls to 23980 at the broker with no tick the desk saw, and the clock is
    past the close: the close, at the broker's prices, is the first look at a day of -1,500
    against a limit of 1,000. It is alerted and engages the kill switch, which stays into the
    next day; before, the closed day was not watched and Tuesday traded freely."""
    limits = RiskLimits(daily_loss_limit=Decimal("1000"))
    config = replace(DAYS, on_loss_limit=LossLimitAction.KILL_SWITCH)
    desk = open_desk(broker, store, clock, notifier, config=config, limits=limits)
    async with desk:
        await (await desk.submit(carried_future())).wait()
        broker.prices[NIFTY_FUT] = Decimal("23980")  # 75 x -20, never ticked to the desk
        clock.set(MONDAY, 16, 20)
        (closed,) = await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
        assert closed.pnl == -1500
        await eventually(lambda: desk.kill_switch.engaged, what="the switch engaged")
    assert "Daily loss limit reached" in notifier.titles(Severity.CRITICAL)
