"""Kite's static-IP rule against a real `orderdesk run` on the simulator, through the real Kite
adapter: the desk leaves from ``[kite] source_address``; from an address the broker does not
accept, a signal is refused naming it, a CRITICAL alert says what to fix, and the placement is
never sent again; from an accepted one it is placed (the official client reads it).

On Linux all of 127/8 reaches the loopback interface, so the simulator can accept 127.0.0.2
only while the desk binds 127.0.0.1 or 127.0.0.2.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from kiteconnect import KiteConnect

from orderdesk.api.schemas import SignalIn, SubmitOut
from orderdesk.api_token import read_token
from orderdesk.client import DeskClient
from orderdesk.domain import OrderType, Side
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.daemon import kite_sim_config, running_daemon
from tests.sim.conftest import SimControl

pytestmark = pytest.mark.slow

ALLOWED = "127.0.0.2"


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """The simulator accepting order writes from 127.0.0.2 only; INFY at 1,500."""
    config = SimConfig(
        port=0, seed=5, price_tick_interval=None, rate_limits=False, allowed_ips=(ALLOWED,)
    )
    with SimServer.run_in_thread(config) as server:
        SimControl(server.rest_root).prices({"NSE:INFY": 1500})
        yield server


def desk_config(tmp_path: Path, sim: SimServer, source: str) -> tuple[Path, dict[str, str]]:
    """An orderdesk.toml for the simulator leaving from ``source``, and the daemon's env."""
    return kite_sim_config(tmp_path, sim, kite=f'source_address = "{source}"\nip_family = "ipv4"')


SIGNAL = SignalIn(
    instrument="NSE:INFY",
    side=Side.BUY,
    quantity=1,
    order_type=OrderType.LIMIT,
    product="CNC",
    price=Decimal("1490"),
    strategy="alpha",
    signal_id="ip-1",
)


def submit(url: str, token: str) -> SubmitOut:
    async def go() -> SubmitOut:
        async with DeskClient(url, token) as desk:
            return await desk.submit(SIGNAL)

    return asyncio.run(go())


