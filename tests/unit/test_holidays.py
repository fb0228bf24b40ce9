"""Holiday files: one date a line, comments allowed, a bad line named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from orderdesk.config import TradingDaySettings
from orderdesk.errors import ConfigError
from orderdesk.holidays import NSE_HOLIDAYS, holiday_years, load_holidays, parse_holidays


def test_a_holiday_file_is_read_with_comments_and_blank_lines(tmp_path: Path) -> None:
    """Comments and blank lines are skipped; every date is kept."""
    path = tmp_path / "holidays.txt"
    path.write_text("# NSE 2027\n2027-01-26  # Republic Day\n\n2027-03-22\n", encoding="utf-8")
    assert load_holidays(path) == {date(2027, 1, 26), date(2027, 3, 22)}


def test_a_bad_line_is_named() -> None:
    """A line that is not a date fails the whole file with its number."""
    with pytest.raises(ConfigError) as caught:
        parse_holidays("2027-01-26\n26/01/2027\n", "h.txt")
    assert "h.txt, line 2" in str(caught.value)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """An unreadable file is reported, not a traceback."""
    with pytest.raises(ConfigError) as caught:
        load_holidays(tmp_path / "nope.txt")
    assert "cannot read the holiday file" in str(caught.value)


def test_the_shipped_list_is_nse_2026_on_weekdays() -> None:
    """The shipped dates are 2026 weekdays, and only 2026 counts as covered by them."""
    assert all(day.year == 2026 and day.weekday() < 5 for day in NSE_HOLIDAYS)
    assert date(2026, 12, 25) in NSE_HOLIDAYS
    assert 2026 in holiday_years(NSE_HOLIDAYS, shipped=True)
    assert 2027 not in holiday_years(NSE_HOLIDAYS, shipped=True)
    assert 2027 in holiday_years({date(2027, 1, 26)}, shipped=False)


def test_the_days_rules_know_which_years_the_holidays_cover(tmp_path: Path) -> None:
    """The shipped list covers 2026; dates added name their years; a holiday file replaces the
    shipped list, so only its own years are covered."""
    assert TradingDaySettings().rules().holiday_years == frozenset({2026})
    added = TradingDaySettings(holidays=[date(2027, 1, 26)])
    assert added.rules().holiday_years == frozenset({2026, 2027})
    listed = tmp_path / "holidays.txt"
    listed.write_text("2027-01-26\n2027-03-22\n")
    assert TradingDaySettings(holidays_file=listed).rules().holiday_years == frozenset({2027})
