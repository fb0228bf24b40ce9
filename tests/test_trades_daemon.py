"""The trade book across days, from outside: `orderdesk run` (examples/sim_days.toml) on
`orderdesk sim --market-hours nse`, driven by the CLI and the simulator's clock, with the official
client as a bystander. Monday's delivery buy and Tuesday's sale of it, read back as today's
trades, one day's, a range's (CSV for a spreadsheet); what each day's orders cost; and the funds
the broker reports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from kiteconnect import KiteConnect

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
MONDAY, TUESDAY = "2026-12-07", "2026-12-08"

pytestmark = pytest.mark.slow


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with nse_sim() as server:
        yield server


def filled(env: Mapping[str, str], order_id: str) -> None:
    wait_until(
        lambda: (
            {o["order_id"]: o["status"] for o in shown(env, "orders")}.get(order_id) == "FILLED"
        ),
        timeout=20,
        what=f"{order_id} filled",
    )


def test_trades_of_today_of_a_day_and_of_a_range(sim: SimServer, tmp_path: Path) -> None:
    env = sim_env(CONFIG, sim, tmp_path)
    sim_post(sim, "clock", {"set": f"{MONDAY} 09:20:00"})
    sim_post(sim, "prices", {"NSE:INFY": 1500})
    login_on_sim(sim, env)
    with running_daemon(CONFIG, env=env):
        buy = shown(env, "place", "NSE:INFY", "BUY", "3", "--type", "MARKET", "--product", "CNC")
        bought = buy["order"]["order_id"]
        filled(env, bought)

        next_session(sim, env, TUESDAY)  # Monday's token dies at 06:00; the morning login
        assert shown(env, "trades") == []  # Monday's buy is not today's
        sim_post(sim, "prices", {"NSE:INFY": 1600})
        sale = shown(env, "place", "NSE:INFY", "SELL", "3", "--type", "MARKET", "--product", "CNC")
        sold = sale["order"]["order_id"]
        filled(env, sold)

        # Today's: the sale, with the broker's own trade id (the official client's trade book).
        [today] = shown(env, "trades")
        assert (today["day"], today["order_id"], today["side"]) == (TUESDAY, sold, "SELL")
        assert (today["quantity"], Decimal(today["price"])) == (3, 1600)
        bystander = KiteConnect(
            sim.config.api_key, access_token=sim.issue_access_token(), root=sim.rest_root
        )
        [kites] = bystander.trades()
        assert (today["trade_id"], today["broker_order_id"]) == (
            str(kites["trade_id"]),
            str(kites["order_id"]),
        )
        assert today["exchange_order_id"] == str(kites["exchange_order_id"])
        filled_at = datetime.fromisoformat(today["filled_at"])
        assert filled_at.date() == date.fromisoformat(TUESDAY)

        # One earlier day's.
        [monday] = shown(env, "trades", "--day", MONDAY)
        assert (monday["day"], monday["order_id"], monday["side"]) == (MONDAY, bought, "BUY")
        assert (monday["quantity"], Decimal(monday["price"])) == (3, 1500)

        # A range, as a spreadsheet reads it: newest first, each row with its day and value.
        result = orderdesk(env, "trades", "--since", MONDAY, "--csv")
        assert result.returncode == 0, result.stderr
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert [(r["day"], r["order_id"], r["side"], r["value"]) for r in rows] == [
            (TUESDAY, sold, "SELL", "4800.00"),
            (MONDAY, bought, "BUY", "4500.00"),
        ]
        assert all(r["time"].endswith("+05:30") for r in rows)
        assert [t["day"] for t in shown(env, "trades", "--until", MONDAY)] == [MONDAY]

        # The table: the day's totals in its title, the days shown for a range.
        table = orderdesk(env, "trades", "--since", MONDAY)
        assert table.returncode == 0, table.stderr
        title = "2 trades from 2026-12-07 to today — bought 4,500.00, sold 4,800.00"
        assert title in table.stdout
        days = [line.split()[0] for line in table.stdout.splitlines() if line[:4] == "2026"]
        assert days == [TUESDAY, MONDAY]

        # What it refuses: a day the log does not hold (3), a request it cannot mean (2).
        unknown = orderdesk(env, "trades", "--day", "2026-12-04")
        assert unknown.returncode == 3, unknown.stdout + unknown.stderr
        assert "2026-12-04" in unknown.stderr
        both = orderdesk(env, "trades", "--day", MONDAY, "--since", MONDAY)
        assert both.returncode == 2, both.stdout + both.stderr
        backwards = orderdesk(env, "trades", "--since", TUESDAY, "--until", MONDAY)
        assert backwards.returncode == 2, backwards.stdout + backwards.stderr

        # What Monday's buy cost: the broker's calculator asked as the official client asks it.
        monday_cost = shown(env, "charges", "--day", MONDAY)
        [order] = monday_cost["orders"]
        [note] = bystander.get_virtual_contract_note(
            [
                {
                    "order_id": monday["broker_order_id"],
                    "exchange": "NSE",
                    "tradingsymbol": "INFY",
                    "transaction_type": "BUY",
                    "variety": "regular",
                    "product": "CNC",
                    "order_type": "MARKET",
                    "quantity": 3,
                    "average_price": 1500,
                }
            ]
        )
        assert (order["order_id"], order["quantity"], Decimal(order["average_price"])) == (
            bought,
            3,
            1500,
        )
        kite_charges = {**note["charges"], "gst": note["charges"]["gst"]["total"]}
        for kind in ("brokerage", "transaction_tax", "stamp_duty", "gst", "total"):
            assert Decimal(order[kind]) == Decimal(str(kite_charges[kind])), kind
        assert Decimal(order["transaction_tax"]) > 0  # STT on a delivery buy
        # Today's: the sale, and the day's P&L (300 over Monday's close) after its charges.
        today_cost = shown(env, "charges")
        assert [o["order_id"] for o in today_cost["orders"]] == [sold]
        total = Decimal(today_cost["charges"]["total"])
        assert total > 0
        assert Decimal(today_cost["pnl"]) == 300
        assert Decimal(today_cost["net"]) == 300 - total
        table = orderdesk(env, "charges")
        assert table.returncode == 0, table.stderr
        assert f"P&L 300.00, after charges {300 - total:,.2f}" in table.stdout

        # The funds, as the broker reports them: the sale's proceeds are in the day's cash.
        funds = shown(env, "funds")
        margins = bystander.margins()
        assert Decimal(funds["equity"]["net"]) == Decimal(str(margins["equity"]["net"]))
        table = orderdesk(env, "funds")
        assert table.returncode == 0, table.stderr
        assert "equity" in table.stdout
        assert f"{Decimal(str(margins['equity']['net'])):,.2f}" in table.stdout

        # The days of a range, and their total: Monday's alone, as a month's would be.
        [monday_row] = shown(env, "days", "--until", MONDAY)
        assert monday_row["day"] == MONDAY
        assert [d["day"] for d in shown(env, "days", "--since", MONDAY)] == [TUESDAY, MONDAY]
        days = orderdesk(env, "days", "--since", MONDAY, "--until", MONDAY)
        assert days.returncode == 0, days.stderr
        assert f"1 trading day from {MONDAY} to {MONDAY}" in days.stdout
        monday_pnl = Decimal(monday_row["pnl"])
        assert f"P&L {monday_pnl:,.2f} over 1 day" in days.stdout
