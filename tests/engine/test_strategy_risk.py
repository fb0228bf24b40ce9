"""Per-strategy risk limits: applied on top of the desk's, scoped to the strategy's own book."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from orderdesk.domain import OrderType, Product, Side, Signal
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.strategy_risk import StrategyRiskContext
from orderdesk.errors import RiskDenied
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually


@asynccontextmanager
async def running(
    broker: FakeBroker,
    store: MemoryStore,
    notifier: RecordingNotifier,
    strategies: Mapping[str, RiskLimits],
    limits: RiskLimits | None = None,
) -> AsyncIterator[OrderDesk]:
    desk = OrderDesk(
        broker,
        store,
        notifier=notifier,
        config=FAST,
        limits=limits or RiskLimits(),
        strategy_limits=strategies,
    )
    async with desk:
        yield await settled(desk)


def resting(strategy: str) -> Signal:
    return signal(strategy=strategy, order_type=OrderType.LIMIT, price=Decimal("1490"))


async def mark(desk: OrderDesk, broker: FakeBroker, price: str) -> None:
    broker.tick(INFY, Decimal(price))
    await eventually(lambda: desk.book.last_prices.get(INFY) == Decimal(price), what="mark")


async def test_strategy_limit_denies_only_that_strategy(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Alpha's quantity limit denies its signal, and beta's identical signal is placed."""
    strategies = {"alpha": RiskLimits(max_quantity=10)}
    async with running(broker, store, notifier, strategies) as desk:
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(signal(strategy="alpha", quantity=20))
        placed = await desk.submit(signal(strategy="beta", quantity=20))
    assert denied.value.check == "max_quantity"
    assert denied.value.reason == "strategy alpha: quantity 20 exceeds the limit of 10"
    assert "SignalDenied" in store.types("desk")
    assert "Signal denied by max_quantity" in notifier.titles()
    assert [p.client_order_id for p in broker.placements] == [placed.order_id]


async def test_global_limits_still_apply_to_a_strategy_with_its_own(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A looser strategy limit does not lift the desk's: both have to pass."""
    strategies = {"alpha": RiskLimits(max_quantity=100)}
    global_limits = RiskLimits(max_quantity=5)
    async with running(broker, store, notifier, strategies, global_limits) as desk:
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(signal(strategy="alpha", quantity=6))
        await desk.engage_kill_switch("drill")
        with pytest.raises(RiskDenied) as killed:
            await desk.submit(signal(strategy="alpha", quantity=1))
    assert denied.value.check == "max_quantity"
    assert not denied.value.reason.startswith("strategy")
    assert killed.value.check == "kill_switch"
    assert broker.placements == []


async def test_strategy_max_open_orders_counts_only_its_own_orders(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Beta's open orders do not use up alpha's allowance; alpha's own second one is denied."""
    strategies = {"alpha": RiskLimits(max_open_orders=1)}
    async with running(broker, store, notifier, strategies) as desk:
        for _ in range(2):
            await (await desk.submit(resting("beta"))).wait(lambda h: h.is_resolved)
        first = await desk.submit(resting("alpha"))
        await first.wait(lambda h: h.is_resolved)
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(resting("alpha"))
        await desk.submit(resting("beta"))
    assert denied.value.check == "max_open_orders"
    assert denied.value.reason == "strategy alpha: 1 orders are open; the limit is 1"
    assert len(broker.placements) == 4


async def test_open_order_counts_follow_every_order_to_its_end(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The book's open-order counts (what the gate reads instead of walking the day's book)
    match a walk of the book after placing, filling and cancelling, and a cancelled order
    gives its strategy's allowance back."""
    strategies = {"alpha": RiskLimits(max_open_orders=1)}

    def counted(desk: OrderDesk) -> tuple[set[str], dict[str, int]]:
        walked = desk.book.open_orders()
        by_strategy: dict[str, int] = {}
        for order in walked:
            by_strategy[order.signal.strategy] = by_strategy.get(order.signal.strategy, 0) + 1
        assert desk.book.open_ids == {o.order_id for o in walked}
        own = {k: v for k, v in desk.book.open_by_strategy.items() if v}
        assert own == by_strategy
        # Instruments leave the count when their last open order ends (none at zero).
        instruments = dict(Counter(o.signal.instrument for o in walked))
        assert dict(desk.book.open_by_instrument) == instruments
        return desk.book.open_ids, own

    async with running(broker, store, notifier, strategies) as desk:
        first = await desk.submit(resting("alpha"))
        await first.wait(lambda h: h.is_resolved)
        beta = await desk.submit(resting("beta"))
        await beta.wait(lambda h: h.is_resolved)
        filled = await desk.submit(signal(strategy="beta"))
        await filled.wait()
        assert counted(desk) == ({first.order_id, beta.order_id}, {"alpha": 1, "beta": 1})
        with pytest.raises(RiskDenied):
            await desk.submit(resting("alpha"))
        await desk.cancel(first.order_id)
        await first.wait()
        assert counted(desk) == ({beta.order_id}, {"beta": 1})
        again = await desk.submit(resting("alpha"))
        await again.wait(lambda h: h.is_resolved)
        assert counted(desk)[1] == {"alpha": 1, "beta": 1}
        for handle in (again, beta):
            await handle.cancel()
            await handle.wait()
        assert counted(desk) == (set(), {})
        assert not desk.book.open_by_instrument


async def test_strategy_daily_loss_uses_only_its_own_pnl(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Beta's loss does not stop alpha; alpha's own loss stops its new buys, not its exit."""
    strategies = {"alpha": RiskLimits(daily_loss_limit=Decimal(500))}
    async with running(broker, store, notifier, strategies) as desk:
        await (await desk.submit(signal(strategy="beta"))).wait()  # 10 @ 1500
        await mark(desk, broker, "1400")
        assert desk.day_pnl() == Decimal(-1000)
        await (await desk.submit(signal(strategy="alpha"))).wait()  # 10 @ 1400, P&L 0
        await mark(desk, broker, "1300")  # alpha -1000, beta -2000
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(signal(strategy="alpha"))
        exit_ = await desk.submit(signal(strategy="alpha", side=Side.SELL, quantity=10))
        await exit_.wait()
        await desk.submit(signal(strategy="beta"))
    assert denied.value.check == "daily_loss_limit"
    assert denied.value.reason.startswith("strategy alpha: the day's P&L -1000")
    assert len(broker.placements) == 4


async def test_scoped_context_counts_one_strategys_book(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The strategy context reports that strategy's open orders, P&L and net position only."""
    async with running(broker, store, notifier, {}) as desk:
        await (await desk.submit(signal(strategy="alpha", quantity=3))).wait()
        await (await desk.submit(signal(strategy="beta", quantity=7))).wait()
        await (await desk.submit(resting("beta"))).wait(lambda h: h.is_resolved)
        await mark(desk, broker, "1510")
        alpha = StrategyRiskContext("alpha", desk.book, desk.risk_context)
        beta = StrategyRiskContext("beta", desk.book, desk.risk_context)
        nobody = StrategyRiskContext("gamma", desk.book, desk.risk_context)
        assert (alpha.open_order_count(), beta.open_order_count()) == (0, 1)
        pnl = alpha.day_pnl(), beta.day_pnl(), nobody.day_pnl()
        assert pnl == (Decimal(30), Decimal(70), Decimal(0))
        assert (alpha.net_position(INFY, Product.MIS), beta.net_position(INFY, Product.MIS)) == (
            3,
            7,
        )
        assert nobody.net_position(INFY, Product.MIS) == 0
