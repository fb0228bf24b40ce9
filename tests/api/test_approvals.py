"""Approval mode: parked signals, approve once, reject, expiry; over HTTP and in the queue."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orderdesk.approvals import (
    ApprovalClosed,
    ApprovalQueue,
    ApprovalState,
    PendingSignal,
    TooLateToPark,
)
from orderdesk.config import StrategySettings
from orderdesk.domain.calendar import TradingCalendar
from orderdesk.domain.values import Variety
from orderdesk.errors import RiskDenied
from tests.api.conftest import Api
from tests.api.fakes import FakeDesk
from tests.api.test_routes import LIMIT_BUY
from tests.domain.builders import signal
from tests.notify.conftest import FakeClock

CAREFUL = {"careful": StrategySettings(approval=True, approval_ttl_seconds=30)}


class Recorder:
    def __init__(self) -> None:
        self.alerts: list[Any] = []

    async def notify(self, alert: Any) -> None:
        self.alerts.append(alert)


async def test_signals_of_other_strategies_pass_straight_through() -> None:
    """A strategy without approval is submitted at once."""
    desk = FakeDesk()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen)
    outcome = await queue.submit(signal())
    assert not isinstance(outcome, PendingSignal)
    assert len(desk.submitted) == 1


async def test_parked_signal_is_submitted_once_on_approval() -> None:
    """Approval submits the signal; approving again is refused as already decided."""
    desk, alerts = FakeDesk(), Recorder()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen, notifier=alerts)
    parked = await queue.submit(signal(strategy="careful"))
    assert isinstance(parked, PendingSignal)
    assert desk.submitted == []
    assert [a.title for a in alerts.alerts] == ["Signal awaiting approval"]
    order = await queue.approve(parked.approval_id)
    assert parked.order_id == order.order_id
    with pytest.raises(ApprovalClosed) as exc_info:
        await queue.approve(parked.approval_id)
    assert exc_info.value.state is ApprovalState.APPROVED
    assert len(desk.submitted) == 1


async def test_the_same_signal_id_waits_once() -> None:
    """A strategy re-sending the same signal id gets the same pending entry back."""
    desk = FakeDesk()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen)
    first = await queue.submit(signal(strategy="careful", signal_id="s-1"))
    second = await queue.submit(signal(strategy="careful", signal_id="s-1"))
    assert first is second
    assert len(queue.pending()) == 1


async def test_a_decided_signal_sent_again_is_its_outcome_not_a_new_wait() -> None:
    """Re-sent after approval, the signal is answered with its order (submitted once); after a
    rejection, with a refusal naming it (it used to come back as "pending_approval")."""
    desk = FakeDesk()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen)
    approved = await queue.submit(signal(strategy="careful", signal_id="s-1"))
    rejected = await queue.submit(signal(strategy="careful", signal_id="s-2"))
    assert isinstance(approved, PendingSignal)
    assert isinstance(rejected, PendingSignal)
    order = await queue.approve(approved.approval_id)
    queue.reject(rejected.approval_id, "not today")
    again = await queue.submit(signal(strategy="careful", signal_id="s-1"))
    assert not isinstance(again, PendingSignal)
    assert again.order_id == order.order_id
    with pytest.raises(ApprovalClosed) as refused:
        await queue.submit(signal(strategy="careful", signal_id="s-2"))
    assert refused.value.state is ApprovalState.REJECTED
    assert str(refused.value) == (
        f"signal 's-2' was rejected ({rejected.approval_id}: not today); "
        "a new signal needs a new id"
    )
    assert queue.pending() == []


async def test_http_a_rejected_signal_sent_again_is_409(api: Api) -> None:
    careful = {**LIMIT_BUY, "strategy": "careful", "signal_id": "once"}
    async with api.client.post("/api/signals", json=careful) as response:
        parked = (await response.json())["pending"]
    async with api.client.post(f"/api/approvals/{parked['approval_id']}/reject", json={}):
        pass
    async with api.client.post("/api/signals", json=careful) as response:
        assert response.status == 409
        assert "was rejected" in (await response.json())["message"]


async def test_pending_signals_expire_after_their_ttl() -> None:
    """After approval_ttl_seconds the signal lapses and can no longer be approved."""
    clock = FakeClock()
    desk = FakeDesk()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen, clock=clock)
    parked = await queue.submit(signal(strategy="careful"))
    assert isinstance(parked, PendingSignal)
    clock.advance(29)
    assert queue.pending() == [parked]
    clock.advance(1)
    assert queue.pending() == []
    with pytest.raises(ApprovalClosed) as exc_info:
        await queue.approve(parked.approval_id)
    assert exc_info.value.state is ApprovalState.EXPIRED
    assert desk.submitted == []


async def test_a_desk_refusal_on_approval_marks_the_signal_failed() -> None:
    """If the kill switch is on when the operator approves, the denial surfaces and is kept."""
    desk = FakeDesk()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen)
    parked = await queue.submit(signal(strategy="careful"))
    assert isinstance(parked, PendingSignal)
    await desk.set_kill_switch(True, "halt")
    with pytest.raises(RiskDenied) as exc_info:
        await queue.approve(parked.approval_id)
    assert exc_info.value.check == "kill_switch"
    assert parked.state is ApprovalState.FAILED
    assert "kill switch" in (parked.reason or "")


async def test_a_signal_the_desk_would_deny_is_refused_before_it_waits() -> None:
    """A signal over a limit is refused at once with the desk's denial: not parked, not
    announced to the operator, not submitted."""
    desk, alerts = FakeDesk(max_quantity=5), Recorder()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen, notifier=alerts)
    with pytest.raises(RiskDenied) as exc_info:
        await queue.submit(signal(strategy="careful", quantity=6))
    assert exc_info.value.check == "max_quantity"
    assert queue.recent() == []
    assert alerts.alerts == []
    assert desk.submitted == []


async def test_risk_is_checked_when_parked_and_again_when_approved() -> None:
    """The desk sees a parked signal twice: screened when it arrives, submitted (and so
    checked again) when the operator approves it."""
    desk = FakeDesk()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen)
    parked = await queue.submit(signal(strategy="careful", signal_id="s-2"))
    assert isinstance(parked, PendingSignal)
    assert [s.signal_id for s in desk.screened] == ["s-2"]
    await queue.approve(parked.approval_id)
    assert [s.signal_id for s in desk.screened] == ["s-2", "s-2"]
    assert [s.signal_id for s in desk.submitted] == ["s-2"]


async def test_http_over_the_limit_is_403_at_once_for_an_approval_strategy(api: Api) -> None:
    """Over HTTP, an approval strategy's signal over a limit gets the same 403 risk_denied as
    any other strategy's, and nothing waits for approval."""
    api.desk.max_quantity = 5
    careful = {**LIMIT_BUY, "strategy": "careful", "quantity": 6}
    async with api.client.post("/api/signals", json=careful) as response:
        body = await response.json()
    assert response.status == 403
    assert (body["error"], body["check"]) == ("risk_denied", "max_quantity")
    async with api.client.get("/api/approvals?include_decided=true") as response:
        assert await response.json() == []


