"""A signal id an approval decision closed stays closed after the desk restarts.

The walk: `mean_rev` (approval = true) sent `mr-1`; the operator rejected it; `orderdesk run`
was restarted; `mr-1` came again (the strategy retried) and was parked as a new approval, and
approving it placed the order the operator had rejected the day before. The queue kept its
decisions in memory only; the log said "rejected" under an approval id, without the signal.
"""

from __future__ import annotations

import asyncio

import pytest

from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.approvals import (
    ApprovalQueue,
    ApprovalState,
    PendingSignal,
    SignalDecided,
    decisions_in,
)
from orderdesk.config import StrategySettings
from orderdesk.domain.events import ApprovalDecided
from orderdesk.domain.order import Order
from orderdesk.engine import OrderDesk
from orderdesk.errors import RiskDenied
from tests.api.test_approvals_walk_clock import DeskClock
from tests.domain.builders import signal
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore

CAREFUL = {"careful": StrategySettings(approval=True, approval_ttl_seconds=60)}


async def parked(queue: ApprovalQueue, signal_id: str) -> PendingSignal:
    item = await queue.submit(signal(strategy="careful", signal_id=signal_id))
    assert isinstance(item, PendingSignal), item
    return item


def queue_of(engine: OrderDesk, store: MemoryStore, clock: DeskClock) -> ApprovalQueue:
    """The queue as the runtime builds it, on ``store``'s log."""
    service = EngineDesk(engine)
    return ApprovalQueue(
        service.submit,
        CAREFUL,
        screen=service.screen,
        clock=clock,
        record=engine.record_command,
        decided=engine.recorder.desk_event,
        decided_before=decisions_in(store),
    )


async def test_every_closing_decision_is_answered_by_the_next_desk_on_the_log() -> None:
    """Rejected, lapsed and dropped ids are refused by a desk started later on the same log,
    naming the decision and its day; an approved id is answered with its order, nothing new
    placed; an id the desk refused at approval is parked again."""
    store, clock, broker = MemoryStore(), DeskClock(), FakeBroker()
    async with OrderDesk(broker, store, config=FAST, clock=clock) as engine:
        queue = queue_of(engine, store, clock)
        rejected = await parked(queue, "mr-rejected")
        queue.reject(rejected.approval_id, "not on a Tuesday")
        lapsed = await parked(queue, "mr-lapsed")
        clock.advance(61)
        await asyncio.wait_for(lapsed.settled.wait(), timeout=10)
        approved = await parked(queue, "mr-approved")
        order = await queue.approve(approved.approval_id)
        refused = await parked(queue, "mr-refused")
        await engine.engage_kill_switch("drill")
        with pytest.raises(RiskDenied):
            await queue.approve(refused.approval_id)
        await engine.release_kill_switch("drill over")
        dropped = await parked(queue, "mr-dropped")
        await queue.close()
    placed = len(broker.placements)
    assert placed == 1

    clock.advance(24 * 3600)  # the next day
    async with OrderDesk(broker, store, config=FAST, clock=clock) as engine:
        queue = queue_of(engine, store, clock)
        for item, state, words in [
            (rejected, ApprovalState.REJECTED, "was rejected on Tue 08 Dec 2026"),
            (lapsed, ApprovalState.EXPIRED, "lapsed unapproved on Tue 08 Dec 2026"),
            (dropped, ApprovalState.EXPIRED, "lapsed unapproved on Tue 08 Dec 2026"),
        ]:
            with pytest.raises(SignalDecided) as decided:
                await queue.submit(item.signal)
            assert decided.value.state is state
            assert decided.value.approval_id == item.approval_id
            assert str(decided.value) == (
                f"signal {item.signal.signal_id!r} {words} ({item.approval_id}: {item.reason}); "
                "a new signal needs a new id"
            )
        again = await queue.submit(approved.signal)
        assert isinstance(again, Order)
        assert again.order_id == order.order_id
        assert len(broker.placements) == placed
        fresh = await queue.submit(refused.signal)
        assert isinstance(fresh, PendingSignal)
        assert fresh.approval_id != refused.approval_id
        assert queue.pending() == [fresh]
        await queue.close()


async def test_the_log_holds_each_closing_decision_with_its_signal() -> None:
    """What the next desk reads: one ``ApprovalDecided`` per closed id, none for the refusal."""
    store, clock = MemoryStore(), DeskClock()
    async with OrderDesk(FakeBroker(), store, config=FAST, clock=clock) as engine:
        queue = queue_of(engine, store, clock)
        rejected = await parked(queue, "mr-1")
        queue.reject(rejected.approval_id)
        await queue.recorded()
        assert [(d.signal_id, d.decision) for d in decisions_in(store)] == [("mr-1", "REJECTED")]
        approved = await parked(queue, "mr-2")
        order = await queue.approve(approved.approval_id)
        await queue.close()
    assert decisions_in(store) == [
        ApprovalDecided(
            at=clock.at,
            approval_id=rejected.approval_id,
            strategy="careful",
            signal_id="mr-1",
            decision="REJECTED",
            reason="rejected by the operator",
        ),
        ApprovalDecided(
            at=clock.at,
            approval_id=approved.approval_id,
            strategy="careful",
            signal_id="mr-2",
            decision="APPROVED",
            order_id=order.order_id,
        ),
    ]


async def test_a_decided_id_stays_closed_after_it_leaves_the_history() -> None:
    """The history's bound forgets old items, not the ids their decisions closed."""
    store, clock = MemoryStore(), DeskClock()
    async with OrderDesk(FakeBroker(), store, config=FAST, clock=clock) as engine:
        service = EngineDesk(engine)
        queue = ApprovalQueue(
            service.submit, CAREFUL, screen=service.screen, clock=clock, history=1
        )
        first = await parked(queue, "mr-old")
        queue.reject(first.approval_id, "no")
        await parked(queue, "mr-new")  # pushes the rejected one out of the history
        assert [item.signal.signal_id for item in queue.recent()] == ["mr-new"]
        with pytest.raises(SignalDecided):
            await queue.submit(first.signal)
        await queue.close()
