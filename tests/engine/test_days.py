"""Trading days in the engine: opening from the broker's books, closing, checkpoints, cut-offs.

The fake broker plays the broker's day by hand (``next_day()`` empties its books and carries
NRML positions and CNC holdings), and a settable clock moves the desk through the day.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.api.alert_feed import AlertFeed
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.doctor import Status
from orderdesk.domain import Order, OrderStatus, OrderType, Product, Side, Signal, client_order_id
from orderdesk.domain.calendar import IST, Segment, TradingCalendar
from orderdesk.domain.events import DayClosed, DayOpened, OrderLapsed
from orderdesk.domain.ids import child_order_id
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import DeskConfig, OrderDesk, RiskLimits
from orderdesk.engine.config import DayRules
from orderdesk.engine.errors import SessionExpired
from orderdesk.engine.history import PastDay
from orderdesk.errors import BrokerAuthError, RiskDenied
from orderdesk.ports.broker import PlaceOrder
from orderdesk.ports.notifier import Severity
from orderdesk.ports.store import StoredEvent
from tests.engine.conftest import FAST
from tests.engine.fakes import (
    INFY,
    NIFTY_CE,
    NIFTY_FUT,
    ExpiringBroker,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.support import WallClock, eventually

CRUDE = InstrumentKey.parse("MCX:CRUDEOIL26DECFUT")
MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
DAYS = replace(FAST, days=DayRules(calendar=TradingCalendar(frozenset())))


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


def open_desk(
    broker: FakeBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
    *,
    config: DeskConfig = DAYS,
    limits: RiskLimits | None = None,
) -> OrderDesk:
    return OrderDesk(
        broker,
        store,
        notifier=notifier,
        clock=clock,
        config=config,
        limits=limits or RiskLimits(),
    )


@pytest.fixture
async def desk(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> AsyncIterator[OrderDesk]:
    async with open_desk(broker, store, clock, notifier) as running:
        yield running


def events_of(store: MemoryStore, kind: type) -> list:  # type: ignore[type-arg]
    return [event for event in store.events() if isinstance(event, kind)]


async def test_the_first_start_opens_the_day_from_the_brokers_books(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """A desk starting on an empty log checkpoints the broker's carried positions as today's
    opening state; the day's P&L of a carried position starts at the previous close."""
    broker.carried = {(NIFTY_FUT, Product.NRML): 75}
    async with open_desk(broker, store, clock, notifier) as desk:
        assert desk.trading_day == MONDAY
        (opened,) = events_of(store, DayOpened)
        assert opened.day == MONDAY
        assert [(p.instrument, p.quantity) for p in opened.positions] == [(NIFTY_FUT, 75)]
        position = desk.position(NIFTY_FUT, Product.NRML)
        assert (position.quantity, position.overnight_quantity) == (75, 75)
        assert desk.day_pnl() == 0
        report = await desk.reconcile()
        assert report.ok, report.rows


