"""Each segment's market hours in the trading calendar: what the simulator's closed-market rule
reads per exchange (KITE_API.md §14.1)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from orderdesk.domain.calendar import (
    DEFAULT_HOURS,
    NSE_CLOSE,
    NSE_OPEN,
    Segment,
    SegmentHours,
    SessionHours,
    TradingCalendar,
)

MONDAY = date(2026, 12, 7)
MUHURAT = date(2026, 11, 8)  # a Sunday
EVENING_COMMODITIES = TradingCalendar(
    hours=dict(DEFAULT_HOURS)
    | {Segment.COMMODITY: SegmentHours(time(23, 5), time(23, 45), time(9), time(23, 30))},
    session_hours={MUHURAT: SessionHours(time(18, 15), time(19, 15))},
)


@pytest.mark.parametrize(
    ("segment", "hours"),
    [
        (None, (NSE_OPEN, NSE_CLOSE)),
        (Segment.EQUITY, (NSE_OPEN, NSE_CLOSE)),
        (Segment.DERIVATIVES, (NSE_OPEN, NSE_CLOSE)),
        (Segment.CURRENCY, (time(9), time(17))),
        (Segment.COMMODITY, (time(9), time(23, 30))),
    ],
)
def test_the_shipped_hours_are_each_segments_own(
    segment: Segment | None, hours: tuple[time, time]
) -> None:
    """Zerodha's market timings: equity and derivatives 09:15 to 15:30 (and no segment, NSE's),
    currency 09:00 to 17:00, commodities 09:00 to 23:30; each closes before its square-off's
    mass cancel."""
    assert TradingCalendar().market_hours(MONDAY, segment) == hours
    if segment is not None:
        assert hours[1] <= DEFAULT_HOURS[segment].mass_cancel


def test_a_segment_with_hours_of_its_own_is_open_in_them_only() -> None:
    """Commodities given 09:00 to 23:30 are open at 09:00 and 20:00 and shut at 23:30, while
    equity (and the calendar asked without a segment) keeps NSE's hours."""
    at = [datetime.combine(MONDAY, time.fromisoformat(t)) for t in ("09:00", "20:00", "23:30")]
    commodities = [EVENING_COMMODITIES.in_market_hours(when, Segment.COMMODITY) for when in at]
    assert commodities == [True, True, False]
    for segment in (Segment.EQUITY, None):
        assert not any(EVENING_COMMODITIES.in_market_hours(when, segment) for when in at)


def test_a_session_with_hours_of_its_own_sets_every_segments_hours() -> None:
    """On a Muhurat evening every segment, commodities with their own usual hours included,
    trades in the session's window only."""
    for segment in (Segment.COMMODITY, Segment.EQUITY, None):
        assert EVENING_COMMODITIES.market_hours(MUHURAT, segment) == (time(18, 15), time(19, 15))
    assert not EVENING_COMMODITIES.in_market_hours(datetime(2026, 11, 8, 10, 0), Segment.COMMODITY)
