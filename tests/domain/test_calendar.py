"""The trading calendar: trading dates, the day an instant belongs to, the day's milestones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderdesk.domain.calendar import (
    IST,
    Segment,
    SessionHours,
    TradingCalendar,
    next_token_expiry,
)
from orderdesk.domain.values import Exchange

# 2026-12-25 is a Friday and an NSE holiday; 2026-12-26/27 are a weekend.
CHRISTMAS = date(2026, 12, 25)
CALENDAR = TradingCalendar(frozenset({CHRISTMAS}))


def ist(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=IST)


def test_weekends_and_holidays_are_closed() -> None:
    """Only weekdays that are not holidays trade."""
    assert CALENDAR.is_trading_day(date(2026, 12, 24))
    assert not CALENDAR.is_trading_day(CHRISTMAS)
    assert not CALENDAR.is_trading_day(date(2026, 12, 26))
    assert CALENDAR.next_trading_day(date(2026, 12, 24)) == date(2026, 12, 28)
    assert CALENDAR.previous_trading_day(date(2026, 12, 28)) == date(2026, 12, 24)


def test_an_instant_belongs_to_the_latest_day_begun() -> None:
    """Before 06:00, on a holiday and over the weekend the previous trading day goes on."""
    assert CALENDAR.trading_day_of(ist("2026-12-24 05:59:59")) == date(2026, 12, 23)
    assert CALENDAR.trading_day_of(ist("2026-12-24 06:00:00")) == date(2026, 12, 24)
    assert CALENDAR.trading_day_of(ist("2026-12-26 12:00:00")) == date(2026, 12, 24)
    assert CALENDAR.trading_day_of(ist("2026-12-28 06:00:00")) == date(2026, 12, 28)
    # Aware instants in any zone, and naive IST wall time, agree.
    utc = ist("2026-12-28 06:00:00").astimezone(UTC)
    assert CALENDAR.trading_day_of(utc) == date(2026, 12, 28)
    assert CALENDAR.trading_day_of(datetime(2026, 12, 28, 5, 0)) == date(2026, 12, 24)


def test_a_special_session_is_a_trading_day_even_on_a_weekend_or_holiday() -> None:
    """A Sunday listed as a special session (a budget day) trades, with its own day from 06:00
    and the usual milestones; a holiday listed as one trades too; the Saturday between stays
    with Friday."""
    sunday, saturday = date(2026, 12, 27), date(2026, 12, 26)
    special = TradingCalendar(frozenset({CHRISTMAS}), sessions=frozenset({sunday, CHRISTMAS}))
    assert special.is_trading_day(sunday)
    assert special.is_trading_day(CHRISTMAS)
    assert not special.is_trading_day(saturday)
    assert special.trading_day_of(ist("2026-12-26 12:00:00")) == CHRISTMAS
    assert special.trading_day_of(ist("2026-12-27 05:59:59")) == CHRISTMAS
    assert special.trading_day_of(ist("2026-12-27 06:00:00")) == sunday
    assert special.next_trading_day(CHRISTMAS) == sunday
    assert special.previous_trading_day(date(2026, 12, 28)) == sunday
    assert special.square_off_at(sunday, Segment.EQUITY) == ist("2026-12-27 15:20:00")


def test_an_order_placed_after_the_close_is_for_the_next_session() -> None:
    """An AMO waits for the next session, over a holiday and a weekend; the commodity
    market's evening is still its own day's."""
    assert CALENDAR.session_of(ist("2026-12-23 15:29"), Segment.EQUITY) == date(2026, 12, 23)
    assert CALENDAR.session_of(ist("2026-12-23 15:30"), Segment.EQUITY) == date(2026, 12, 24)
    assert CALENDAR.session_of(ist("2026-12-24 05:00"), Segment.EQUITY) == date(2026, 12, 24)
    assert CALENDAR.session_of(ist("2026-12-24 18:00"), Segment.EQUITY) == date(2026, 12, 28)
    assert CALENDAR.session_of(ist("2026-12-26 11:00"), Segment.EQUITY) == date(2026, 12, 28)
    assert CALENDAR.session_of(ist("2026-12-23 20:00"), Segment.COMMODITY) == date(2026, 12, 23)


def test_next_start_skips_closed_days() -> None:
    """The day after Thursday's begins on Monday at 06:00 IST when Friday is a holiday."""
    start = CALENDAR.next_start_after(ist("2026-12-24 15:00:00"))
    assert start == ist("2026-12-28 06:00:00")
    assert start.tzinfo is UTC


def test_segment_milestones() -> None:
    """Square-off and mass cancel follow each segment's hours."""
    day = date(2026, 12, 24)
    assert CALENDAR.square_off_at(day, Segment.EQUITY) == ist("2026-12-24 15:20:00")
    assert CALENDAR.square_off_at(day, Segment.DERIVATIVES) == ist("2026-12-24 15:25:00")
    assert CALENDAR.mass_cancel_at(day, Segment.EQUITY) == ist("2026-12-24 16:00:00")
    assert CALENDAR.last_mass_cancel(day) == ist("2026-12-24 23:45:00")


