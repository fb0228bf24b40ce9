"""The operator's walk through a 429 storm: the simulator answers every REST request 429 and
`orderdesk place` is answered in seconds, not after the CLI's 60 s, with the order still being
sent and the signal id to send again; the API's alerts say the broker is rate-limiting; once
the storm ends the order stands at the broker, once, and the alerts say the run is over."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from typer.testing import CliRunner, Result

from orderdesk.api import AlertFeed, create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api_token import load_or_create_token
from orderdesk.cli import _register_commands, app
from orderdesk.domain import OrderStatus
from orderdesk.engine import OrderDesk
from orderdesk.notify.fanout import FanoutNotifier
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import BrokerView, ListNotifier, open_desk, running_sim
from tests.support import eventually

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")

ANSWER_WITHIN = 15.0
"""Seconds the signal's answer may take in the storm: well under DeskClient's 60 s."""
THROTTLED = "Broker rate-limiting placements"
LIFTED = "Broker no longer rate-limiting placements"


@dataclass
class Served:
    desk: OrderDesk
    view: BrokerView
    cli: list[str]
    """``--config`` and ``--url`` for the CLI."""
    url: str
    token: str


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """The desk over the Kite adapter over the simulator, its API on 127.0.0.1:0 with the
    alerts feed, and a config for the CLI. The adapter's re-queues are the defaults: a
    placement's 429 is re-queued once, then handed to the desk."""
    feed = AlertFeed()
    notifier = FanoutNotifier(ListNotifier(), feed)
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\nconfig_dir = "{tmp_path / "conf"}"\n'
    )
    token = load_or_create_token(tmp_path / "conf")
    async with (
        running_sim(seed=151, rate_limits=False) as (_, address),
        open_desk(
            address,
            sqlite_url(tmp_path / "desk.db"),
            tmp_path,
            notifier=notifier,  # type: ignore[arg-type]
            rate_limits_enabled=False,
        ) as desk,
    ):
        await eventually(lambda: desk.stream_connected, what="stream up")
        view = BrokerView(address)
        await view.control("prices", {"NSE:INFY": 1500})  # a buy at 1443 rests
        server = await serve_api(
            create_app(EngineDesk(desk), token=token, alerts=feed), "127.0.0.1", 0
        )
        try:
            yield Served(
                desk, view, ["--config", str(config), "--url", server.url], server.url, token
            )
        finally:
            await server.stop()


async def place(served: Served, *args: str) -> Result:
    command = ["place", "NSE:INFY", "BUY", "1", "--price", "1443", *args, *served.cli]
    return await asyncio.to_thread(runner.invoke, app, command)


def printed_json(output: str) -> Any:
    """The JSON `--json` printed (one write), among the desk's log lines: the desk runs in this
    process, so its log reaches the output the runner captures."""
    lines = output.splitlines()
    start = lines.index("{")
    return json.loads("\n".join(lines[start : lines.index("}", start) + 1]))


async def alerts(served: Served) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {served.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(served.url + "/api/alerts", headers=headers) as reply,
    ):
        assert reply.status == 200
        rows: list[dict[str, Any]] = await reply.json()
        return rows


async def titles(served: Served) -> list[str]:
    return [row["title"] for row in await alerts(served)]


async def test_place_in_a_429_storm_is_answered_at_once_and_placed_once_after(
    served: Served,
) -> None:
    """The walk: storm on, `place --json` answers within seconds with the order SUBMITTING,
    the reason (429) and the signal id; the same command with that --signal-id answers with
    the same order; the API's alerts say the broker is rate-limiting; storm off, the order is
    OPEN at the broker exactly once and the alerts say the run is over."""
    await served.view.faults(rate_limit_storm=1)
    async with asyncio.timeout(ANSWER_WITHIN):
        first = await place(served, "--json")
    assert first.exit_code == 0, first.output
    reply = printed_json(first.stdout)
    order = reply["order"]
    assert reply["outcome"] == "submitted"
    assert order["status"] == "SUBMITTING"
    signal_id = order["signal_id"]
    assert signal_id
    assert "429" in reply["message"]
    assert signal_id in reply["message"]
    await eventually(lambda: titles(served), what="any alert", timeout=10)
    await eventually(
        lambda: _has(titles(served), THROTTLED), what="the rate-limit alert", timeout=10
    )

    async with asyncio.timeout(ANSWER_WITHIN):
        again = await place(served, "--signal-id", signal_id)
    assert again.exit_code == 0, again.output
    assert order["order_id"] in again.stdout
    assert "not placed yet" in again.stdout
    assert f"--signal-id {signal_id}" in again.stdout

    await served.view.calm()
    held = served.desk.order(order["order_id"])
    await eventually(
        lambda: held.status is OrderStatus.OPEN, what="the order open at the broker", timeout=15
    )
    books = await served.view.books()
    assert books.tag_counts() == {order["order_id"]: 1}
    await eventually(lambda: _has(titles(served), LIFTED), what="the all-clear", timeout=10)


async def _has(titles: Any, title: str) -> bool:
    return title in await titles
