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
from tests.test_late_close_daemon import day_row, live_pnl, prices
from tests.test_sim_days_daemon import shown

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


def trade(env: Mapping[str, str], side: str, quantity: int) -> None:
    shown(env, "place", "NSE:INFY", side, str(quantity), "--type", "MARKET", "--product", "NRML")


def infy_line(env: Mapping[str, str]) -> dict[str, Any]:
    (line,) = [p for p in shown(env, "positions") if p["instrument"] == "NSE:INFY"]
    return line  # type: ignore[no-any-return]


def test_restarted_before_the_login_a_closed_day_reads_as_its_close(
    sim: SimServer, env: dict[str, str]
) -> None:
    """Monday: 10 INFY NRML bought at 1500, 5 sold at 1480 (realised -100), the rest last at
    1452 (unrealised -240); the desk closes Monday at 16:30 and is stopped. Started again on
    Tuesday at 08:00 without a login, its positions still read Monday's close: INFY at 1452,
    P&L -340, not the realised -100 with the carried line at no price."""
    monday = "2026-12-07"
    sim_clock(sim, f"{monday} 10:00:00")
    prices(sim, INFY=1500)
    login_on_sim(sim, env)
    with running_daemon(CONFIG, env=env):
        trade(env, "BUY", 10)
        wait_until(
            lambda: [o["status"] for o in shown(env, "orders")] == ["FILLED"],
            timeout=20,
            what="bought",
        )
        prices(sim, INFY=1480)
        trade(env, "SELL", 5)
        wait_until(
            lambda: [o["status"] for o in shown(env, "orders")] == ["FILLED", "FILLED"],
            timeout=20,
            what="half sold",
        )
        prices(sim, INFY=1452)
        wait_until(lambda: live_pnl(env) == -340, timeout=20, what="the desk marked 1452")
        sim_clock(sim, f"{monday} 16:30:00")
        wait_until(lambda: day_row(env, monday)["closed_at"], timeout=20, what="Monday closed")
        closed_pnl = Decimal(day_row(env, monday)["pnl"])
        assert closed_pnl == -340
    sim_clock(sim, "2026-12-08 08:00:00")  # Monday's token died at 06:00

    with running_daemon(CONFIG, env=env):
        wait_until(
            lambda: orderdesk(env, "session").returncode == 5,
            timeout=20,
            what="the dead token refused",
        )
        session = orderdesk(env, "session", "--json")
        assert json.loads(session.stdout)["trading_day"] == monday  # open, closed
        line = infy_line(env)
        assert (line["quantity"], line["last_price"]) == (5, "1452")
        assert [Decimal(line[key]) for key in ("realised", "unrealised", "pnl")] == [
            -100,
            -240,
            -340,
        ]
        assert line["estimated"] is False
        assert live_pnl(env) == closed_pnl == Decimal(day_row(env, monday)["pnl"])
        human = orderdesk(env, "positions")
        assert "P&L -340.00" in human.stdout, human.stdout
