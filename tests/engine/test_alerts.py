"""Alerts a trader needs the moment something happens: a rejection after the broker took the
order, a stream that stays down, the day's loss reaching its limit, a log that cannot be
written."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import LossLimitAction
from orderdesk.engine.recorder import STORE_ALERT_TITLE
from orderdesk.errors import StoreError
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

RESTING = {"order_type": OrderType.LIMIT, "price": Decimal("1490")}


async def test_a_rejection_after_acceptance_is_alerted_with_the_reason(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """When the broker's RMS rejects an order it had taken, the alert carries its reason."""
    handle = await desk.submit(signal(**RESTING))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    broker.reject(handle.broker_order_ids[0], "RMS: Margin Exceeds, Required: 15000")
    await handle.wait()
    assert handle.status is OrderStatus.REJECTED
    alerts = [a for a in notifier.alerts if a.title == "Order rejected by the broker"]
    assert [a.order_id for a in alerts] == [handle.order_id]
    assert "Margin Exceeds" in alerts[0].body
    assert alerts[0].severity is Severity.WARNING


async def test_a_stream_that_stays_down_is_alerted_again_and_louder(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A warning after the first threshold, critical after the next; none once it is back."""
    config = replace(FAST, stream_down_alerts=(0.05, 0.1), poll_interval=0.01, first_look=0.01)
    async with OrderDesk(broker, store, notifier=notifier, config=config) as desk:
        await settled(desk)
        broker.disconnect()

        def escalations() -> list[Severity]:
            return [a.severity for a in notifier.alerts if a.title == "Broker stream still down"]

        await eventually(lambda: len(escalations()) == 2, what="two escalations")
        assert escalations() == [Severity.WARNING, Severity.CRITICAL]
        broker.reconnect()
        await eventually(lambda: desk.stream_connected, what="the stream back")
        assert len(escalations()) == 2


async def test_the_days_loss_at_the_limit_is_alerted_and_can_stop_trading(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The moment the day's loss reaches the limit: a critical alert, and with
    kill_switch_and_cancel the kill switch engaged and the open orders cancelled."""
    config = replace(FAST, on_loss_limit=LossLimitAction.KILL_SWITCH_AND_CANCEL)
    limits = RiskLimits(daily_loss_limit=Decimal("150"))
    async with OrderDesk(broker, store, notifier=notifier, config=config, limits=limits) as desk:
        bought = await desk.submit(signal(quantity=10))
        await bought.wait()
        resting = await desk.submit(signal(signal_id="rest", **RESTING))
        await resting.wait(lambda h: h.status is OrderStatus.OPEN)
        broker.tick(INFY, Decimal("1480"))  # 10 x -20: above the limit's 150 loss
        await eventually(lambda: desk.day_pnl() == Decimal("-200"), what="the mark")
        await eventually(
            lambda: "Daily loss limit reached" in notifier.titles(Severity.CRITICAL),
            what="the alert",
        )
        await resting.wait()
        assert resting.status is OrderStatus.CANCELLED
        assert desk.kill_switch.engaged
        assert notifier.titles().count("Daily loss limit reached") == 1
        (reached,) = [a for a in notifier.alerts if a.title == "Daily loss limit reached"]
        assert reached.body.startswith("the day's P&L -200.00 is at the loss limit of 150")


async def test_a_log_that_cannot_be_written_is_alerted_and_nothing_is_sent(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A full disk under the log: the signal's intent cannot be written, so it is not sent;
    the operator hears it at once, CRITICAL; once there is room the same signal is placed
    once."""
    store.fail_appends = True
    with pytest.raises(StoreError, match="disk full"):
        await desk.submit(signal(signal_id="s-full"))
    assert broker.book == {}
    [alert] = [a for a in notifier.alerts if a.title == STORE_ALERT_TITLE]
    assert alert.severity is Severity.CRITICAL
    assert "OSError: disk full" in alert.body
    assert "sent again with the same id" in alert.body
    store.fail_appends = False
    handle = await desk.submit(signal(signal_id="s-full"))
    await handle.wait()
    again = await desk.submit(signal(signal_id="s-full"))
    assert (handle.status, again.order_id, len(broker.book)) == (
        OrderStatus.FILLED,
        handle.order_id,
        1,
    )
    # Its return is said too, once (nothing told the operator the desk was recording again).
    [back] = [a for a in notifier.alerts if a.title == "Event log writable again"]
    assert back.severity is Severity.WARNING
    assert "a signal refused meanwhile (503 store_unavailable) was not placed" in back.body
