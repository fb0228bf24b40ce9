"""A parked signal's time limit runs on the desk's clock, the one its expiry is shown in.

The walk: `[strategies.quick] approval_ttl_seconds = 60` on a desk following the simulator's
clock; the signal showed "expires 09:17:33 IST", the desk's clock moved to 09:30, and it was
still PENDING and `pending --approve` placed it: the queue counted on ``monotonic()``, which
the simulator's clock leaves real (and a laptop's suspend stops). Its lapses also waited for
someone to read the queue, and left nothing in the audit log.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.approvals import ApprovalClosed, ApprovalQueue, ApprovalState, PendingSignal
from orderdesk.config import StrategySettings
from orderdesk.domain.events import OperatorCommandHandled
from orderdesk.engine import OrderDesk
from tests.api.fakes import FakeDesk
from tests.domain.builders import signal
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore

QUICK = {"quick": StrategySettings(approval=True, approval_ttl_seconds=60)}


class DeskClock:
    """The desk's clock as the simulator's moves it: ``now`` jumps, ``monotonic`` stays the
    real one (``orderdesk.sim_time.SimulatorTime``)."""

    def __init__(self) -> None:
        self.at = datetime(2026, 12, 8, 3, 46, 33, tzinfo=UTC)  # Tue 09:16:33 IST

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


async def parked(queue: ApprovalQueue, **fields: object) -> PendingSignal:
    item = await queue.submit(signal(strategy="quick", **fields))
    assert isinstance(item, PendingSignal)
    return item


async def test_the_window_ends_by_the_desks_clock_and_an_approval_after_it_places_nothing() -> None:
    clock, desk = DeskClock(), FakeDesk()
    queue = ApprovalQueue(desk.submit, QUICK, screen=desk.screen, clock=clock)
    item = await parked(queue)
    assert item.expires_at == clock.now() + timedelta(seconds=60)
    clock.advance(60)  # the shown expiry; no real time has passed
    assert queue.pending() == []
    with pytest.raises(ApprovalClosed) as refused:
        await queue.approve(item.approval_id)
    assert refused.value.state is ApprovalState.EXPIRED
    assert str(refused.value) == (
        f"signal {item.approval_id} lapsed unapproved at Tue 08 Dec 09:17:33 IST (not approved "
        "within 60 s): nothing was placed; its strategy must send a new signal"
    )
    assert desk.submitted == []
    await queue.close()


async def test_a_signal_lapses_on_its_own_and_its_waiter_is_told() -> None:
    """Nobody reads the queue: the waiter (``Runtime.submit``) learns of the lapse as soon as
    the desk's clock passes the expiry, not 60 real seconds later."""
    clock, desk = DeskClock(), FakeDesk()
    queue = ApprovalQueue(desk.submit, QUICK, screen=desk.screen, clock=clock)
    item = await parked(queue)
    clock.advance(13 * 60)  # 09:30
    settled = await asyncio.wait_for(queue.wait(item.approval_id), timeout=10)
    assert (settled.state, settled.reason) == (ApprovalState.EXPIRED, "not approved within 60 s")
    await queue.close()


async def test_lapses_and_drops_at_a_stop_are_in_the_audit_log() -> None:
    """One signal lapses, one is dropped when the desk stops: each is an
    ``OperatorCommandHandled`` (operator ``desk``, command ``lapse``) in the desk's log."""
    store, clock = MemoryStore(), DeskClock()
    async with OrderDesk(FakeBroker(), store, config=FAST) as engine:
        service = EngineDesk(engine)
        patient = {
            **QUICK,
            "slow": StrategySettings(approval=True, approval_ttl_seconds=3600),
        }
        queue = ApprovalQueue(
            service.submit,
            patient,
            screen=service.screen,
            clock=clock,
            record=engine.record_command,
        )
        lapsing = await parked(queue, signal_id="lapses")
        dropped = await queue.submit(signal(strategy="slow", signal_id="dropped"))
        assert isinstance(dropped, PendingSignal)
        clock.advance(61)
        await asyncio.wait_for(lapsing.settled.wait(), timeout=10)
        await queue.close()
    decided = [
        e for e in (row.event() for row in store.rows) if isinstance(e, OperatorCommandHandled)
    ]
    assert [(e.operator, e.command, e.params) for e in decided] == [
        ("desk", "lapse", lapsing.approval_id),
        ("desk", "lapse", dropped.approval_id),
    ]
    assert decided[0].outcome == (
        "quick: BUY 10 NSE:INFY lapsed unapproved (not approved within 60 s)"
    )
    assert decided[1].outcome == (
        "slow: BUY 10 NSE:INFY lapsed unapproved (the desk stopped before a decision)"
    )
