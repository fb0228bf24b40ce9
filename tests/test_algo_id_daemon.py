"""The exchange algo id against a real `orderdesk run` on the simulator, through the real Kite
adapter: ``[kite] algo_id`` goes with every placement and ``[strategies.<name>] algo_id`` wins
for its strategy; the simulator's order carries it (read with the official client), the log's
``OrderSubmitting`` records it, and the API and ``orderdesk orders`` show it. Without one
configured nothing is sent (tests/test_static_ip_daemon.py places with none)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from kiteconnect import KiteConnect

from orderdesk.api.schemas import OrderOut, SignalIn
from orderdesk.api_token import read_token
from orderdesk.client import DeskClient
from orderdesk.domain import OrderType, Side
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.daemon import kite_sim_config, running_daemon
from tests.sim.conftest import SimControl

pytestmark = pytest.mark.slow


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """The simulator with INFY at 1,500."""
    config = SimConfig(port=0, seed=9, price_tick_interval=None, rate_limits=False)
    with SimServer.run_in_thread(config) as server:
        SimControl(server.rest_root).prices({"NSE:INFY": 1500})
        yield server


def signal(strategy: str) -> SignalIn:
    return SignalIn(
        instrument="NSE:INFY",
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        product="CNC",
        price=Decimal("1490"),
        strategy=strategy,
        signal_id=f"{strategy}-1",
    )


def orderdesk(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    return subprocess.run(
        [sys.executable, "-m", "orderdesk", *args, "--config", str(config)],
        env={**env, "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_algo_id_is_sent_recorded_and_shown_and_a_strategys_own_wins(
    sim: SimServer, tmp_path: Path
) -> None:
    """alpha's order carries [kite] algo_id, beta's its own [strategies.beta] algo_id: at the
    simulator (the official client reads both rows), in the log and in the API and CLI."""
    config, env = kite_sim_config(
        tmp_path,
        sim,
        kite='algo_id = "DESK-ALGO-1"',
        extra='[strategies.beta]\nalgo_id = "BETA-ALGO-7"',
    )

    async def place(url: str, token: str) -> list[OrderOut]:
        async with DeskClient(url, token) as desk:
            placed = [await desk.submit(signal(name)) for name in ("alpha", "beta")]
            return [p.order for p in placed if p.order is not None]

    with running_daemon(config, env=env) as url:
        token = read_token(tmp_path / "conf")
        assert token is not None
        alpha, beta = asyncio.run(place(url, token))
        listed = orderdesk(config, "orders", "--json")
        table = orderdesk(config, "orders")
        log = orderdesk(config, "audit", "export", "--format", "jsonl")

    assert (alpha.algo_id, beta.algo_id) == ("DESK-ALGO-1", "BETA-ALGO-7")
    kite = KiteConnect(sim.config.api_key, root=sim.rest_root)
    kite.set_access_token(sim.issue_access_token())
    at_sim = {row["tag"]: row for row in kite.orders()}
    assert at_sim[alpha.order_id]["algo_id"] == "DESK-ALGO-1"
    assert at_sim[beta.order_id]["algo_id"] == "BETA-ALGO-7"
    history = kite.order_history(at_sim[beta.order_id]["order_id"])
    assert {row["algo_id"] for row in history} == {"BETA-ALGO-7"}

    assert listed.returncode == 0, listed.stderr
    shown = {o["order_id"]: o["algo_id"] for o in json.loads(listed.stdout)}
    assert shown == {alpha.order_id: "DESK-ALGO-1", beta.order_id: "BETA-ALGO-7"}
    assert table.returncode == 0, table.stderr
    assert "algo id" in table.stdout
    assert "BETA-ALGO-7" in table.stdout

    assert log.returncode == 0, log.stderr
    submitting = {
        row["stream"]: json.loads(row["payload"])
        if isinstance(row["payload"], str)
        else row["payload"]
        for row in map(json.loads, log.stdout.splitlines())
        if row["type"] == "OrderSubmitting"
    }
    assert submitting[alpha.order_id]["algo_id"] == "DESK-ALGO-1"
    assert submitting[beta.order_id]["algo_id"] == "BETA-ALGO-7"
