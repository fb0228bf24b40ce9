"""What an operator walk found in approval mode.

The walk: an AMO sent at 07:00 on Wednesday and approved at 16:30 was placed for Thursday's
open; a different signal sent under a parked signal's id was answered with the parked one; an
approval refused for want of a broker session ("log in and send the same request again") had
used the approval up; a 409 for a previous day's decision left its day out until a restart; and
an approval the desk refused left no trace of who tried it.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import pytest

from orderdesk.api.desk import SessionStatus
from orderdesk.approvals import (
    ApprovalClosed,
    ApprovalQueue,
    ApprovalState,
    PendingSignal,
    SignalDecided,
)
from orderdesk.config import StrategySettings
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.events import OperatorCommandHandled
from orderdesk.domain.values import Variety
from orderdesk.engine.errors import DayNotOpen, SessionExpired, SignalIdReused
from tests.api.conftest import Api
from tests.api.fakes import FakeDesk
from tests.api.test_routes import LIMIT_BUY
from tests.domain.builders import signal

WEDNESDAY = date(2026, 12, 9)
PATIENT = {"patient": StrategySettings(approval=True, approval_ttl_seconds=24 * 3600)}
"""A window longer than the day: only the day's own limits can end it."""


class DeskClock:
    """The desk's clock, set by the test (its monotonic time is the real one)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()


def wednesday(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 9, hour, minute, tzinfo=IST)


def queue_at(clock: DeskClock, desk: FakeDesk) -> ApprovalQueue:
    return ApprovalQueue(
        desk.submit,
        PATIENT,
        screen=desk.screen,
        clock=clock,
        calendar=TradingCalendar(),
        day_closes=lambda day, segment: datetime.combine(day, wednesday(16, 15).timetz()),
    )


async def park(queue: ApprovalQueue, **fields: object) -> PendingSignal:
    item = await queue.submit(signal(strategy="patient", **fields))
    assert isinstance(item, PendingSignal)
    return item


# -- 1. an AMO sent before the open is for that open ---------------------------------------------


async def test_an_amo_sent_before_the_open_lapses_at_that_open() -> None:
    """Sent at 07:00 Wednesday, the AMO is for Wednesday's 09:15 open: approved at 16:30 it
    would be held for Thursday's and fill a day late, so it lapses at the open instead."""
    clock, desk = DeskClock(wednesday(7)), FakeDesk()
    queue = queue_at(clock, desk)
    item = await park(queue, variety=Variety.AMO, signal_id="morning")
    assert item.expires_at == wednesday(9, 15)
    assert (
        item.lapses_because
        == "it was for the open of its market (equity) at 09:15 IST on Wed 09 Dec"
    )
    clock.at = wednesday(16, 30)
    with pytest.raises(ApprovalClosed) as refused:
        await queue.approve(item.approval_id)
    assert refused.value.state is ApprovalState.EXPIRED
    assert desk.submitted == []
    await queue.close()


async def test_an_amo_sent_before_the_open_may_be_approved_until_then() -> None:
    clock, desk = DeskClock(wednesday(7)), FakeDesk()
    queue = queue_at(clock, desk)
    item = await park(queue, variety=Variety.AMO, signal_id="morning")
    clock.at = wednesday(9, 14)
    await queue.approve(item.approval_id)
    assert [s.signal_id for s in desk.submitted] == ["morning"]
    await queue.close()


async def test_an_amo_sent_after_the_close_still_waits_for_the_next_open() -> None:
    clock, desk = DeskClock(wednesday(20)), FakeDesk()
    queue = queue_at(clock, desk)
    item = await park(queue, variety=Variety.AMO, signal_id="evening")
    assert item.expires_at == wednesday(6) + timedelta(days=1)
    clock.at = wednesday(23, 30)
    await queue.approve(item.approval_id)
    assert [s.signal_id for s in desk.submitted] == ["evening"]
    await queue.close()


# -- 2. another signal under a parked signal's id ------------------------------------------------


async def test_another_signal_under_a_parked_id_is_refused_naming_what_differs() -> None:
    desk = FakeDesk()
    queue = ApprovalQueue(desk.submit, PATIENT, screen=desk.screen)
    parked = await park(queue, signal_id="s-1", quantity=10)
    with pytest.raises(SignalIdReused) as refused:
        await queue.submit(signal(strategy="patient", signal_id="s-1", quantity=20))
    assert refused.value.differing == ["quantity"]
    assert str(refused.value) == (
        "signal id 's-1' was used for another signal (quantity differs); "
        "a new signal needs a new id"
    )
    # The same signal sent again still waits once; the parked one is untouched.
    assert await queue.submit(signal(strategy="patient", signal_id="s-1", quantity=10)) is parked
    assert queue.pending() == [parked]
    await queue.close()


async def test_http_another_signal_under_a_parked_id_is_409(api: Api) -> None:
    careful = {**LIMIT_BUY, "strategy": "careful", "signal_id": "reused"}
    async with api.client.post("/api/signals", json=careful) as response:
        assert response.status == 202
    other = {**careful, "quantity": careful["quantity"] + 1}
    async with api.client.post("/api/signals", json=other) as response:
        body = await response.json()
    assert response.status == 409, body
    assert "signal id 'reused' was used for another signal (quantity differs)" in body["message"]


