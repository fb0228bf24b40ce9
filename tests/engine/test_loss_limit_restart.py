"""A kill switch the loss limit engaged, then released by an operator, stays released when the
desk restarts that day: it was engaged again at the first price after the restart, with the
day's critical alerts repeated, as though nobody had decided anything. It is not released for
good, though: a day back above the limit re-arms it."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from orderdesk.domain.calendar import IST
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import LossLimitAction
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

CONFIG = replace(FAST, on_loss_limit=LossLimitAction.KILL_SWITCH, clock_interval=3600.0)
LIMITS = RiskLimits(daily_loss_limit=Decimal("150"))


async def test_a_released_loss_kill_switch_stays_released_after_a_restart(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    async with OrderDesk(broker, store, notifier=notifier, config=CONFIG, limits=LIMITS) as desk:
        bought = await desk.submit(signal(quantity=10))
        await bought.wait()
        broker.tick(INFY, Decimal("1480"))  # 10 x -20: past the limit's 150
        await eventually(lambda: desk.day_pnl() == Decimal("-200"), what="the mark")
        await desk._watch_loss()  # the clock loop's look, taken now
        assert desk.kill_switch.engaged
        await desk.release_kill_switch("operator: I will close it myself")
    reached = notifier.titles(Severity.CRITICAL).count("Daily loss limit reached")
    assert reached == 1
    async with OrderDesk(broker, store, notifier=notifier, config=CONFIG, limits=LIMITS) as desk:
        await settled(desk)
        broker.tick(INFY, Decimal("1479"))
        await eventually(lambda: desk.day_pnl() == Decimal("-210"), what="the mark")
        await desk._watch_loss()
        assert not desk.kill_switch.engaged
    assert notifier.titles(Severity.CRITICAL).count("Daily loss limit reached") == reached


async def test_a_restart_before_the_limit_acted_still_acts(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Only the limit's own engagement is remembered: one by an operator, released, leaves the
    limit to act when it is reached."""
    async with OrderDesk(broker, store, notifier=notifier, config=CONFIG, limits=LIMITS) as desk:
        await desk.engage_kill_switch("operator: lunch")
        await desk.release_kill_switch("operator: back")
        bought = await desk.submit(signal(quantity=10))
        await bought.wait()
    async with OrderDesk(broker, store, notifier=notifier, config=CONFIG, limits=LIMITS) as desk:
        await settled(desk)
        broker.tick(INFY, Decimal("1480"))
        await eventually(lambda: desk.day_pnl() == Decimal("-200"), what="the mark")
        await desk._watch_loss()
        assert desk.kill_switch.engaged


async def _marked(desk: OrderDesk, broker: FakeBroker, price: str, pnl: str) -> None:
    broker.tick(INFY, Decimal(price))
    await eventually(lambda: desk.day_pnl() == Decimal(pnl), what="the mark")
    await desk._watch_loss()  # the clock loop's look, taken now


async def test_a_released_switch_is_engaged_again_by_a_new_crossing_after_a_recovery(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Released by an operator, back above the limit, then down through it again: the limit
    acts again (it did nothing for the rest of the day, the resting orders left working). A
    release while still past the limit is not overruled; the switch's reason names the day,
    since it stays engaged into the next."""
    async with OrderDesk(broker, store, notifier=notifier, config=CONFIG, limits=LIMITS) as desk:
        bought = await desk.submit(signal(quantity=10))
        await bought.wait()
        await _marked(desk, broker, "1480", "-200")
        assert desk.kill_switch.engaged
        today = desk.trading_day or desk.clock.now().astimezone(IST).date()
        assert f"limit of 150 on {today} (P&L -200.00)" in desk.kill_switch.reason
        await desk.release_kill_switch("operator: I will watch it")
        await _marked(desk, broker, "1479", "-210")  # still past it: the release holds
        assert not desk.kill_switch.engaged
        await _marked(desk, broker, "1495", "-50")  # back above: re-armed
        await _marked(desk, broker, "1484", "-160")  # through it again
        assert desk.kill_switch.engaged
    assert notifier.titles(Severity.CRITICAL).count("Daily loss limit reached") == 2


async def test_a_strategys_limit_is_told_again_after_a_recovery(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    own = {"alpha": RiskLimits(daily_loss_limit=Decimal("100"))}
    async with OrderDesk(
        broker, store, notifier=notifier, config=CONFIG, strategy_limits=own
    ) as desk:
        bought = await desk.submit(signal(quantity=10, strategy="alpha"))
        await bought.wait()
        await _marked(desk, broker, "1489", "-110")
        await _marked(desk, broker, "1488", "-120")  # still past: told once
        await _marked(desk, broker, "1495", "-50")
        await _marked(desk, broker, "1489", "-110")
    assert notifier.titles(Severity.CRITICAL).count("Strategy loss limit reached") == 2
