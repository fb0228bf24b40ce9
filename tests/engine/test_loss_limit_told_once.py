"""A loss limit's alert is said once a trading day, however often the desk restarts: an
operator walk heard "Strategy loss limit reached" again after each restart while the strategy
sat at its limit (nothing in the log said it had been told), and the desk-wide limit's alert
did the same where ``on_daily_loss = "alert"`` left no kill switch engagement behind. A new
trading day still past the limit is told again.

The loss limit's ``kill_switch_and_cancel`` keeps what it cancelled on the switch, where
``GET /api/kill-switch`` reads it: only the alerts listed those orders, as nobody reads the
answer to the limit's engage."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from orderdesk.domain import OrderType
from orderdesk.domain.calendar import IST
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import LossLimitAction
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import WallClock, eventually

# The clock loop stays out of the way: each test takes the loop's look itself.
ALERT_ONLY = replace(FAST, on_loss_limit=LossLimitAction.ALERT, clock_interval=3600.0)
DESK_LIMIT = RiskLimits(daily_loss_limit=Decimal("150"))
ALPHA_LIMIT = {"alpha": RiskLimits(daily_loss_limit=Decimal("100"))}
STRATEGY = "Strategy loss limit reached"
DESK = "Daily loss limit reached"


async def _marked(desk: OrderDesk, broker: FakeBroker, price: str, pnl: str) -> None:
    """Mark INFY at ``price``, wait for the day's P&L to read ``pnl``, then look at the limits
    as the clock loop does."""
    broker.tick(INFY, Decimal(price))
    await eventually(lambda: desk.day_pnl() == Decimal(pnl), what="the mark")
    await desk._watch_loss()


def _desk(
    broker: FakeBroker,
    store: MemoryStore,
    notifier: RecordingNotifier,
    *,
    limits: RiskLimits | None = None,
    strategy_limits: dict[str, RiskLimits] | None = None,
    clock: WallClock | None = None,
) -> OrderDesk:
    return OrderDesk(
        broker,
        store,
        notifier=notifier,
        config=ALERT_ONLY,
        limits=limits,
        strategy_limits=strategy_limits,
        clock=clock,
    )


async def test_a_strategys_limit_is_not_told_again_after_a_restart_the_same_day(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Told, then restarted twice while still past it: the alert was said once. The restarted
    desk's first look, before any price, reads the position at nothing unrealised; that is no
    recovery, and the first tick does not tell it again."""
    async with _desk(broker, store, notifier, strategy_limits=ALPHA_LIMIT) as desk:
        bought = await desk.submit(signal(strategy="alpha"))
        await bought.wait()
        await _marked(desk, broker, "1489", "-110")
    assert notifier.titles(Severity.CRITICAL).count(STRATEGY) == 1
    for price, pnl in (("1488", "-120"), ("1487", "-130")):
        async with _desk(broker, store, notifier, strategy_limits=ALPHA_LIMIT) as desk:
            await settled(desk)
            await desk._watch_loss()  # no price yet this process
            await _marked(desk, broker, price, pnl)
    assert notifier.titles(Severity.CRITICAL).count(STRATEGY) == 1


async def test_the_desks_alert_only_limit_is_not_told_again_after_a_restart(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """``on_daily_loss = "alert"`` engages no switch, so the log held nothing of the telling:
    the desk-wide limit's alert was said again at each restart, as a strategy's was."""
    async with _desk(broker, store, notifier, limits=DESK_LIMIT) as desk:
        bought = await desk.submit(signal())
        await bought.wait()
        await _marked(desk, broker, "1480", "-200")
    async with _desk(broker, store, notifier, limits=DESK_LIMIT) as desk:
        await settled(desk)
        await desk._watch_loss()
        await _marked(desk, broker, "1479", "-210")
    assert notifier.titles(Severity.CRITICAL).count(DESK) == 1


async def test_a_recovery_seen_after_a_restart_still_rearms_the_limit(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """What the log holds keeps the restart quiet, not the limit disarmed: a day back above
    the limit, priced, and down through it again is told again."""
    async with _desk(broker, store, notifier, strategy_limits=ALPHA_LIMIT) as desk:
        bought = await desk.submit(signal(strategy="alpha"))
        await bought.wait()
        await _marked(desk, broker, "1489", "-110")
    async with _desk(broker, store, notifier, strategy_limits=ALPHA_LIMIT) as desk:
        await settled(desk)
        await _marked(desk, broker, "1495", "-50")
        await _marked(desk, broker, "1488", "-120")
    assert notifier.titles(Severity.CRITICAL).count(STRATEGY) == 2


async def test_a_new_trading_day_still_past_the_limits_is_told_again(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Restarted the next day with the loss still past both limits: each is told again, once
    (a desk without trading days counts its day by the IST calendar)."""
    clock = WallClock(datetime(2026, 12, 3, 11, 0, tzinfo=IST))
    async with _desk(
        broker, store, notifier, limits=DESK_LIMIT, strategy_limits=ALPHA_LIMIT, clock=clock
    ) as desk:
        bought = await desk.submit(signal(strategy="alpha"))
        await bought.wait()
        await _marked(desk, broker, "1480", "-200")
    clock.set(date(2026, 12, 3) + timedelta(days=1), 11)
    for price, pnl in (("1479", "-210"), ("1478", "-220")):
        async with _desk(
            broker, store, notifier, limits=DESK_LIMIT, strategy_limits=ALPHA_LIMIT, clock=clock
        ) as desk:
            await settled(desk)
            await _marked(desk, broker, price, pnl)
    told = notifier.titles(Severity.CRITICAL)
    assert (told.count(DESK), told.count(STRATEGY)) == (2, 2)


async def test_the_loss_limits_cancel_is_kept_on_the_switch(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """``kill_switch_and_cancel`` leaves on the switch the orders it cancelled, as an
    operator's engage answers them; a release empties the list."""
    config = replace(ALERT_ONLY, on_loss_limit=LossLimitAction.KILL_SWITCH_AND_CANCEL)
    async with OrderDesk(
        broker, store, notifier=notifier, config=config, limits=DESK_LIMIT
    ) as desk:
        bought = await desk.submit(signal())
        await bought.wait()
        resting = await desk.submit(
            signal(order_type=OrderType.LIMIT, price=Decimal("1400"), signal_id="dip")
        )
        await _marked(desk, broker, "1480", "-200")
        assert desk.kill_switch.engaged
        assert desk.kill_switch.cancel.cancelled == (resting.order_id,)
        await desk.release_kill_switch("operator: seen")
        assert desk.kill_switch.cancel.cancelled == ()