async def test_a_day_closes_then_the_next_opens_with_today_only(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore, clock: WallClock
) -> None:
    """At the close an order the broker no longer has lapses; the next morning the desk holds
    only the new day (earlier orders read back from the log) and carries NRML at the close."""
    bought = await desk.submit(signal(product=Product.NRML, instrument=NIFTY_FUT, quantity=75))
    await bought.wait()
    resting = await desk.submit(
        signal(order_type=OrderType.LIMIT, price=Decimal("1400"), product=Product.CNC)
    )
    await eventually(lambda: resting.order.broker_order_id, what="resting order bound")
    assert resting.order.broker_order_id is not None
    del broker.book[resting.order.broker_order_id]  # gone at the broker, no update pushed
    clock.set(MONDAY, 16, 20)
    await eventually(lambda: events_of(store, DayClosed), what="the day closed")
    (closed,) = events_of(store, DayClosed)
    assert closed.day == MONDAY
    assert closed.lapsed == (resting.order_id,)
    assert resting.status is OrderStatus.LAPSED
    assert events_of(store, OrderLapsed)[0].day == MONDAY
    broker.next_day()
    broker.prices[NIFTY_FUT] = Decimal("24100")
    clock.set(TUESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    assert desk.orders() == []
    assert desk.order(bought.order_id).status is OrderStatus.FILLED  # from the log
    position = desk.position(NIFTY_FUT, Product.NRML)
    assert (position.quantity, position.overnight_quantity) == (75, 75)
    assert desk.day_pnl() == 0  # carried from Tuesday's opening at the close
    assert [day.day for day in desk.past_days()] == [MONDAY, TUESDAY]
    assert desk.past_days()[0].closed is not None
    assert [o.order_id for o in desk.day_orders(MONDAY)] == [bought.order_id, resting.order_id]
    assert (await desk.reconcile()).ok


async def test_a_book_in_commodities_closes_after_their_evening(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """MCX trades to 23:30 and cancels what is left at 23:45: a day with a commodity in its
    book closes as long after that as an equity day does after 16:00, not at 16:15 with the
    evening's trading, square-off and mass cancel still to come and never recorded."""
    broker.carried = {(CRUDE, Product.NRML): 1}
    broker.prices[CRUDE] = Decimal("5000")
    async with open_desk(broker, store, clock, notifier) as desk:
        assert desk.days is not None
        assert desk.days.close_at(MONDAY) == datetime(2026, 12, 8, 0, 0, tzinfo=IST)
        assert desk.days.close_at(TUESDAY) == datetime(2026, 12, 8, 16, 15, tzinfo=IST)
        clock.set(MONDAY, 16, 20)
        await desk.days.tick()
        assert not events_of(store, DayClosed)
        clock.set(TUESDAY, 0, 1)
        await eventually(lambda: events_of(store, DayClosed), what="the day closed")
        (closed,) = events_of(store, DayClosed)
        assert (closed.day, closed.at) == (MONDAY, datetime(2026, 12, 8, 0, 1, tzinfo=IST))


async def test_a_day_without_commodities_closes_after_their_evening_once_one_is_placed(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """What a parked commodity signal may wait for: the close its order would bring about
    (MCX's 23:45 mass cancel and the desk's quarter of an hour), not the 16:15 of the equity
    book the day holds so far."""
    async with open_desk(broker, store, clock, notifier) as desk:
        assert desk.days is not None
        assert desk.days.close_at(MONDAY) == datetime(2026, 12, 7, 16, 15, tzinfo=IST)
        assert desk.days.close_with(MONDAY, Segment.COMMODITY) == datetime(
            2026, 12, 8, 0, 0, tzinfo=IST
        )
        assert desk.days.close_with(MONDAY, Segment.EQUITY) == desk.days.close_at(MONDAY)


async def test_a_commodity_traded_after_the_close_closes_the_day_again_after_its_evening(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """A book of equities closes at 16:15; a crude future bought at 18:00 made the evening's
    P&L nobody's: Monday's close had been made, and Tuesday opened with the position carried
    at Monday's close. The day reopens and closes again after MCX's evening, with it."""
    crude = replace(broker.infos[1], instrument=CRUDE, instrument_token=1009, segment="MCX")
    broker.infos.append(replace(crude, name="CRUDEOIL", lot_size=1, freeze_quantity=None))
    async with open_desk(broker, store, clock, notifier) as desk:
        await _trade_crude_after_the_close(desk, broker, store, clock)


async def _trade_crude_after_the_close(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore, clock: WallClock
) -> None:
    clock.set(MONDAY, 16, 20)
    await eventually(lambda: events_of(store, DayClosed), what="the day closed")
    broker.prices[CRUDE] = Decimal("5000")
    clock.set(MONDAY, 18, 0)
    bought = await desk.submit(signal(instrument=CRUDE, product=Product.NRML, quantity=1))
    await bought.wait()
    assert desk.days is not None
    await desk.days.tick()
    assert desk.past_days()[-1].closed is None  # live again: the evening is the day's
    broker.prices[CRUDE] = Decimal("5050")
    clock.set(TUESDAY, 0, 1)
    await eventually(lambda: len(events_of(store, DayClosed)) == 2, what="closed again")
    first, again = events_of(store, DayClosed)
    assert first.positions == ()
    assert [(p.instrument, p.quantity) for p in again.positions] == [(CRUDE, 1)]
    assert again.pnl == 50 * 100  # a barrel a rupee: a lot of crude is 100 barrels
    assert desk.past_days()[-1].closed == again


async def test_a_contract_expiring_with_the_day_closes_it_realised(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """An option whose last day is Monday is settled with it: Monday's close counts its whole
    P&L as realised, while a future expiring later stays unrealised."""
    broker.expiring(NIFTY_CE, MONDAY)
    async with open_desk(broker, store, clock, notifier) as desk:
        for instrument in (NIFTY_CE, NIFTY_FUT):
            bought = await desk.submit(
                signal(product=Product.NRML, instrument=instrument, quantity=75)
            )
            await bought.wait()
        paid = desk.position(NIFTY_CE, Product.NRML).average_price
        # The broker's last prices, which the close marks at: the option's settlement 20
        # below the price paid, the future 10 above.
        broker.prices[NIFTY_CE] = paid - 20
        broker.prices[NIFTY_FUT] = desk.position(NIFTY_FUT, Product.NRML).average_price + 10
        clock.set(MONDAY, 16, 20)
        await eventually(lambda: events_of(store, DayClosed), what="the day closed")
        (closed,) = events_of(store, DayClosed)
        lines = {p.instrument: p for p in closed.positions}
        assert (lines[NIFTY_CE].realised, lines[NIFTY_CE].unrealised) == (-1500, 0)
        assert (lines[NIFTY_FUT].realised, lines[NIFTY_FUT].unrealised) == (0, 750)
        assert (closed.realised, closed.pnl) == (-1500, -750)


async def test_a_desk_asleep_through_the_afternoon_closes_at_the_brokers_last_prices(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore, clock: WallClock
) -> None:
    """A laptop asleep from 15:00 wakes after the close: the day is marked at the broker's last
    price, not at the desk's 15:00 tick, and the next morning's P&L starts at that close."""
    bought = await desk.submit(signal(product=Product.NRML, instrument=NIFTY_FUT, quantity=75))
    await bought.wait()
    clock.set(MONDAY, 15, 0)
    broker.tick(NIFTY_FUT, Decimal("24010"))
    await eventually(
        lambda: desk.position(NIFTY_FUT, Product.NRML).last_price == 24010, what="the tick"
    )
    broker.prices[NIFTY_FUT] = Decimal("24060")  # where it traded last, while the desk slept
    clock.set(MONDAY, 16, 40)
    (closed,) = await eventually(lambda: events_of(store, DayClosed), what="the day closed")
    (line,) = closed.positions
    assert (line.last_price, line.unrealised, closed.pnl) == (24060, 4500, 4500)
    assert desk.position(NIFTY_FUT, Product.NRML).last_price == 24060
    broker.next_day()
    clock.set(TUESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    assert desk.day_pnl() == 0


async def test_a_close_that_cannot_read_the_brokers_prices_marks_at_its_own(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore, clock: WallClock
) -> None:
    """The broker's positions unreadable at the close: the day closes all the same, marked at
    the last tick the desk saw, rather than waiting or marking at nothing."""
    bought = await desk.submit(signal(product=Product.NRML, instrument=NIFTY_FUT, quantity=75))
    await bought.wait()
    broker.tick(NIFTY_FUT, Decimal("24010"))
    await eventually(
        lambda: desk.position(NIFTY_FUT, Product.NRML).last_price == 24010, what="the tick"
    )
    broker.prices[NIFTY_FUT] = Decimal("24060")
    broker.positions_fail = 1
    clock.set(MONDAY, 16, 20)
    (closed,) = await eventually(lambda: events_of(store, DayClosed), what="the day closed")
    (line,) = closed.positions
    assert (line.last_price, closed.pnl) == (24010, 750)
    assert broker.positions_fail == 0  # it was asked


async def test_a_restart_replays_from_the_latest_checkpoint(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """After a day has opened, a new desk reads only that day's rows and finds the same book."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await (
            await desk.submit(signal(product=Product.NRML, instrument=NIFTY_FUT, quantity=75))
        ).wait()
        broker.next_day()
        clock.set(TUESDAY, 9, 0)
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        await (await desk.submit(signal(signal_id="tue"))).wait()
        before = {(p.instrument, p.product): p.quantity for p in desk.positions()}
    tuesday = next(row.seq for row in store.rows if row.type == "DayOpened" and row.seq > 1)
    async with open_desk(broker, store, clock, notifier) as again:
        assert again.trading_day == TUESDAY
        assert len(events_of(store, DayOpened)) == 2  # no second opening of the same day
        assert {(p.instrument, p.product): p.quantity for p in again.positions()} == before
        assert [o.signal.signal_id for o in again.orders()] == ["tue"]
        assert again.replayed is not None
        assert again.replayed.checkpoint_seq == tuesday
        assert again.replayed.events <= len(store.rows) - tuesday


async def test_the_loss_limit_counts_only_the_days_own_loss(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """A loss on Monday trips Monday's limit; on Tuesday the P&L starts again at zero."""
    limits = RiskLimits(daily_loss_limit=Decimal("1000"))

    def future(signal_id: str) -> Signal:
        """One lot of NIFTY futures bought NRML: the loss is carried into Tuesday."""
        return signal(signal_id=signal_id, instrument=NIFTY_FUT, quantity=75, product=Product.NRML)

    async with open_desk(broker, store, clock, notifier, limits=limits) as desk:
        await (await desk.submit(future("monday"))).wait()
        broker.prices[NIFTY_FUT] = Decimal("23980")  # the day closes 20 lower
        desk.book.mark(NIFTY_FUT, Decimal("23980"))  # 75 x -20 = -1500
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(future("more"))
        assert denied.value.check == "daily_loss_limit"
        broker.next_day()
        clock.set(TUESDAY, 9, 0)
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        assert desk.day_pnl() == 0
        handle = await desk.submit(future("tuesday"))
        await handle.wait()
        assert handle.status is OrderStatus.FILLED


async def test_selling_holdings_is_stock_sold_not_a_short_loss(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Monday's CNC buy is Tuesday's holdings. Sold into a rising price, it is a gain against
    Monday's close (not a short losing as the price goes on up): neither the desk's loss limit
    nor the strategy's refuses the next signal, and a restart reads the same."""
    limits = RiskLimits(daily_loss_limit=Decimal("500"))

    def desk_with_limits() -> OrderDesk:
        return OrderDesk(
            broker,
            store,
            notifier=notifier,
            clock=clock,
            config=DAYS,
            limits=limits,
            strategy_limits={"swing": limits},
        )

    async with desk_with_limits() as desk:
        bought = await desk.submit(signal(strategy="swing", product=Product.CNC))  # 10 @ 1500
        await bought.wait()
        broker.next_day()
        clock.set(TUESDAY, 9, 0)
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        assert [(h.instrument, h.total, h.day_price) for h in desk.holdings()] == [
            (INFY, 10, Decimal("1500"))
        ]
        broker.prices[INFY] = Decimal("1610")
        sale = signal(strategy="swing", signal_id="sell", side=Side.SELL, product=Product.CNC)
        await (await desk.submit(sale)).wait()
        broker.tick(INFY, Decimal("1700"))
        await eventually(lambda: desk.book.last_prices.get(INFY) == Decimal("1700"), what="mark")

        position = desk.position(INFY, Product.CNC)
        assert (position.quantity, position.from_holdings) == (-10, 10)  # as the broker shows
        assert (position.realised, position.unrealised(), desk.day_pnl()) == (1100, 0, 1100)
        assert desk.strategy_books()["swing"].pnl == 1100
        more = signal(strategy="swing", signal_id="more", product=Product.CNC, quantity=1)
        await (await desk.submit(more)).wait()  # refused as "at the loss limit" before
        assert (await desk.reconcile()).ok
        pnl = desk.day_pnl()
    # Bought one back at 1700: nine sold at 1610 against the close, one round trip at -90.
    assert pnl == 9 * (1610 - 1500) + (1610 - 1700)
    async with desk_with_limits() as again:
        assert again.position(INFY, Product.CNC).from_holdings == 9
        assert again.day_pnl() == pnl


async def test_at_the_loss_limit_held_stock_can_still_be_sold(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Selling delivered stock lowers exposure, so the loss limit lets it go as an exit; more
    than is held, or a buy, is new risk and is refused."""
    limits = RiskLimits(daily_loss_limit=Decimal("500"))
    async with open_desk(broker, store, clock, notifier, limits=limits) as desk:
        await (await desk.submit(signal(product=Product.CNC))).wait()  # 10 INFY @ 1500
        broker.next_day()
        clock.set(TUESDAY, 9, 0)
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        future = signal(signal_id="fut", instrument=NIFTY_FUT, quantity=75, product=Product.NRML)
        await (await desk.submit(future)).wait()  # 75 @ 24000
        broker.tick(NIFTY_FUT, Decimal("23990"))
        await eventually(lambda: desk.day_pnl() == -750, what="the day at -750")
        refused = []
        for n, (side, quantity) in enumerate([(Side.BUY, 1), (Side.SELL, 11)]):
            with pytest.raises(RiskDenied) as denied:
                await desk.submit(
                    signal(signal_id=f"new{n}", side=side, quantity=quantity, product=Product.CNC)
                )
            refused.append(denied.value.check)
        assert refused == ["daily_loss_limit", "daily_loss_limit"]
        sale = signal(signal_id="sell", side=Side.SELL, product=Product.CNC)
        handle = await desk.submit(sale)
        await handle.wait()
        assert handle.status is OrderStatus.FILLED


async def test_an_exit_leaves_a_sale_out_of_holdings(
    desk: OrderDesk, broker: FakeBroker, clock: WallClock
) -> None:
    """Sold 15 of 10 held: the exit buys back the 5 short, not the 10 that were stock sold;
    with only held stock sold there is nothing to exit."""
    await (await desk.submit(signal(product=Product.CNC))).wait()  # 10 INFY
    broker.next_day()
    clock.set(TUESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    sale = signal(signal_id="sell", side=Side.SELL, quantity=15, product=Product.CNC)
    await (await desk.submit(sale)).wait()
    handle = await desk.exit_position(INFY, product=Product.CNC)
    assert handle is not None
    await handle.wait()
    assert (handle.order.signal.side, handle.order.signal.quantity) == (Side.BUY, 5)
    position = desk.position(INFY, Product.CNC)
    assert (position.quantity, position.from_holdings) == (-10, 10)
    assert await desk.exit_position(INFY, product=Product.CNC) is None


async def test_mis_after_the_square_off_time_is_refused(
    desk: OrderDesk, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """From 15:20 IST a fresh MIS equity order is refused with the reason; CNC still goes."""
    clock.set(MONDAY, 15, 21)
    with pytest.raises(RiskDenied) as denied:
        await desk.submit(signal(product=Product.MIS))
    assert denied.value.check == "square_off"
    assert "15:20 IST" in denied.value.reason
    handle = await desk.submit(signal(signal_id="cnc", product=Product.CNC))
    await handle.wait()
    assert handle.status is OrderStatus.FILLED


async def test_own_square_off_exits_mis_before_the_broker(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """With own_square_off_minutes set, the desk flattens its MIS positions ahead of 15:20."""
    rules = DayRules(calendar=TradingCalendar(frozenset()), own_square_off_minutes=10)
    config = replace(FAST, days=rules)
    async with open_desk(broker, store, clock, notifier, config=config) as desk:
        await (await desk.submit(signal(product=Product.MIS, quantity=7))).wait()
        clock.set(MONDAY, 15, 11)
        await eventually(lambda: broker.net(INFY, Product.MIS) == 0, what="MIS flattened")
        exits = [o for o in desk.orders() if o.signal.strategy == "square_off"]
        assert [(o.signal.side, o.signal.quantity) for o in exits] == [(Side.SELL, 7)]
        await eventually(
            lambda: "Squared off intraday positions" in notifier.titles(Severity.WARNING),
            what="the square-off alert",
        )


async def test_own_square_off_goes_through_a_kill_switch(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """The square-off is an exit: a kill switch (the day's loss may have engaged it) does not
    keep the MIS position open past the desk's own square-off; it was refused as a new order."""
    rules = DayRules(calendar=TradingCalendar(frozenset()), own_square_off_minutes=10)
    async with open_desk(broker, store, clock, notifier, config=replace(FAST, days=rules)) as desk:
        await (await desk.submit(signal(product=Product.MIS, quantity=7))).wait()
        await desk.engage_kill_switch("the day's loss reached the limit")
        clock.set(MONDAY, 15, 11)
        await eventually(lambda: broker.net(INFY, Product.MIS) == 0, what="MIS flattened")
        await eventually(
            lambda: "Squared off intraday positions" in notifier.titles(Severity.WARNING),
            what="the square-off alert, not a critical one",
        )


async def test_own_square_off_leaves_a_cover_orders_position_to_its_stop_leg(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Kite's trades of a cover order carry product CO, which no new order may use: the own
    square-off exits MIS with market orders and leaves a CO position to the cancel of its stop
    leg, instead of failing to build the whole square-off on a CO exit it cannot place."""
    rules = DayRules(calendar=TradingCalendar(frozenset()), own_square_off_minutes=10)
    async with open_desk(broker, store, clock, notifier, config=replace(DAYS, days=rules)) as desk:
        await (await desk.submit(signal(product=Product.MIS, quantity=7))).wait()
        desk.book.positions.apply_fill(NIFTY_FUT, Product.CO, Side.BUY, 75, Decimal(24000), "co1")
        assert desk.days is not None
        due = desk.days._own_square_off(MONDAY, Segment.EQUITY, clock.now())
        assert due is not None
        assert [(s.instrument, s.product, s.quantity) for s in due.exits] == [
            (INFY, Product.MIS, 7)
        ]
        assert desk.days._own_square_off(MONDAY, Segment.DERIVATIVES, clock.now()) is None


async def test_own_square_off_closes_the_strategys_position_in_its_book(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Alpha's INFY MIS 10 bought at 1500, exited by the desk's own square-off at 1490: alpha
    reads flat with -100 realised (not an open long marked lower as INFY falls, which would
    pass its own loss limit of 500), ``square_off`` has no position, and a restart reads the
    same books."""
    rules = DayRules(calendar=TradingCalendar(frozenset()), own_square_off_minutes=10)
    config = replace(FAST, days=rules)
    limits = RiskLimits(daily_loss_limit=Decimal("500"))

    def desk_with_limits() -> OrderDesk:
        return OrderDesk(
            broker,
            store,
            notifier=notifier,
            clock=clock,
            config=config,
            strategy_limits={"alpha": limits},
        )

    def books(desk: OrderDesk) -> dict[str, tuple[int, Decimal, Decimal]]:
        return {
            name: (book.positions.get(INFY, Product.MIS).quantity, book.realised, book.pnl)
            for name, book in desk.strategy_books().items()
        }

    flat = {"alpha": (0, Decimal(-100), Decimal(-100)), "square_off": (0, Decimal(0), Decimal(0))}
    async with desk_with_limits() as desk:
        await (await desk.submit(signal(strategy="alpha", product=Product.MIS))).wait()
        broker.prices[INFY] = Decimal("1490")
        clock.set(MONDAY, 15, 11)
        await eventually(
            lambda: any(o.signal.strategy == "square_off" and o.fills for o in desk.orders()),
            what="the own square-off filled",
        )
        broker.tick(INFY, Decimal("1400"))
        await eventually(lambda: desk.book.last_prices.get(INFY) == Decimal("1400"), what="mark")
        assert books(desk) == flat
        assert desk.strategy_books("alpha")["alpha"].pnl == -100
        cnc = signal(strategy="alpha", signal_id="cnc", product=Product.CNC, quantity=1)
        handle = await desk.submit(cnc)  # refused at the loss limit with a phantom long
        await handle.wait()
        assert handle.status is OrderStatus.FILLED
    async with desk_with_limits() as again:
        assert {name: row for name, row in books(again).items() if name in flat} == flat


async def test_the_morning_login_opens_the_day_without_a_restart(
    store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """After 06:00 signals are refused until a login reaches the desk, which then opens the
    new day and accepts the very signal refused before."""
    broker = ExpiringBroker()
    async with open_desk(broker, store, clock, notifier) as desk:
        broker.next_day()
        clock.set(TUESDAY, 7, 0)
        await eventually(
            lambda: "Broker session ended" in notifier.titles(Severity.CRITICAL),
            what="the expiry alerted",
        )
        with pytest.raises(SessionExpired):
            await desk.submit(signal(signal_id="morning"))
        assert desk.trading_day == MONDAY
        info = await desk.renew_session("fresh")
        assert info.usable
        assert desk.trading_day == TUESDAY
        handle = await desk.submit(signal(signal_id="morning"))
        await handle.wait()
        assert handle.status is OrderStatus.FILLED


async def test_a_refusal_after_the_expiry_is_not_a_second_alarm(
    store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """After 06:00 the broker refuses yesterday's token: that is the expiry, already alerted
    ("Broker session ended"), not a second critical "Broker session refused" each morning."""
    broker = ExpiringBroker()
    async with open_desk(broker, store, clock, notifier) as desk:
        clock.set(TUESDAY, 7, 0)
        await eventually(
            lambda: "Broker session ended" in notifier.titles(Severity.CRITICAL),
            what="the expiry alerted",
        )
        await desk._api_error("reconciliation", BrokerAuthError("Token expired", http_status=403))
    assert notifier.titles(Severity.CRITICAL).count("Broker session ended") == 1
    assert "Broker session refused" not in notifier.titles()


async def test_holdings_open_the_day_and_are_reconciled(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore, clock: WallClock
) -> None:
    """Monday's CNC buy is Tuesday's holding: the day opens with it, reconciliation checks it,
    and a holding that changes at the broker is a mismatch."""
    await (await desk.submit(signal(product=Product.CNC, quantity=10))).wait()
    broker.next_day()
    clock.set(TUESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    assert [(h.instrument, h.total) for h in desk.holdings()] == [(INFY, 10)]
    assert not [e for e in store.events() if getattr(e, "kind", None) == "day_open"]
    assert (await desk.reconcile()).ok
    broker.held[INFY] = 4
    report = await desk.reconcile()
    assert [(row.kind, row.detail) for row in report.rows] == [
        ("holding", "NSE:INFY holdings: broker 4, local 10")
    ]


async def test_the_brokers_square_off_is_news_not_a_mismatch(
    desk: OrderDesk,
    broker: FakeBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
) -> None:
    """A MARKET MIS order the broker places at 15:20 is adopted and recorded as its square-off;
    reconciliation finds nothing, and the position is flat."""
    await (await desk.submit(signal(product=Product.MIS, quantity=5))).wait()
    clock.set(MONDAY, 15, 20)
    broker.create(
        signal(side=Side.SELL, quantity=5, product=Product.MIS),
        tag=None,
        placed_at=clock.now(),
    )
    await eventually(
        lambda: desk.position(INFY, Product.MIS).quantity == 0, what="the square-off applied"
    )
    report = await desk.reconcile()
    assert report.ok, report.rows
    assert [type(e).__name__ for e in store.events()].count("BrokerSquaredOff") == 1
    assert "Squared off by the broker" in notifier.titles(Severity.WARNING)


async def test_a_morning_that_differs_from_the_close_is_flagged(
    desk: OrderDesk,
    broker: FakeBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
) -> None:
    """If the broker carries in something else than Monday's close implies, the opening says
    so (a day_open mismatch and an alert) and takes the broker's books as the truth."""
    await (
        await desk.submit(signal(product=Product.NRML, instrument=NIFTY_FUT, quantity=75))
    ).wait()
    broker.next_day()
    broker.carried[(NIFTY_FUT, Product.NRML)] = 150
    clock.set(TUESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    details = [e.detail for e in store.events() if getattr(e, "kind", None) == "day_open"]
    assert details == ["NFO:NIFTY26DECFUT NRML: carried 150, expected 75"]
    assert "Opening positions differ" in notifier.titles(Severity.WARNING)
    assert desk.position(NIFTY_FUT, Product.NRML).quantity == 150


async def test_a_stale_token_at_start_waits_for_the_login(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Started with yesterday's token, the desk cannot open the day: the refusal ends the
    session (signals get SessionExpired, not a day error), one CRITICAL says so and to log in
    (not a second, "Cannot open the trading day", read as a broker fault), and the login opens
    the day."""
    broker.token_dead = True
    async with open_desk(broker, store, clock, notifier) as desk:
        assert desk.trading_day is None
        assert not desk.session_info().usable
        with pytest.raises(SessionExpired):
            await desk.submit(signal(signal_id="early"))
        await eventually(
            lambda: "Broker session ended" in notifier.titles(), what="the session's end told"
        )
        assert notifier.titles(Severity.CRITICAL) == ["Broker session ended"]
        (ended,) = [a for a in notifier.alerts if a.title == "Broker session ended"]
        assert "`orderdesk login`" in ended.body, ended.body
        await desk.renew_session("today")
        assert desk.trading_day == MONDAY
        await (await desk.submit(signal(signal_id="early"))).wait()


async def test_books_unreadable_at_the_opening_is_its_own_critical_alert(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """A broker that answers 503 at the opening (the session still good) is a day that cannot
    open, alerted as such: the session has not ended."""
    broker.orders_fail = 1
    async with open_desk(broker, store, clock, notifier) as desk:
        await eventually(
            lambda: "Cannot open the trading day" in notifier.titles(), what="the alert"
        )
        assert desk.trading_day is None
        assert desk.session_info().usable
        assert notifier.titles(Severity.CRITICAL) == ["Cannot open the trading day"]
        (alert,) = [a for a in notifier.alerts if a.title == "Cannot open the trading day"]
        assert alert.body.startswith(f"{MONDAY}: the broker's books could not be read ("), alert


async def test_the_desk_warns_before_the_session_ends(
    store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Half an hour before 06:00 the desk says the session is about to end, once, and at 06:00
    that it has ended."""
    broker = ExpiringBroker()
    async with open_desk(broker, store, clock, notifier):
        clock.set(TUESDAY, 5, 35)
        await eventually(
            lambda: "Broker session ends soon" in notifier.titles(Severity.WARNING),
            what="the warning",
        )
        assert "Broker session ended" not in notifier.titles(Severity.CRITICAL)
        (soon,) = [a for a in notifier.alerts if a.title == "Broker session ends soon"]
        assert soon.body.startswith(f"the session ends at {TUESDAY} 06:00 IST"), soon.body
        clock.set(TUESDAY, 6, 1)
        await eventually(
            lambda: "Broker session ended" in notifier.titles(Severity.CRITICAL),
            what="the expiry, many clock looks after the warning",
        )
        assert notifier.titles(Severity.WARNING).count("Broker session ends soon") == 1


async def test_a_slicing_left_unfinished_yesterday_lapses_instead_of_going_on(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """The desk stopped on Monday after the first of three slices (the parent and one child in
    its log). Started on Tuesday before the morning login, it places nothing of Monday's; the
    login opens the day and the parent lapses, alerted with what was never placed."""
    monday = clock.now()
    big = signal(instrument=NIFTY_FUT, quantity=4500, product=Product.NRML, signal_id="big")
    parent_id = client_order_id(big.strategy, "big")
    child_id = child_order_id(parent_id, 0)
    child_signal = big.with_quantity(1800, signal_id=child_id)
    parent = Order.create(parent_id, big, monday)
    child = Order.create(child_id, child_signal, monday, parent_id=parent_id)
    store.append([parent, child, *Order.from_events([child]).submit(monday)])
    await broker.place_order(PlaceOrder(child_id, child_signal))  # out, then the desk stopped
    broker.next_day()
    broker.token_dead = True
    clock.set(TUESDAY, 9, 0)
    async with open_desk(broker, store, clock, notifier) as desk:
        assert desk.trading_day is None
        await desk.renew_session("today")
        assert desk.trading_day == TUESDAY
        await (await desk.submit(signal(signal_id="tuesday"))).wait()  # the desk got going
        # Monday's other slices never go out on Tuesday: the child and Tuesday's order only.
        assert [p.client_order_id for p in broker.placements] == [
            child_id,
            client_order_id(big.strategy, "tuesday"),
        ]
        assert desk.handle(parent_id).status is OrderStatus.LAPSED
    (lapsed,) = [a for a in notifier.alerts if a.order_id == parent_id]
    assert lapsed.title == "Order lapsed"
    assert "its slicing stopped with 1800 of 4500 placed" in lapsed.body
    (opened,) = [a.body for a in notifier.alerts if a.title == "Trading day opened"]
    assert opened.endswith(", 2 lapsed")  # the parent and its child


async def test_an_order_held_for_a_login_lapses_saying_it_was_never_sent(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """An intent the broker's session refusal held on Monday, never sent again: at Tuesday's
    opening it lapses saying nothing was placed, not to look in the contract notes."""
    monday = clock.now()
    held_signal = signal(signal_id="held")
    held_id = client_order_id(held_signal.strategy, "held")
    created = Order.create(held_id, held_signal, monday)
    order = Order.from_events([created])
    submitting = order.submit(monday)
    for event in submitting:
        order.apply(event)
    store.append([created, *submitting, *order.submit_deferred("session refused", monday)])
    broker.next_day()
    broker.token_dead = True
    clock.set(TUESDAY, 9, 0)
    async with open_desk(broker, store, clock, notifier) as desk:
        await desk.renew_session("today")
        assert desk.trading_day == TUESDAY
        assert desk.handle(held_id).status is OrderStatus.LAPSED
    assert broker.placements == []
    (lapsed,) = [a for a in notifier.alerts if a.order_id == held_id]
    assert "it was held for a login and never sent: nothing was placed" in lapsed.body
    assert "a new id places it" in lapsed.body
    assert "contract notes" not in lapsed.body


async def test_an_evening_amo_gone_after_a_skipped_day_lapses_with_the_day_it_was_for(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Placed on Monday evening for Tuesday's session, then the desk stopped until Wednesday:
    the day that ended with it is Tuesday (it read "trading day Monday ended", a day it never
    worked in)."""
    clock.set(MONDAY, 17, 0)
    amo = signal(signal_id="evening")
    amo_id = client_order_id(amo.strategy, "evening")
    created = Order.create(amo_id, amo, clock.now())
    store.append([created, *Order.from_events([created]).submit(clock.now())])
    await broker.place_order(PlaceOrder(amo_id, amo))
    broker.next_day()
    broker.next_day()
    clock.set(date(2026, 12, 9), 9, 0)
    async with open_desk(broker, store, clock, notifier) as desk:
        assert desk.trading_day == date(2026, 12, 9)
        assert desk.handle(amo_id).status is OrderStatus.LAPSED
    [lapsed] = [e for e in store.events() if isinstance(e, OrderLapsed)]
    assert lapsed.day == TUESDAY
    assert lapsed.reason.startswith("trading day 2026-12-08 ended")


async def test_a_december_day_warns_of_next_years_missing_holidays(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Opening a December day while the holiday list knows nothing of the next year alerts, and
    the doctor warns: a desk running through the new year would take its holidays for trading
    days. A list that covers it is quiet."""
    rules = DayRules(calendar=TradingCalendar(frozenset()), holiday_years=frozenset({2026}))
    async with open_desk(broker, store, clock, notifier, config=replace(FAST, days=rules)) as desk:
        # `orderdesk doctor` says it every morning until it is fixed, not once.
        checks = {c.name: c for c in (await EngineDesk(desk).doctor()).checks}
        assert checks["holidays"].status is Status.WARN
        assert checks["holidays"].summary.startswith("no exchange holidays known for 2027:")
    (warning,) = [a for a in notifier.alerts if a.title == "Holiday list out of date"]
    assert warning.severity is Severity.WARNING
    assert "2026-12-07: the desk knows no exchange holidays for 2027" in warning.body
    covered = replace(rules, holiday_years=frozenset({2026, 2027}))
    quiet = RecordingNotifier()
    async with open_desk(
        broker, MemoryStore(), clock, quiet, config=replace(FAST, days=covered)
    ) as desk:
        checks = {c.name: c for c in (await EngineDesk(desk).doctor()).checks}
        assert checks["holidays"].status is Status.OK
    assert "Trading day opened" in quiet.titles()
    assert "Holiday list out of date" not in quiet.titles()


async def test_earlier_days_orders_are_read_back_away_from_the_event_loop(
    desk: OrderDesk, broker: FakeBroker, clock: WallClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's read of several days' orders (`orderdesk trades --since`) takes today's from
    the desk and reads the earlier ones back from the log on a worker thread: a year of them
    takes seconds, which the event loop must not stand still for."""
    bought = await desk.submit(signal())
    await bought.wait()
    clock.set(MONDAY, 16, 20)
    await eventually(lambda: desk.past_days()[0].closed, what="Monday closed")
    broker.next_day()
    clock.set(TUESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    today = await desk.submit(signal(signal_id="tuesday"))
    await today.wait()
    readers: list[int] = []
    read_back = desk.history.orders

    def recorded(past: PastDay) -> list[Order]:
        readers.append(threading.get_ident())
        return read_back(past)

    monkeypatch.setattr(desk.history, "orders", recorded)

    monday, tuesday, unknown = await EngineDesk(desk).orders_of_days(
        [MONDAY, TUESDAY, date(2026, 12, 1)]
    )

    assert [o.order_id for o in monday] == [bought.order_id]
    assert tuesday == [today.order]  # the live order itself, not a copy read back
    assert unknown == []
    assert readers  # Monday was read back from the log ...
    assert threading.get_ident() not in readers  # ... and not on the loop's thread


class DecodeCounting(MemoryStore):
    """Counts the day rows a reader is handed (each one it decodes)."""

    def __init__(self) -> None:
        super().__init__()
        self.day_rows_read = 0

    def read(self, **where: Any) -> Iterator[StoredEvent]:
        for row in super().read(**where):
            if row.type in (DayOpened.__name__, DayClosed.__name__):
                self.day_rows_read += 1
            yield row


async def test_the_list_of_days_reads_only_what_was_written_since_it_was_last_read(
    broker: FakeBroker, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Listing the days again decodes no day it already has, and still shows each change: a
    close, a day closed twice (its latest close), the next day's opening."""
    store = DecodeCounting()
    async with open_desk(broker, store, clock, notifier) as desk:
        assert [(d.day, d.closed) for d in desk.past_days()] == [(MONDAY, None)]
        before = store.day_rows_read
        assert [d.day for d in desk.past_days()] == [MONDAY]
        assert store.day_rows_read == before  # nothing new: nothing read again
        clock.set(MONDAY, 16, 20)
        await eventually(lambda: events_of(store, DayClosed), what="the day closed")
        first_close = desk.past_days()[0].closed
        assert first_close is not None
        assert store.day_rows_read == before + 1
        clock.set(MONDAY, 16, 30)
        desk.days.reopened()  # news after the close: the day is closed again at the next look
        await eventually(lambda: len(events_of(store, DayClosed)) == 2, what="closed again")
        [monday] = desk.past_days()
        assert monday.closed == events_of(store, DayClosed)[-1] != first_close
        broker.next_day()
        clock.set(TUESDAY, 9, 0)
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        assert [d.day for d in desk.past_days()] == [MONDAY, TUESDAY]
        assert store.day_rows_read == before + 3


async def test_the_mornings_alert_says_a_kill_switch_is_still_engaged(
    desk: OrderDesk, broker: FakeBroker, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Engaged on Monday, the switch refuses Tuesday's first signal: the morning's alert says
    so, with its reason (the opening said nothing of it)."""
    await desk.engage_kill_switch("operator: done for the week")
    clock.set(MONDAY, 16, 20)
    await eventually(lambda: desk.days is not None and desk.days.state.closed, what="closed")
    broker.next_day()
    clock.set(TUESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    opened = [a for a in notifier.alerts if a.title == "Trading day opened"][-1]
    assert opened.body.startswith(f"{TUESDAY}: ")
    assert opened.severity is Severity.WARNING
    assert opened.body.endswith(
        "; the kill switch is still engaged (operator: done for the week): no new orders until "
        "it is released"
    )


async def test_a_close_the_log_cannot_record_blames_the_log_and_is_made_once_it_can(
    desk: OrderDesk,
    broker: FakeBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
) -> None:
    """The event log down at the close (a PostgreSQL server stopped): it was alerted "Day close
    without the broker: the broker's books could not be read (StoreError …)", blaming the
    broker. Now only the log's own alert says it, and the close is made when the log is back."""
    store.fail_appends = True
    clock.set(MONDAY, 16, 20)
    await eventually(
        lambda: any(a.title == "Event log cannot be written" for a in notifier.alerts),
        what="the log's alert",
    )
    assert "Day close without the broker" not in notifier.titles()
    assert events_of(store, DayClosed) == []
    store.fail_appends = False
    await eventually(lambda: events_of(store, DayClosed), what="the day closed")
    assert "Day close without the broker" not in notifier.titles()


async def test_a_refusal_in_the_brokers_own_sentence_is_told_with_one_stop(
    desk: OrderDesk, notifier: RecordingNotifier
) -> None:
    """Kite's words end with their own stop: the alert read "…`access_token`.; signals are
    refused"."""
    await desk._api_error(
        "reading charges",
        BrokerAuthError("Incorrect `api_key` or `access_token`.", http_status=403),
    )
    await eventually(
        lambda: "Broker session ended" in notifier.titles(Severity.CRITICAL), what="alerted"
    )
    (ended,) = [a for a in notifier.alerts if a.title == "Broker session ended"]
    assert "`access_token`; signals are refused" in ended.body


async def test_each_days_opening_and_close_is_an_alert_of_its_own(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Tuesday's "Trading day opened" is not a repeat of Monday's: the dashboard's feed keeps
    one entry a day (not Monday's counted twice), and the notifiers' throttle, which counts
    alerts by key, does not take a week of openings for a storm."""
    feed = AlertFeed(clock=clock)
    async with open_desk(broker, store, clock, notifier) as desk:
        clock.set(MONDAY, 16, 20)
        await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
        broker.next_day()
        clock.set(TUESDAY, 9, 0)
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    daily = [a for a in notifier.alerts if a.title in ("Trading day opened", "Trading day closed")]
    for alert in daily:
        await feed.notify(alert)
    shown = [(e.alert.title, e.alert.body[:10], e.repeats) for e in feed.recent()]
    assert shown == [
        ("Trading day opened", "2026-12-07", 1),
        ("Trading day closed", "2026-12-07", 1),
        ("Trading day opened", "2026-12-08", 1),
    ]
