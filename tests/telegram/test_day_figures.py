"""The bot reads the day's figures as every other surface does: once the day has closed, as its
close recorded them, not the raw book an evening tick (or a restart without prices) moves."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any, cast

from orderdesk.telegram.commands import DeskCommands
from tests.engine.fakes import ClosedDay


async def ignore(*_: Any, **__: Any) -> None:
    return None


def commands(desk: object) -> DeskCommands:
    return DeskCommands(cast("Any", desk), cast("Any", None), cast("Any", ignore))


async def test_pnl_and_positions_read_the_days_close() -> None:
    bot = commands(ClosedDay())
    pnl = await bot.pnl(1, "")
    assert pnl.text.startswith("P&L today: -₹240.00"), pnl.text
    positions = await bot.positions(1, "")
    assert "NSE:INFY NRML +5 @1500.00 · last 1452 · -₹240.00" in positions.text


async def test_an_unpriced_line_says_the_pnl_is_an_estimate() -> None:
    desk = ClosedDay()
    desk.closed = replace(
        desk.closed, last_price=None, unrealised=Decimal(0), pnl=Decimal(0), estimated=True
    )
    bot = commands(desk)
    assert "(estimated)" in (await bot.pnl(1, "")).text
    assert "(estimated)" in (await bot.positions(1, "")).text
