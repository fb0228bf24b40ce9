"""The kill switch lets a sale of stock held through: a CNC SELL of what the account holds can
only take exposure away, so it goes as an exit does, as far as the holdings go, counting
today's sales and the sales working against them; a sale beyond them (a short), a buy or a
sale in another product stays refused.

The operator walk that found it: with the switch engaged, by hand or by ``on_daily_loss =
"kill_switch"``, ``orderdesk place NSE:HDFCBANK SELL 2 --type MARKET --product CNC`` was
refused "kill_switch: … engaged": selling holdings at a loss tripped the loss limit, and the
limit then kept the rest unsold; the only way left was Kite web.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, OrderType, Product, Side
from orderdesk.domain.calendar import IST
from orderdesk.engine import DeskConfig, OrderDesk, RiskLimits
from orderdesk.engine.config import LossLimitAction
from orderdesk.engine.handle import OrderHandle
from orderdesk.errors import RiskDenied
from tests.engine.conftest import settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.engine.test_days import DAYS, MONDAY
from tests.support import WallClock, eventually

CNC = Product.CNC


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(MONDAY.year, MONDAY.month, MONDAY.day, 9, 30, tzinfo=IST))


@asynccontextmanager
async def holding_ten(
    broker: FakeBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
    *,
    config: DeskConfig = DAYS,
    limits: RiskLimits | None = None,
) -> AsyncIterator[OrderDesk]:
    """A desk whose day opened with 10 INFY in holdings (closed at 1500)."""
    broker.held[INFY] = 10
    desk = OrderDesk(broker, store, notifier=notifier, clock=clock, config=config, limits=limits)
    async with desk:
        await settled(desk)
        assert [(h.instrument, h.total) for h in desk.holdings()] == [(INFY, 10)]
        yield desk


async def sold(desk: OrderDesk, signal_id: str, quantity: int) -> OrderHandle:
    handle = await desk.submit(
        signal(signal_id=signal_id, side=Side.SELL, quantity=quantity, product=CNC)
    )
    await handle.wait()
    assert handle.status is OrderStatus.FILLED
    return handle


async def refused(desk: OrderDesk, signal_id: str, **terms: object) -> RiskDenied:
    with pytest.raises(RiskDenied) as denied:
        await desk.submit(signal(signal_id=signal_id, **terms))
    return denied.value


async def test_the_walk_holdings_are_sold_through_the_engaged_switch_but_no_further(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Engaged by hand: SELL 4 CNC of the 10 held goes; SELL 7 would sell 1 more than the 6
    left (a short) and is refused saying so; a CNC buy and an MIS sale stay refused; SELL 6
    sells the rest."""
    async with holding_ten(broker, store, clock, notifier) as desk:
        await desk.engage_kill_switch("drill")
        await sold(desk, "first", 4)
        beyond = await refused(desk, "beyond", side=Side.SELL, quantity=7, product=CNC)
        buy = await refused(desk, "buy", quantity=1, product=CNC)
        mis = await refused(desk, "mis", side=Side.SELL, quantity=1, product=Product.MIS)
        await sold(desk, "rest", 6)
        short = await refused(desk, "short", side=Side.SELL, quantity=1, product=CNC)
        assert desk.kill_switch.engaged
    assert beyond.check == "kill_switch"
    assert beyond.reason == (
        "the kill switch is engaged (drill); a CNC sale goes through it only out of stock "
        "held: SELL 7 is more than the long 6 CNC held in NSE:INFY"
    )
    assert (buy.check, buy.reason) == ("kill_switch", "the kill switch is engaged (drill)")
    assert (mis.check, mis.reason) == ("kill_switch", "the kill switch is engaged (drill)")
    assert short.reason.endswith("nothing is held in NSE:INFY CNC to reduce")
    assert broker.net(INFY, CNC) == -10
    assert broker.net(INFY, Product.MIS) == 0


async def test_a_sale_working_against_the_holdings_counts_with_them(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """A limit SELL 8 CNC resting when the switch engages: a SELL 3 would sell 11 of the 10
    held once both fill, and is refused; SELL 2 goes."""
    async with holding_ten(broker, store, clock, notifier) as desk:
        resting = await desk.submit(
            signal(
                signal_id="resting",
                side=Side.SELL,
                quantity=8,
                product=CNC,
                order_type=OrderType.LIMIT,
                price=Decimal("1600"),
            )
        )
        await resting.wait(lambda h: h.status is OrderStatus.OPEN)
        await desk.engage_kill_switch("drill")
        over = await refused(desk, "over", side=Side.SELL, quantity=3, product=CNC)
        await sold(desk, "within", 2)
    assert over.reason == (
        "the kill switch is engaged (drill); a CNC sale goes through it only out of stock "
        "held: SELL 3 with 8 already working on that side is more than the long 10 CNC held "
        "in NSE:INFY; cancel the working orders first"
    )


async def test_the_loss_limits_switch_lets_the_rest_of_the_holdings_go(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """``on_daily_loss = "kill_switch"``, limit 300: 4 of the 10 held sold at 1400 against
    the close of 1500 is -400, which engages the switch; the other 6 still sell, a seventh
    does not."""
    config = replace(DAYS, on_loss_limit=LossLimitAction.KILL_SWITCH)
    limits = RiskLimits(daily_loss_limit=Decimal(300))
    async with holding_ten(broker, store, clock, notifier, config=config, limits=limits) as desk:
        broker.prices[INFY] = Decimal("1400")
        await sold(desk, "first", 4)
        await eventually(lambda: desk.kill_switch.engaged, what="the loss limit's switch")
        await sold(desk, "rest", 6)
        short = await refused(desk, "short", side=Side.SELL, quantity=1, product=CNC)
    assert short.check == "kill_switch"
    assert short.reason.endswith("nothing is held in NSE:INFY CNC to reduce")
    assert broker.net(INFY, CNC) == -10
