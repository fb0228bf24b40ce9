"""The doctor's market check: "ready to trade" on a Saturday, a holiday or after the close read
as if a regular order would go through. Ready stays ready (the desk itself is fine, and AMOs
and GTTs are taken); the verdict and a warning say until when the market is closed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from orderdesk.doctor import Market, Status, assess
from orderdesk.domain.calendar import IST, TradingCalendar
from tests.unit.test_doctor import FACTS

CALENDAR = TradingCalendar(holidays=frozenset({date(2026, 12, 25)}))


def ist(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=IST)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-12-04 09:00", (False, "2026-12-04 09:15")),  # Friday, before the open
        ("2026-12-04 09:15", (True, "2026-12-04 15:30")),
        ("2026-12-04 15:29", (True, "2026-12-04 15:30")),
        ("2026-12-04 15:30", (False, "2026-12-07 09:15")),  # closed: Monday's opening
        ("2026-12-05 11:00", (False, "2026-12-07 09:15")),  # Saturday
        ("2026-12-24 16:00", (False, "2026-12-28 09:15")),  # Christmas, then the weekend
    ],
)
def test_market_until_is_the_close_while_open_else_the_next_opening(
    now: str, expected: tuple[bool, str]
) -> None:
    is_open, until = CALENDAR.market_until(ist(now))
    assert (is_open, until) == (expected[0], ist(expected[1]))
    assert CALENDAR.in_market_hours(ist(now)) is is_open


def test_a_closed_market_is_a_warning_and_the_verdict_says_until_when() -> None:
    saturday = ist("2026-12-05 11:00").astimezone(UTC)
    market = Market(*CALENDAR.market_until(saturday))
    diagnosis = assess(replace(FACTS, now=saturday, market=market))
    check = {c.name: c for c in diagnosis.checks}["market"]
    assert check.status is Status.WARN
    assert check.summary == (
        "closed until Mon 2026-12-07 09:15 IST: regular orders are refused until then; "
        "AMOs and GTTs are taken"
    )
    assert diagnosis.ready
    assert diagnosis.verdict == "ready, but the market is closed until Mon 2026-12-07 09:15 IST"


def test_an_open_market_is_ok_and_the_verdict_plain() -> None:
    friday = ist("2026-12-04 10:00")
    diagnosis = assess(replace(FACTS, now=friday, market=Market(*CALENDAR.market_until(friday))))
    check = {c.name: c for c in diagnosis.checks}["market"]
    assert (check.status, check.summary) == (Status.OK, "open until 15:30 IST")
    assert diagnosis.verdict == "ready to trade"


def test_not_ready_wins_over_the_market_and_no_days_is_not_checked() -> None:
    engaged = assess(
        replace(FACTS, kill_switch="drill", market=Market(False, ist("2026-12-07 09:15")))
    )
    assert engaged.verdict == "NOT ready to trade"
    plain = assess(FACTS)
    assert {c.name: c.summary for c in plain.checks}["market"] == "not checked: no trading days"
    assert plain.verdict == "ready to trade"