async def test_http_approval_is_refused_when_the_desk_changed_meanwhile(api: Api) -> None:
    """A signal parked while it passed is refused at approval (403) if the kill switch was
    engaged in between; the queue keeps it as FAILED with the reason."""
    careful = {**LIMIT_BUY, "strategy": "careful"}
    async with api.client.post("/api/signals", json=careful) as response:
        assert response.status == 202
        approval_id = (await response.json())["pending"]["approval_id"]
    async with api.client.post("/api/kill-switch", json={"engaged": True}) as response:
        assert response.status == 200
    async with api.client.post(f"/api/approvals/{approval_id}/approve") as response:
        body = await response.json()
    assert response.status == 403
    assert body["check"] == "kill_switch"
    async with api.client.get("/api/approvals?include_decided=true") as response:
        (item,) = await response.json()
    assert item["state"] == "FAILED"
    assert "kill switch" in item["reason"]


async def test_http_flow_park_list_approve_and_reject(api: Api) -> None:
    """Over HTTP: 202 on submit, listed as pending, approve gives the order, reject drops it."""
    careful = {**LIMIT_BUY, "strategy": "careful"}
    async with api.client.post("/api/signals", json=careful) as response:
        assert response.status == 202
        first = (await response.json())["pending"]
    async with api.client.post("/api/signals", json=careful) as response:
        second = (await response.json())["pending"]
    async with api.client.get("/api/approvals") as response:
        listed = [p["approval_id"] for p in await response.json()]
    assert listed == [first["approval_id"], second["approval_id"]]
    async with api.client.post(f"/api/approvals/{first['approval_id']}/approve") as response:
        order = await response.json()
    assert order["status"] == "OPEN"
    async with api.client.post(
        f"/api/approvals/{second['approval_id']}/reject", json={"reason": "not today"}
    ) as response:
        rejected = await response.json()
    assert (rejected["state"], rejected["reason"]) == ("REJECTED", "not today")
    async with api.client.get("/api/approvals") as response:
        assert await response.json() == []
    async with api.client.get("/api/approvals?include_decided=true") as response:
        states = [p["state"] for p in await response.json()]
    assert states == ["APPROVED", "REJECTED"]
    async with api.client.post(f"/api/approvals/{second['approval_id']}/approve") as response:
        assert response.status == 409


