"""The kill switch stops new risk, never the way out: the desk's own exit goes through it while
it only reduces the position in its product, counting the orders already working on its side.

The operator walk that found it: with ``on_daily_loss = "kill_switch"`` the losing position
could not be exited (``orderdesk exit NSE:INFY --product MIS`` refused "kill_switch: the kill
switch is engaged ..."); the only way out was to release the switch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import pytest

from orderdesk.domain import InstrumentKey, OrderStatus, OrderType, Product, Side, Signal
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.book import OrderBook
from orderdesk.engine.config import ExitPolicy, LossLimitAction
from orderdesk.engine.handle import OrderHandle
from orderdesk.engine.risk import KillSwitch, RiskGate, checks_for
from orderdesk.engine.strategy_risk import StrategyRisk
from orderdesk.errors import RiskDenied
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

MIS = Product.MIS


async def long_ten(desk: OrderDesk) -> None:
    bought = await desk.submit(signal(quantity=10))  # INFY MIS at 1500
    await bought.wait()
    assert bought.status is OrderStatus.FILLED


async def test_the_walk_the_loss_limits_kill_switch_lets_the_exit_out(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """``on_loss_limit = kill_switch``: the loss engages the switch; a plain signal, even a
    sale, stays held by it, and the exit flattens the position without releasing it."""
    config = replace(FAST, on_loss_limit=LossLimitAction.KILL_SWITCH)
    limits = RiskLimits(daily_loss_limit=Decimal(150))
    async with OrderDesk(broker, store, notifier=notifier, config=config, limits=limits) as desk:
        await settled(desk)
        await long_ten(desk)
        broker.tick(INFY, Decimal("1480"))  # 10 x -20
        await eventually(lambda: desk.kill_switch.engaged, what="the switch engaged")
        with pytest.raises(RiskDenied) as held:
            await desk.submit(signal(side=Side.SELL, quantity=10))
        exit_ = await desk.exit_position(INFY, product=MIS)
        assert exit_ is not None
        await exit_.wait()
        assert desk.kill_switch.engaged
    assert held.value.check == "kill_switch"
    assert exit_.status is OrderStatus.FILLED
    assert broker.net(INFY, MIS) == 0


async def test_a_strategys_exit_goes_through_the_kill_switch(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """An exit naming a strategy (its share) goes through the switch as the account's does."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await settled(desk)
        await (await desk.submit(signal(strategy="alpha", quantity=4))).wait()
        await (await desk.submit(signal(strategy="beta", quantity=6))).wait()
        await desk.engage_kill_switch("drill")
        exit_ = await desk.exit_position(INFY, product=MIS, strategy="alpha")
        assert exit_ is not None
        await exit_.wait()
    assert (exit_.status, exit_.order.quantity) == (OrderStatus.FILLED, 4)
    assert broker.net(INFY, MIS) == 6


async def sale_working_under_the_switch(desk: OrderDesk) -> OrderHandle:
    """Long 10 MIS, a SELL 10 resting against it, then the kill switch engaged."""
    await settled(desk)
    await long_ten(desk)
    working = await desk.submit(
        signal(side=Side.SELL, order_type=OrderType.LIMIT, price=Decimal("1600"))
    )
    await working.wait(lambda h: h.status is OrderStatus.OPEN)
    await desk.engage_kill_switch("drill")
    return working


