"""The doctor's loss-limit check: past the desk's daily loss limit new risk is refused whether or
not the kill switch is engaged (``on_daily_loss = "alert"``, or a person released it), and the
doctor said "ready to trade" with "kill switch: released" while the next buy was refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderdesk.doctor import Status
from orderdesk.domain import OrderStatus, Side
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.errors import RiskDenied
from tests.api.conftest import engine_api
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, signal
from tests.support import eventually


async def test_the_doctor_fails_while_the_loss_limit_refuses_new_risk() -> None:
    broker, limits = FakeBroker(), RiskLimits(daily_loss_limit=Decimal(1000))
    desk = OrderDesk(broker, MemoryStore(), config=FAST, limits=limits)
    async with desk, engine_api(desk) as client:
        await settled(desk)
        async with client.get("/api/doctor") as response:
            before = {c["name"]: c for c in (await response.json())["checks"]}
        assert (before["loss limit"]["status"], before["loss limit"]["summary"]) == (
            Status.OK,
            "the day's P&L 0.00 against the limit of 1,000.00",
        )
        bought = await desk.submit(signal(quantity=10))  # MIS at 1500
        await bought.wait()
        assert bought.status is OrderStatus.FILLED
        broker.tick(INFY, Decimal("1350"))
        await eventually(lambda: desk.day_pnl() == -1500, what="the loss marked")
        async with client.get("/api/doctor") as response:
            answer = await response.json()
        with_words = {c["name"]: c for c in answer["checks"]}
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(signal(quantity=1, signal_id="more"))
        sold = await desk.submit(signal(quantity=10, side=Side.SELL, signal_id="out"))
        await sold.wait()
    assert denied.value.check == "daily_loss_limit"
    assert sold.status is OrderStatus.FILLED  # the exit still goes
    assert not desk.kill_switch.engaged
    assert (answer["ready"], answer["verdict"]) == (False, "NOT ready to trade")
    assert with_words["kill switch"]["status"] == Status.OK
    assert with_words["loss limit"]["status"] == Status.FAIL
    assert with_words["loss limit"]["summary"] == (
        "reached: the day's P&L -1,500.00 against the limit of 1,000.00; new risk is refused "
        "while the day is at or past it, exits still go"
    )
