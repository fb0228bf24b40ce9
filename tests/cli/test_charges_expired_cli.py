"""`orderdesk charges --day` of a past day whose weekly option has expired since, when the
broker's calculator refuses that order: the day's other orders are charged and shown, and the
refused one is named with the broker's reason below them. The command failed whole with the
broker's refusal, so a weekly-options trader lost almost every past day's charges."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from orderdesk.domain.values import Side
from orderdesk.errors import InputRejected
from tests.api.fakes import FakeDesk
from tests.api.test_charges_expired_route import EXPIRED, MONDAY, TUESDAY, refuse_in_the_call
from tests.cli.test_trade_values import traded

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")
WEEKLY = "NFO:NIFTY26D0825000CE"


async def monday_with_a_weekly(desk: FakeDesk) -> dict[str, str]:
    """Monday 7 Dec: the weekly bought and INFY bought; Tuesday is open, the weekly expired."""
    desk.open_day(MONDAY)
    orders = {
        "weekly": await traded(desk, WEEKLY, Side.BUY, 75, "120"),
        "infy": await traded(desk, "NSE:INFY", Side.BUY, 10, "1500"),
    }
    desk.close_day()
    desk.next_day(TUESDAY)
    refuse_in_the_call(
        desk, WEEKLY, InputRejected(EXPIRED, http_status=400, error_type="InputException")
    )
    return orders


async def charges(where: list[str], *options: str) -> tuple[int, str, str]:
    command = ["charges", "--day", MONDAY.isoformat(), *options, *where]
    result = await asyncio.to_thread(runner.invoke, app, command)
    return result.exit_code, result.stdout, result.stderr


async def test_the_table_shows_the_charged_and_names_the_refused(
    served: tuple[FakeDesk, list[str]],
) -> None:
    desk, where = served
    orders = await monday_with_a_weekly(desk)
    code, out, err = await charges(where)
    assert code == 0, out + err
    # INFY alone is charged: 20 + 0.1% of 15,000 by the fake's calculator.
    assert "charges of 2026-12-07: 1 order, 35.00 (1 order not charged)" in out
    assert orders["infy"] in out
    assert "after charges" not in out  # the day's net would leave the weekly's charges out
    refused = next(line for line in out.splitlines() if line.startswith("not charged:"))
    assert orders["weekly"] in refused
    assert f"{WEEKLY} BUY 75 @ 120.00:" in refused
    assert f"the broker refused it: {EXPIRED}" in refused


async def test_the_json_lists_the_refused_with_the_brokers_reason(
    served: tuple[FakeDesk, list[str]],
) -> None:
    desk, where = served
    orders = await monday_with_a_weekly(desk)
    code, out, err = await charges(where, "--json")
    assert code == 0, out + err
    report = json.loads(out)
    assert [o["order_id"] for o in report["orders"]] == [orders["infy"]]
    assert [(u["order_id"], u["reason"]) for u in report["uncharged"]] == [
        (orders["weekly"], EXPIRED)
    ]
    assert report["net"] is None