async def test_unknown_approval_is_404(api: Api) -> None:
    """Approving an id the queue never issued is a 404."""
    async with api.client.post("/api/approvals/apnothing/approve") as response:
        assert response.status == 404


async def test_unknown_query_parameter_is_422(api: Api) -> None:
    """A misspelt flag is refused with the parameter named, not silently ignored."""
    async with api.client.get("/api/approvals?include_decide=true") as response:
        body = await response.json()
    assert response.status == 422
    assert body["fields"][0]["field"] == "include_decide"


async def test_a_pending_amo_lapses_with_its_trading_day() -> None:
    """However long the approval window, an after-market order parked before the 06:00
    rollover cannot be approved after it: the next day is not the day it was meant for."""
    clock = FakeClock()  # 2024-01-01 05:46 IST: still Friday's trading day
    desk = FakeDesk()
    patient = {"careful": StrategySettings(approval=True, approval_ttl_seconds=86_400)}
    queue = ApprovalQueue(
        desk.submit, patient, screen=desk.screen, clock=clock, calendar=TradingCalendar()
    )
    parked = await queue.submit(signal(strategy="careful", variety=Variety.AMO))
    assert isinstance(parked, PendingSignal)
    clock.advance(13 * 60)  # 05:59
    assert queue.pending() == [parked]
    clock.advance(60)  # 06:00: Monday's trading day
    assert queue.pending() == []
    with pytest.raises(ApprovalClosed) as exc_info:
        await queue.approve(parked.approval_id)
    assert exc_info.value.state is ApprovalState.EXPIRED
    assert parked.reason == "its trading day Fri 29 Dec ended at 06:00 IST"
    assert desk.submitted == []


async def test_a_regular_order_after_its_day_closed_is_not_parked() -> None:
    """At 05:46, Friday's trading day is long closed: a regular order could only be rejected
    ("Markets are closed") or counted into a closed day, so it is refused, not parked."""
    desk = FakeDesk()
    queue = ApprovalQueue(
        desk.submit,
        {"careful": StrategySettings(approval=True, approval_ttl_seconds=86_400)},
        screen=desk.screen,
        clock=FakeClock(),
        calendar=TradingCalendar(),
    )
    with pytest.raises(TooLateToPark) as refused:
        await queue.submit(signal(strategy="careful"))
    assert "closed at 15:30 IST on Fri 29 Dec" in str(refused.value)


async def test_signals_still_parked_when_the_desk_stops_are_dropped_and_said() -> None:
    """Parked signals live in the daemon alone: when it stops, each ends EXPIRED (a waiter is
    told, nothing is submitted) and one alert names them for their strategies to send again."""
    desk, alerts = FakeDesk(), Recorder()
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen, notifier=alerts)
    parked = await queue.submit(signal(strategy="careful", signal_id="s-9"))
    assert isinstance(parked, PendingSignal)
    waiter = asyncio.create_task(queue.wait(parked.approval_id))
    await queue.close()
    assert (await waiter) is parked
    assert (parked.state, parked.reason) == (
        ApprovalState.EXPIRED,
        "the desk stopped before a decision",
    )
    (dropped,) = [a for a in alerts.alerts if a.title == "Parked signals dropped"]
    assert parked.approval_id in dropped.body
    assert desk.submitted == []
