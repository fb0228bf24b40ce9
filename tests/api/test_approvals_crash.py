"""Signals parked when the desk is killed are not lost without a word.

The walk: two signals of `careful` (approval = true) were parked, the phone told "Signal
awaiting approval" for each, and the desk was killed (kill -9). After the restart `orderdesk
pending` showed nothing, no "Parked signals dropped" alert came (a clean stop gives one), the
audit log never named them, and the same signal sent again was parked anew: the parking was in
memory only, so the next desk could not tell what was lost.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.approvals import (
    LEFT_BY_A_CRASH,
    ApprovalClosed,
    ApprovalQueue,
    ApprovalState,
    PendingSignal,
    SignalDecided,
    decisions_in,
    parks_in,
)
from orderdesk.config import StrategySettings
from orderdesk.domain.events import OperatorCommandHandled
from orderdesk.engine import OrderDesk
from orderdesk.errors import RiskDenied
from tests.api.test_approvals_walk_clock import DeskClock
from tests.domain.builders import signal
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore

CAREFUL = {"careful": StrategySettings(approval=True, approval_ttl_seconds=3600)}
DROPPED = "Parked signals dropped"


class Phone:
    def __init__(self) -> None:
        self.alerts: list[Any] = []

    async def notify(self, alert: Any) -> None:
        self.alerts.append(alert)

    def titled(self, title: str) -> list[Any]:
        return [alert for alert in self.alerts if alert.title == title]


def queue_on(
    engine: OrderDesk, store: MemoryStore, clock: DeskClock, phone: Phone
) -> ApprovalQueue:
    """The queue as the runtime builds it, on ``store``'s log."""
    service = EngineDesk(engine)
    return ApprovalQueue(
        service.submit,
        CAREFUL,
        screen=service.screen,
        clock=clock,
        notifier=phone,
        record=engine.record_command,
        decided=engine.recorder.desk_event,
        decided_before=decisions_in(store),
        parked_before=parks_in(store),
        placed=engine.has_order,
    )


async def parked(queue: ApprovalQueue, signal_id: str | None) -> PendingSignal:
    item = await queue.submit(signal(strategy="careful", signal_id=signal_id))
    assert isinstance(item, PendingSignal), item
    return item


async def killed(queue: ApprovalQueue) -> None:
    """The process dies: nothing the queue would do at a clean stop happens, and its lapse
    timer is gone with it."""
    timers = [t for t in asyncio.all_tasks() if t.get_name() == "approvals.lapses"]
    for timer in timers:
        timer.cancel()
    await asyncio.gather(*timers, return_exceptions=True)
    del queue


async def test_signals_parked_at_a_crash_are_dropped_aloud_by_the_next_desk() -> None:
    """The next desk decides each EXPIRED as a clean stop would (the log holds the decision
    and the lapse), one alert names them all, and the same id sent again is a 409."""
    store, clock, broker, phone = MemoryStore(), DeskClock(), FakeBroker(), Phone()
    async with OrderDesk(broker, store, config=FAST, clock=clock) as engine:
        queue = queue_on(engine, store, clock, phone)
        first = await parked(queue, "mr-1")
        second = await parked(queue, None)  # no id: nothing to close, but told all the same
        # Committed before the strategy was answered: a kill right now is noticed.
        assert [p.approval_id for p in parks_in(store)] == [first.approval_id, second.approval_id]
        await killed(queue)
    assert phone.titled(DROPPED) == []

    clock.advance(600)
    async with OrderDesk(broker, store, config=FAST, clock=clock) as engine:
        queue = queue_on(engine, store, clock, phone)
        await queue.recorded()
        with pytest.raises(SignalDecided) as again:
            await queue.submit(first.signal)
        assert isinstance(again.value, ApprovalClosed)  # the API's 409
        assert again.value.state is ApprovalState.EXPIRED
        assert again.value.approval_id == first.approval_id
        assert LEFT_BY_A_CRASH in str(again.value)
        assert queue.pending() == []
        await queue.close()
    assert broker.placements == []
    [alert] = phone.titled(DROPPED)
    assert first.approval_id in alert.body
    assert second.approval_id in alert.body
    assert "careful: BUY" in alert.body
    assert [(d.approval_id, d.signal_id, d.decision, d.reason) for d in decisions_in(store)] == [
        (first.approval_id, "mr-1", "EXPIRED", LEFT_BY_A_CRASH),
        (second.approval_id, None, "EXPIRED", LEFT_BY_A_CRASH),
    ]
    lapses = [
        e.params
        for e in (row.event() for row in store.rows)
        if isinstance(e, OperatorCommandHandled) and (e.operator, e.command) == ("desk", "lapse")
    ]
    assert lapses == [first.approval_id, second.approval_id]

    # Decided now: a third desk on the same log has nothing to tell.
    async with OrderDesk(broker, store, config=FAST, clock=clock) as engine:
        queue = queue_on(engine, store, clock, phone)
        await queue.close()
    assert len(phone.titled(DROPPED)) == 1


