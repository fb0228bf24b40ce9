"""`orderdesk gtt list` and `orderdesk alerts list` with their filters, against the API served
over the API tests' fake desk (the paper broker a daemon would run offers no GTTs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from typer.testing import CliRunner

from orderdesk.api import create_app, serve_api
from orderdesk.api_token import load_or_create_token
from orderdesk.cli import _register_commands, app
from tests.api.fakes import FakeDesk

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")


@dataclass(frozen=True)
class Served:
    config: Path
    url: str
    ids: dict[str, str]
    """The trigger ids by the name the fixture gave each."""


def _gtt(strategy: str, trigger: str) -> dict[str, Any]:
    return {
        "instrument": "NSE:INFY",
        "trigger_values": [trigger],
        "last_price": "1500",
        "orders": [{"side": "SELL", "quantity": 5, "price": "1599"}],
        "strategy": strategy,
    }


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """The API on 127.0.0.1:0 with three GTTs (swing's live one, swing's deleted one, a
    manual live one) and two price alerts (one deleted); a config whose token it takes."""
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\nconfig_dir = "{tmp_path / "conf"}"\n'
    )
    token = load_or_create_token(tmp_path / "conf")
    desk = FakeDesk()
    server = await serve_api(create_app(desk, token=token), "127.0.0.1", 0)
    ids: dict[str, str] = {}
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=server.url, headers=headers) as http:
        made = [
            ("swing_live", "/api/gtt", _gtt("swing", "1600")),
            ("swing_gone", "/api/gtt", _gtt("swing", "1650")),
            ("manual_live", "/api/gtt", _gtt("manual", "1700")),
            ("dip", "/api/price-alerts", _alert("dip")),
            ("rip", "/api/price-alerts", _alert("rip")),
        ]
        for name, path, body in made:
            async with http.post(path, json=body) as response:
                assert response.status == 201, await response.text()
                ids[name] = (await response.json())["id"]
        for path in (f"/api/gtt/{ids['swing_gone']}", f"/api/price-alerts/{ids['rip']}"):
            async with http.delete(path) as response:
                assert response.status == 200, await response.text()
    yield Served(config, server.url, ids)
    desk.close()
    await server.stop()


def _alert(name: str) -> dict[str, Any]:
    return {"name": name, "instrument": "NSE:INFY", "operator": "<=", "value": "1400"}


async def listed(served: Served, *args: str) -> list[str]:
    """The trigger ids `orderdesk <args> --json` lists (the CLI runs its own event loop, so in a
    thread beside the server's)."""
    command = [*args, "--json", "--config", str(served.config), "--url", served.url]
    result = await asyncio.to_thread(runner.invoke, app, command)
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.stdout)]


async def test_gtt_list_filters_reach_the_api(served: Served) -> None:
    """`gtt list --active` and `--strategy swing` list what the filters select (they failed
    with "Not Found": the query was escaped into the path)."""
    ids = served.ids
    every = [ids["swing_live"], ids["swing_gone"], ids["manual_live"]]
    assert await listed(served, "gtt", "list") == every
    assert await listed(served, "gtt", "list", "--active") == [
        ids["swing_live"],
        ids["manual_live"],
    ]
    assert await listed(served, "gtt", "list", "--strategy", "swing") == [
        ids["swing_live"],
        ids["swing_gone"],
    ]
    assert await listed(served, "gtt", "list", "--strategy", "swing", "--active") == [
        ids["swing_live"]
    ]


async def test_alerts_list_active_reaches_the_api(served: Served) -> None:
    """`alerts list --active` leaves out the deleted alert."""
    assert await listed(served, "alerts", "list") == [served.ids["dip"], served.ids["rip"]]
    assert await listed(served, "alerts", "list", "--active") == [served.ids["dip"]]
    assert await listed(served, "alerts", "list", "--strategy", "manual", "--active") == [
        served.ids["dip"]
    ]
