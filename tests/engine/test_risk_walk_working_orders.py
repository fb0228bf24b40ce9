"""Past a loss limit an order that reduces a position goes through, but only as far as the
position, counting the orders already working on its side.

The operator walk that found it: strategy swing held +75 of a NIFTY call NRML past its own
loss limit; two SELL 75 NRML limit orders were both accepted (each compared with the position
alone), both filled, and the account was short a naked call opened at the loss limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.engine import OrderDesk, RiskLimits, risk
from orderdesk.engine.handle import OrderHandle
from orderdesk.engine.strategy_risk import StrategyRiskContext
from orderdesk.errors import RiskDenied
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import NIFTY_CE, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

NRML = Product.NRML
LOT = 75


@asynccontextmanager
async def running(
    broker: FakeBroker,
    store: MemoryStore,
    notifier: RecordingNotifier,
    *,
    limits: RiskLimits | None = None,
    strategies: Mapping[str, RiskLimits] | None = None,
) -> AsyncIterator[OrderDesk]:
    desk = OrderDesk(
        broker,
        store,
        notifier=notifier,
        config=FAST,
        limits=limits or RiskLimits(),
        strategy_limits=strategies or {},
    )
    async with desk:
        yield await settled(desk)


def sale(signal_id: str, strategy: str = "swing", price: str = "85") -> Signal:
    """A resting SELL of one lot of the call, NRML: what reduces swing's long."""
    return signal(
        instrument=NIFTY_CE,
        side=Side.SELL,
        quantity=LOT,
        product=NRML,
        order_type=OrderType.LIMIT,
        price=Decimal(price),
        strategy=strategy,
        signal_id=signal_id,
    )


async def long_past_the_limit(desk: OrderDesk, broker: FakeBroker, strategy: str) -> None:
    """``strategy`` buys one lot of the call at 100 and it falls to 80: 75 x -20 = -1,500."""
    bought = await desk.submit(
        signal(instrument=NIFTY_CE, quantity=LOT, product=NRML, strategy=strategy)
    )
    await bought.wait()
    assert bought.status is OrderStatus.FILLED
    broker.tick(NIFTY_CE, Decimal("80"))
    await eventually(lambda: desk.day_pnl() == Decimal(-1500), what="the loss marked")


async def resting(desk: OrderDesk, order: Signal) -> OrderHandle:
    handle = await desk.submit(order)
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    return handle


def sells(broker: FakeBroker) -> list[str]:
    return [p.client_order_id for p in broker.placements if p.signal.side is Side.SELL]


async def test_the_walk_a_second_exit_of_one_long_is_refused_at_the_strategy_limit(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Swing past its own limit with +75: its first SELL 75 goes, the second, which with the
    first working would leave the account short, is refused and names what is working; once
    the first is cancelled the second goes."""
    strategies = {"swing": RiskLimits(daily_loss_limit=Decimal(1000))}
    async with running(broker, store, notifier, strategies=strategies) as desk:
        await long_past_the_limit(desk, broker, "swing")
        first = await resting(desk, sale("exit-1"))
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(sale("exit-2"))
        assert sells(broker) == [first.order_id]
        await first.cancel()
        await first.wait()
        second = await resting(desk, sale("exit-2"))
        assert sells(broker) == [first.order_id, second.order_id]
    assert denied.value.check == "daily_loss_limit"
    assert denied.value.reason == (
        "strategy swing: the day's P&L -1500.00 is at the loss limit of 1000; only an order "
        "that reduces a position goes through: SELL 75 with 75 already working on that side "
        "is more than the long 75 NRML held in NFO:NIFTY26DEC24000CE; cancel the working "
        "orders first"
    )


async def test_the_desks_limit_counts_every_strategys_working_orders(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Past the desk-wide limit, a SELL by beta is refused while alpha's SELL of the whole
    long is working: the account's position is what both would fill against."""
    limits = RiskLimits(daily_loss_limit=Decimal(1000))
    async with running(broker, store, notifier, limits=limits) as desk:
        await long_past_the_limit(desk, broker, "alpha")
        first = await resting(desk, sale("exit-1", strategy="alpha"))
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(sale("exit-2", strategy="beta"))
    assert denied.value.check == "daily_loss_limit"
    assert "75 already working on that side" in denied.value.reason
    assert sells(broker) == [first.order_id]


async def test_a_partly_working_exit_leaves_room_for_the_rest(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Two lots held, one lot working to sell: one more lot goes, a third does not."""
    strategies = {"swing": RiskLimits(daily_loss_limit=Decimal(1000))}
    async with running(broker, store, notifier, strategies=strategies) as desk:
        bought = await desk.submit(
            signal(instrument=NIFTY_CE, quantity=2 * LOT, product=NRML, strategy="swing")
        )
        await bought.wait()
        broker.tick(NIFTY_CE, Decimal("90"))  # 150 x -10
        await eventually(lambda: desk.day_pnl() == Decimal(-1500), what="the loss marked")
        await resting(desk, sale("exit-1"))
        await resting(desk, sale("exit-2"))
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(sale("exit-3"))
    assert "150 already working" in denied.value.reason
    assert len(sells(broker)) == 2


async def test_a_modify_of_the_working_exit_does_not_count_it_twice(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The exit's own new terms are not added to its old ones, and what it has filled is in
    the position already: a re-price of a partly filled exit still goes at the limit."""
    strategies = {"swing": RiskLimits(daily_loss_limit=Decimal(1000))}
    async with running(broker, store, notifier, strategies=strategies) as desk:
        await long_past_the_limit(desk, broker, "swing")
        exit_ = await resting(desk, sale("exit-1"))
        await desk.modify(exit_.order_id, price=Decimal("84"))
        await eventually(lambda: exit_.order.price == Decimal("84"), what="the first re-price")
        (broker_id,) = exit_.broker_order_ids
        broker.fill(broker_id, 30)
        await eventually(lambda: exit_.filled_quantity == 30, what="the part fill")
        await desk.modify(exit_.order_id, price=Decimal("83"))  # 45 left against the long 45
        await eventually(lambda: exit_.order.price == Decimal("83"), what="the second re-price")
        with pytest.raises(RiskDenied) as denied:
            await desk.modify(exit_.order_id, quantity=2 * LOT)  # would take 120 of 45
    assert denied.value.check == "daily_loss_limit"
    assert "SELL 150 is more than the long 45 NRML" in denied.value.reason


async def test_the_desks_contexts_know_the_working_orders(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Both the desk's context and a strategy's answer what works in a line, each counting
    its own orders (a strategy: its own, and the desk's exits of the whole line)."""
    async with running(broker, store, notifier) as desk:
        await resting(desk, sale("a-1", strategy="alpha"))
        await resting(desk, sale("b-1", strategy="beta"))
        alpha = StrategyRiskContext("alpha", desk.book, desk.risk_context)
        probe = sale("a-2", strategy="alpha")
        assert isinstance(desk.risk_context, risk.WorkingOrders)
        assert isinstance(alpha, risk.WorkingOrders)
        assert desk.risk_context.working_with(probe) == 3 * LOT
        assert alpha.working_with(probe) == 2 * LOT
        buy = signal(instrument=NIFTY_CE, quantity=LOT, product=NRML, strategy="alpha")
        assert desk.risk_context.working_with(buy) == LOT  # sales do not work on its side
        mis = replace(probe, product=Product.MIS)
        assert desk.risk_context.working_with(mis) == LOT  # the NRML sales are another line
