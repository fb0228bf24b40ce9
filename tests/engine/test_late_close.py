"""A day whose close the desk missed (it was stopped, and started after ``close_at``).

The same evening the broker's books are still the day's: the close takes in what they show and
marks at the broker's last prices. On a later trading day they are gone and the token is dead
until the login: the close waits for it, then marks at the day's closing price (a quote's
previous close, when no session came between) and counts an MIS position the broker no longer
carries as squared off at that close, an estimate it says it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, OrderType, Product, Side
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.events import BrokerSquaredOff, DayClosed, DayOpened
from orderdesk.domain.reports import Quote
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import DeskConfig, OrderDesk, RiskLimits
from orderdesk.engine.config import DayRules
from orderdesk.errors import InputRejected
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import (
    INFY,
    NIFTY_FUT,
    ExpiringBroker,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.engine.test_days import DAYS, MONDAY, TUESDAY, events_of
from tests.support import WallClock, eventually

WEDNESDAY = date(2026, 12, 9)
THURSDAY = date(2026, 12, 10)
TUESDAY_A_HOLIDAY = replace(FAST, days=DayRules(calendar=TradingCalendar(frozenset({TUESDAY}))))


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


def open_desk(
    broker: FakeBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
    config: DeskConfig = DAYS,
) -> OrderDesk:
    return OrderDesk(
        broker, store, notifier=notifier, clock=clock, config=config, limits=RiskLimits()
    )


async def a_monday_stopped_at_three(
    broker: FakeBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
    config: DeskConfig = DAYS,
) -> str:
    """Monday: 10 INFY CNC and 5 INFY MIS bought at 1500, 75 NIFTY futures NRML at 24000, a
    CNC limit buy at 1400 resting; marked at 1510 and 24010; the desk stopped at 15:00.
    Returns the resting order's id."""
    async with open_desk(broker, store, clock, notifier, config) as desk:
        for n, (instrument, quantity, product) in enumerate(
            [(INFY, 10, Product.CNC), (INFY, 5, Product.MIS), (NIFTY_FUT, 75, Product.NRML)]
        ):
            bought = await desk.submit(
                signal(signal_id=f"b{n}", instrument=instrument, quantity=quantity, product=product)
            )
            await bought.wait()
        resting = await desk.submit(
            signal(
                signal_id="resting",
                order_type=OrderType.LIMIT,
                price=Decimal("1400"),
                product=Product.CNC,
            )
        )
        await eventually(lambda: resting.order.broker_order_id, what="the limit order rests")
        broker.tick(INFY, Decimal("1510"))
        broker.tick(NIFTY_FUT, Decimal("24010"))
        await eventually(lambda: desk.day_pnl() == 150 + 750, what="the desk marked them")
        clock.set(MONDAY, 15, 0)
    broker.stream_muted = True  # no desk listens until the next start
    return resting.order_id


