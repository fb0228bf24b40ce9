"""A signal refused when approved placed nothing, so its id is free again; and what a parked
signal came to is said in words ("was failed" was the state's name).

The walk: with the kill switch on, `pending --approve` was refused and the approval became
FAILED; after the switch was released, the same signal id was refused for good ("signal
'mon-mr-denied' was failed (...); a new signal needs a new id"), though nothing was ever
placed, where a signal refused before parking may be sent again and is checked afresh.
"""

from __future__ import annotations

import asyncio

import pytest

from orderdesk.approvals import (
    ApprovalClosed,
    ApprovalQueue,
    ApprovalState,
    NotApproved,
    PendingSignal,
)
from orderdesk.config import StrategySettings
from orderdesk.domain.signal import Signal
from orderdesk.errors import RiskDenied
from tests.api.conftest import Api
from tests.api.fakes import FakeDesk
from tests.api.test_routes import LIMIT_BUY
from tests.domain.builders import signal
from tests.notify.conftest import FakeClock

CAREFUL = {"careful": StrategySettings(approval=True, approval_ttl_seconds=30)}
DENIED = "mon-mr-denied"


async def refused_at_approval(queue: ApprovalQueue, desk: FakeDesk) -> PendingSignal:
    parked = await queue.submit(signal(strategy="careful", signal_id=DENIED))
    assert isinstance(parked, PendingSignal)
    await desk.set_kill_switch(True, "drill")
    with pytest.raises(RiskDenied):
        await queue.approve(parked.approval_id)
    assert parked.state is ApprovalState.FAILED
    return parked


async def test_a_signal_refused_at_approval_may_be_sent_again_and_is_checked_afresh() -> None:
    desk = FakeDesk()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen)
    failed = await refused_at_approval(queue, desk)
    await desk.set_kill_switch(False, "")
    again = await queue.submit(signal(strategy="careful", signal_id=DENIED))
    assert isinstance(again, PendingSignal)
    assert again.approval_id != failed.approval_id
    assert again.state is ApprovalState.PENDING
    order = await queue.approve(again.approval_id)
    assert [s.signal_id for s in desk.submitted] == [DENIED]
    assert again.order_id == order.order_id
    # The refused approval stays in the history as it ended, in words.
    assert failed.state is ApprovalState.FAILED
    assert str(NotApproved(failed)).startswith(
        f"signal {failed.approval_id} was not placed: it was refused by the desk when approved ("
    )
    await queue.close()


async def test_sent_again_while_the_switch_is_still_on_it_is_refused_by_the_desk() -> None:
    """Checked afresh means refused afresh: the desk's own denial, not a closed id."""
    desk = FakeDesk()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen)
    await refused_at_approval(queue, desk)
    with pytest.raises(RiskDenied) as denied:
        await queue.submit(signal(strategy="careful", signal_id=DENIED))
    assert denied.value.check == "kill_switch"
    await queue.close()


async def test_a_refused_approval_approved_again_says_so_in_words() -> None:
    desk = FakeDesk()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen)
    failed = await refused_at_approval(queue, desk)
    with pytest.raises(ApprovalClosed) as closed:
        await queue.approve(failed.approval_id)
    message = str(closed.value)
    assert message.startswith(f"signal {failed.approval_id} was refused by the desk when approved")
    assert "the same id, to be checked afresh" in message
    await queue.close()


async def test_a_lapsed_signal_sent_again_says_it_lapsed_not_was_expired() -> None:
    clock, desk = FakeClock(), FakeDesk()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen, clock=clock)
    parked = await queue.submit(signal(strategy="careful", signal_id="late"))
    assert isinstance(parked, PendingSignal)
    clock.advance(30)
    with pytest.raises(ApprovalClosed) as closed:
        await queue.submit(signal(strategy="careful", signal_id="late"))
    assert str(closed.value) == (
        f"signal 'late' lapsed unapproved ({parked.approval_id}: not approved within 30 s); "
        "a new signal needs a new id"
    )
    await queue.close()


async def test_http_the_id_refused_at_approval_is_parked_again(api: Api) -> None:
    careful = {**LIMIT_BUY, "strategy": "careful", "signal_id": DENIED}
    async with api.client.post("/api/signals", json=careful) as response:
        first = (await response.json())["pending"]["approval_id"]
    async with api.client.post("/api/kill-switch", json={"engaged": True}) as response:
        assert response.status == 200
    async with api.client.post(f"/api/approvals/{first}/approve") as response:
        assert response.status == 403
    async with api.client.post("/api/kill-switch", json={"engaged": False}) as response:
        assert response.status == 200
    async with api.client.post("/api/signals", json=careful) as response:
        body = await response.json()
    assert response.status == 202, body
    assert body["pending"]["approval_id"] != first
    async with api.client.post(
        f"/api/approvals/{body['pending']['approval_id']}/approve"
    ) as response:
        assert response.status == 200
        assert (await response.json())["status"] == "OPEN"


async def test_one_signal_sent_twice_at_once_is_parked_once() -> None:
    """Two sends of one signal id that meet while the desk screens the first (each screening
    awaits the desk) wait for one approval, not two."""
    desk = FakeDesk()
    screened = 0
    both_in = asyncio.Event()

    async def screen_awaiting(sent: Signal) -> None:
        nonlocal screened
        screened += 1
        if screened == 2:
            both_in.set()
        await both_in.wait()  # each send is being screened when the other comes
        await desk.screen(sent)

    queue = ApprovalQueue(desk.submit, CAREFUL, screen=screen_awaiting)
    first, second = await asyncio.gather(
        queue.submit(signal(strategy="careful", signal_id="twice")),
        queue.submit(signal(strategy="careful", signal_id="twice")),
    )
    assert screened == 2
    assert isinstance(first, PendingSignal)
    assert second is first
    assert [item.approval_id for item in queue.pending()] == [first.approval_id]
    await queue.close()
