"""Kite's static-IP rule against a real `orderdesk run` on the simulator, through the real Kite
adapter: the desk leaves from ``[kite] source_address``; from an address the broker does not
accept, a signal is refused naming it, a CRITICAL alert says what to fix, and the placement is
never sent again; from an accepted one it is placed (the official client reads it).

On Linux all of 127/8 reaches the loopback interface, so the simulator can accept 127.0.0.2
only while the desk binds 127.0.0.1 or 127.0.0.2.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
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
from tests.daemon import running_daemon
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
    path = tmp_path / "orderdesk.toml"
    path.write_text(
        f"""
broker = "kite"
data_dir = "{tmp_path / "data"}"
config_dir = "{tmp_path / "conf"}"

[kite]
api_key = "{sim.config.api_key}"
root = "{sim.rest_root}"
ws_url = "{sim.ws_url}"
rate_limits_enabled = false
source_address = "{source}"
ip_family = "ipv4"

[api]
port = 0

[trading_day]
enabled = false  # the simulator's market is always open here
"""
    )
    env = {
        "ORDERDESK_KITE__ACCESS_TOKEN": sim.issue_access_token(),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    return path, env


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
    state = SimControl(sim.rest_root).state()
    assert state["static_ip"]["refused"] == {"place": 1}
    assert state["orders"] == 0


def test_the_registered_source_address_places_the_order(sim: SimServer, tmp_path: Path) -> None:
    """Leaving from 127.0.0.2 (the only address the simulator accepts), the order is placed;
    the official client, which can only leave from 127.0.0.1, reads it in the book."""
    config, env = desk_config(tmp_path, sim, ALLOWED)
    with running_daemon(config, env=env) as url:
        token = read_token(tmp_path / "conf")
        assert token is not None
        result = submit(url, token)
    order = result.order
    assert order is not None
    assert order.status.value in ("ACCEPTED", "OPEN")
    kite = KiteConnect(sim.config.api_key, root=sim.rest_root)
    kite.set_access_token(sim.issue_access_token())
    [row] = kite.orders()
    assert (row["tag"], row["status"], row["quantity"]) == (order.order_id, "OPEN", 1)
    assert SimControl(sim.rest_root).state()["static_ip"]["refused"] == {}
