"""An evening AMO that fills before the morning login, from outside: `orderdesk run`
(examples/sim_days.toml) on `orderdesk sim --market-hours nse`. The AMO placed after Monday's
close fills at Tuesday's 09:15 open while the desk's token is dead (06:00); the person logs in
only at 09:20. The login's new stream catches up on the fill (its gap-fill) while the desk
opens Tuesday from the broker's books: the fill is Tuesday's all the same, its order one of
Tuesday's, its position in Tuesday's positions, and reconciliation finds nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orderdesk.sim.app import SimServer
from tests.daemon import (
    login_on_sim,
    nse_sim,
    orderdesk,
    running_daemon,
    sim_env,
    sim_post,
)
from tests.support import wait_until
from tests.test_carried_amo_daemon import day_line, status, views
from tests.test_sim_days_daemon import next_session, shown

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "sim_days.toml"
MONDAY, TUESDAY = "2026-12-07", "2026-12-08"

pytestmark = pytest.mark.slow


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with nse_sim() as server:
        yield server


def test_an_amo_filled_before_the_login_is_the_new_days_order_and_position(
    sim: SimServer, tmp_path: Path
) -> None:
    """Logged in at 09:20, after the AMO filled at 09:15: Tuesday's orders hold it FILLED,
    its trade and its position are Tuesday's, and reconciliation finds nothing."""
    env = sim_env(CONFIG, sim, tmp_path)
    sim_post(sim, "clock", {"set": f"{MONDAY} 16:00:00"})
    sim_post(sim, "prices", {"NSE:INFY": 1500})
    login_on_sim(sim, env)
    with running_daemon(CONFIG, env=env):
        sim_post(sim, "clock", {"set": f"{MONDAY} 16:30:00"})
        wait_until(lambda: day_line(env, MONDAY)["closed_at"], timeout=20, what="Monday closed")
        placed = shown(
            env,
            *("place", "NSE:INFY", "BUY", "2", "--type", "LIMIT", "--price", "1550"),
            *("--product", "CNC", "--variety", "amo"),
        )
        amo = placed["order"]["order_id"]
        wait_until(lambda: status(env, amo) == "ACCEPTED", timeout=20, what="the AMO held")

        # Tuesday 09:20: the AMO went in (and filled) at 09:15, before anyone logged in.
        next_session(sim, env, TUESDAY)
        wait_until(
            lambda: status(env, amo) == "FILLED", timeout=20, what="the AMO filled, Tuesday's"
        )
        positions = [
            (p["instrument"], p["product"], p["quantity"]) for p in shown(env, "positions")
        ]
        assert ("NSE:INFY", "CNC", 2) in positions
        tuesday = views(env, TUESDAY)
        assert tuesday["counts"] == (1, 1)
        assert tuesday["orders"] == [(amo, "FILLED", 2)]
        assert [order_id for _, order_id in tuesday["trades"]] == [amo]
        assert [order_id for order_id, _, _ in tuesday["charged"]] == [amo]
        reconciled = orderdesk(env, "reconcile")
        assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
