"""The operator's walk through `orderdesk run`: a signal rejected, the desk restarted, the
same signal sent again, parked anew, and approving it placed what was rejected the day before.

Only what the runtime opens is used here (the queue's restart state comes from the log it
builds), so this walk holds whatever the queue keeps inside.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orderdesk.approvals import ApprovalState, PendingSignal, SignalDecided
from orderdesk.runtime import open_runtime
from tests.test_strategy_paths import market_buy, settings


async def test_orderdesk_run_restarted_refuses_the_signal_rejected_before(
    tmp_path: Path,
) -> None:
    """The walk, through the runtime `orderdesk run` opens: rejected, restarted, sent again."""
    async with open_runtime(settings(tmp_path), serve=False) as runtime:
        first = await runtime.approvals.submit(market_buy("careful", "mr-walk"))
        assert isinstance(first, PendingSignal)
        runtime.approvals.reject(first.approval_id, "not this one")
        left = await runtime.approvals.submit(market_buy("careful", "mr-left"))
        assert isinstance(left, PendingSignal)

    async with open_runtime(settings(tmp_path), serve=False) as runtime:
        with pytest.raises(SignalDecided) as rejected:
            await runtime.approvals.submit(market_buy("careful", "mr-walk"))
        with pytest.raises(SignalDecided) as dropped:
            await runtime.approvals.submit(market_buy("careful", "mr-left"))
        assert runtime.approvals.pending() == []
        assert runtime.desk.orders() == []

    assert rejected.value.state is ApprovalState.REJECTED
    assert f"was rejected ({first.approval_id}: not this one)" in str(rejected.value)
    assert dropped.value.state is ApprovalState.EXPIRED
    assert "the desk stopped before a decision" in str(dropped.value)
