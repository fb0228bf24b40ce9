"""`orderdesk status` and `orderdesk doctor` of a real desk whose reconciliations keep failing.
A broker adapter whose order book rows were dicts failed every pass (an alert each minute,
"reconciliation failed: AttributeError: 'dict' …"), yet `status` said "desk ok" and `doctor`
"ready to trade" with only "warn reconciliation: none yet". A session that ended is the
session's alarm, not the reconciliation's too."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api_token import load_or_create_token
from orderdesk.cli import _register_commands, app
from orderdesk.domain.calendar import IST
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.engine import OrderDesk
from orderdesk.errors import BrokerAuthError
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore
from tests.support import WallClock

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")

INTERVAL = 60.0
ERROR = "AttributeError: 'dict' object has no attribute 'broker_order_id'"


class DictBroker(FakeBroker):
    """A third-party adapter's slip: its order book is the broker's JSON rows, not reports
    (until ``mended``). Its sessions end at 10:00 IST."""

    mended = False

    async def orders(self) -> list[OrderStatusReport]:
        rows: list[Any] = [] if self.mended else [{"order_id": "2406120001", "status": "OPEN"}]
        return [*rows, *await super().orders()]

    def session_expiry(self, started: datetime) -> datetime | None:
        return started.astimezone(IST).replace(hour=10, minute=0)


@dataclass
class Served:
    desk: OrderDesk
    broker: FakeBroker
    clock: WallClock
    where: list[str]

    async def cli(self, *args: str) -> tuple[int, str]:
        result = await asyncio.to_thread(runner.invoke, app, [*args, *self.where])
        return result.exit_code, result.stdout

    def later(self, seconds: float) -> None:
        self.clock.at += timedelta(seconds=seconds)


async def serve(tmp_path: Path, broker: FakeBroker) -> AsyncIterator[Served]:
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\nconfig_dir = "{tmp_path / "conf"}"\n'
    )
    clock = WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))
    desk_config = replace(FAST, reconcile_interval=INTERVAL)
    async with OrderDesk(broker, MemoryStore(), clock=clock, config=desk_config) as desk:
        server = await serve_api(
            create_app(EngineDesk(desk), token=load_or_create_token(tmp_path / "conf")),
            "127.0.0.1",
            0,
        )
        try:
            yield Served(desk, broker, clock, ["--config", str(config), "--url", server.url])
        finally:
            await server.stop()


@pytest.fixture
async def failing(tmp_path: Path) -> AsyncIterator[Served]:
    """A desk on the dict broker (its start-up pass failed at 09:30 IST)."""
    async for served in serve(tmp_path, DictBroker()):
        yield served


@pytest.fixture
async def working(tmp_path: Path) -> AsyncIterator[Served]:
    async for served in serve(tmp_path, FakeBroker()):
        yield served


def checks(report: str) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in json.loads(report)["checks"]}


async def test_failing_reconciliations_are_said_by_status_and_fail_the_doctor(
    failing: Served,
) -> None:
    """The start-up pass failed: both say since when and why, a warning. Passes failing on,
    an interval apart: the doctor is not ready and `status` is degraded, the same line."""
    code, shown = await failing.cli("status")
    assert code == 0, shown
    first = shown.splitlines()
    assert first[0].startswith("desk ok · ")
    line = (
        f"reconciliation failing since 09:30 IST: {ERROR}; none has succeeded since the desk "
        "started"
    )
    assert line in first
    code, report = await failing.cli("doctor", "--json")
    assert code == 0, report
    assert checks(report)["reconciliation"] == {
        "name": "reconciliation",
        "status": "warn",
        "summary": line.removeprefix("reconciliation "),
    }

    for _ in range(2):  # the timer's next passes, an interval apart
        failing.later(INTERVAL)
        with pytest.raises(AttributeError):
            await failing.desk.reconcile()
    code, report = await failing.cli("doctor", "--json")
    assert code == 6, report
    said = checks(report)["reconciliation"]
    assert said["status"] == "fail"
    assert said["summary"].startswith(f"failing since 09:30 IST: {ERROR}; none has succeeded")
    assert "cannot see the broker's books" in said["summary"]
    code, shown = await failing.cli("status")
    assert code == 0, shown
    assert shown.startswith("desk degraded · ")
    assert f"reconciliation {said['summary']}" in " ".join(shown.split())


async def test_a_pass_that_succeeds_again_clears_it(failing: Served) -> None:
    """The adapter mended (a pass succeeds): the books' line as before, nothing in `status`."""
    failing.later(INTERVAL)
    assert isinstance(failing.broker, DictBroker)
    failing.broker.mended = True
    await failing.desk.reconcile()
    code, shown = await failing.cli("status")
    assert code == 0, shown
    assert shown.startswith("desk ok · ")
    assert "reconciliation" not in shown
    code, report = await failing.cli("doctor", "--json")
    assert code == 0, report
    assert checks(report)["reconciliation"]["status"] == "ok"


async def test_an_expired_session_is_the_sessions_alarm_not_the_reconciliations_too(
    failing: Served,
) -> None:
    """Passes failed in a row, then the session expired (10:00 here, Kite's 06:00): no pass is
    made until a login, and the session's check is the one that fails; the reconciliation's
    tells its failing, paused."""
    for _ in range(2):
        failing.later(INTERVAL)
        with pytest.raises(AttributeError):
            await failing.desk.reconcile()
    failing.clock.at = datetime(2026, 12, 7, 10, 1, tzinfo=IST)
    code, report = await failing.cli("doctor", "--json")
    assert code == 6, report
    failed = {name for name, c in checks(report).items() if c["status"] == "fail"}
    assert failed == {"session"}
    said = checks(report)["reconciliation"]
    assert said["status"] == "warn"
    assert said["summary"] == (
        f"failing since 09:30 IST: {ERROR}; paused until a login (see the session)"
    )


async def test_a_session_refused_to_reconciliation_is_the_sessions_alarm_alone(
    working: Served,
) -> None:
    """The token died (06:00 IST): the pass is refused for want of a session. The session's
    check fails; the reconciliation's reads as its last good pass, not as failing."""
    working.later(INTERVAL)
    working.broker.token_dead = True
    with pytest.raises(BrokerAuthError):
        await working.desk.reconcile()
    # As the desk's timer takes the refusal (``OrderDesk._api_error``): the session is over.
    working.desk.session.refused("reconciliation: Token expired", working.clock.now())
    for _ in range(3):
        working.later(INTERVAL)
    code, report = await working.cli("doctor", "--json")
    assert code == 6, report
    failed = {name for name, c in checks(report).items() if c["status"] == "fail"}
    assert failed == {"session"}
    assert "failing" not in checks(report)["reconciliation"]["summary"]
    code, shown = await working.cli("status")
    assert code == 0, shown
    assert "reconciliation" not in shown
