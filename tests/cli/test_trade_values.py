"""`orderdesk trades` values an MCX trade as Kite does, quantity × price × multiplier, in its
table, its bought/sold totals and its CSV; an equity trade's value is quantity × price as
before."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from orderdesk.domain import InstrumentKey
from orderdesk.domain.values import Product, Side
from tests.api.fakes import FakeDesk
from tests.domain.builders import signal

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")


async def traded(desk: FakeDesk, instrument: str, side: Side, quantity: int, price: str) -> str:
    """An order for ``instrument`` filled whole at ``price``: its order id."""
    product = Product.CNC if instrument.startswith("NSE:") else Product.NRML
    order = await desk.submit(
        signal(
            instrument=InstrumentKey.parse(instrument),
            side=side,
            quantity=quantity,
            product=product,
            price=Decimal(price),
            signal_id=f"{instrument}-{side}".replace(":", "-"),
        )
    )
    desk.fill(order.order_id, Decimal(price))
    return order.order_id


async def crude_gold_and_infy(desk: FakeDesk) -> dict[str, str]:
    """A CRUDEOIL buy of 2 lots, a GOLDM sale of 1 and an INFY buy of 10 shares, filled."""
    return {
        "crude": await traded(desk, "MCX:CRUDEOIL26DECFUT", Side.BUY, 2, "5613"),
        "gold": await traded(desk, "MCX:GOLDM26DECFUT", Side.SELL, 1, "121000"),
        "infy": await traded(desk, "NSE:INFY", Side.BUY, 10, "1500.05"),
    }


async def trades(where: list[str], *options: str) -> str:
    result = await asyncio.to_thread(runner.invoke, app, ["trades", *options, *where])
    assert result.exit_code == 0, result.output
    return result.stdout


async def test_the_csv_value_counts_the_lots_multiplier(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """CRUDEOIL 2 @ 5,613 is worth 1,122,600 (100 barrels a lot), GOLDM 1 @ 121,000 is worth
    1,210,000 (10 × 10 g); INFY 10 @ 1,500.05 stays 15,000.50."""
    desk, where = served
    orders = await crude_gold_and_infy(desk)
    rows = csv.DictReader(io.StringIO(await trades(where, "--csv")))
    values = {r["order_id"]: Decimal(r["value"]) for r in rows}
    assert values == {
        orders["crude"]: Decimal("1122600"),
        orders["gold"]: Decimal("1210000"),
        orders["infy"]: Decimal("15000.50"),
    }


async def test_the_table_and_its_totals_count_the_lots_multiplier(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """The title's bought and sold totals add the trades' values; the value column shows each."""
    desk, where = served
    await crude_gold_and_infy(desk)
    table = await trades(where)
    assert "3 trades today — bought 1,137,600.50, sold 1,210,000.00" in table
    crude = next(line for line in table.splitlines() if "CRUDEOIL" in line)
    assert "1,122,600.00" in crude


async def test_the_title_names_the_desks_open_day(served: tuple[FakeDesk, list[str]]) -> None:
    """Before the morning login the desk's day is still yesterday's: its trades are titled
    with that day, not "today"."""
    desk, where = served
    desk.today = date(2026, 12, 7)
    await crude_gold_and_infy(desk)
    assert "3 trades of trading day Mon 07 Dec 2026 — bought" in await trades(where)


async def test_the_csv_writes_prices_and_values_as_the_table_does_ungrouped(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """Kite's prices come as float text: the CSV read "7111.0" beside a value of "29991.00".
    Each price has at least 2 decimals (and its own up to 4), each value 2, no separators."""
    desk, where = served
    await traded(desk, "NSE:INFY", Side.BUY, 3, "7111.0")
    await traded(desk, "CDS:USDINR26DECFUT", Side.BUY, 1, "88.1150")
    rows = list(csv.DictReader(io.StringIO(await trades(where, "--csv"))))
    assert {(r["instrument"], r["price"], r["value"]) for r in rows} == {
        ("NSE:INFY", "7111.00", "21333.00"),
        ("CDS:USDINR26DECFUT", "88.115", "88115.00"),
    }
