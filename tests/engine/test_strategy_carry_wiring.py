"""A position a strategy carries overnight stays its own the next day: its book counts the day's
P&L from the previous close, and its own daily loss limit sees the loss.

Needs /tmp/strategy_carry_wiring.patch (engine/days.py, desk.py, book.py, recovery.py,
strategy_risk.py): without it, Tuesday's books hold no carried share and these tests fail.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from orderdesk.domain import Product, Side
from orderdesk.domain.calendar import IST
from orderdesk.domain.day import StrategyCarry
from orderdesk.domain.events import DayClosed, DayOpened
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.errors import RiskDenied
from tests.engine.fakes import NIFTY_FUT, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.engine.test_days import DAYS, MONDAY, TUESDAY, events_of
from tests.support import WallClock, eventually

LIMITS = {"mean_rev": RiskLimits(daily_loss_limit=Decimal("500"))}


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


def open_desk(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> OrderDesk:
    return OrderDesk(
        broker,
        store,
        notifier=notifier,
        clock=clock,
        config=DAYS,
        limits=RiskLimits(),
        strategy_limits=LIMITS,
    )


async def fall_to(desk: OrderDesk, broker: FakeBroker, price: str) -> None:
    broker.tick(NIFTY_FUT, Decimal(price))
    await eventually(
        lambda: desk.book.last_prices.get(NIFTY_FUT) == Decimal(price), what="the tick"
    )


async def test_a_carried_future_stays_the_strategys_and_its_loss_limit_sees_it(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """mean_rev buys 75 NIFTY futures NRML on Monday (closing at 24,000); on Tuesday the price
    falls 10: its book shows the 750 loss from Monday's close (the desk's too), the opening
    recorded its share, its next buy is refused by its own 500 limit, a restart reads the
    same from Tuesday's checkpoint, and selling the carried lot, an exit, is let through."""
    async with open_desk(broker, store, clock, notifier) as desk:
        bought = signal(
            strategy="mean_rev", product=Product.NRML, instrument=NIFTY_FUT, quantity=75
        )
        await (await desk.submit(bought)).wait()
        clock.set(MONDAY, 16, 20)
        await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
        broker.next_day()
        clock.set(TUESDAY, 9, 0)
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        opened = events_of(store, DayOpened)[-1]
        assert opened.strategy_positions == (
            StrategyCarry(
                strategy="mean_rev",
                instrument=NIFTY_FUT,
                product=Product.NRML,
                quantity=75,
                average_price=Decimal("24000"),
            ),
        )
        await fall_to(desk, broker, "23990")
        book = desk.strategy_books()["mean_rev"]
        assert (book.orders, book.pnl) == (0, -750)
        assert desk.day_pnl() == -750
        more = signal(
            strategy="mean_rev",
            signal_id="tuesday",
            product=Product.NRML,
            instrument=NIFTY_FUT,
            quantity=75,
        )
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(more)
    assert denied.value.check == "daily_loss_limit"
    assert denied.value.reason.startswith("strategy mean_rev: ")
    async with open_desk(broker, store, clock, notifier) as again:
        assert again.strategy_books()["mean_rev"].positions.net_quantity(NIFTY_FUT) == 75
        await fall_to(again, broker, "23980")
        assert again.strategy_books("mean_rev")["mean_rev"].pnl == -1500
        # Selling the carried lot is an exit of its own position: the limit lets it through.
        sale = signal(
            strategy="mean_rev",
            signal_id="exit",
            side=Side.SELL,
            product=Product.NRML,
            instrument=NIFTY_FUT,
            quantity=75,
        )
        await (await again.submit(sale)).wait()
        assert again.strategy_books()["mean_rev"].positions.net_quantity(NIFTY_FUT) == 0
        assert again.strategy_books()["mean_rev"].pnl == -1500


async def test_offsetting_shares_carry_over_a_line_the_broker_does_not(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Alpha buys 75 NIFTY futures NRML on Monday and beta sells 75: the account is flat and
    the broker carries nothing. Tuesday alpha sells its 75: it closes alpha's long (flat),
    beta keeps its short, as the account (short 75) has it; before, alpha read short 75 and
    beta held nothing."""
    nrml = {"product": Product.NRML, "instrument": NIFTY_FUT, "quantity": 75}
    async with open_desk(broker, store, clock, notifier) as desk:
        await (await desk.submit(signal(strategy="alpha", signal_id="a", **nrml))).wait()
        sold = signal(strategy="beta", signal_id="b", side=Side.SELL, **nrml)
        await (await desk.submit(sold)).wait()
        clock.set(MONDAY, 16, 20)
        await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
        broker.next_day()
        clock.set(TUESDAY, 9, 0)
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        exit_ = signal(strategy="alpha", signal_id="tu", side=Side.SELL, **nrml)
        await (await desk.submit(exit_)).wait()
        books = desk.strategy_books()
    held = {name: book.positions.net_quantity(NIFTY_FUT) for name, book in books.items()}
    assert held == {"alpha": 0, "beta": -75}
    assert broker.net(NIFTY_FUT, Product.NRML) == -75
    async with open_desk(broker, store, clock, notifier) as again:  # the shares read back
        books = again.strategy_books()
    assert {name: book.positions.net_quantity(NIFTY_FUT) for name, book in books.items()} == held