def test_token_expiry_is_the_next_six_oclock() -> None:
    """A login before 06:00 lasts until 06:00 that morning, later ones until the next."""
    assert next_token_expiry(ist("2026-12-24 05:00:00")) == ist("2026-12-24 06:00:00")
    assert next_token_expiry(ist("2026-12-24 06:00:00")) == ist("2026-12-25 06:00:00")
    naive = next_token_expiry(datetime(2026, 12, 24, 9, 0))
    assert naive == datetime(2026, 12, 25, 6, 0)
    assert naive.tzinfo is None


@given(
    moment=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)),
    holidays=st.frozensets(st.dates(date(2025, 1, 1), date(2028, 12, 31)), max_size=40),
    sessions=st.frozensets(st.dates(date(2025, 1, 1), date(2028, 12, 31)), max_size=10),
)
def test_the_day_of_an_instant_has_begun_and_the_next_has_not(
    moment: datetime, holidays: frozenset[date], sessions: frozenset[date]
) -> None:
    """Every instant lies between the start of its trading day and the start of the next,
    whatever the holidays and special sessions."""
    calendar = TradingCalendar(holidays, sessions=sessions)
    when = moment.replace(tzinfo=IST)
    day = calendar.trading_day_of(when)
    assert calendar.is_trading_day(day)
    assert calendar.starts_at(day) <= when < calendar.next_start_after(when)
    assert calendar.starts_at(day).time() == time(6, 0)
    assert calendar.next_start_after(when) - calendar.starts_at(day) >= timedelta(days=1)


MUHURAT = date(2026, 11, 8)  # a Sunday
EVENING = TradingCalendar(
    frozenset({CHRISTMAS}), session_hours={MUHURAT: SessionHours(time(18, 15), time(19, 15))}
)


def test_a_session_with_hours_of_its_own_trades_only_in_them() -> None:
    """A Muhurat Sunday is a trading day of its own whose market is open 18:15 to 19:15 only;
    an ordinary day keeps NSE's 09:15 to 15:30."""
    assert EVENING.is_trading_day(MUHURAT)
    assert EVENING.trading_day_of(ist("2026-11-08 18:30")) == MUHURAT
    assert not EVENING.in_market_hours(ist("2026-11-08 10:00"))
    assert not EVENING.in_market_hours(datetime(2026, 11, 8, 18, 14))  # naive: IST wall time
    assert EVENING.in_market_hours(datetime(2026, 11, 8, 18, 15))
    assert not EVENING.in_market_hours(datetime(2026, 11, 8, 19, 15))
    assert EVENING.in_market_hours(ist("2026-11-09 09:15"))
    assert not EVENING.in_market_hours(ist("2026-11-09 15:30"))
    assert not EVENING.in_market_hours(ist("2026-11-07 10:00"))  # a Saturday


def test_a_session_with_hours_of_its_own_squares_off_and_cancels_after_them() -> None:
    """Every segment squares off 10 minutes before the session's close and mass-cancels 20
    minutes after it; other days keep their segments' times."""
    for segment in Segment:
        assert EVENING.square_off_at(MUHURAT, segment) == ist("2026-11-08 19:05")
        assert EVENING.mass_cancel_at(MUHURAT, segment) == ist("2026-11-08 19:35")
    assert EVENING.last_mass_cancel(MUHURAT) == ist("2026-11-08 19:35")
    assert EVENING.square_off_at(date(2026, 11, 9), Segment.EQUITY) == ist("2026-11-09 15:20")


@pytest.mark.parametrize(
    ("opens", "closes"),
    [(time(19, 15), time(18, 15)), (time(5, 0), time(6, 30)), (time(23, 0), time(23, 50))],
)
def test_session_hours_must_open_after_six_close_later_and_end_the_same_day(
    opens: time, closes: time
) -> None:
    with pytest.raises(ValueError, match="session"):
        SessionHours(opens, closes)


def test_the_square_off_stays_passed_until_the_next_trading_day_begins() -> None:
    """Equity's 15:20 and derivatives' 15:25 on Friday 4 December 2026: passed from then,
    through the night and the weekend, until Monday 06:00."""
    nse, nfo = Exchange.NSE, Exchange.NFO
    before = datetime(2026, 12, 4, 15, 19, tzinfo=IST)
    assert CALENDAR.square_off_passed(nse, before) is None
    equity = datetime(2026, 12, 4, 15, 20, tzinfo=IST)
    assert CALENDAR.square_off_passed(nse, equity) == equity
    assert CALENDAR.square_off_passed(nfo, equity) is None
    sunday = datetime(2026, 12, 6, 23, 0, tzinfo=IST)
    assert CALENDAR.square_off_passed(nfo, sunday) == datetime(2026, 12, 4, 15, 25, tzinfo=IST)
    monday = datetime(2026, 12, 7, 6, 0, tzinfo=IST)
    assert CALENDAR.square_off_passed(nse, monday) is None
