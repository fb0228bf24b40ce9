"""What a converted position costs, from outside: `orderdesk run` (examples/sim_days.toml) on
`orderdesk sim --market-hours nse`, driven by the CLI, with the official client as a bystander.
HDFCBANK 5 and RELIANCE 40 bought MIS; all the HDFCBANK and 20 of the RELIANCE converted to CNC.
`orderdesk charges` asks the calculator for the converted quantity as delivery (brokerage 0,
STT and delivery stamp duty), exactly as the official client's contract note prices a CNC buy,
and for the rest as intraday."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
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
from tests.test_sim_days_daemon import CONFIG, shown, sim

__all__ = ["sim"]  # the fixture, shared

MONDAY = "2026-12-07"
KINDS = ("brokerage", "transaction_tax", "stamp_duty", "gst", "total")
PRICES = {"NSE:HDFCBANK": 980, "NSE:RELIANCE": 1400}
"""Held still: every fill is at these."""

pytestmark = pytest.mark.slow


def _note(
    bystander: KiteConnect, broker_order_id: str, symbol: str, product: str, quantity: int
) -> dict[str, Decimal]:
    """The official client's contract note for a MARKET buy at the price held still."""
    [note] = bystander.get_virtual_contract_note(
        [
            {
                "order_id": broker_order_id,
                "exchange": "NSE",
                "tradingsymbol": symbol,
                "transaction_type": "BUY",
                "variety": "regular",
                "product": product,
                "order_type": "MARKET",
                "quantity": quantity,
                "average_price": PRICES[f"NSE:{symbol}"],
            }
        ]
    )
    charges = {**note["charges"], "gst": note["charges"]["gst"]["total"]}
    return {kind: Decimal(str(charges[kind])) for kind in KINDS}


def _charged(row: Mapping[str, Any]) -> dict[str, Decimal]:
    return {kind: Decimal(row[kind]) for kind in KINDS}


def test_a_converted_buy_is_charged_as_delivery(sim: SimServer, tmp_path: Path) -> None:
    """The converted quantity is asked for in CNC (RELIANCE's order in two lines), the rest in
    MIS; each line's charges are the calculator's for that product."""
    env = sim_env(CONFIG, sim, tmp_path)
    sim_clock(sim, f"{MONDAY} 09:20:00")
    requests.post(f"{sim.rest_root}/_sim/prices", json=PRICES, timeout=10)
    login_on_sim(sim, env)
    bystander = KiteConnect(
        sim.config.api_key, access_token=sim.issue_access_token(), root=sim.rest_root
    )
    with running_daemon(CONFIG, env=env):
        hdfc = shown(
            env, "place", "NSE:HDFCBANK", "BUY", "5", "--type", "MARKET", "--product", "MIS"
        )
        reliance = shown(
            env, "place", "NSE:RELIANCE", "BUY", "40", "--type", "MARKET", "--product", "MIS"
        )
        wait_until(
            lambda: [o["status"] for o in shown(env, "orders")] == ["FILLED"] * 2,
            timeout=20,
            what="both buys filled",
        )
        orders = {o["order_id"]: o for o in shown(env, "orders")}
        hdfc_id, reliance_id = hdfc["order"]["order_id"], reliance["order"]["order_id"]
        hdfc_broker = orders[hdfc_id]["broker_order_id"]
        reliance_broker = orders[reliance_id]["broker_order_id"]

        shown(env, "convert", "NSE:HDFCBANK", "--from", "MIS", "--to", "CNC")
        shown(env, "convert", "NSE:RELIANCE", "--from", "MIS", "--to", "CNC", "--quantity", "20")

        day = shown(env, "charges")
        lines = {(o["order_id"], o["product"]): o for o in day["orders"]}
        assert sorted(lines) == sorted(
            [(hdfc_id, "CNC"), (reliance_id, "MIS"), (reliance_id, "CNC")]
        )
        rows = [(o["order_id"], o["product"]) for o in day["orders"]]
        split = rows.index((reliance_id, "MIS"))  # the order's own product first
        assert rows[split + 1] == (reliance_id, "CNC")
        hdfc_cnc = lines[(hdfc_id, "CNC")]
        assert (hdfc_cnc["quantity"], Decimal(hdfc_cnc["average_price"])) == (5, Decimal(980))
        delivery = _note(bystander, hdfc_broker, "HDFCBANK", "CNC", 5)
        assert _charged(hdfc_cnc) == delivery
        # Delivery: no brokerage, STT 0.1% and stamp duty 0.015% of 4,900.
        assert delivery["brokerage"] == 0
        assert delivery["transaction_tax"] == Decimal("4.9")
        assert delivery["stamp_duty"] == Decimal("0.735")
        assert delivery != _note(bystander, hdfc_broker, "HDFCBANK", "MIS", 5)

        for product in ("MIS", "CNC"):
            line = lines[(reliance_id, product)]
            assert (line["quantity"], Decimal(line["average_price"])) == (20, Decimal(1400))
            assert _charged(line) == _note(bystander, reliance_broker, "RELIANCE", product, 20)
        total = sum((Decimal(o["total"]) for o in day["orders"]), Decimal(0))
        assert Decimal(day["charges"]["total"]) == total

        table = orderdesk(env, "charges")
        assert table.returncode == 0, table.stderr
        assert f"charges of {MONDAY}: 2 orders, " in table.stdout
        shown_lines = table.stdout.splitlines()
        for symbol, products in (("HDFCBANK", ["CNC"]), ("RELIANCE", ["MIS", "CNC"])):
            rows_of = [line.split() for line in shown_lines if f"NSE:{symbol}" in line]
            assert [row[3] for row in rows_of] == products, table.stdout
