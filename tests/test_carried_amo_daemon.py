"""An evening AMO from outside, as an operator walked it: `orderdesk run` (examples/sim_days.toml)
on `orderdesk sim --market-hours nse`, driven by the CLI and the simulator's clock. Monday's
delivery buy; after Monday's close an AMO buy, which the broker holds overnight and which fills
at Tuesday's open. Tuesday's views (the list of days, its orders, its trades and a range's, its
charges) say the same on Wednesday, and after a restart, as they said while Tuesday was live;
Monday lists the AMO as Monday's end left it, waiting."""

from __future__ import annotations

import csv
import io
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
    sim_env,
    sim_post,
)
from tests.support import wait_until
from tests.test_sim_days_daemon import next_session, shown

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "sim_days.toml"
MONDAY, TUESDAY, WEDNESDAY = "2026-12-07", "2026-12-08", "2026-12-09"

pytestmark = pytest.mark.slow


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with nse_sim() as server:
        yield server


def status(env: Mapping[str, str], order_id: str) -> str | None:
    """The order's status among today's orders (None: not one of them)."""
    return {o["order_id"]: o["status"] for o in shown(env, "orders")}.get(order_id)


def day_line(env: Mapping[str, str], day: str) -> dict[str, Any]:
    line: dict[str, Any] = {d["day"]: d for d in shown(env, "days")}[day]
    return line


def views(env: Mapping[str, str], day: str) -> dict[str, Any]:
    """What each CLI view says of ``day``: its counts in `days`, `orders --day`, `trades --day`,
    its rows of `trades --since Monday --csv`, and `charges --day`."""
    line = day_line(env, day)
    result = orderdesk(env, "trades", "--since", MONDAY, "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    charges = shown(env, "charges", "--day", day)
    return {
        "counts": (line["orders"], line["fills"]),
        "orders": [
            (o["order_id"], o["status"], o["filled_quantity"])
            for o in shown(env, "orders", "--day", day)
        ],
        "trades": [(t["trade_id"], t["order_id"]) for t in shown(env, "trades", "--day", day)],
        "csv": [(r["order_id"], r["side"], r["value"]) for r in rows if r["day"] == day],
        "charged": [
            (o["order_id"], o["transaction_tax"], o["stamp_duty"]) for o in charges["orders"]
        ],
    }


def test_an_evening_amo_is_the_day_it_filled_on_in_every_view(
    sim: SimServer, tmp_path: Path
) -> None:
    """The AMO placed at 16:30 on Monday and filled at Tuesday's open is Tuesday's one order,
    one fill, one trade and one charged delivery buy, live and read back alike; Monday's
    orders are Monday's own buy alone (placed after Monday's close for Tuesday's session, the
    AMO is Tuesday's), and Monday charges only that buy."""
    env = sim_env(CONFIG, sim, tmp_path)
    sim_post(sim, "clock", {"set": f"{MONDAY} 09:20:00"})
    sim_post(sim, "prices", {"NSE:INFY": 1500})
    login_on_sim(sim, env)
    with running_daemon(CONFIG, env=env):
        buy = shown(env, "place", "NSE:INFY", "BUY", "3", "--type", "MARKET", "--product", "CNC")
        bought = buy["order"]["order_id"]
        wait_until(lambda: status(env, bought) == "FILLED", timeout=20, what="Monday's buy")
        sim_post(sim, "clock", {"set": f"{MONDAY} 16:30:00"})
        wait_until(lambda: day_line(env, MONDAY)["closed_at"], timeout=20, what="Monday closed")
        placed = shown(
            env,
            *("place", "NSE:INFY", "BUY", "2", "--type", "LIMIT", "--price", "1550"),
            *("--product", "CNC", "--variety", "amo"),
        )
        amo = placed["order"]["order_id"]
        wait_until(lambda: status(env, amo) == "ACCEPTED", timeout=20, what="the AMO held")

        # Tuesday before the equity open: the morning login opens the day, carrying the AMO.
        next_session(sim, env, TUESDAY, at="09:00:00")
        sim_post(sim, "clock", {"set": f"{TUESDAY} 09:20:00"})  # the AMO goes in at 09:15
        wait_until(lambda: status(env, amo) == "FILLED", timeout=20, what="the AMO filled")
        live = views(env, TUESDAY)
        assert live["counts"] == (1, 1)
        assert live["orders"] == [(amo, "FILLED", 2)]
        assert [order_id for _, order_id in live["trades"]] == [amo]
        assert [(order_id, side) for order_id, side, _ in live["csv"]] == [(amo, "BUY")]
        [(charged, tax, stamp)] = live["charged"]
        assert charged == amo
        # STT and stamp duty: a delivery buy.
        assert Decimal(tax) > 0
        assert Decimal(stamp) > 0

        sim_post(sim, "clock", {"set": f"{TUESDAY} 16:30:00"})
        wait_until(lambda: day_line(env, TUESDAY)["closed_at"], timeout=20, what="Tuesday closed")
        next_session(sim, env, WEDNESDAY)
        assert views(env, TUESDAY) == live
        monday = views(env, MONDAY)
        assert monday["counts"] == (1, 1)
        assert monday["orders"] == [(bought, "FILLED", 3)]
        assert [order_id for _, order_id in monday["trades"]] == [bought]
        assert [order_id for order_id, _, _ in monday["charged"]] == [bought]

    with running_daemon(CONFIG, env=env):  # a restart reads Tuesday back the same
        assert views(env, TUESDAY) == live
