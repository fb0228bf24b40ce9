"""An MIS/CO order on a day without a session is refused for that reason: on a Saturday the
desk said "refused after the broker's square-off at 15:20 IST", true of Friday only, when the
market is in fact closed until Monday."""

from __future__ import annotations

from datetime import date, datetime

from orderdesk.domain import Product
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.engine.risk import SquareOffCutoff
from tests.engine.fakes import signal
from tests.engine.test_risk import Context
from tests.support import WallClock

FRIDAY = date(2026, 12, 11)
SATURDAY = date(2026, 12, 12)
HOLIDAY = date(2026, 12, 25)  # a Friday the exchanges close


def cutoff_at(day: date, hour: int, calendar: TradingCalendar) -> SquareOffCutoff:
    clock = WallClock(datetime(day.year, day.month, day.day, hour, tzinfo=IST))
    return SquareOffCutoff(calendar, clock)


async def test_a_weekend_refusal_names_the_next_session_not_the_square_off() -> None:
    """Saturday noon: refused, naming Monday's session and the weekend, not a square-off."""
    check = cutoff_at(SATURDAY, 12, TradingCalendar())
    reason = await check.check(signal(product=Product.MIS), Context())
    assert reason == (
        "MIS/CO orders wait for the next trading day's session (Mon 2026-12-14): no intraday "
        "position can be opened on Sat 2026-12-12, a weekend"
    )


async def test_a_holiday_refusal_says_it_is_a_market_holiday() -> None:
    """On an exchange holiday the refusal names it and the day trading resumes."""
    check = cutoff_at(HOLIDAY, 10, TradingCalendar(frozenset({HOLIDAY})))
    reason = await check.check(signal(product=Product.MIS), Context())
    assert reason is not None
    assert "next trading day's session (Mon 2026-12-28)" in reason
    assert "Fri 2026-12-25, a market holiday" in reason
    assert "square-off" not in reason


async def test_a_trading_day_after_its_square_off_still_says_square_off() -> None:
    """Friday 16:00 is past that day's square-off: the refusal names it, as before; CNC
    goes."""
    check = cutoff_at(FRIDAY, 16, TradingCalendar())
    reason = await check.check(signal(product=Product.MIS), Context())
    assert reason is not None
    assert reason.startswith("MIS/CO orders are refused after the broker's square-off at 15:20")
    assert await check.check(signal(product=Product.CNC), Context()) is None
