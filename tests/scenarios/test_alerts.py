"""On the simulator: a rejection after the broker took the order, and the day's loss reaching
its limit, are told the moment they happen (issue 14)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import RiskLimits
from orderdesk.engine.config import LossLimitAction
from orderdesk.ports.notifier import Severity
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import (
    SCENARIO_CONFIG,
    BrokerView,
    ListNotifier,
    open_desk,
    running_sim,
)
from tests.support import eventually

INFY = InstrumentKey.parse("NSE:INFY")


def buy(signal_id: str, quantity: int, **fields: object) -> Signal:
    values: dict[str, object] = {
        "instrument": INFY,
        "side": Side.BUY,
        "quantity": quantity,
        "order_type": OrderType.MARKET,
        "product": Product.CNC,
        "signal_id": signal_id,
    }
    values.update(fields)
    return Signal(**values)  # type: ignore[arg-type]


async def test_a_margin_rejection_after_acceptance_is_alerted(tmp_path: Path) -> None:
    """The simulator takes an order it cannot fund and rejects it (RMS: margin exceeds): the
    desk records the rejection and alerts it with the broker's reason."""
    notifier = ListNotifier()
    async with (
        running_sim(seed=71, rate_limits=False) as (_, address),
        open_desk(address, sqlite_url(tmp_path / "desk.db"), tmp_path, notifier=notifier) as desk,
    ):
        await BrokerView(address).control("prices", {"NSE:INFY": 1500})
        handle = await desk.submit(buy("too-big", 5_000))  # 7.5 M of stock on 1 M of cash
        await handle.wait(timeout=10)
        assert handle.status is OrderStatus.REJECTED
        assert handle.order.broker_order_id is not None  # the broker had taken it
        (alert,) = [a for a in notifier.alerts if a.title == "Order rejected by the broker"]
        assert alert.order_id == handle.order_id
        assert "Insufficient funds" in alert.body


async def test_the_loss_limit_is_alerted_and_engages_the_kill_switch(tmp_path: Path) -> None:
    """When ticks mark the day's loss to the limit, a critical alert is raised at once, the
    kill switch is engaged, open orders are cancelled and new risk is refused."""
    notifier = ListNotifier()
    config = replace(SCENARIO_CONFIG, on_loss_limit=LossLimitAction.KILL_SWITCH_AND_CANCEL)
    async with (
        running_sim(seed=72, rate_limits=False) as (_, address),
        open_desk(
            address,
            sqlite_url(tmp_path / "desk.db"),
            tmp_path,
            notifier=notifier,
            config=config,
            limits=RiskLimits(daily_loss_limit=Decimal("1000")),
        ) as desk,
    ):
        view = BrokerView(address)
        await view.control("prices", {"NSE:INFY": 1500})
        bought = await desk.submit(buy("in", 20))
        await bought.wait(timeout=10)
        resting = await desk.submit(
            buy("rest", 1, order_type=OrderType.LIMIT, price=Decimal("1400"))
        )
        await resting.wait(lambda h: h.status is OrderStatus.OPEN, timeout=10)
        await view.control("prices", {"NSE:INFY": 1440})  # 20 x -60: a 1,200 loss
        await eventually(
            lambda: "Daily loss limit reached" in notifier.titles(Severity.CRITICAL),
            timeout=10,
            what="the loss-limit alert",
        )
        assert desk.kill_switch.engaged
        await resting.wait(timeout=10)
        assert resting.status is OrderStatus.CANCELLED
        assert desk.day_pnl() <= -1000
