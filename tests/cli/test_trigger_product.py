"""A GTT's product is the one it was made with until someone changes it: `gtt modify` without
--product made an NFO NRML stop loss CNC, which the broker refused when it fired (a long future
left without its stop). `gtt add` on F&O defaults to NRML, the product that carries it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from tests.api.fakes import FakeDesk

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")
FUT = "NFO:NIFTY26DECFUT"


async def cli(where: list[str], *command: str) -> Any:
    result = await asyncio.to_thread(runner.invoke, app, [*command, "--json", *where])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def test_gtt_modify_keeps_the_product(served: tuple[FakeDesk, list[str]]) -> None:
    _, where = served
    made = await cli(
        where, "gtt", "add", FUT, "--trigger", "24800", "--last-price", "25110",
        "--order", "SELL:65@24790",
    )  # fmt: skip
    assert [leg["product"] for leg in made["orders"]] == ["NRML"]
    changed = await cli(
        where, "gtt", "modify", made["id"], FUT, "--trigger", "24850", "--last-price", "25110",
        "--order", "SELL:65@24840",
    )  # fmt: skip
    assert [(leg["product"], leg["price"]) for leg in changed["orders"]] == [("NRML", "24840")]
    told = await cli(
        where, "gtt", "modify", made["id"], FUT, "--trigger", "24850", "--last-price", "25110",
        "--order", "SELL:65@24840", "--product", "MIS",
    )  # fmt: skip
    assert [leg["product"] for leg in told["orders"]] == ["MIS"]


async def test_a_stock_gtt_defaults_to_delivery(served: tuple[FakeDesk, list[str]]) -> None:
    _, where = served
    made = await cli(
        where, "gtt", "add", "NSE:INFY", "--trigger", "1600", "--last-price", "1500",
        "--order", "SELL:5@1599",
    )  # fmt: skip
    assert [leg["product"] for leg in made["orders"]] == ["CNC"]
