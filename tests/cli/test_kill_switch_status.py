"""`kill-switch` from the CLI: the reason on record says where it was engaged, and `status`
names what the engagement cancelled and kept. `status` said only "ENGAGED (engaged from the
API)" after `kill-switch on --cancel-open` from the CLI, with the cancelled orders unnamed."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from orderdesk.api.desk import KillSwitchState
from orderdesk.cli import _register_commands, app
from orderdesk.domain.protection import KeptOrder
from tests.api.fakes import FakeDesk

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")


async def kill(where: list[str], *args: str) -> str:
    result = await asyncio.to_thread(runner.invoke, app, ["kill-switch", *args, *where])
    assert result.exit_code == 0, result.output
    return result.stdout


async def test_engaged_from_the_cli_is_recorded_as_such(
    served: tuple[FakeDesk, list[str]],
) -> None:
    desk, where = served
    assert "ENGAGED (engaged from the CLI)" in await kill(where, "on")
    assert desk.kill_switch().reason == "engaged from the CLI"
    await kill(where, "off")
    assert desk.kill_switch().reason == "released from the CLI"
    assert "(feed wrong)" in await kill(where, "on", "--reason", "feed wrong")
    assert desk.kill_switch().reason == "feed wrong"


async def test_status_names_what_the_engagement_cancelled_and_kept(
    served: tuple[FakeDesk, list[str]],
) -> None:
    desk, where = served
    desk._kill = KillSwitchState(
        engaged=True,
        reason="engaged from the CLI",
        cancelled=("od-1", "od-2"),
        kept=(KeptOrder(order_id="od-3", reason="a stop protecting NSE:ITC MIS 10"),),
    )
    said = await kill(where, "status")
    assert "ENGAGED (engaged from the CLI)" in said
    assert "cancel asked for 2 open orders" in said
    assert "cancelled: od-1, od-2" in said
    assert "kept: od-3: a stop protecting NSE:ITC MIS 10" in said
    desk._kill = KillSwitchState(engaged=True, reason="loss limit")
    said = await kill(where, "status")
    assert "cancel asked" not in said
    assert "kept" not in said
