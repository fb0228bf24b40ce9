"""The paper broker keeps Kite's trading days on the desk's calendar: the square-off, the mass
cancel and the 06:00 rollover, across a weekend and a restart; and a desk on it goes from one
day to the next without warnings."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.brokers.paper import PaperBroker
from orderdesk.brokers.paper.state import state_path
from orderdesk.domain import OrderStatus
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side, Variety
from orderdesk.engine import OrderDesk
from orderdesk.engine.config import DayRules
from orderdesk.errors import InputRejected
from orderdesk.ports.broker import PlaceOrder
from tests.engine.conftest import FAST
from tests.engine.fakes import MemoryStore, RecordingNotifier
from tests.support import WallClock, eventually

INFY = InstrumentKey.parse("NSE:INFY")
TCS = InstrumentKey.parse("NSE:TCS")
NIFTY_FUT = InstrumentKey.parse("NFO:NIFTY26DECFUT")
"""What is carried NRML: Kite has no NRML for stock (CNC carries it, into the holdings)."""
FRIDAY, MONDAY = date(2026, 12, 4), date(2026, 12, 7)
CALENDAR = TradingCalendar(frozenset())
PRICES = {INFY: Decimal("1500"), TCS: Decimal("4000")}
FUTURE_CASH = Decimal(5_000_000)
"""Enough for a lot of NIFTY futures (75 x 24000 = 18 lakh): the paper book asks the full
price of a buy, not its margin."""


def paper(clock: WallClock, data_dir: Path, *, future: bool = False) -> PaperBroker:
    """The paper broker on the desk's calendar; ``future``: NIFTY futures listed too, with the
    cash a lot of them costs (otherwise the broker's opening cash, 10 lakh)."""
    if not future:
        return PaperBroker(
            prices=PRICES, clock=clock, state_file=state_path(data_dir), calendar=CALENDAR
        )
    return PaperBroker(
        prices={**PRICES, NIFTY_FUT: Decimal("24000")},
        cash=FUTURE_CASH,
        clock=clock,
        state_file=state_path(data_dir),
        calendar=CALENDAR,
    )


def command(
    instrument: InstrumentKey, product: Product, quantity: int, tag: str, price: str | None = None
) -> PlaceOrder:
    signal = Signal(
        instrument=instrument,
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.LIMIT if price else OrderType.MARKET,
        product=product,
        price=Decimal(price) if price else None,
    )
    return PlaceOrder(signal=signal, client_order_id=tag)


def amo(order: PlaceOrder) -> PlaceOrder:
    """``order`` as an after-market order."""
    return replace(order, signal=replace(order.signal, variety=Variety.AMO))


async def test_a_paper_day_ends_as_kites_does(tmp_path: Path) -> None:
    """Friday: MIS squared off at 15:20 (its resting MIS order cancelled), what still works
    mass-cancelled at 16:00; Monday 06:00: empty books, NRML and CNC carried at the close, and
    the numbering goes on after a restart with empty books."""
    clock = WallClock(datetime(2026, 12, 4, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path, future=True)
    await broker.place_order(command(INFY, Product.MIS, 10, "mis"))
    await broker.place_order(command(NIFTY_FUT, Product.NRML, 75, "nrml"))
    await broker.place_order(command(INFY, Product.CNC, 3, "cnc"))
    resting_mis = await broker.place_order(command(INFY, Product.MIS, 1, "mis-rest", "1400"))
    resting_cnc = await broker.place_order(command(TCS, Product.CNC, 1, "cnc-rest", "3900"))

    clock.set(FRIDAY, 15, 20)
    orders = {o.broker_order_id: o for o in await broker.orders()}
    assert orders[resting_mis].status is BrokerStatus.CANCELLED
    assert orders[resting_cnc].status is BrokerStatus.OPEN
    (square_off,) = [o for o in orders.values() if o.tag is None]
    assert (square_off.side, square_off.product, square_off.quantity) == (
        Side.SELL,
        Product.MIS,
        10,
    )
    assert square_off.status is BrokerStatus.COMPLETE
    assert square_off.order_timestamp == datetime(2026, 12, 4, 15, 20, tzinfo=IST)
    assert "square-off" in (square_off.status_message or "")
    held = {(p.instrument, p.product): p.quantity for p in await broker.positions()}
    assert held[(INFY, Product.MIS)] == 0

    # Friday 16:30 to Monday 09:15 in one look: the mass cancel, then Monday's rollover.
    clock.set(FRIDAY, 16, 30)
    cancelled = {o.broker_order_id: o for o in await broker.orders()}[resting_cnc]
    assert (cancelled.status, cancelled.status_message) == (
        BrokerStatus.CANCELLED,
        "Exchange mass cancel",
    )
    # After the close only an AMO is taken: held over the weekend's rollover for Monday's open.
    with pytest.raises(InputRejected, match="Markets are closed"):
        await broker.place_order(command(TCS, Product.CNC, 1, "late", "3900"))
    late = await broker.place_order(amo(command(TCS, Product.CNC, 1, "late", "3900")))
    clock.set(MONDAY, 9, 0)
    (held_amo,) = await broker.orders()
    assert (held_amo.broker_order_id, held_amo.status) == (late, BrokerStatus.RECEIVED)
    # Its news is pushed as any order's: taken, then the rollover leaves it be.
    events = broker.events()
    while True:
        news = await asyncio.wait_for(anext(events), timeout=5)
        if isinstance(news, OrderStatusReport) and news.broker_order_id == late:
            break
    assert (news.status, news.broker_status_text) == (BrokerStatus.RECEIVED, "AMO REQ RECEIVED")
    assert await broker.trades() == []
    carried = {
        (p.instrument, p.product): (p.quantity, p.overnight_quantity, p.close_price)
        for p in await broker.positions()
    }
    assert carried == {
        (NIFTY_FUT, Product.NRML): (75, 75, Decimal("24000")),
        (INFY, Product.CNC): (3, 3, Decimal("1500")),
    }
    await broker.close()

    restarted = paper(clock, tmp_path, future=True)  # the numbers go on all the same
    again = {(p.instrument, p.product): p.overnight_quantity for p in await restarted.positions()}
    assert again == {(NIFTY_FUT, Product.NRML): 75, (INFY, Product.CNC): 3}
    clock.set(MONDAY, 9, 15)
    monday_order = await restarted.place_order(command(INFY, Product.MIS, 2, "monday"))
    assert int(monday_order[1:]) == int(late[1:]) + 1
    orders = {o.broker_order_id: o.status for o in await restarted.orders()}
    assert orders == {late: BrokerStatus.OPEN, monday_order: BrokerStatus.COMPLETE}


async def test_a_book_without_a_calendar_runs_on_across_days(tmp_path: Path) -> None:
    """Days off (``[trading_day] enabled = false``): nothing ends, as before."""
    clock = WallClock(datetime(2026, 12, 4, 10, 0, tzinfo=IST))
    broker = PaperBroker(prices=PRICES, clock=clock)
    placed = await broker.place_order(command(INFY, Product.MIS, 1, "rest", "1400"))
    clock.set(MONDAY, 10)
    (order,) = await broker.orders()
    assert (order.broker_order_id, order.status) == (placed, BrokerStatus.OPEN)


async def test_a_desk_on_paper_goes_from_one_day_to_the_next_without_warnings(
    tmp_path: Path,
) -> None:
    """Friday's orders are not Monday's (no adoption as placed outside orderdesk), the carried
    positions are what the close implied (no "Opening positions differ"), MIS was squared off
    by the broker, and Monday's P&L starts from the close (the carried position's average
    price is still what it cost, as Kite's)."""
    clock = WallClock(datetime(2026, 12, 4, 9, 30, tzinfo=IST))
    broker = paper(clock, tmp_path, future=True)
    store, notifier = MemoryStore(), RecordingNotifier()
    config = replace(FAST, days=DayRules(calendar=CALENDAR))
    async with OrderDesk(broker, store, notifier=notifier, clock=clock, config=config) as desk:
        for instrument, quantity, product, signal_id in (
            (NIFTY_FUT, 75, Product.NRML, "nrml"),
            (INFY, 10, Product.MIS, "mis"),
        ):
            bought = await desk.submit(
                Signal(
                    instrument=instrument,
                    side=Side.BUY,
                    quantity=quantity,
                    order_type=OrderType.MARKET,
                    product=product,
                    signal_id=signal_id,
                )
            )
            await bought.wait()
            assert bought.status is OrderStatus.FILLED
        resting = await desk.submit(
            Signal(
                instrument=TCS,
                side=Side.BUY,
                quantity=1,
                order_type=OrderType.LIMIT,
                product=Product.CNC,
                price=Decimal("3900"),
                signal_id="resting",
            )
        )
        await resting.wait(lambda h: h.status is OrderStatus.OPEN)
        # Friday closes 20 above the fills: counted from the cost, Monday would open at
        # 75 x 20 = +1500 on the future.
        broker.set_price(NIFTY_FUT, Decimal(24020))
        broker.set_price(INFY, Decimal(1520))
        clock.set(FRIDAY, 16, 30)
        await eventually(lambda: desk.days is not None and desk.days.state.closed, what="close")
        assert resting.status is OrderStatus.CANCELLED
        clock.set(MONDAY, 9, 30)
        await eventually(lambda: desk.trading_day == MONDAY, what="Monday opened")
        assert desk.orders() == []
        report = await desk.reconcile()
        assert report.ok, report.rows
        position = desk.position(NIFTY_FUT, Product.NRML)
        assert (position.quantity, position.overnight_quantity) == (75, 75)
        # What it cost, as the broker says, while the day's P&L counts from Friday's close.
        (theirs,) = [p for p in await broker.positions() if p.product is Product.NRML]
        assert position.average_price == theirs.average_price == Decimal(24000)
        assert desk.position(INFY, Product.MIS).quantity == 0
        assert desk.day_pnl() == 0
    warnings = [a for a in notifier.alerts if a.severity.value != "info"]
    assert [a.title for a in warnings] == ["Squared off by the broker"], warnings
    opened = [a.body for a in notifier.alerts if a.title == "Trading day opened"]
    assert opened[-1] == "2026-12-07: 1 carried positions, 0 holdings, 0 orders carried, 0 lapsed"


async def test_the_stream_has_a_milestones_news_before_a_read_shows_it(tmp_path: Path) -> None:
    """A read that crosses the mass cancel answers only once the stream's reader has taken the
    cancellation: reconciliation never sees the end of an order before the stream told it."""
    clock = WallClock(datetime(2026, 12, 4, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path)
    resting = await broker.place_order(command(TCS, Product.CNC, 1, "rest", "3900"))
    heard: list[OrderStatusReport] = []

    async def read_the_stream() -> None:
        async for news in broker.events():
            if isinstance(news, OrderStatusReport):
                heard.append(news)
            await asyncio.sleep(0)  # a reader that takes its time over each piece of news

    reader = asyncio.create_task(read_the_stream())
    try:
        await eventually(lambda: heard and heard[-1].status is BrokerStatus.OPEN, what="OPEN")
        clock.set(FRIDAY, 16, 30)
        (shown,) = await broker.orders()
        assert (shown.broker_order_id, shown.status) == (resting, BrokerStatus.CANCELLED)
        assert (heard[-1].broker_order_id, heard[-1].status) == (resting, BrokerStatus.CANCELLED)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
