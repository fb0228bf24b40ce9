"""The kill switch stops new risk and takes none away: engaging it with ``cancel_open`` (by hand
or at the day's loss limit) cancels the open orders that could add risk and keeps those that
can only reduce a position: a cover order's stop leg (cancelling it would exit at market) and a
stop on the other side of a position, within its quantity. ``cancel_all`` still cancels all."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderType, Product
from orderdesk.domain.status import BrokerStatus
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import LossLimitAction
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.cover_legs import broker_status, long_with_cover_order, resting, sell_stop
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

KEPT_TITLE = "Kill switch kept protective orders"


async def test_cancel_open_keeps_what_only_reduces_and_cancels_the_rest(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Long 100 INFY MIS with a stop of 100, a second stop of 50 (together they would go
    short), a buy limit, and a filled cover order's stop leg: the buy limit and the second
    stop are cancelled; the first stop and the leg stay at the broker, each named with why."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await (await desk.submit(signal(quantity=100, signal_id="long"))).wait()
        stop = await sell_stop(desk, "stop", 100)
        extra = await sell_stop(desk, "extra", 50)
        adding = await resting(desk, order_type=OrderType.LIMIT, price=Decimal("1490"))
        cover_id, leg_id = await long_with_cover_order(desk, broker)

        done = await desk.engage_kill_switch("drill", cancel_open=True)

        assert set(done.cancelled) == {extra.order_id, adding.order_id}
        assert [k.order_id for k in done.kept] == [stop.order_id, leg_id]
        stop_reason, leg_reason = (k.reason for k in done.kept)
        assert stop_reason.startswith("protective stop of the MIS long 100 in NSE:INFY")
        assert f"stop leg of cover order {cover_id}" in leg_reason
        await extra.wait()
        await adding.wait()
        assert (extra.status, adding.status) == (OrderStatus.CANCELLED, OrderStatus.CANCELLED)
        await desk.idle()
        assert broker_status(desk, broker, stop.order_id) is BrokerStatus.OPEN
        assert broker_status(desk, broker, leg_id) is BrokerStatus.TRIGGER_PENDING
        assert broker.cancel_calls == 2
        assert desk.order(stop.order_id).is_working
        assert desk.order(leg_id).is_working
        assert KEPT_TITLE in notifier.titles(Severity.WARNING)


async def test_cancel_all_still_cancels_a_cover_orders_leg_and_protective_stops(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """An explicit cancel-all is what it says: the protective stop and the cover order's leg
    are cancelled with the rest."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await (await desk.submit(signal(quantity=100, signal_id="long"))).wait()
        stop = await sell_stop(desk, "stop", 100)
        _, leg_id = await long_with_cover_order(desk, broker)

        asked = await desk.cancel_all()

        assert set(asked) == {stop.order_id, leg_id}
        await stop.wait()
        await desk.handle(leg_id).wait()
        assert broker_status(desk, broker, leg_id) is BrokerStatus.CANCELLED


async def test_the_loss_limits_cancel_keeps_the_stop_that_protects_the_position(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """At the day's loss limit with kill_switch_and_cancel, the buy limit that would add to
    the losing long is cancelled and the stop protecting the long stays working."""
    config = replace(FAST, on_loss_limit=LossLimitAction.KILL_SWITCH_AND_CANCEL)
    limits = RiskLimits(daily_loss_limit=Decimal("150"))
    async with OrderDesk(broker, store, notifier=notifier, config=config, limits=limits) as desk:
        await (await desk.submit(signal(quantity=10, signal_id="long"))).wait()
        stop = await sell_stop(desk, "stop", 10)
        adding = await resting(
            desk, quantity=1, order_type=OrderType.LIMIT, price=Decimal("1400"), signal_id="add"
        )
        broker.tick(INFY, Decimal("1480"))  # 10 x -20: past the limit's 150

        await eventually(lambda: KEPT_TITLE in notifier.titles(), what="the kept orders' alert")
        await adding.wait()
        await desk.idle()
        assert desk.kill_switch.engaged
        assert adding.status is OrderStatus.CANCELLED
        assert broker_status(desk, broker, stop.order_id) is BrokerStatus.OPEN
        assert desk.order(stop.order_id).is_working
        assert desk.position(INFY, Product.MIS).quantity == 10
