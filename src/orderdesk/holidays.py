"""Exchange holidays: the shipped NSE list, and holiday files (one ``YYYY-MM-DD`` a line).

The desk (``[trading_day] holidays_file``) and the simulator (``--holidays FILE``) read the same
kind of file; blank lines and ``#`` comments are allowed, and a bad line is an error naming its
number, never skipped.

:data:`NSE_HOLIDAYS` is NSE's published trading-holiday list for 2026 (equity and equity
derivatives), as NSE announced it and NDTV Profit reprinted it on 2026-01-25
(https://www.ndtvprofit.com/markets/republic-day-2026-stock-market-holiday-are-nifty-sensex-open-or-closed-on-jan-26-for-republic-day-10858224),
including the 15 January closure added for Maharashtra's municipal elections. NSE publishes
each year's list in December; 2027's was not published when this list was made, so it is not
here: a desk running in a year the list does not cover says so at start and when it opens a
day, from December on for the year ahead (see :func:`holiday_years`), and the user adds the
year's dates with a holiday file.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from orderdesk.errors import ConfigError

NSE_HOLIDAYS: frozenset[date] = frozenset(
    date.fromisoformat(text)
    for text in (
        "2026-01-15",  # Municipal Corporation elections in Maharashtra
        "2026-01-26",  # Republic Day
        "2026-03-03",  # Holi
        "2026-03-26",  # Shri Ram Navami
        "2026-03-31",  # Shri Mahavir Jayanti
        "2026-04-03",  # Good Friday
        "2026-04-14",  # Dr. Baba Saheb Ambedkar Jayanti
        "2026-05-01",  # Maharashtra Day
        "2026-05-28",  # Bakri Id
        "2026-06-26",  # Muharram
        "2026-09-14",  # Ganesh Chaturthi
        "2026-10-02",  # Mahatma Gandhi Jayanti
        "2026-10-20",  # Dussehra
        "2026-11-10",  # Diwali-Balipratipada
        "2026-11-24",  # Prakash Gurpurb Sri Guru Nanak Dev
        "2026-12-25",  # Christmas
    )
)
"""NSE's trading holidays that fall on weekdays, 2026 (see the module docstring's source)."""

NSE_YEARS = frozenset({2026})
"""The years :data:`NSE_HOLIDAYS` covers."""


def parse_holidays(text: str, source: str = "holidays") -> frozenset[date]:
    """The dates in a holiday file's text; ``ConfigError`` names the first bad line."""
    days: set[date] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            days.add(date.fromisoformat(line))
        except ValueError:
            raise ConfigError(
                f"{source}, line {number}: {line!r} is not a date (one YYYY-MM-DD a line)"
            ) from None
    return frozenset(days)


def load_holidays(path: Path) -> frozenset[date]:
    """The dates in the holiday file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the holiday file {path}: {exc.strerror}") from None
    return parse_holidays(text, str(path))


def holiday_years(holidays: Iterable[date], *, shipped: bool) -> frozenset[int]:
    """The years a holiday set can be trusted for: the shipped list covers its own years, and
    a user's dates cover every year they name."""
    named = frozenset(day.year for day in holidays)
    return named | NSE_YEARS if shipped else named


__all__ = [
    "NSE_HOLIDAYS",
    "NSE_YEARS",
    "holiday_years",
    "load_holidays",
    "parse_holidays",
]
