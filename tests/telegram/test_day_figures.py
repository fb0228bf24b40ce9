"""The bot reads the day's figures as every other surface does: once the day has closed, as its
close recorded them, not the raw book an evening tick (or a restart without prices) moves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any, cast

from orderdesk.domain import InstrumentKey, Position, Product, Side
from orderdesk.domain.day import PositionSnapshot
from orderdesk.telegram.commands import DeskCommands

INFY = InstrumentKey.parse("NSE:INFY")


class ClosedDay:
    """A desk whose day closed with INFY at 1452; an evening tick has marked the book at 1700."""

    def __init__(self) -> None:
        position = Position(INFY, Product.NRML)
        position.apply_fill(Side.BUY, 5, Decimal(1500))
        position.mark(Decimal(1452))
        self.closed = PositionSnapshot.of(position)
        position.mark(Decimal(1700))
        self.book = position

    def positions(self) -> Sequence[Position]:
        return [self.book]

    def day_positions(self) -> Sequence[PositionSnapshot]:
        return [self.closed]


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
