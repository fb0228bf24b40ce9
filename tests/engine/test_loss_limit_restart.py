"""A kill switch the loss limit engaged, then released by an operator, stays released when the
desk restarts that day: it was engaged again at the first price after the restart, with the
day's critical alerts repeated, as though nobody had decided anything."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

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
