"""A closed day from outside after a restart: `orderdesk run` (examples/sim_days.toml) on
`orderdesk sim --market-hours nse` closes Monday while running, is stopped, and is started
again on Tuesday at 08:00, before the morning login, with Monday's token dead. Monday is still
the open day, closed, and `orderdesk positions` reads it as its close recorded it: the carried
NRML line at Monday's last price and loss, though the new process has seen no price since.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
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
from tests.test_late_close_daemon import day_row, live_pnl
from tests.test_sim_days_daemon import NIFTY_LOT, nifty_call, shown

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "sim_days.toml"

pytestmark = pytest.mark.slow


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """`orderdesk sim --market-hours nse --tick-interval 0`: prices move only when set."""
    with nse_sim() as server:
        yield server


@pytest.fixture
def env(sim: SimServer, tmp_path: Path) -> dict[str, str]:
    return sim_env(CONFIG, sim, tmp_path)


def trade(env: Mapping[str, str], call: str, side: str, quantity: int) -> None:
    shown(env, "place", call, side, str(quantity), "--type", "MARKET", "--product", "NRML")


def price(sim: SimServer, call: str, last: int) -> None:
    reply = requests.post(f"{sim.rest_root}/_sim/prices", json={call: last}, timeout=10)
    assert reply.status_code == 200, reply.text


def line_of(env: Mapping[str, str], call: str) -> dict[str, Any]:
    (line,) = [p for p in shown(env, "positions") if p["instrument"] == call]
    return line  # type: ignore[no-any-return]


def test_restarted_before_the_login_a_closed_day_reads_as_its_close(
    sim: SimServer, env: dict[str, str]
) -> None:
    """Monday: two lots (130) of a NIFTY call NRML bought at 400, one lot sold at 390
    (realised 65 x -10 = -650), the other last at 380 (unrealised 65 x -20 = -1,300); the desk
    closes Monday at 16:30 and is stopped. Started again on Tuesday at 08:00 without a login,
    its positions still read Monday's close: the call at 380, P&L -1,950, not the realised
    -650 with the carried line at no price."""
    monday = "2026-12-07"
    call = nifty_call(sim, after="2026-12-08")
    sim_clock(sim, f"{monday} 10:00:00")
    price(sim, call, 400)
    login_on_sim(sim, env)
    with running_daemon(CONFIG, env=env):
        trade(env, call, "BUY", 2 * NIFTY_LOT)
        wait_until(
            lambda: [o["status"] for o in shown(env, "orders")] == ["FILLED"],
            timeout=20,
            what="bought",
        )
        price(sim, call, 390)
        trade(env, call, "SELL", NIFTY_LOT)
        wait_until(
            lambda: [o["status"] for o in shown(env, "orders")] == ["FILLED", "FILLED"],
            timeout=20,
            what="half sold",
        )
        price(sim, call, 380)
        wait_until(lambda: live_pnl(env) == -1950, timeout=20, what="the desk marked 380")
        sim_clock(sim, f"{monday} 16:30:00")
        wait_until(lambda: day_row(env, monday)["closed_at"], timeout=20, what="Monday closed")
        closed_pnl = Decimal(day_row(env, monday)["pnl"])
        assert closed_pnl == -1950
    sim_clock(sim, "2026-12-08 08:00:00")  # Monday's token died at 06:00

    with running_daemon(CONFIG, env=env):
        wait_until(
            lambda: orderdesk(env, "session").returncode == 5,
            timeout=20,
            what="the dead token refused",
        )
        session = orderdesk(env, "session", "--json")
        assert json.loads(session.stdout)["trading_day"] == monday  # open, closed
        line = line_of(env, call)
        assert (line["quantity"], line["last_price"]) == (65, "380.00")
        assert [Decimal(line[key]) for key in ("realised", "unrealised", "pnl")] == [
            -650,
            -1300,
            -1950,
        ]
        assert line["estimated"] is False
        assert live_pnl(env) == closed_pnl == Decimal(day_row(env, monday)["pnl"])
        human = orderdesk(env, "positions")
        assert "P&L -1,950.00" in human.stdout, human.stdout
