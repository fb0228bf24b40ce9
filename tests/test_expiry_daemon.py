"""An option held to its expiry, from outside: `orderdesk run` (examples/sim_days.toml) on
`orderdesk sim --market-hours nse`, driven by the CLI and the simulator's clock. The desk's
expiry day closes at the contract's final settlement price, so its P&L, realised, is the cash
the broker settles the next morning, when the position is gone and the books agree."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from kiteconnect import KiteConnect

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.daemon import (
    login_on_sim,
    orderdesk,
    running_daemon,
    sim_clock,
    sim_env,
)
from tests.support import wait_until
from tests.test_sim_days_daemon import CONFIG, next_session, shown

pytestmark = pytest.mark.slow

OPENING_CASH = Decimal(1_000_000)


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """`orderdesk sim --market-hours nse --no-rate-limits`, prices held still."""
    config = SimConfig(
        port=0,
        price_tick_interval=None,
        rate_limits=False,
        market_hours="nse",
        opening_cash=OPENING_CASH,
    )
    with SimServer.run_in_thread(config) as server:
        yield server


def test_an_option_held_to_expiry_closes_its_day_at_the_settlement_price(
    sim: SimServer, tmp_path: Path
) -> None:
    env = sim_env(CONFIG, sim, tmp_path)
    broker = KiteConnect(
        sim.config.api_key, access_token=sim.issue_access_token(), root=sim.rest_root
    )
    rows = broker.instruments("NFO")
    # The built-in contracts (the Kite sample dump's, when it is found, expired years ago).
    nifty = [r for r in rows if r["name"] == "NIFTY" and r["strike"] and r["expiry"].year >= 2026]
    expiries = sorted({r["expiry"] for r in nifty})
    expiry: date = expiries[1]  # days ahead: the whole of its last day is still to come
    (call,) = [
        r["tradingsymbol"]
        for r in nifty
        if r["expiry"] == expiry and r["tradingsymbol"].endswith("25000CE")
    ]
    day_before = sim.config.calendar.previous_trading_day(expiry)
    sim_clock(sim, f"{day_before} 09:20:00")
    login_on_sim(sim, env)
    with running_daemon(CONFIG, env=env):
        next_session(sim, env, expiry.isoformat())
        requests.post(f"{sim.rest_root}/_sim/prices", json={"NSE:NIFTY 50": 25130}, timeout=10)
        placed = shown(
            env, "place", f"NFO:{call}", "BUY", "65", "--type", "MARKET", "--product", "NRML"
        )
        order_id = placed["order"]["order_id"]
        wait_until(
            lambda: [o["status"] for o in shown(env, "orders")] == ["FILLED"],
            timeout=20,
            what="the call bought",
        )
        (order,) = shown(env, "orders")
        assert order["order_id"] == order_id
        paid = Decimal(str(order["average_price"]))

        # The derivatives' close at 16:00 settles the call at its intrinsic value (130); the
        # desk closes its day after it, marked there.
        sim_clock(sim, f"{expiry} 16:30:00")
        wait_until(
            lambda: {d["day"]: d["closed_at"] for d in shown(env, "days")}[expiry.isoformat()],
            timeout=20,
            what="the expiry day closed",
        )
        expected = 65 * (Decimal(130) - paid)
        closed = {d["day"]: d for d in shown(env, "days")}[expiry.isoformat()]
        assert Decimal(closed["pnl"]) == expected
        # Closed, so no longer live though the desk keeps it open until the next morning, and
        # read as its close recorded it: the expired call's P&L is realised, not left to mark.
        assert closed["live"] is False
        assert Decimal(closed["realised"]) == expected
        (call_position,) = shown(env, "positions", "--day", expiry.isoformat())
        assert Decimal(call_position["unrealised"]) == 0
        # Said to have expired with the day, or its quantity reads as a line still open.
        assert call_position["settled"] is True
        day_table = orderdesk(env, "positions", "--day", expiry.isoformat())
        assert "65 (expired: settled at 130.00)" in " ".join(day_table.stdout.split())
        # The live positions read the same, not an open option still marking.
        (live,) = shown(env, "positions")
        assert (Decimal(live["realised"]), Decimal(live["unrealised"])) == (expected, 0)

        following = sim.config.calendar.next_trading_day(expiry)
        next_session(sim, env, following.isoformat())
        assert shown(env, "positions") == []
        reconciled = orderdesk(env, "reconcile")
        assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
        assert "in agreement with the broker" in reconciled.stdout
        broker = KiteConnect(
            sim.config.api_key, access_token=sim.issue_access_token(), root=sim.rest_root
        )
        cash = Decimal(str(broker.margins()["equity"]["available"]["cash"]))
        # The expiry day's charges came off the cash at the rollover, as Zerodha's ledger does:
        # the buy's, and the call's exercise, which no order of the day's is: STT 0.15 % of its
        # intrinsic value (130 × 65 × 0.0015 = 12.675, to the paisa 12.68), brokerage 20 and
        # its GST 3.60.
        day_charges = shown(env, "charges", "--day", expiry.isoformat())
        (exercise,) = day_charges["exercised"]
        assert (exercise["instrument"], exercise["quantity"]) == (f"NFO:{call}", 65)
        assert Decimal(str(exercise["settlement_price"])) == 130
        assert [Decimal(str(exercise[k])) for k in ("transaction_tax", "brokerage", "gst")] == [
            Decimal("12.68"),
            20,
            Decimal("3.60"),
        ]
        (bought,) = day_charges["orders"]
        charged = Decimal(str(day_charges["charges"]["total"]))
        assert charged == Decimal(str(bought["total"])) + Decimal("36.28")
        assert cash == OPENING_CASH + expected - charged.quantize(Decimal("0.01"))
        listed = orderdesk(env, "charges", "--day", expiry.isoformat())
        assert f"exercised at expiry: NFO:{call}" in listed.stdout, listed.stdout
        lifetime = shown(env, "days")
        assert sum(Decimal(d["pnl"]) for d in lifetime) == expected
        # As its close recorded it: settled with the day, so realised, not carried.
        (past,) = [d for d in lifetime if d["day"] == expiry.isoformat()]
        assert Decimal(past["realised"]) == expected
