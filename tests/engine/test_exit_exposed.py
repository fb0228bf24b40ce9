"""A strategy's exit that flattens the account (its share capped at what the account holds, as
other strategies' shares offset it) says which other strategies' working orders it leaves with
no position behind them. The walk: alpha +100, gamma −40, beta +30 with a stop SELL 30; alpha's
exit sold the account's 90, beta's stop stayed working, filled, and left the account short 30
with no word at any point."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderType, Product, Side
from orderdesk.engine import OrderDesk
from tests.engine.fakes import INFY, FakeBroker, RecordingNotifier, signal
from tests.engine.test_exit_per_strategy import filled

MIS = Product.MIS


async def test_an_exit_that_flattens_the_account_names_the_orders_it_leaves_exposed(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    await filled(desk, "alpha", 100)
    await filled(desk, "gamma", 40, side=Side.SELL)
    await filled(desk, "beta", 30)
    stop = await desk.submit(
        signal(
            strategy="beta",
            side=Side.SELL,
            quantity=30,
            order_type=OrderType.LIMIT,
            price=Decimal("1600"),  # resting above the market, as beta's protective exit
        )
    )
    await stop.wait(lambda h: h.status is OrderStatus.OPEN)

    placed = await desk.exit_position_result(INFY, product=MIS, strategy="alpha")

    assert placed.handle is not None
    assert placed.handle.order.signal.quantity == 90  # the account's whole long
    assert placed.exposed == (f"{stop.order_id} (beta: LIMIT SELL 30)",)
    [alert] = [a for a in notifier.alerts if a.title == "Exit leaves orders without a position"]
    assert "would open a short position" in alert.body
    assert stop.order_id in alert.body


async def test_an_exit_within_the_account_leaves_nothing_exposed(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """Alpha +50, beta +30 with its SELL 30 resting: alpha's exit sells 50, the account keeps
    beta's 30 behind beta's order, and nothing is said."""
    await filled(desk, "alpha", 50)
    await filled(desk, "beta", 30)
    resting = await desk.submit(
        signal(
            strategy="beta",
            side=Side.SELL,
            quantity=30,
            order_type=OrderType.LIMIT,
            price=Decimal("1600"),
        )
    )
    await resting.wait(lambda h: h.status is OrderStatus.OPEN)

    placed = await desk.exit_position_result(INFY, product=MIS, strategy="alpha")

    assert placed.handle is not None
    assert placed.handle.order.signal.quantity == 50
    assert placed.exposed == ()
    assert "Exit leaves orders without a position" not in notifier.titles()
