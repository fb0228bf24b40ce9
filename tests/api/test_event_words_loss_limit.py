"""A loss limit's telling reads in the timeline as the alert said it: whose limit, which day,
and the day's P&L to the paisa."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from orderdesk.api.event_words import describe
from orderdesk.domain.events import LossLimitReached

AT = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
DAY = date(2026, 12, 4)


def test_the_desks_limit_and_a_strategys_are_told_apart() -> None:
    """The desk's limit has no strategy; a strategy's names it."""
    desk = LossLimitReached(at=AT, day=DAY, pnl=Decimal("-200.004"), limit=Decimal("150"))
    own = LossLimitReached(
        at=AT, day=DAY, strategy="alpha", pnl=Decimal("-110"), limit=Decimal("100")
    )
    assert describe(desk) == "Daily loss limit of 150 reached on 2026-12-04 (P&L -200.00)"
    assert describe(own) == (
        "Strategy alpha's daily loss limit of 100 reached on 2026-12-04 (P&L -110.00)"
    )