async def test_an_exit_that_would_overshoot_with_working_orders_stays_held(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A SELL 10 already working against the long 10, kept working by the exit
    (``cancel_working=False``): the exit's SELL 10 would leave the account short once both
    fill, so the switch holds it and says what to do; with the working sale cancelled, the
    exit goes."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        working = await sale_working_under_the_switch(desk)
        with pytest.raises(RiskDenied) as held:
            await desk.exit_position(INFY, product=MIS, cancel_working=False)
        await working.cancel()
        await working.wait()
        exit_ = await desk.exit_position(INFY, product=MIS)
        assert exit_ is not None
        await exit_.wait()
    assert held.value.check == "kill_switch"
    assert held.value.reason == (
        "the kill switch is engaged (drill); an exit goes through it only to reduce a "
        "position: SELL 10 with 10 already working on that side is more than the long 10 MIS "
        "held in NSE:INFY; cancel the working orders first"
    )
    assert exit_.status is OrderStatus.FILLED
    assert broker.net(INFY, MIS) == 0


async def test_by_default_the_exit_cancels_the_working_sale_and_goes_through_the_switch(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The same SELL 10 working against the long 10 under the engaged switch: the exit cancels
    it first, so its own SELL 10 only reduces the position and goes through."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        working = await sale_working_under_the_switch(desk)
        exit_ = await desk.exit_position(INFY, product=MIS)
        assert exit_ is not None
        await exit_.wait()
        assert desk.kill_switch.engaged
    assert working.status is OrderStatus.CANCELLED
    assert exit_.status is OrderStatus.FILLED
    assert broker.net(INFY, MIS) == 0


async def test_the_exits_reprice_goes_through_the_kill_switch(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A resting exit is re-priced through the switch (its own working quantity is not
    counted against it); an operator's modify of the same order is new terms, held."""
    broker.fill_market = False
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await settled(desk)
        bought = await desk.submit(signal(quantity=10))
        (bought_id,) = bought.broker_order_ids
        broker.fill(bought_id)
        await bought.wait()
        await desk.engage_kill_switch("drill")
        never = ExitPolicy(reprice_after=3600.0)
        exit_ = await desk.exit_position(INFY, product=MIS, policy=never)
        assert exit_ is not None
        await exit_.wait(lambda h: h.status is OrderStatus.OPEN)
        await desk.modify(
            exit_.order_id, price=Decimal("1490"), order_type=OrderType.LIMIT, exiting=True
        )
        await eventually(lambda: exit_.order.price == Decimal("1490"), what="the re-price")
        with pytest.raises(RiskDenied) as held:
            await desk.modify(exit_.order_id, price=Decimal("1480"))
    assert held.value.check == "kill_switch"


@dataclass
class Holding:
    """A RiskContext holding ``net`` in every line, with nothing else working."""

    net: int

    def open_order_count(self) -> int:
        return 0

    def day_pnl(self) -> Decimal:
        return Decimal(0)

    def net_position(self, instrument: InstrumentKey, product: Product) -> int:
        return self.net

    def working_with(self, signal: Signal) -> int:
        return signal.quantity

    def monotonic(self) -> float:
        return 0.0

    async def last_price(self, instrument: InstrumentKey) -> Decimal | None:
        return Decimal(1500)

    async def required_margin(self, signal: Signal) -> Decimal:
        return Decimal(0)

    async def available_funds(self, signal: Signal) -> Decimal:
        return Decimal(0)


async def test_the_exit_screen_keeps_the_symbol_lists_and_refuses_new_exposure() -> None:
    """Through the engaged switch an exit still meets the blocked list, and an "exit" on the
    position's own side, or of a flat line, is new exposure the switch holds."""
    switch = KillSwitch()
    switch.engaged, switch.reason = True, "drill"
    blocked = RiskLimits(blocked_symbols=frozenset({"INFY"}))
    risk = StrategyRisk(RiskGate(checks_for(RiskLimits(), switch)), {}, OrderBook(), Holding(0))
    strict = StrategyRisk(RiskGate(checks_for(blocked, switch)), {}, OrderBook(), Holding(0))
    sale = signal(side=Side.SELL, quantity=10)
    assert await risk.screen_exit(sale, Holding(10)) is None
    assert await risk.evaluate(sale, Holding(10)) is not None  # a plain signal: held
    denied = await strict.screen_exit(sale, Holding(10))
    assert denied is not None
    assert denied.check == "blocked_symbols"
    adding = await risk.screen_exit(sale, Holding(-10))
    assert adding is not None
    assert adding.reason.endswith("a SELL adds to the short 10 MIS held in NSE:INFY")
    flat = await risk.screen_exit(sale, Holding(0))
    assert flat is not None
    assert flat.reason.endswith("nothing is held in NSE:INFY MIS to reduce")