async def test_started_the_same_evening_the_close_reads_the_brokers_books_and_prices(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Started at 16:30 after a 15:00 stop, the desk closes Monday with the broker's square-off
    of the MIS position taken in as news (at its fill price) and the rest marked at the
    broker's last prices, not at nothing; the resting order the broker cancelled is settled."""
    resting = await a_monday_stopped_at_three(broker, store, clock, notifier)
    clock.set(MONDAY, 15, 20)
    broker.create(
        signal(side=Side.SELL, quantity=5, product=Product.MIS), tag=None, placed_at=clock.now()
    )  # filled at 1510
    broker.prices[INFY] = Decimal("1512")  # where INFY last traded that day
    clock.set(MONDAY, 16, 0)
    (limit,) = [o for o in broker.book if broker.report(o).price == Decimal("1400")]
    await broker.cancel_order(limit, None)  # the exchange's mass cancel
    clock.set(MONDAY, 16, 30)
    broker.stream_muted = False
    async with open_desk(broker, store, clock, notifier) as desk:
        (closed,) = await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
        assert (closed.day, closed.realised, closed.pnl) == (MONDAY, 50, 50 + 120 + 750)
        lines = {p.product: p for p in closed.positions}
        mis, cnc, nrml = lines[Product.MIS], lines[Product.CNC], lines[Product.NRML]
        assert (mis.quantity, mis.sell_quantity, mis.realised) == (0, 5, 50)
        assert (cnc.last_price, cnc.unrealised) == (1512, 120)
        assert (nrml.last_price, nrml.unrealised) == (24010, 750)
        assert (closed.late, closed.estimated) == (True, False)
        assert not any(p.estimated or p.squared_off for p in closed.positions)
        assert len(events_of(store, BrokerSquaredOff)) == 1
        assert desk.handle(resting).status is OrderStatus.CANCELLED
        assert closed.still_open == ()
        # The day's figures read as its close recorded them until the next morning.
        assert sum(p.pnl for p in desk.day_positions()) == closed.pnl


async def test_after_the_expiry_and_a_holiday_the_close_waits_for_the_login(
    store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Started on Wednesday (Tuesday a holiday) with Monday's dead token, the desk records no
    close of Monday; the login closes it at Monday's closing prices (not Wednesday's), the MIS
    position the broker no longer carries squared off at that close and marked as an estimate,
    the resting order lapsed; then Wednesday opens."""
    broker = ExpiringBroker()
    resting = await a_monday_stopped_at_three(broker, store, clock, notifier, TUESDAY_A_HOLIDAY)
    broker.next_day()  # Monday's close becomes the quotes' close; MIS gone, CNC held
    broker.prices[INFY] = Decimal("1530")  # Wednesday's price, not Monday's
    broker.token_dead = True
    clock.set(WEDNESDAY, 8, 55)
    broker.stream_muted = False
    async with open_desk(broker, store, clock, notifier, TUESDAY_A_HOLIDAY) as desk:
        await eventually(lambda: not desk.session_info().usable, what="the dead token refused")
        assert events_of(store, DayClosed) == []  # nothing can be read: nothing recorded
        await eventually(
            lambda: "Day close waits for the broker" in notifier.titles(Severity.WARNING),
            what="the close waiting alerted",
        )
        # It says what to do, as a close waiting for a session does, not the broker's refusal
        # again (that is the session's CRITICAL).
        (waits,) = [a for a in notifier.alerts if a.title == "Day close waits for the broker"]
        assert "log in (`orderdesk login`)" in waits.body
        assert "TokenException" not in waits.body
        assert [o.day for o in events_of(store, DayOpened)] == [MONDAY]
        assert desk.trading_day == MONDAY
        # Meanwhile the day's figures say they lack prices, rather than read as a P&L of 0.
        assert [(p.product, p.estimated) for p in desk.day_positions()] == [
            (Product.CNC, True),
            (Product.MIS, True),
            (Product.NRML, True),
        ]

        await desk.renew_session("fresh")

        assert desk.trading_day == WEDNESDAY
        (closed,) = events_of(store, DayClosed)
        assert (closed.day, closed.late, closed.estimated) == (MONDAY, True, True)
        lines = {p.product: p for p in closed.positions}
        mis, cnc, nrml = lines[Product.MIS], lines[Product.CNC], lines[Product.NRML]
        assert (mis.quantity, mis.squared_off, mis.sell_quantity) == (0, 5, 5)
        assert (mis.last_price, mis.realised, mis.estimated) == (1510, 50, True)
        assert (cnc.quantity, cnc.last_price, cnc.unrealised, cnc.estimated) == (
            10,
            1510,
            100,
            False,
        )
        assert (nrml.last_price, nrml.unrealised) == (24010, 750)
        assert (closed.realised, closed.pnl) == (50, 900)
        assert closed.lapsed == (resting,)
        assert closed.still_open == ()
        kinds = [type(e).__name__ for e in store.events()]
        assert kinds.index("DayClosed") < len(kinds) - kinds[::-1].index("DayOpened") - 1
        assert [o.day for o in events_of(store, DayOpened)] == [MONDAY, WEDNESDAY]
        assert "Square-off inferred" in notifier.titles(Severity.WARNING)
        # Monday's carried future opens Wednesday; nothing else differs from the close.
        assert not [e for e in store.events() if getattr(e, "kind", None) == "day_open"]


async def test_with_sessions_between_no_price_of_the_day_is_made_up(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Started on Thursday, two sessions after Monday, the quotes' close is Wednesday's: the
    late close marks Monday's open positions at no price, the square-off at none, and says
    every such line is an estimate rather than a final figure."""
    await a_monday_stopped_at_three(broker, store, clock, notifier)
    broker.next_day()
    broker.next_day()
    broker.next_day()
    broker.prices[INFY] = Decimal("1600")
    clock.set(THURSDAY, 9, 30)
    broker.stream_muted = False
    async with open_desk(broker, store, clock, notifier) as desk:
        await eventually(lambda: desk.trading_day == THURSDAY, what="Thursday opened")
        (closed,) = events_of(store, DayClosed)
        assert (closed.day, closed.late, closed.estimated) == (MONDAY, True, True)
        assert [p.last_price for p in closed.positions] == [None, None, None]
        lines = {p.product: p for p in closed.positions}
        assert (lines[Product.MIS].quantity, lines[Product.MIS].squared_off) == (0, 5)
        assert all(p.estimated for p in closed.positions)
        assert (closed.realised, closed.pnl) == (0, 0)


class QuotesRefused(ExpiringBroker):
    """A broker that refuses every quote request outright."""

    async def quotes(self, instruments: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        raise InputRejected("Invalid instrument", http_status=400)


async def test_refused_quotes_do_not_keep_the_next_day_shut(
    store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """When the broker refuses the quotes outright, the close still goes: the carried future at
    the close the broker's positions give, the rest said to be estimates; Tuesday opens."""
    broker = QuotesRefused()
    await a_monday_stopped_at_three(broker, store, clock, notifier)
    broker.next_day()
    clock.set(TUESDAY, 9, 30)
    broker.stream_muted = False
    async with open_desk(broker, store, clock, notifier) as desk:
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        (closed,) = events_of(store, DayClosed)
        lines = {p.product: p for p in closed.positions}
        assert (lines[Product.NRML].last_price, lines[Product.NRML].estimated) == (24010, False)
        assert (lines[Product.CNC].last_price, lines[Product.CNC].estimated) == (None, True)
        assert (lines[Product.MIS].squared_off, lines[Product.MIS].last_price) == (5, None)
        assert (closed.estimated, closed.pnl) == (True, 750)
