"""`orderdesk charges --since/--until`: a month's charges in one command, a line a day and a
total line, `--json` as the route; and `orderdesk days`' sum says its P&L is before charges and
names the command that gives them. The month's charges took a `charges --day` a day, summed by
hand ("No such option: --since"), and the days' sum read as if charges were in it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from orderdesk.api.desk import DayRecord
from orderdesk.cli import _register_commands, app
from orderdesk.cli._common import table
from orderdesk.cli.book_commands import CHARGE_COLUMNS
from orderdesk.domain import InstrumentKey
from orderdesk.domain.values import Side
from tests.api.fakes import FakeDesk
from tests.domain.builders import signal

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")
INFY = InstrumentKey.parse("NSE:INFY")
MONDAY, TUESDAY, WEDNESDAY = date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9)


async def traded(desk: FakeDesk, signal_id: str, side: Side, price: str) -> None:
    order = await desk.submit(
        signal(instrument=INFY, side=side, quantity=10, price=Decimal(price), signal_id=signal_id)
    )
    desk.fill(order.order_id, Decimal(price))


async def three_days(desk: FakeDesk) -> None:
    """Monday a buy, Tuesday a round trip closed on an estimate, Wednesday (open) a sale."""
    desk.open_day(MONDAY)
    await traded(desk, "mon", Side.BUY, "1490")
    desk.tick(INFY, Decimal("1500"))
    desk.close_day()
    desk.next_day(TUESDAY)
    await traded(desk, "tue-buy", Side.BUY, "1500")
    await traded(desk, "tue-sell", Side.SELL, "1520")
    close = desk.close_day()
    estimated = tuple(dataclasses.replace(p, estimated=True) for p in close.positions)
    desk.records[-1] = DayRecord(
        desk.records[-1].opened, dataclasses.replace(close, positions=estimated)
    )
    desk.next_day(WEDNESDAY)
    await traded(desk, "wed", Side.SELL, "1510")


async def cli(where: list[str], *command: str) -> tuple[int, str]:
    result = await asyncio.to_thread(runner.invoke, app, [*command, *where])
    return result.exit_code, result.stdout + result.stderr


async def day_answers(where: list[str]) -> list[Any]:
    answers = []
    for day in (WEDNESDAY, TUESDAY, MONDAY):
        code, out = await cli(where, "charges", "--day", day.isoformat(), "--json")
        assert code == 0, out
        answers.append(json.loads(out))
    return answers


async def test_the_json_is_each_days_answer_and_their_sums(
    served: tuple[FakeDesk, list[str]],
) -> None:
    desk, where = served
    await three_days(desk)
    code, out = await cli(
        where, "charges", "--since", "2026-12-01", "--until", "2026-12-31", "--json"
    )
    assert code == 0, out
    ranged = json.loads(out)
    each = await day_answers(where)
    assert ranged["days"] == each
    total = sum((Decimal(d["charges"]["total"]) for d in each), Decimal(0))
    # 140.20 of the orders, and Wednesday's sale from holdings' DP charge (13.50 + GST).
    assert Decimal(ranged["charges"]["total"]) == total == Decimal("156.13")
    pnl = sum((Decimal(d["pnl"]) for d in each), Decimal(0))
    assert (Decimal(ranged["pnl"]), Decimal(ranged["net"])) == (pnl, pnl - total)
    assert ranged["estimated"] is True


async def test_the_table_has_a_line_a_day_and_a_total_line(
    served: tuple[FakeDesk, list[str]],
) -> None:
    desk, where = served
    await three_days(desk)
    code, out = await cli(where, "charges", "--since", "2026-12-01", "--until", "2026-12-31")
    assert code == 0, out
    ranged = json.loads((await cli(where, "charges", "--since", "2026-12-01", "--json"))[1])
    pnl, net = Decimal(ranged["pnl"]), Decimal(ranged["net"])
    assert (
        f"charges of 3 trading days from 2026-12-01 to 2026-12-31: 156.13 — P&L {pnl:,.2f} "
        f"before charges, after charges {net:,.2f} (estimated" in " ".join(out.split())
    )
    lines = out.splitlines()
    tuesday = next(line for line in lines if line.lstrip().startswith("2026-12-08"))
    assert tuesday.split()[1] == "2"  # two orders
    assert "estimated" in tuesday
    assert all(
        any(line.lstrip().startswith(d) for line in lines) for d in ("2026-12-07", "2026-12-09")
    )
    total = next(line for line in lines if line.lstrip().startswith("total"))
    assert total.split()[1:3] == ["4", "80.00"]  # orders, brokerage
    assert "156.13" in total
    assert f"{net:,.2f}" in total


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (("--day", "2026-12-08", "--since", "2026-12-01"), "--day, or a range"),
        (("--since", "2026-12-09", "--until", "2026-12-08"), "--until 2026-12-08 is before"),
    ],
)
async def test_a_range_it_cannot_answer_is_a_usage_error(
    served: tuple[FakeDesk, list[str]], options: tuple[str, ...], words: str
) -> None:
    desk, where = served
    await three_days(desk)
    code, out = await cli(where, "charges", *options)
    assert code == 2, out
    assert words in out


async def test_the_days_sum_says_it_is_before_charges_and_where_they_are(
    served: tuple[FakeDesk, list[str]],
) -> None:
    desk, where = served
    await three_days(desk)
    code, out = await cli(where, "days", "--since", "2026-12-01", "--until", "2026-12-31")
    assert code == 0, out
    sum_line = " ".join(out[out.index("sum of the days' P&L") :].split())
    assert (
        "all before charges (`orderdesk charges --since 2026-12-01 --until 2026-12-31` gives "
        "them, and the P&L after them)" in sum_line
    )
    code, out = await cli(where, "days")
    assert code == 0, out
    assert "`orderdesk charges --since 2026-12-07`" in " ".join(out.split())


async def test_a_days_line_says_it_holds_an_option_settled_at_expiry(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """An option exercised at its expiry is charged without an order: the day's line says so,
    or its charges would read as those of its orders alone."""
    desk, where = served
    desk.open_day(MONDAY)
    await traded(desk, "mon", Side.BUY, "1490")
    desk.tick(INFY, Decimal("1500"))
    close = desk.close_day()
    held = dataclasses.replace(
        close.positions[0],
        instrument=InstrumentKey.parse("NFO:NIFTY26DEC25000CE"),
        quantity=65,
        last_price=Decimal("21.15"),
        settled=True,
    )
    desk.records[-1] = DayRecord(
        desk.records[-1].opened, dataclasses.replace(close, positions=(*close.positions, held))
    )
    desk.next_day(TUESDAY)  # Monday is read from its close
    command = ["charges", "--since", "2026-12-07", "--until", "2026-12-07", *where]
    result = await asyncio.to_thread(runner.invoke, app, command, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    monday = next(line for line in out.splitlines() if line.lstrip().startswith("2026-12-07"))
    assert "1 option settled at expiry" in " ".join(monday.split())
    day = json.loads((await cli(where, "charges", "--day", "2026-12-07", "--json"))[1])
    assert [e["total"] for e in day["exercised"]] == ["25.66"]


def test_each_days_date_is_shown_whole_at_80_columns() -> None:
    """The day names its row: in the range's table at 80 columns it was cut to "2026-12-…",
    the one column that told the rows apart."""
    columns = ("day", "orders", *CHARGE_COLUMNS, "P&L", "net", "")
    rows = [
        (f"2026-12-0{n}", 12, *(["1,234.56"] * len(CHARGE_COLUMNS)), "-12,345.67", "-13,580.23", "")
        for n in (7, 8, 9)
    ]
    narrow = Console(width=80, record=True)
    narrow.print(table("charges", columns, rows))
    shown = narrow.export_text()
    for n in (7, 8, 9):
        assert f"2026-12-0{n}" in shown
