"""``GET /api/kill-switch`` lists what the engagement in force cancelled and kept, as the
operator's ``POST`` answers it: after the loss limit's ``kill_switch_and_cancel`` it read
``cancelled: []`` while the alerts named the orders it had cancelled. The lists are not in the
log; a restart empties them, whoever engaged the switch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk import KillSwitchState
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.domain import OrderType
from orderdesk.domain.protection import KeptOrder
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import LossLimitAction
from tests.api.conftest import AUTH, TOKEN
from tests.api.fakes import FakeDesk
from tests.engine.conftest import FAST
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, signal
from tests.support import eventually

ENGAGED = KillSwitchState(
    engaged=True,
    reason="the day's loss reached the limit of 150 on 2026-12-04 (P&L -200.00)",
    cancelled=("od7",),
    kept=(KeptOrder("od8", "a stop that can only reduce the position held"),),
)


class _EngagedDesk(FakeDesk):
    """A desk whose switch the loss limit engaged with a cancel."""

    def kill_switch(self) -> KillSwitchState:
        return ENGAGED


async def _get(app_desk: Any) -> Any:
    server = await serve_api(create_app(app_desk, token=TOKEN), "127.0.0.1", 0)
    try:
        async with (
            aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client,
            client.get("/api/kill-switch") as response,
        ):
            assert response.status == 200
            return await response.json()
    finally:
        await server.stop()


async def test_the_switch_is_shown_with_what_its_engagement_cancelled_and_kept() -> None:
    """The route renders the switch's cancelled and kept orders, not only its reason."""
    desk = _EngagedDesk()
    try:
        shown = await _get(desk)
    finally:
        desk.close()
    assert shown["cancelled"] == ["od7"]
    assert shown["kept"] == [
        {"order_id": "od8", "reason": "a stop that can only reduce the position held"}
    ]


@pytest.fixture
async def losing_desk() -> AsyncIterator[tuple[OrderDesk, FakeBroker]]:
    """A real desk whose loss limit of 150 engages the switch and cancels."""
    config = replace(
        FAST, on_loss_limit=LossLimitAction.KILL_SWITCH_AND_CANCEL, clock_interval=3600.0
    )
    broker = FakeBroker()
    limits = RiskLimits(daily_loss_limit=Decimal("150"))
    async with OrderDesk(broker, MemoryStore(), config=config, limits=limits) as desk:
        yield desk, broker


async def test_the_loss_limits_cancel_is_read_back_through_the_api(
    losing_desk: tuple[OrderDesk, FakeBroker],
) -> None:
    """Through the engine: the order the loss limit cancelled is listed by the GET."""
    desk, broker = losing_desk
    bought = await desk.submit(signal())
    await bought.wait()
    resting = await desk.submit(
        signal(order_type=OrderType.LIMIT, price=Decimal("1400"), signal_id="dip")
    )
    broker.tick(INFY, Decimal("1480"))
    await eventually(lambda: desk.day_pnl() == Decimal("-200"), what="the mark")
    await desk._watch_loss()  # the clock loop's look, taken now
    shown = await _get(EngineDesk(desk))
    assert shown["engaged"] is True
    assert shown["cancelled"] == [resting.order_id]
