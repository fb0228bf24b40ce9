"""A trading day without a broker session is told: a reminder before the market opens, an alarm
at the opening, once a day each; and a session ending on a day that does not trade names the
morning the login is needed (a login on a holiday ends at 06:00 the next day).

The desk runs on a settable clock with Kite's 06:00 expiry (``ExpiringBroker``); each look at
an instant the test then asserts about is the clock loop's own step (``_watch_session``), so a
"nothing more" is asserted after the desk has looked, not after a wait.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from orderdesk.config import load_settings
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.engine import DeskConfig, OrderDesk, RiskLimits
from orderdesk.engine.config import DayRules
from orderdesk.errors import BrokerAuthError
from orderdesk.ports.notifier import Alert, Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import ExpiringBroker, MemoryStore, RecordingNotifier
from tests.support import WallClock, eventually

MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
CHRISTMAS_EVE = date(2026, 12, 24)  # Thursday, a trading day
CHRISTMAS = date(2026, 12, 25)  # Friday, an NSE holiday
SATURDAY = date(2026, 12, 26)
SUNDAY = date(2026, 12, 27)
NEXT_MONDAY = date(2026, 12, 28)

REMINDER = "Log in before the market opens"
AT_OPEN = "Market open without a broker session"
ENDED = "Broker session ended"
SOON = "Broker session ends soon"


def days_config(
    holidays: frozenset[date] = frozenset(), reminder: timedelta | None = None
) -> DeskConfig:
    rules = DayRules(calendar=TradingCalendar(holidays))
    if reminder is not None:
        rules = replace(rules, login_reminder=reminder)
    return replace(FAST, days=rules)


@asynccontextmanager
async def running(
    clock: WallClock, notifier: RecordingNotifier, config: DeskConfig
) -> AsyncIterator[OrderDesk]:
    broker = ExpiringBroker()
    desk = OrderDesk(
        broker,
        MemoryStore(),
        notifier=notifier,
        clock=clock,
        config=config,
        limits=RiskLimits(),
    )
    async with desk:
        yield desk


async def look(desk: OrderDesk, clock: WallClock, day: date, hour: int, minute: int = 0) -> None:
    """Move the clock and let the desk look at its session at that instant."""
    clock.set(day, hour, minute)
    await desk._watch_session()


def told(notifier: RecordingNotifier, title: str) -> list[Alert]:
    return [alert for alert in notifier.alerts if alert.title == title]


def counted(notifier: RecordingNotifier, title: str, times: int) -> Callable[[], bool]:
    return lambda: len(told(notifier, title)) == times


async def test_a_trading_day_without_a_login_is_reminded_then_alarmed_once_each() -> None:
    """Tuesday's token ended at 06:00 and nobody logged in: a warning at 09:00 that the market
    opens at 09:15, a CRITICAL at 09:15 that signals are refused, and nothing more that day."""
    clock = WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))
    notifier = RecordingNotifier()
    async with running(clock, notifier, days_config()) as desk:
        clock.set(TUESDAY, 6, 1)
        await eventually(counted(notifier, ENDED, 1), what="the expiry alerted")
        await look(desk, clock, TUESDAY, 8, 59)
        assert not told(notifier, REMINDER)
        clock.set(TUESDAY, 9, 0)
        await eventually(counted(notifier, REMINDER, 1), what="the reminder")
        (reminder,) = told(notifier, REMINDER)
        assert reminder.severity is Severity.WARNING
        assert "Tue 2026-12-08 is a trading day" in reminder.body, reminder.body
        assert "the market opens at 09:15 IST: run `orderdesk login`" in reminder.body
        assert "the session expired at 2026-12-08 06:00 IST" in reminder.body
        await look(desk, clock, TUESDAY, 9, 10)
        assert not told(notifier, AT_OPEN)
        clock.set(TUESDAY, 9, 15)
        await eventually(counted(notifier, AT_OPEN, 1), what="the alarm at the opening")
        (alarm,) = told(notifier, AT_OPEN)
        assert alarm.severity is Severity.CRITICAL
        assert alarm.body.startswith("the market is open (Tue 2026-12-08, since 09:15 IST)")
        assert "signals are refused" in alarm.body
        assert "run `orderdesk login`" in alarm.body
        assert {reminder.key, alarm.key} == {
            "session:login:2026-12-08",
            "session:open:2026-12-08",
        }
        for hour in (10, 12, 15):
            await look(desk, clock, TUESDAY, hour)
        await look(desk, clock, TUESDAY, 16, 30)  # after the close
    assert len(told(notifier, REMINDER)) == 1
    assert len(told(notifier, AT_OPEN)) == 1
    assert len(told(notifier, ENDED)) == 1


async def test_the_morning_login_silences_the_reminder_and_the_alarm() -> None:
    """A login at 08:00 is all the day needs: no reminder, no alarm at the opening."""
    clock = WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))
    notifier = RecordingNotifier()
    async with running(clock, notifier, days_config()) as desk:
        clock.set(TUESDAY, 6, 1)
        await eventually(counted(notifier, ENDED, 1), what="the expiry alerted")
        clock.set(TUESDAY, 8, 0)
        await desk.renew_session("fresh")
        for hour, minute in ((9, 0), (9, 15), (11, 0)):
            await look(desk, clock, TUESDAY, hour, minute)
    assert not told(notifier, REMINDER)
    assert not told(notifier, AT_OPEN)


async def test_a_session_refused_after_the_opening_is_one_alarm() -> None:
    """A session the broker refuses at 11:00 is told by its end ("Broker session ended", which
    says to log in), not by a second alarm that the market is open without one."""
    clock = WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))
    notifier = RecordingNotifier()
    async with running(clock, notifier, days_config()) as desk:
        clock.set(MONDAY, 11, 0)
        await desk._api_error("reconciliation", BrokerAuthError("Token expired", http_status=403))
        await eventually(counted(notifier, ENDED, 1), what="the refusal alerted")
        for hour in (11, 12, 15):
            await look(desk, clock, MONDAY, hour, 5)
    assert not told(notifier, AT_OPEN)
    assert not told(notifier, REMINDER)


async def test_the_reminder_follows_the_configured_lead() -> None:
    """``login_reminder`` of an hour reminds at 08:15; zero leaves only the alarm at 09:15."""
    clock = WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))
    notifier = RecordingNotifier()
    async with running(clock, notifier, days_config(reminder=timedelta(hours=1))) as desk:
        clock.set(TUESDAY, 6, 1)
        await eventually(counted(notifier, ENDED, 1), what="the expiry alerted")
        await look(desk, clock, TUESDAY, 8, 14)
        assert not told(notifier, REMINDER)
        await look(desk, clock, TUESDAY, 8, 15)
        assert len(told(notifier, REMINDER)) == 1
    silent = RecordingNotifier()
    clock.set(MONDAY, 9, 30)
    async with running(clock, silent, days_config(reminder=timedelta(0))) as desk:
        clock.set(TUESDAY, 6, 1)
        await eventually(counted(silent, ENDED, 1), what="the expiry alerted")
        for hour, minute in ((7, 0), (9, 0), (9, 14)):
            await look(desk, clock, TUESDAY, hour, minute)
        assert not told(silent, REMINDER)
        await look(desk, clock, TUESDAY, 9, 15)
        assert len(told(silent, AT_OPEN)) == 1


async def test_a_holiday_names_the_next_trading_morning_and_that_morning_is_told() -> None:
    """On the eve of Christmas (a Friday holiday) the warning and the end name Monday 28 as the
    morning to log in, the end as a warning; a login on the holiday ends on Saturday, and
    Monday morning, still without a session, brings the reminder and the alarm."""
    clock = WallClock(datetime(2026, 12, 24, 9, 30, tzinfo=IST))
    notifier = RecordingNotifier()
    async with running(clock, notifier, days_config(frozenset({CHRISTMAS}))) as desk:
        clock.set(CHRISTMAS, 5, 35)
        await eventually(counted(notifier, SOON, 1), what="the warning")
        (soon,) = told(notifier, SOON)
        assert soon.body.startswith("the session ends at 2026-12-25 06:00 IST; "), soon.body
        assert "Fri 2026-12-25 is not a trading day (a market holiday)" in soon.body
        assert "log in on Mon 2026-12-28, the next trading day, after 06:00 IST" in soon.body
        assert "so the desk can open the next trading day" not in soon.body
        clock.set(CHRISTMAS, 6, 1)
        await eventually(counted(notifier, ENDED, 1), what="the expiry alerted")
        (ended,) = told(notifier, ENDED)
        assert ended.severity is Severity.WARNING
        assert "log in on Mon 2026-12-28" in ended.body, ended.body
        # Someone logs in on the holiday anyway: that session ends at 06:00 on Saturday.
        clock.set(CHRISTMAS, 10, 0)
        await desk.renew_session("holiday")
        clock.set(SATURDAY, 6, 1)
        await eventually(counted(notifier, ENDED, 2), what="Saturday's expiry alerted")
        saturday = told(notifier, ENDED)[1]
        assert saturday.severity is Severity.WARNING
        assert "Sat 2026-12-26 is not a trading day (a weekend)" in saturday.body
        assert "log in on Mon 2026-12-28" in saturday.body
        for day in (CHRISTMAS, SATURDAY, SUNDAY):
            for hour, minute in ((9, 0), (9, 15), (12, 0)):
                await look(desk, clock, day, hour, minute)
        assert not told(notifier, REMINDER)
        assert not told(notifier, AT_OPEN)
        clock.set(NEXT_MONDAY, 9, 0)
        await eventually(counted(notifier, REMINDER, 1), what="Monday's reminder")
        assert "Mon 2026-12-28 is a trading day" in told(notifier, REMINDER)[0].body
        clock.set(NEXT_MONDAY, 9, 15)
        await eventually(counted(notifier, AT_OPEN, 1), what="Monday's alarm")
    assert [a.severity for a in told(notifier, ENDED)] == [Severity.WARNING, Severity.WARNING]


@pytest.mark.usefixtures("isolated_config")
def test_the_reminder_lead_is_a_trading_day_setting(tmp_path: Path) -> None:
    """``[trading_day] login_reminder_minutes`` reaches the engine's day rules (15 by default,
    09:00 for NSE's 09:15 opening)."""
    assert load_settings().trading_day.rules().login_reminder == timedelta(minutes=15)
    (tmp_path / "orderdesk.toml").write_text("[trading_day]\nlogin_reminder_minutes = 45\n")
    assert load_settings().trading_day.rules().login_reminder == timedelta(minutes=45)
