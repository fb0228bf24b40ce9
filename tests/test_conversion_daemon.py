"""Keeping an intraday buy overnight, from outside: `orderdesk run` (examples/sim_days.toml) on
`orderdesk sim --market-hours nse`, driven by the CLI, the simulator's clock and the official
client as a bystander. Part of an MIS position converted to CNC through the desk, another
converted on "Kite web" and found by reconciliation; the rest squared off by the broker. The
day's P&L does not move with a conversion, a restarted desk reads its conversions back, and the
next morning the converted stock is in the holdings, the books in agreement."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from kiteconnect import KiteConnect

from orderdesk.sim.app import SimServer
from tests.daemon import (
    login_on_sim,
    orderdesk,
    running_daemon,
    sim_clock,
    sim_env,
)
from tests.support import wait_until
from tests.test_sim_days_daemon import CONFIG, next_session, shown, sim

__all__ = ["sim"]  # the fixture, shared

MONDAY, TUESDAY = "2026-12-07", "2026-12-08"


def _held(env: Mapping[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p["instrument"], p["product"]): p for p in shown(env, "positions")}


def _filled(env: Mapping[str, str], count: int) -> None:
    wait_until(
        lambda: [o["status"] for o in shown(env, "orders")] == ["FILLED"] * count,
        timeout=20,
        what=f"{count} orders filled",
    )


def test_an_mis_buy_kept_overnight_as_cnc(sim: SimServer, tmp_path: Path) -> None:
    env = sim_env(CONFIG, sim, tmp_path)
    sim_clock(sim, f"{MONDAY} 09:20:00")
    requests.post(
        f"{sim.rest_root}/_sim/prices", json={"NSE:INFY": 1500, "NSE:TCS": 3100}, timeout=10
    )
    login_on_sim(sim, env)
    bystander = KiteConnect(
        sim.config.api_key, access_token=sim.issue_access_token(), root=sim.rest_root
    )
    with running_daemon(CONFIG, env=env):
        shown(env, "place", "NSE:INFY", "BUY", "10", "--type", "MARKET", "--product", "MIS")
        shown(env, "place", "NSE:TCS", "BUY", "5", "--type", "MARKET", "--product", "MIS")
        _filled(env, 2)
        requests.post(f"{sim.rest_root}/_sim/prices", json={"NSE:INFY": 1520}, timeout=10)
        wait_until(
            lambda: Decimal(_held(env)[("NSE:INFY", "MIS")]["last_price"]) == 1520,
            timeout=20,
            what="INFY marked at 1520",
        )
        before = sum(Decimal(p["pnl"]) for p in shown(env, "positions"))
        assert before == 10 * 20

        # More than the position has: refused before anything reaches the broker.
        refused = orderdesk(
            env, "convert", "NSE:INFY", "--from", "MIS", "--to", "CNC", "--quantity", "11"
        )
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert "long MIS position in NSE:INFY has 10 to convert, not 11" in refused.stderr
        wrong = orderdesk(env, "convert", "NSE:INFY", "--from", "MIS", "--to", "NRML")
        assert wrong.returncode == 3
        assert "NRML is not a product of NSE" in wrong.stderr

        converted = shown(
            env, "convert", "NSE:INFY", "--from", "MIS", "--to", "CNC", "--quantity", "6"
        )
        assert converted["detail"] == "converted NSE:INFY: 6 of the long MIS position to CNC"
        after = {p["product"]: p for p in converted["positions"]}
        assert (after["MIS"]["quantity"], after["CNC"]["quantity"]) == (4, 6)
        assert Decimal(after["CNC"]["average_price"]) == 1500
        assert Decimal(after["CNC"]["pnl"]) == 6 * 20
        assert sum(Decimal(p["pnl"]) for p in shown(env, "positions")) == before
        at_broker = {
            (p["tradingsymbol"], p["product"]): p["quantity"] for p in bystander.positions()["net"]
        }
        assert (at_broker[("INFY", "MIS")], at_broker[("INFY", "CNC")]) == (4, 6)

        # The TCS position converted on "Kite web": reconciliation finds it, books follow.
        assert bystander.convert_position(
            exchange="NSE",
            tradingsymbol="TCS",
            transaction_type="BUY",
            position_type="day",
            quantity=5,
            old_product="MIS",
            new_product="CNC",
        )
        found = orderdesk(env, "reconcile", "--json")
        assert found.returncode == 3, found.stdout + found.stderr
        assert json.loads(found.stdout)["findings"] == [
            {
                "kind": "converted_at_broker",
                "order_id": None,
                "detail": "NSE:TCS: 5 of the long MIS position to CNC",
            }
        ]
        assert _held(env)[("NSE:TCS", "CNC")]["quantity"] == 5
        again = orderdesk(env, "reconcile")
        assert again.returncode == 0, again.stdout + again.stderr

        # The broker squares off what is left of the MIS position; the CNC part stays.
        sim_clock(sim, f"{MONDAY} 15:25:00")
        wait_until(
            lambda: _held(env)[("NSE:INFY", "MIS")]["quantity"] == 0,
            timeout=20,
            what="the broker's square-off",
        )
        assert _held(env)[("NSE:INFY", "CNC")]["quantity"] == 6

    # A restarted desk reads its conversions back from the log.
    with running_daemon(CONFIG, env=env):
        held = _held(env)
        assert held[("NSE:INFY", "CNC")]["quantity"] == 6
        assert held[("NSE:TCS", "CNC")]["quantity"] == 5
        assert held[("NSE:INFY", "MIS")]["quantity"] == 0
        assert Decimal(held[("NSE:INFY", "MIS")]["realised"]) == 4 * 20

        sim_clock(sim, f"{MONDAY} 16:30:00")
        wait_until(
            lambda: {d["day"]: d["closed_at"] for d in shown(env, "days")}[MONDAY],
            timeout=20,
            what="Monday closed",
        )
        (monday,) = shown(env, "days")
        assert Decimal(monday["pnl"]) == 10 * 20

        next_session(sim, env, TUESDAY)
        assert shown(env, "positions") == []
        holdings = {h["instrument"]: h for h in shown(env, "holdings")}
        assert (holdings["NSE:INFY"]["t1_quantity"], holdings["NSE:TCS"]["t1_quantity"]) == (6, 5)
        reconciled = orderdesk(env, "reconcile")
        assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr

    exported = orderdesk(env, "audit", "export", "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    kinds = [json.loads(line)["type"] for line in exported.stdout.splitlines()]
    conversions = [k for k in kinds if k.startswith("PositionConver")]
    # Once each: a restart that had not read them back would have found them again at the
    # broker (two more PositionConverted), though its positions would read the same.
    assert conversions == [
        "PositionConversionRequested",
        "PositionConverted",
        "PositionConverted",
    ]


def test_a_carried_option_converted_to_mis_for_the_day(sim: SimServer, tmp_path: Path) -> None:
    """A NIFTY call bought NRML on Monday is carried; on Tuesday `orderdesk convert
    --overnight` moves it to MIS, the books agree with Kite's, and the broker's derivatives
    square-off closes it, its P&L the day's."""
    env = sim_env(CONFIG, sim, tmp_path)
    sim_clock(sim, f"{MONDAY} 09:20:00")
    login_on_sim(sim, env)
    bystander = KiteConnect(
        sim.config.api_key, access_token=sim.issue_access_token(), root=sim.rest_root
    )
    # A built-in contract that outlives Tuesday (the Kite sample dump's, if found, are 2017's).
    call = next(
        i
        for i in bystander.instruments("NFO")
        if i["name"] == "NIFTY"
        and i["instrument_type"] == "CE"
        and i["expiry"].isoformat() > TUESDAY
        and i["expiry"].year >= 2026
    )
    key, lot = f"NFO:{call['tradingsymbol']}", call["lot_size"]
    requests.post(f"{sim.rest_root}/_sim/prices", json={key: 200}, timeout=10)
    with running_daemon(CONFIG, env=env):
        shown(env, "place", key, "BUY", str(lot), "--type", "MARKET", "--product", "NRML")
        _filled(env, 1)
        next_session(sim, env, TUESDAY)
        requests.post(f"{sim.rest_root}/_sim/prices", json={key: 210}, timeout=10)
        wait_until(
            lambda: Decimal(_held(env)[(key, "NRML")]["last_price"]) == 210,
            timeout=20,
            what="the call marked at 210",
        )
        day = orderdesk(env, "convert", key, "--from", "NRML", "--to", "MIS")
        assert day.returncode == 3
        assert "has no today's quantity" in day.stderr

        moved = shown(env, "convert", key, "--from", "NRML", "--to", "MIS", "--overnight")
        assert moved["detail"] == f"converted {key}: {lot} of the carried long NRML position to MIS"
        held = _held(env)
        assert (held[(key, "NRML")]["quantity"], held[(key, "MIS")]["quantity"]) == (0, lot)
        assert Decimal(held[(key, "MIS")]["pnl"]) == lot * 10
        reconciled = orderdesk(env, "reconcile")
        assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr

        sim_clock(sim, f"{TUESDAY} 15:30:00")
        wait_until(
            lambda: _held(env)[(key, "MIS")]["quantity"] == 0,
            timeout=20,
            what="the broker's square-off",
        )
        assert Decimal(_held(env)[(key, "MIS")]["realised"]) == lot * 10