# -- 3. an approval refused for want of a session is not used up ---------------------------------


async def test_an_approval_refused_without_a_session_leaves_the_signal_parked() -> None:
    desk = FakeDesk()
    queue = ApprovalQueue(desk.submit, PATIENT, screen=desk.screen)
    item = await park(queue, signal_id="s-1")
    desk.lose_session()
    with pytest.raises(SessionExpired):
        await queue.approve(item.approval_id)
    assert item.state is ApprovalState.PENDING
    assert item.decided_at is None
    assert not item.settled.is_set()
    assert queue.pending() == [item]
    desk.session_status = SessionStatus("valid", expires_at=None, since=desk.now())  # logged in
    order = await queue.approve(item.approval_id)
    assert queue.get(item.approval_id).state is ApprovalState.APPROVED
    assert item.order_id == order.order_id
    assert [s.signal_id for s in desk.submitted] == ["s-1"]
    await queue.close()


async def test_an_approval_refused_before_the_day_opens_leaves_the_signal_parked() -> None:
    desk = FakeDesk()
    queue = ApprovalQueue(desk.submit, PATIENT, screen=desk.screen)
    item = await park(queue, signal_id="s-1")
    desk.day_open = False
    with pytest.raises(DayNotOpen):
        await queue.approve(item.approval_id)
    assert queue.pending() == [item]
    desk.day_open = True
    await queue.approve(item.approval_id)
    assert item.state is ApprovalState.APPROVED
    await queue.close()


async def test_http_approve_after_the_login_places_what_was_refused_before_it(api: Api) -> None:
    careful = {**LIMIT_BUY, "strategy": "careful", "signal_id": "after-login"}
    async with api.client.post("/api/signals", json=careful) as response:
        approval_id = (await response.json())["pending"]["approval_id"]
    api.desk.lose_session()
    async with api.client.post(f"/api/approvals/{approval_id}/approve") as response:
        body = await response.json()
    assert response.status == 503, body
    assert body["error"] == "session_expired"
    async with api.client.get("/api/approvals") as response:
        assert [p["approval_id"] for p in await response.json()] == [approval_id]
    api.desk.session_status = SessionStatus("valid", expires_at=None, since=api.desk.now())
    async with api.client.post(f"/api/approvals/{approval_id}/approve") as response:
        assert response.status == 200, await response.json()


# -- 4. a previous day's decision is named by its day, in this run too ---------------------------


async def test_a_decision_of_an_earlier_day_is_named_by_its_day_in_the_same_run() -> None:
    clock, desk = DeskClock(datetime(2026, 12, 7, 10, tzinfo=IST)), FakeDesk()  # a Monday
    queue = ApprovalQueue(desk.submit, PATIENT, screen=desk.screen, clock=clock)
    item = await park(queue, signal_id="monday")
    queue.reject(item.approval_id, "not today")
    clock.at = datetime(2026, 12, 8, 10, tzinfo=IST)
    with pytest.raises(SignalDecided) as refused:
        await queue.submit(signal(strategy="patient", signal_id="monday"))
    assert str(refused.value) == (
        f"signal 'monday' was rejected on Mon 07 Dec 2026 ({item.approval_id}: not today); "
        "a new signal needs a new id"
    )
    await queue.close()


# -- 5. an approval the desk refused is in the log with who tried it ----------------------------


async def test_http_an_approval_the_desk_refused_is_recorded_as_the_operators(api: Api) -> None:
    careful = {**LIMIT_BUY, "strategy": "careful", "signal_id": "halted"}
    async with api.client.post("/api/signals", json=careful) as response:
        approval_id = (await response.json())["pending"]["approval_id"]
    await api.desk.set_kill_switch(True, "drill")
    async with api.client.post(f"/api/approvals/{approval_id}/approve") as response:
        assert response.status == 403
    commands = [e for e in api.desk.log if isinstance(e, OperatorCommandHandled)]
    assert [(c.operator, c.command, c.params) for c in commands] == [
        ("api", "approve", approval_id)
    ]
    assert commands[0].outcome.startswith("not placed: careful: BUY ")
    assert "kill_switch: the kill switch is engaged (drill)" in commands[0].outcome


async def test_approving_a_decided_signal_again_records_nothing(api: Api) -> None:
    """Nothing was tried for a signal no longer pending: the refusal is the 409 alone."""
    careful = {**LIMIT_BUY, "strategy": "careful", "signal_id": "twice"}
    async with api.client.post("/api/signals", json=careful) as response:
        approval_id = (await response.json())["pending"]["approval_id"]
    async with api.client.post(f"/api/approvals/{approval_id}/approve") as response:
        assert response.status == 200
    async with api.client.post(f"/api/approvals/{approval_id}/approve") as response:
        assert response.status == 409
    commands = [e for e in api.desk.log if isinstance(e, OperatorCommandHandled)]
    assert [c.outcome.split(" ")[0] for c in commands] == ["placed"]
