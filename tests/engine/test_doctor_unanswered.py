"""A broker that does not answer the doctor's pre-flight in time: the doctor answers all the
same, its broker checks saying the broker did not answer (not the CLI's "the desk did not
answer"), the desk's own checks made; and a pre-flight that finds the session refused ends the
desk's session, so the session line does not say valid beside it."""

from __future__ import annotations

import asyncio

import pytest

from orderdesk.api import desk_adapter
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api.schemas_doctor import DoctorOut
from orderdesk.engine import OrderDesk
from orderdesk.ports.preflight import OrderRate, Preflight, Verdict
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore

RATE = OrderRate(0, 0, None, 10, 400, 5000)


class SilentBroker(FakeBroker):
    """Its pre-flight never answers."""

    async def preflight(self) -> Preflight:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class RefusingBroker(FakeBroker):
    """Its pre-flight finds the session refused."""

    async def preflight(self) -> Preflight:
        return Preflight(
            configured_address=None,
            family="ipv4",
            local_address="127.0.0.1",
            verdict=Verdict.SESSION_REFUSED,
            probe="a cancel of an order that cannot exist",
            answer="the session was refused (TokenException); run `orderdesk login`",
            sent_at=None,
            answered_at=None,
            broker_time=None,
            rate=RATE,
        )


async def test_a_broker_silent_past_the_doctors_time_is_said_to_be_the_brokers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(desk_adapter, "PREFLIGHT_SECONDS", 0.05)
    async with OrderDesk(SilentBroker(), MemoryStore(), config=FAST) as desk:
        diagnosis = await EngineDesk(desk).doctor()
    checks = {c.name: c for c in diagnosis.checks}
    path = checks["orders from this address"]
    assert path.summary == "the broker did not answer the doctor's checks within 0.05 s", path
    assert checks["session"].summary.startswith("valid"), checks["session"]
    assert not diagnosis.ready
    shown = DoctorOut.of(diagnosis)
    assert (shown.order_path, shown.broker_unanswered) == (None, path.summary)


async def test_a_session_refused_to_the_preflight_ends_the_desks_session() -> None:
    async with OrderDesk(RefusingBroker(), MemoryStore(), config=FAST) as desk:
        diagnosis = await EngineDesk(desk).doctor()
        assert not desk.session.usable
    checks = {c.name: c for c in diagnosis.checks}
    assert checks["session"].status.value == "fail", checks["session"]
    assert "the session was refused" in checks["session"].summary
    assert DoctorOut.of(diagnosis).order_path is not None
