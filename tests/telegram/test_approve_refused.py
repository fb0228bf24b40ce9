"""An approval the desk refuses is in the audit log from Telegram as it is from the API: the
operator's ``OperatorCommandHandled`` names the refusal, beside the approval id."""

from __future__ import annotations

from orderdesk.approvals import ApprovalQueue, ApprovalState, PendingSignal
from orderdesk.config import StrategySettings
from orderdesk.telegram.commands import DeskCommands, actor_of
from tests.api.fakes import FakeDesk
from tests.domain.builders import signal
from tests.telegram.test_command_words import CHAT, Recorded

CAREFUL = {"careful": StrategySettings(approval=True, approval_ttl_seconds=300)}


async def test_an_approval_the_desk_refuses_is_recorded_as_the_operators() -> None:
    desk, recorded = FakeDesk(), Recorded()
    approvals = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen)
    item = await approvals.submit(signal(strategy="careful", signal_id="c-1"))
    assert isinstance(item, PendingSignal)
    await desk.set_kill_switch(True, "drill")
    reply = await DeskCommands(desk, approvals, recorded).handle(
        CHAT, f"/approve {item.approval_id}"
    )
    assert reply.text.startswith("Refused: ")
    assert item.state is ApprovalState.FAILED
    assert desk.submitted == []
    [(operator, command, outcome, params)] = recorded.rows
    assert (operator, command, params) == (actor_of(CHAT), "approve", item.approval_id)
    assert outcome.startswith("refused: ")
    assert "the kill switch is engaged (drill)" in outcome
    await approvals.close()