async def test_signals_that_ended_before_a_crash_are_not_taken_for_dropped() -> None:
    """Rejected, approved and refused-when-approved signals have their end in the log: the next
    desk drops none of them, and the refused one's id is still free."""
    store, clock, broker, phone = MemoryStore(), DeskClock(), FakeBroker(), Phone()
    async with OrderDesk(broker, store, config=FAST, clock=clock) as engine:
        queue = queue_on(engine, store, clock, phone)
        rejected = await parked(queue, "mr-no")
        queue.reject(rejected.approval_id, "no")
        await queue.recorded()
        approved = await parked(queue, "mr-yes")
        await queue.approve(approved.approval_id)
        refused = await parked(queue, "mr-refused")
        await engine.engage_kill_switch("drill")
        with pytest.raises(RiskDenied):
            await queue.approve(refused.approval_id)
        await engine.release_kill_switch("drill over")
        await killed(queue)

    async with OrderDesk(broker, store, config=FAST, clock=clock) as engine:
        queue = queue_on(engine, store, clock, phone)
        await queue.recorded()
        fresh = await parked(queue, "mr-refused")
        assert fresh.approval_id != refused.approval_id
        await queue.close()
    assert [a.body for a in phone.titled(DROPPED)] == [
        "the desk stopped with 1 signal(s) awaiting approval: "
        f"careful: BUY 10 NSE:INFY ({fresh.approval_id}); their strategies must send them "
        "again under new ids"
    ]
    assert [d.decision for d in decisions_in(store)] == [
        "REJECTED",
        "APPROVED",
        "FAILED",
        "EXPIRED",
    ]


async def test_a_signal_placed_before_its_approval_was_written_is_approved_not_dropped() -> None:
    """Killed after the approval placed the order but before its decision reached the log: the
    next desk finds the order and decides the signal approved (dropped, its id closed, the
    strategy would be told to send it again under a new id, and a second order placed)."""
    store, clock, broker, phone = MemoryStore(), DeskClock(), FakeBroker(), Phone()
    async with OrderDesk(broker, store, config=FAST, clock=clock) as engine:
        queue = queue_on(engine, store, clock, phone)
        item = await parked(queue, "mr-placed")
        # The approval's own submit, with the process gone before the queue decided it.
        placed = await engine.submit(item.signal)
        await killed(queue)

    async with OrderDesk(broker, store, config=FAST, clock=clock) as engine:
        queue = queue_on(engine, store, clock, phone)
        await queue.recorded()
        again = await queue.submit(item.signal)
        assert not isinstance(again, PendingSignal)
        assert again.order_id == placed.order_id  # the desk's idempotency: the same order
        await queue.close()
    assert phone.titled(DROPPED) == []
    assert len(broker.placements) == 1
    [decided] = decisions_in(store)
    assert (decided.approval_id, decided.decision, decided.order_id) == (
        item.approval_id,
        "APPROVED",
        placed.order_id,
    )
