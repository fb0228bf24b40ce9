"""The P&L curve's total is the positions table's: once the day has closed, its close as
recorded, not the raw book the evening's ticks go on moving."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from orderdesk.api.pnl_series import measure
from tests.engine.fakes import ClosedDay


def test_the_curve_after_the_close_stays_at_the_close() -> None:
    point = measure(cast("Any", ClosedDay()), datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    assert point.total == Decimal(-240)
