"""A day closed by a desk that was not running at its close, from outside: `orderdesk run`
(examples/sim_days.toml) on `orderdesk sim --market-hours nse`, stopped during the day and
started again after the close, driven only by the CLI and the simulator's clock route.

The same evening, with the morning's session still good, the close takes in the broker's
square-off and marks the day at the broker's last prices. After the 06:00 expiry (and a holiday
and a weekend) nothing can be read until the login: the close waits for it, then marks the day
at its closing prices, and the MIS position the broker no longer shows is recorded as squared
off at that close, said to be an estimate.
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
from tests.test_sim_days_daemon import next_session, shown

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


def prices(sim: SimServer, **by_symbol: int) -> None:
    reply = requests.post(
        f"{sim.rest_root}/_sim/prices",
        json={f"NSE:{symbol}": price for symbol, price in by_symbol.items()},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text


def buy(env: Mapping[str, str], symbol: str, quantity: int, product: str) -> None:
    shown(
        env,
        "place",
        f"NSE:{symbol}",
        "BUY",
        str(quantity),
        "--type",
        "MARKET",
        "--product",
        product,
    )


def live_pnl(env: Mapping[str, str]) -> Decimal:
    return sum((Decimal(p["pnl"]) for p in shown(env, "positions")), Decimal(0))


def day_row(env: Mapping[str, str], day: str) -> dict[str, Any]:
    (row,) = [d for d in shown(env, "days") if d["day"] == day]
    return row  # type: ignore[no-any-return]


def recorded_closes(env: Mapping[str, str]) -> list[dict[str, Any]]:
    """The payloads of the ``DayClosed`` rows in the desk's log (`orderdesk audit export`)."""
    exported = orderdesk(env, "audit", "export", "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    return [row["payload"] for row in rows if row["type"] == "DayClosed"]


def day_positions(env: Mapping[str, str], day: str) -> dict[str, dict[str, Any]]:
    return {p["instrument"]: p for p in shown(env, "positions", "--day", day)}


def test_started_the_same_evening_the_close_takes_the_brokers_books_and_prices(
    sim: SimServer, env: dict[str, str]
) -> None:
    """Repro A: bought WIPRO (CNC) at 250 and INFY (MIS) at 1500, marked at 260 and 1510, the
    desk stopped at 15:00. Started at 16:30, it closes Monday with the broker's square-off of
    INFY in its trades and both positions at the broker's last prices: P&L 100 + 20."""
    monday, tuesday = "2026-12-07", "2026-12-08"
    sim_clock(sim, f"{monday} 10:00:00")
    prices(sim, WIPRO=250, INFY=1500)
    login_on_sim(sim, env)
    with running_daemon(CONFIG, env=env):
        buy(env, "WIPRO", 10, "CNC")
        buy(env, "INFY", 2, "MIS")
        wait_until(
            lambda: [o["status"] for o in shown(env, "orders")] == ["FILLED", "FILLED"],
            timeout=20,
            what="both bought",
        )
        prices(sim, WIPRO=260, INFY=1510)
        sim_clock(sim, f"{monday} 15:00:00")
        wait_until(lambda: live_pnl(env) == 120, timeout=20, what="the desk marked 260 and 1510")
    sim_clock(sim, f"{monday} 16:30:00")  # the square-off and the mass cancel, desk stopped

    with running_daemon(CONFIG, env=env):
        wait_until(lambda: day_row(env, monday)["closed_at"], timeout=20, what="Monday closed")
        # What the log keeps of Monday, read before any tick of the new process could help.
        (close,) = recorded_closes(env)
        assert (close["day"], Decimal(close["pnl"]), Decimal(close["realised"])) == (
            monday,
            120,
            20,
        )
        marks = {
            f"{p['instrument']['exchange']}:{p['instrument']['tradingsymbol']}": p["last_price"]
            for p in close["positions"]
        }
        assert {key: Decimal(price) for key, price in marks.items()} == {
            "NSE:WIPRO": 260,
            "NSE:INFY": 1510,
        }
        trades = shown(env, "trades", "--day", monday)
        assert sorted((t["instrument"], t["side"], t["quantity"]) for t in trades) == [
            ("NSE:INFY", "BUY", 2),
            ("NSE:INFY", "SELL", 2),  # the broker's square-off at 15:20
            ("NSE:WIPRO", "BUY", 10),
        ]

        next_session(sim, env, tuesday)  # Monday is read back from its close from here on
        row = day_row(env, monday)
        assert (Decimal(row["pnl"]), Decimal(row["realised"]), row["estimated"]) == (
            120,
            20,
            False,
        )
        lines = day_positions(env, monday)
        wipro, infy = lines["NSE:WIPRO"], lines["NSE:INFY"]
        assert (wipro["quantity"], Decimal(wipro["last_price"])) == (10, 260)
        assert Decimal(wipro["unrealised"]) == 100
        assert (infy["quantity"], infy["sell_quantity"]) == (0, 2)
        assert (Decimal(infy["last_price"]), Decimal(infy["realised"])) == (1510, 20)
        assert not any(p["estimated"] for p in lines.values())


def test_after_the_expiry_and_a_holiday_the_close_waits_for_the_login(
    sim: SimServer, env: dict[str, str]
) -> None:
    """Repro B: on Thursday 24 December TCS (MIS) bought at 3120 and HDFCBANK (CNC) at 995,
    marked at 3130 and 1005, the desk stopped at 15:00. Started on Monday 28th at 08:55 with
    Thursday's token, it records no close of Thursday (nothing can be read); after the login it
    closes Thursday at its closing prices, with TCS squared off by the broker at the close,
    marked as an estimate, then opens Monday."""
    thursday, monday = "2026-12-24", "2026-12-28"
    sim_clock(sim, f"{thursday} 10:00:00")
    prices(sim, TCS=3120, HDFCBANK=995)
    login_on_sim(sim, env)
    with running_daemon(CONFIG, env=env):
        buy(env, "TCS", 3, "MIS")
        buy(env, "HDFCBANK", 5, "CNC")
        wait_until(
            lambda: [o["status"] for o in shown(env, "orders")] == ["FILLED", "FILLED"],
            timeout=20,
            what="both bought",
        )
        prices(sim, TCS=3130, HDFCBANK=1005)
        sim_clock(sim, f"{thursday} 15:00:00")
        wait_until(lambda: live_pnl(env) == 80, timeout=20, what="the desk marked the prices")
    sim_clock(sim, "2026-12-25 10:00:00")  # Christmas: no session
    sim_clock(sim, f"{monday} 08:55:00")  # Thursday's token died at 06:00 on the 25th

    with running_daemon(CONFIG, env=env):
        wait_until(
            lambda: orderdesk(env, "session").returncode == 5,
            timeout=20,
            what="the dead token refused",
        )
        waiting = day_row(env, thursday)
        assert waiting["closed_at"] is None  # nothing recorded as final
        assert (waiting["live"], waiting["estimated"]) == (True, True)  # and not shown as such
        assert waiting["close_waits"] is True
        listed = orderdesk(env, "days")
        # What waits is the close (the login makes it), and its P&L meanwhile is an estimate.
        assert (
            "live, estimated: some positions have no price yet; its close waits for the broker "
            "(log in)"
        ) in " ".join(listed.stdout.split()), listed.stdout
        login_on_sim(sim, env)
        wait_until(
            lambda: shown(env, "session")["trading_day"] == monday, timeout=20, what="Monday open"
        )
        row = day_row(env, thursday)
        assert row["closed_at"] is not None
        assert row["close_waits"] is False
        assert (Decimal(row["pnl"]), Decimal(row["realised"])) == (80, 30)
        assert row["estimated"] is True
        lines = day_positions(env, thursday)
        tcs, hdfc = lines["NSE:TCS"], lines["NSE:HDFCBANK"]
        assert (tcs["product"], tcs["quantity"], tcs["squared_off"]) == ("MIS", 0, 3)
        assert (Decimal(tcs["last_price"]), Decimal(tcs["realised"])) == (3130, 30)
        assert tcs["estimated"] is True
        assert (hdfc["quantity"], Decimal(hdfc["last_price"]), Decimal(hdfc["pnl"])) == (
            5,
            1005,
            50,
        )
        assert hdfc["estimated"] is False
        # Kite's trade book of the 24th is gone: the desk does not invent the square-off trade.
        trades = shown(env, "trades", "--day", thursday)
        assert sorted((t["instrument"], t["side"]) for t in trades) == [
            ("NSE:HDFCBANK", "BUY"),
            ("NSE:TCS", "BUY"),
        ]
        assert day_row(env, monday)["live"] is True
        human = orderdesk(env, "positions", "--day", thursday)
        assert "estimated" in human.stdout, human.stdout
        # Its charges miss the square-off's, as its P&L misses the trade: said so.
        assert shown(env, "charges", "--day", thursday)["estimated"] is True
        charged = orderdesk(env, "charges", "--day", thursday)
        assert "(estimated: trades the desk never saw are in neither)" in " ".join(
            charged.stdout.split()
        ), charged.stdout
