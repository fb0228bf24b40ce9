"""The test run's own guard: it starts clear of Kite's 06:00 IST token end (tests/conftest.py)."""

from __future__ import annotations

from datetime import datetime

from orderdesk.domain.calendar import IST
from tests.conftest import seconds_to_wait


def test_a_run_waits_only_near_six_in_the_morning_ist() -> None:
    def at(hour: int, minute: int, second: int = 0) -> float:
        return seconds_to_wait(datetime(2026, 12, 7, hour, minute, second, tzinfo=IST))

    assert at(10, 0) == at(5, 44, 59) == at(6, 1) == at(23, 59) == 0
    assert at(5, 45) == 16 * 60
    assert at(5, 59, 30) == 90
    assert at(6, 0, 30) == 30
