"""An AMO from outside: `orderdesk run` on `orderdesk sim --market-hours nse` (the desk on the
simulator's clock), an AMO placed through the desk's API before the open, and the simulator's
clock moved past 09:15. Kite pushes nothing when the exchange takes the AMO and it rests, so the
desk must go and look: its order shows OPEN, with no fill to tell it so."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from orderdesk.sim.app import SimServer
from tests.daemon import (
    login_on_sim,
    nse_sim,
    orderdesk,
    running_daemon,
    sim_clock,
    sim_env,
)
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "sim_days.toml"

pytestmark = pytest.mark.slow


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """`orderdesk sim --market-hours nse --no-rate-limits`, prices held still."""
    with nse_sim() as server:
        yield server


def test_an_amo_placed_before_the_open_shows_open_once_the_exchange_takes_it(
    sim: SimServer, tmp_path: Path
) -> None:
    """An AMO limit buy below the market, placed at 08:30, is ACCEPTED (held by the broker);
    with the simulator's clock at 09:16 the broker rests it at the exchange, pushing nothing,
    and the desk's ``GET /api/orders/{id}`` shows it OPEN, unfilled, within seconds."""
    env = sim_env(CONFIG, sim, tmp_path)
    sim_clock(sim, "2026-12-07 08:30:00")  # a Monday, before the pre-open
    requests.post(f"{sim.rest_root}/_sim/prices", json={"NSE:INFY": 1500}, timeout=10)
    login_on_sim(sim, env)
    with running_daemon(CONFIG, env=env) as api:
        token = orderdesk(env, "config", "show-token").stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        placed = requests.post(
            f"{api}/api/signals",
            headers=headers,
            json={
                "instrument": "NSE:INFY",
                "side": "BUY",
                "quantity": 1,
                "order_type": "LIMIT",
                "product": "CNC",
                "variety": "amo",
                "price": "1400",
                "signal_id": "amo-1",
            },
            timeout=10,
        )
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["order"]["order_id"]

        def order() -> Mapping[str, Any]:
            reply = requests.get(f"{api}/api/orders/{order_id}", headers=headers, timeout=10)
            assert reply.status_code == 200, reply.text
            shown: Mapping[str, Any] = reply.json()
            return shown

        held = wait_until(
            lambda: (o := order())["broker_order_id"] and o, timeout=20, what="the AMO accepted"
        )
        assert held["status"] == "ACCEPTED"
        sim_clock(sim, "2026-12-07 09:16:00")
        # The desk looks when the market opens: seconds, not the quiet-order poll's 15 s (which
        # also read the whole book every 15 s all night for a held AMO) or the minute's
        # reconciliation.
        opened = wait_until(
            lambda: (o := order())["status"] == "OPEN" and o,
            timeout=6,
            what="the released AMO seen OPEN",
        )
        assert opened["filled_quantity"] == 0
