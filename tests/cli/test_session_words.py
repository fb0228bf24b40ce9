"""`orderdesk session` over the engine's own session and the API: each time it prints is true
of the session's state. Restarted on Tuesday 08:00 IST with Monday's token, it printed
"expired at 06:00 IST on Wed 09 Dec" and "in use since 08:00 IST on Tue 08 Dec" for a token
the broker had refused at 08:00 (dead since Tuesday 06:00); now it says when the broker
refused it and that a login is needed, and its JSON (the API's answer) says the same."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api_token import load_or_create_token
from orderdesk.cli import _register_commands, app
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import DayRules
from orderdesk.engine.session import SessionState
from tests.engine.conftest import FAST
from tests.engine.fakes import ExpiringBroker, FakeBroker, MemoryStore, RecordingNotifier
from tests.support import WallClock, eventually

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")
MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
DAYS = replace(FAST, days=DayRules(calendar=TradingCalendar(frozenset())))


def ist(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=IST)


class Served:
    """An engine desk on a settable clock behind the API on 127.0.0.1:0, and the CLI for it."""

    def __init__(self, desk: OrderDesk, clock: WallClock, where: list[str]) -> None:
        self.desk = desk
        self.clock = clock
        self.where = where

    async def session(self, *extra: str) -> tuple[int, str]:
        command = ["session", *extra, *self.where]
        result = await asyncio.to_thread(runner.invoke, app, command)
        return result.exit_code, " ".join(result.stdout.split())


@asynccontextmanager
async def serve(tmp_path: Path, broker: FakeBroker, clock: WallClock) -> AsyncIterator[Served]:
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\nconfig_dir = "{tmp_path / "conf"}"\n'
    )
    async with OrderDesk(
        broker,
        MemoryStore(),
        notifier=RecordingNotifier(),
        clock=clock,
        config=DAYS,
        limits=RiskLimits(),
    ) as desk:
        server = await serve_api(
            create_app(EngineDesk(desk), token=load_or_create_token(tmp_path / "conf")),
            "127.0.0.1",
            0,
        )
        try:
            yield Served(desk, clock, ["--config", str(config), "--url", server.url])
        finally:
            await server.stop()


@pytest.fixture
async def restarted_with_yesterdays_token(tmp_path: Path) -> AsyncIterator[Served]:
    """The desk started on Tuesday 08:00 IST with Monday's token, which the broker refuses."""
    broker = ExpiringBroker()
    broker.token_dead = True
    async with serve(tmp_path, broker, WallClock(ist(TUESDAY, 8))) as served:
        desk = served.desk
        await eventually(
            lambda: desk.session_info().state is SessionState.REFUSED,
            what="the broker's refusal",
        )
        served.clock.set(TUESDAY, 8, 5)  # the operator looks a few minutes later
        yield served


@pytest.fixture
async def logged_in_on_monday(tmp_path: Path) -> AsyncIterator[Served]:
    """The desk running since Monday 09:26 IST with that morning's working token."""
    async with serve(tmp_path, ExpiringBroker(), WallClock(ist(MONDAY, 9, 26))) as served:
        yield served


async def test_yesterdays_token_is_told_as_refused_at_the_restart(
    restarted_with_yesterdays_token: Served,
) -> None:
    """The walker's morning: refused by the broker at 08:00 Tuesday, a login needed, exit 5;
    no Wednesday expiry and no "in use since" for a token that never worked."""
    code, out = await restarted_with_yesterdays_token.session()
    assert code == 5, out
    assert "broker session refused" in out
    assert "refused by the broker at 08:00 IST on Tue 08 Dec" in out
    assert "log in: `orderdesk login`" in out
    assert "expired at" not in out
    assert "expires at" not in out
    assert "Wed 09 Dec" not in out
    assert "in use" not in out


async def test_the_json_answer_says_what_the_words_say(
    restarted_with_yesterdays_token: Served,
) -> None:
    """`session --json` (the API's answer) has no expiry and the refusal's moment as ``since``."""
    code, out = await restarted_with_yesterdays_token.session("--json")
    assert code == 5, out
    status = json.loads(out)
    assert status["state"] == "refused"
    assert status["expires_at"] is None
    assert datetime.fromisoformat(status["since"]) == ist(TUESDAY, 8)


async def test_a_working_session_tells_its_expiry_and_its_time_in_use(
    logged_in_on_monday: Served,
) -> None:
    """A valid session says when it expires and since when the desk has used it."""
    code, out = await logged_in_on_monday.session()
    assert code == 0, out
    assert "broker session valid" in out
    assert "expires at 06:00 IST on Tue 08 Dec" in out
    assert "in use by the desk since 09:26 IST on Mon 07 Dec" in out


async def test_a_session_past_its_expiry_is_told_as_expired_then(
    logged_in_on_monday: Served,
) -> None:
    """Past Tuesday 06:00 Monday's session says it expired then, and nothing of Monday's
    morning as if it were still in use."""
    served = logged_in_on_monday
    served.clock.set(TUESDAY, 8)
    await eventually(
        lambda: served.desk.session_info().state is SessionState.EXPIRED, what="the expiry"
    )
    code, out = await served.session()
    assert code == 5, out
    assert "broker session expired" in out
    assert "expired at 06:00 IST on Tue 08 Dec" in out
    assert "in use" not in out
    assert "log in: `orderdesk login`" in out
