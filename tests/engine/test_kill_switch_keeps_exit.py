"""The kill switch's cancel keeps the desk's own exit in progress: an exit only takes exposure
away, and cancelled it leaves the position open.

The operator walk that found it (simulator, partial fills): a RELIANCE MIS long 26, `orderdesk
exit NSE:RELIANCE` placed a SELL 26 at market, then `orderdesk kill-switch on --cancel-open`
cancelled it with 21 of 26 filled: 5 stayed long, and the exit's re-price was refused as
"already being cancelled"."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderType, Product
from orderdesk.domain.status import BrokerStatus
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import ExitPolicy, LossLimitAction
from orderdesk.engine.handle import OrderHandle
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.cover_legs import broker_status, resting
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

MIS = Product.MIS
SLOW_REPRICE = ExitPolicy(reprice_after=600.0)
"""No re-price while a test runs: the exit rests as placed until the test fills it."""


async def exit_resting(desk: OrderDesk, broker: FakeBroker) -> OrderHandle:
    """The account's exit of INFY MIS, a SELL at market the fake broker rests until told."""
    broker.fill_market = False
    placed = await desk.exit_position(INFY, product=MIS, policy=SLOW_REPRICE)
    assert placed is not None
    await placed.wait(lambda h: h.status is OrderStatus.OPEN)
    return placed


def broker_id(handle: OrderHandle) -> str:
    broker_order_id = handle.order.broker_order_id
    assert broker_order_id is not None
    return broker_order_id


async def test_cancel_open_keeps_the_exit_in_progress_and_cancels_the_entry(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Long 26 INFY MIS, a CNC buy limit resting (an entry), the exit's SELL 26 filled 21:
    the kill switch's cancel cancels the entry and keeps the exit, which then fills and
    leaves the account flat; no alert says the exit was cancelled."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await (await desk.submit(signal(quantity=26, signal_id="long"))).wait()
        entry = await resting(
            desk, product=Product.CNC, order_type=OrderType.LIMIT, price=Decimal("1490")
        )
        exiting = await exit_resting(desk, broker)
        broker.fill(broker_id(exiting), 21)
        await exiting.wait(lambda h: h.filled_quantity == 21)
        await eventually(lambda: desk.position(INFY, MIS).quantity == 5, what="21 sold")

        done = await desk.engage_kill_switch("broker trouble", cancel_open=True)

        assert done.cancelled == (entry.order_id,)
        assert [k.order_id for k in done.kept] == [exiting.order_id]
        assert done.kept[0].reason == (
            "exit of the MIS long 5 in NSE:INFY (SELL 5 MARKET): cancelling it would leave "
            "the position open"
        )
        await entry.wait()
        assert entry.status is OrderStatus.CANCELLED
        await desk.idle()
        assert broker.cancel_calls == 1
        assert broker_status(desk, broker, exiting.order_id) is BrokerStatus.OPEN
        assert exiting.order.is_working
        assert not exiting.order.cancel_requested

        broker.fill(broker_id(exiting))
        await exiting.wait()
        assert exiting.status is OrderStatus.FILLED
        await eventually(lambda: desk.position(INFY, MIS).quantity == 0, what="the exit filled")
        assert broker.net(INFY) == 0
        assert "Exit cancelled" not in notifier.titles()
        assert "Kill switch kept protective orders" in notifier.titles(Severity.WARNING)


async def test_the_loss_limits_cancel_keeps_the_exit_too(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """At the day's loss limit with kill_switch_and_cancel, the exit of the losing long stays
    working (it is what one wants when the limit trips) and fills."""
    config = replace(FAST, on_loss_limit=LossLimitAction.KILL_SWITCH_AND_CANCEL)
    limits = RiskLimits(daily_loss_limit=Decimal("150"))
    async with OrderDesk(broker, store, notifier=notifier, config=config, limits=limits) as desk:
        await (await desk.submit(signal(quantity=10, signal_id="long"))).wait()
        exiting = await exit_resting(desk, broker)
        broker.tick(INFY, Decimal("1480"))  # 10 x -20: past the limit's 150

        await eventually(lambda: desk.kill_switch.engaged, what="the loss limit's kill switch")
        await eventually(
            lambda: [k.order_id for k in desk.kill_switch.cancel.kept] == [exiting.order_id],
            what="the exit kept",
        )
        await desk.idle()
        assert desk.kill_switch.cancel.cancelled == ()
        assert exiting.order.is_working
        assert broker.cancel_calls == 0
        broker.fill(broker_id(exiting))
        await exiting.wait()
        assert exiting.status is OrderStatus.FILLED
        assert broker.net(INFY) == 0


async def test_a_strategys_exit_of_its_share_is_kept_too(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """`orderdesk exit --strategy alpha`: the exit carries the strategy's own name, so only the
    desk's exit watch knows it is one; the kill switch's cancel keeps it all the same."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await (await desk.submit(signal(quantity=10, strategy="alpha", signal_id="long"))).wait()
        broker.fill_market = False
        exiting = await desk.exit_position(INFY, product=MIS, strategy="alpha", policy=SLOW_REPRICE)
        assert exiting is not None
        await exiting.wait(lambda h: h.status is OrderStatus.OPEN)

        done = await desk.engage_kill_switch("broker trouble", cancel_open=True)
        assert done.cancelled == ()
        assert [k.order_id for k in done.kept] == [exiting.order_id]
        await desk.idle()
        assert broker.cancel_calls == 0
        broker.fill(broker_id(exiting))
        await exiting.wait()
        assert exiting.status is OrderStatus.FILLED
        assert broker.net(INFY) == 0
