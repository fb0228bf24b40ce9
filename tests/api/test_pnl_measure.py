"""The P&L curve's total is the positions table's: once the day has closed, its close as
recorded, not the raw book the evening's ticks go on moving."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from orderdesk.api.pnl_series import measure
from orderdesk.domain import InstrumentKey, Position, Product, Side
from orderdesk.domain.day import PositionSnapshot

INFY = InstrumentKey.parse("NSE:INFY")


class ClosedDay:
    """Closed with INFY at 1452 (-240); an evening tick has marked the book at 1700 (+1,000)."""

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

    def strategies(self) -> Mapping[str, Any]:
        return {}


def test_the_curve_after_the_close_stays_at_the_close() -> None:
    point = measure(cast("Any", ClosedDay()), datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    assert point.total == Decimal(-240)
