"""Past a loss limit, an order reduces a position in its own product only: the broker keeps a
position per product, so an MIS buy never closes an NRML short.

The operator walk that found it: the desk past its limit, short a NIFTY call NRML; a BUY MIS of
the same size was let through as "reducing", the broker then held NRML short and MIS long, the
MIS long was squared off at 15:20 and the NRML short never reduced. A CNC sale passed the same
way as the "exit" of an MIS long.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, Product, Side
from orderdesk.domain.calendar import IST
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.handle import OrderHandle
from orderdesk.errors import RiskDenied
from tests.engine.conftest import settled
from tests.engine.fakes import INFY, NIFTY_CE, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.engine.test_days import DAYS, MONDAY, TUESDAY
from tests.engine.test_risk_walk_working_orders import running
from tests.support import WallClock, eventually

MIS, NRML, CNC = Product.MIS, Product.NRML, Product.CNC
LOSS_LIMIT = RiskLimits(daily_loss_limit=Decimal(1000))


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(MONDAY.year, MONDAY.month, MONDAY.day, 9, 30, tzinfo=IST))


async def traded(desk: OrderDesk, **terms: object) -> OrderHandle:
    handle = await desk.submit(signal(**terms))
    await handle.wait()
    assert handle.status is OrderStatus.FILLED
    return handle


async def short_call_past_the_limit(desk: OrderDesk, broker: FakeBroker, strategy: str) -> None:
    """``strategy`` sells one lot of the call NRML at 100 and it rises to 120: -1,500."""
    await traded(
        desk, instrument=NIFTY_CE, side=Side.SELL, quantity=75, product=NRML, strategy=strategy
    )
    broker.tick(NIFTY_CE, Decimal("120"))
    await eventually(lambda: desk.day_pnl() == Decimal(-1500), what="the loss marked")


def cover(product: Product, strategy: str = "manual") -> dict[str, object]:
    return {
        "instrument": NIFTY_CE,
        "side": Side.BUY,
        "quantity": 75,
        "product": product,
        "strategy": strategy,
    }


async def test_the_walk_an_mis_buy_does_not_cover_an_nrml_short_at_the_desks_limit(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Past the desk's limit with NRML -75: the BUY 75 MIS is refused as new exposure, the
    BUY 75 NRML goes and leaves the account flat."""
    async with running(broker, store, notifier, limits=LOSS_LIMIT) as desk:
        await short_call_past_the_limit(desk, broker, "manual")
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(signal(**cover(MIS)))
        await traded(desk, **cover(NRML))
    assert denied.value.check == "daily_loss_limit"
    assert denied.value.reason == "the day's P&L -1500.00 is at the loss limit of 1000"
    assert [p.signal.product for p in broker.placements] == [NRML, NRML]
    assert (broker.net(NIFTY_CE, NRML), broker.net(NIFTY_CE, MIS)) == (0, 0)


async def test_an_mis_buy_does_not_cover_an_nrml_short_at_the_strategys_limit(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The same at a strategy's own limit, its own position counted per product too."""
    strategies = {"swing": LOSS_LIMIT}
    async with running(broker, store, notifier, strategies=strategies) as desk:
        await short_call_past_the_limit(desk, broker, "swing")
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(signal(**cover(MIS, "swing")))
        await traded(desk, **cover(NRML, "swing"))
    assert denied.value.check == "daily_loss_limit"
    assert denied.value.reason.startswith("strategy swing: the day's P&L -1500.00")
    assert [p.signal.product for p in broker.placements] == [NRML, NRML]


async def test_a_cnc_sale_is_not_the_exit_of_an_mis_long(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Long 10 INFY MIS past the limit (and no stock delivered): a CNC sale would be a short
    of its own, refused; the MIS sale goes."""
    async with running(broker, store, notifier, limits=LOSS_LIMIT) as desk:
        await traded(desk, quantity=10)  # MIS at 1500
        broker.tick(INFY, Decimal("1350"))
        await eventually(lambda: desk.day_pnl() == Decimal(-1500), what="the loss marked")
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(signal(side=Side.SELL, quantity=10, product=CNC))
        await traded(desk, side=Side.SELL, quantity=10, product=MIS)
    assert denied.value.check == "daily_loss_limit"
    assert broker.net(INFY, CNC) == 0


async def test_a_strategy_past_its_limit_sells_held_stock_but_does_not_buy_it_back(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Monday swing buys 10 INFY CNC: Tuesday's holdings. Tuesday it loses 1,000 on a round
    trip MIS, past its own limit of 500. Selling the held stock (CNC) still goes, as an exit
    does; buying it back is new exposure, not a reduction, and is refused."""
    strategies = {"swing": RiskLimits(daily_loss_limit=Decimal(500))}
    desk = OrderDesk(
        broker, store, notifier=notifier, clock=clock, config=DAYS, strategy_limits=strategies
    )
    async with desk:
        await settled(desk)
        await traded(desk, strategy="swing", product=CNC)  # 10 @ 1500
        broker.next_day()
        clock.set(TUESDAY, 9, 0)
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        await traded(desk, strategy="swing", signal_id="in")  # MIS 10 @ 1500
        broker.prices[INFY] = Decimal("1400")
        await traded(desk, strategy="swing", signal_id="out", side=Side.SELL)  # MIS @ 1400
        assert desk.strategy_books("swing")["swing"].pnl == Decimal(-1000)
        sold = await traded(
            desk, strategy="swing", signal_id="sell-held", side=Side.SELL, product=CNC
        )
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(signal(strategy="swing", signal_id="buy-back", product=CNC))
    assert sold.status is OrderStatus.FILLED
    assert denied.value.check == "daily_loss_limit"
    # The stock sold at 1400 against Monday's close of 1500: another -1,000.
    assert denied.value.reason.startswith("strategy swing: the day's P&L -2000.00")


async def test_past_the_square_off_a_share_the_account_is_flat_in_counts_no_more(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Alpha buys 40 INFY MIS at 1500, gamma sells them at 1510: the account is flat and the
    broker squares off nothing. Past 15:20 the shares are crossed at 1510; a rise to 1600 at
    15:25 no longer puts gamma (−3,600 as an open short) past its limit of 500, and its CNC
    buy goes."""
    strategies = {"gamma": RiskLimits(daily_loss_limit=Decimal(500))}
    desk = OrderDesk(
        broker, store, notifier=notifier, clock=clock, config=DAYS, strategy_limits=strategies
    )
    async with desk:
        await settled(desk)
        await traded(desk, strategy="alpha", quantity=40, signal_id="a")
        broker.prices[INFY] = Decimal("1510")
        await traded(desk, strategy="gamma", quantity=40, side=Side.SELL, signal_id="g")
        clock.set(MONDAY, 15, 25)
        broker.tick(INFY, Decimal("1600"))
        await eventually(lambda: desk.book.last_prices.get(INFY) == 1600, what="the rise seen")
        books = desk.strategy_books()
        assert (books["alpha"].pnl, books["gamma"].pnl) == (Decimal(400), Decimal(0))
        late = await traded(desk, strategy="gamma", quantity=1, product=CNC, signal_id="cnc")
    assert late.status is OrderStatus.FILLED