def alerts(url: str, token: str) -> list[Mapping[str, object]]:
    reply = requests.get(
        f"{url}/api/alerts", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    reply.raise_for_status()
    return list(reply.json())


def doctor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`orderdesk doctor` as a user runs it, finding the daemon through its config dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    return subprocess.run(
        [sys.executable, "-m", "orderdesk", "doctor", "--config", str(config), *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def checks(report: Mapping[str, object]) -> dict[str, tuple[str, str]]:
    rows = report["checks"]
    assert isinstance(rows, list)
    return {row["name"]: (row["status"], row["summary"]) for row in rows}


def test_a_refused_address_refuses_the_signal_alerts_critically_and_sends_once(
    sim: SimServer, tmp_path: Path
) -> None:
    """Leaving from 127.0.0.1, the signal's order is REJECTED with a reason naming 127.0.0.1
    and the fix, a CRITICAL alert says the same, the simulator saw exactly one placement (no
    retry, no unknown outcome) and holds no order."""
    config, env = desk_config(tmp_path, sim, "127.0.0.1")
    with running_daemon(config, env=env) as url:
        token = read_token(tmp_path / "conf")
        assert token is not None
        result = submit(url, token)
        raised = alerts(url, token)
        text = doctor(config)
        as_json = doctor(config, "--json")
    order = result.order
    assert order is not None
    assert order.status.value == "REJECTED"
    assert order.reason is not None
    assert "IP (127.0.0.1) is not allowed" in order.reason
    assert "register 127.0.0.1" in order.reason
    assert "[kite] source_address" in order.reason
    critical = [a for a in raised if a["severity"] == "critical"]
    assert [a["title"] for a in critical] == ["Broker refuses orders from this address"]
    assert "127.0.0.1" in str(critical[0]["body"])
    # The doctor says the same before any order: not ready (exit 6), naming address and fix.
    assert text.returncode == 6, text.stdout + text.stderr
    assert "NOT ready" in text.stdout
    assert "REFUSED: IP (127.0.0.1) is not allowed" in text.stdout
    assert "register 127.0.0.1" in text.stdout
    assert as_json.returncode == 6
    report = json.loads(as_json.stdout)
    assert report["ready"] is False
    assert checks(report)["orders from this address"][0] == "fail"
    # The refused placement is in no book the broker lists, yet it counts toward its day.
    assert "1/5000 today" in checks(report)["order rate"][1]
    assert report["order_path"]["verdict"] == "refused"
    assert report["order_path"]["local_address"] == "127.0.0.1"
    state = SimControl(sim.rest_root).state()
    # One refused placement, and the doctor's two probes (cancels): nothing sent again.
    assert state["static_ip"]["refused"] == {"place": 1, "cancel": 2}
    assert state["orders"] == 0


def test_the_registered_source_address_places_the_order(sim: SimServer, tmp_path: Path) -> None:
    """Leaving from 127.0.0.2 (the only address the simulator accepts), the order is placed;
    the official client, which can only leave from 127.0.0.1, reads it in the book."""
    config, env = desk_config(tmp_path, sim, ALLOWED)
    with running_daemon(config, env=env) as url:
        token = read_token(tmp_path / "conf")
        assert token is not None
        before = doctor(config, "--json")
        result = submit(url, token)
        text = doctor(config)
        unauthorised = requests.get(f"{url}/api/doctor", timeout=10)
        route = requests.get(
            f"{url}/api/doctor", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
    order = result.order
    assert order is not None
    assert order.status.value in ("ACCEPTED", "OPEN")
    kite = KiteConnect(sim.config.api_key, root=sim.rest_root)
    kite.set_access_token(sim.issue_access_token())
    [row] = kite.orders()
    assert (row["tag"], row["status"], row["quantity"]) == (order.order_id, "OPEN", 1)
    # No algo id configured: none is sent, and the order says so.
    assert row["algo_id"] is None
    assert order.algo_id is None
    assert SimControl(sim.rest_root).state()["static_ip"]["refused"] == {}

    # The doctor, before the order: ready (exit 0), leaving from 127.0.0.2 on IPv4.
    assert before.returncode == 0, before.stdout + before.stderr
    report = json.loads(before.stdout)
    assert report["ready"] is True
    path = report["order_path"]
    assert (path["source_address"], path["ip_family"], path["local_address"]) == (
        ALLOWED,
        "ipv4",
        ALLOWED,
    )
    assert path["verdict"] == "accepted"
    assert "cannot exist" in path["probe"]
    assert path["order_rate"]["today"] == 0
    assert (path["order_rate"]["per_second"], path["order_rate"]["per_minute"]) == (10, 400)
    assert path["order_rate"]["per_day"] == 5000
    assert report["session"]["state"] == "valid"
    assert report["session"]["expires_at"] is not None
    assert abs(report["clock_offset_seconds"]) <= 2
    assert report["kill_switch_engaged"] is False
    # A fresh session is "ok", unless the login came within the hour before 06:00 IST.
    session = report["session"]
    left = datetime.fromisoformat(session["expires_at"]) - datetime.fromisoformat(session["since"])
    fresh = "ok" if left >= timedelta(hours=1) else "warn"
    assert {name: status for name, (status, _) in checks(report).items()}["session"] == fresh
    # After it, as text: the order counts today, and every check has its line.
    assert text.returncode == 0, text.stdout + text.stderr
    assert "ready to trade" in text.stdout
    assert "leaves from 127.0.0.2; source_address 127.0.0.2, ip_family ipv4" in text.stdout
    assert "1/5000 today" in text.stdout
    for name in ("session", "clock", "stream", "reconciliation", "kill switch"):
        assert f" {name}: " in text.stdout
    # The HTTP route is behind the token like the rest of the API.
    assert unauthorised.status_code == 401
    assert route.status_code == 200
    assert route.json()["ready"] is True
