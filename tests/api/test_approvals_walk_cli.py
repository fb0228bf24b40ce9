"""`orderdesk pending` at the shell, over the API on 127.0.0.1:0 with an approval queue.

The walk: `pending --approve ID` printed "approved ..." and exited 0 for an order the broker
REJECTED ("Markets are closed"), where `place` says "rejected by the broker" and exits 3; and
the list showed a signal's expiry as a time alone (`expires 09:18:07 IST`) though it may lapse
on another day.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from orderdesk.api import create_app, serve_api
from orderdesk.api_token import load_or_create_token
from orderdesk.approvals import ApprovalQueue
from orderdesk.cli import _register_commands, app
from orderdesk.config import StrategySettings
from tests.api.fakes import FakeDesk

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")
CLOSED = "Markets are closed right now. Use GTT for placing long standing orders instead."


class DeskClock:
    def now(self) -> datetime:
        return datetime(2026, 12, 8, 3, 47, 7, tzinfo=UTC)  # Tue 09:17:07 IST

    def monotonic(self) -> float:
        return 0.0


@dataclass
class Served:
    desk: FakeDesk
    where: list[str]

    async def cli(self, *args: str) -> Result:
        """One command against the served API, run beside the event loop it needs."""
        return await asyncio.to_thread(
            runner.invoke, app, [*args, *self.where], env={"COLUMNS": "200"}
        )

    async def parked(self) -> str:
        placed = await self.cli(
            "place", "NSE:ITC", "BUY", "1", "--price", "430", "--strategy", "careful"
        )
        assert placed.exit_code == 0, placed.output
        listed = await self.cli("pending", "--json")
        (item,) = json.loads(listed.stdout)
        return str(item["approval_id"])


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\nconfig_dir = "{tmp_path / "conf"}"\n'
    )
    desk = FakeDesk()
    queue = ApprovalQueue(
        desk.submit,
        {"careful": StrategySettings(approval=True, approval_ttl_seconds=60)},
        screen=desk.screen,
        clock=DeskClock(),
    )
    token = load_or_create_token(tmp_path / "conf")
    server = await serve_api(create_app(desk, token=token, approvals=queue), "127.0.0.1", 0)
    try:
        yield Served(desk, ["--config", str(config), "--url", server.url])
    finally:
        await queue.close()
        desk.close()
        await server.stop()


async def test_an_approval_the_broker_rejects_exits_3_and_says_so(served: Served) -> None:
    served.desk.reject_with = CLOSED
    approval_id = await served.parked()
    approved = await served.cli("pending", "--approve", approval_id)
    assert approved.exit_code == 3, approved.output
    assert f"approved {approval_id}: rejected by the broker" in approved.stdout
    assert "Markets are closed" in approved.stdout


async def test_an_approval_the_broker_rejects_exits_3_with_json_too(served: Served) -> None:
    served.desk.reject_with = CLOSED
    approved = await served.cli("pending", "--approve", await served.parked(), "--json")
    assert approved.exit_code == 3, approved.output
    assert json.loads(approved.stdout)["status"] == "REJECTED"


async def test_an_approval_the_broker_takes_exits_0_as_submitted(served: Served) -> None:
    approval_id = await served.parked()
    approved = await served.cli("pending", "--approve", approval_id)
    assert approved.exit_code == 0, approved.output
    assert f"approved {approval_id}: submitted" in approved.stdout


async def test_the_list_shows_the_expirys_date(served: Served) -> None:
    await served.parked()
    listed = await served.cli("pending")
    assert listed.exit_code == 0, listed.output
    assert re.search(r"\bTue 08 Dec 09:18:07 IST\b", listed.stdout), listed.stdout
