"""Proposed tests/engine/test_holiday_alert_weekly.py (for the days.py change in
/tmp/fix/notify_days_holidays.patch): "Holiday list out of date" is raised once a week at most."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.engine.config import DayRules
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier
from tests.engine.test_days import open_desk
from tests.support import WallClock


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


async def test_the_holiday_list_alert_is_raised_once_a_week_at_most(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Eight December openings over two weeks in one desk process: two alerts, not eight."""
    rules = DayRules(calendar=TradingCalendar(frozenset()), holiday_years=frozenset({2026}))
    async with open_desk(broker, store, clock, notifier, config=replace(FAST, days=rules)) as desk:
        for day in (7, 8, 9, 10, 11, 14, 15, 16):
            await desk.days._check_holidays(date(2026, 12, day))
    warnings = [a for a in notifier.alerts if a.title == "Holiday list out of date"]
    assert [w.body[:10] for w in warnings] == ["2026-12-07", "2026-12-14"]
