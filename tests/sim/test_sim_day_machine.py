"""The trading-day machine on a fixed clock: which milestones, in which order, run once each."""

from __future__ import annotations

from datetime import date, datetime

from orderdesk.domain.calendar import Segment, TradingCalendar
from orderdesk.sim.days import (
    Milestone,
    MilestoneKind,
    TradingDays,
    day_milestones,
    milestones_between,
)

CALENDAR = TradingCalendar(holidays=frozenset({date(2026, 1, 14)}))  # a Wednesday


class FixedClock:
    """A clock that reads whatever the test last set."""

    def __init__(self, when: datetime) -> None:
        self.when = when

    def __call__(self) -> datetime:
        return self.when


def _machine(start: datetime) -> tuple[FixedClock, TradingDays, list[Milestone]]:
    clock = FixedClock(start)
    ran: list[Milestone] = []
    return clock, TradingDays(CALENDAR, clock, ran.append), ran


def _short(milestones: list[Milestone]) -> list[tuple[str, str, str | None]]:
    return [(f"{m.at:%a %H:%M}", str(m.kind), m.segment and str(m.segment)) for m in milestones]


def test_friday_afternoon_to_monday_morning_runs_fridays_end_then_mondays_start() -> None:
    """Friday 14:00 to Monday 08:00 crosses Friday's eight milestones in time order, then Monday's
    06:00 rollover; the weekend has none."""
    crossed = milestones_between(CALENDAR, datetime(2026, 1, 9, 14, 0), datetime(2026, 1, 12, 8, 0))
    assert _short(crossed) == [
        ("Fri 15:20", "square_off", "equity"),
        ("Fri 15:25", "square_off", "derivatives"),
        ("Fri 16:00", "mass_cancel", "equity"),
        ("Fri 16:00", "mass_cancel", "derivatives"),
        ("Fri 16:45", "square_off", "currency"),
        ("Fri 17:00", "mass_cancel", "currency"),
        ("Fri 23:05", "square_off", "commodity"),
        ("Fri 23:45", "mass_cancel", "commodity"),
        ("Mon 06:00", "rollover", None),
    ]
    assert crossed[-1].day == date(2026, 1, 12)
    assert {m.day for m in crossed[:-1]} == {date(2026, 1, 9)}


def test_closed_days_have_no_milestones() -> None:
    """Weekends and holidays have no milestones; the day after a holiday begins at its 06:00."""
    assert day_milestones(CALENDAR, date(2026, 1, 10)) == []  # Saturday
    assert day_milestones(CALENDAR, date(2026, 1, 14)) == []  # the holiday
    crossed = milestones_between(
        CALENDAR, datetime(2026, 1, 13, 23, 50), datetime(2026, 1, 15, 7, 0)
    )
    assert [(m.kind, m.day) for m in crossed] == [(MilestoneKind.ROLLOVER, date(2026, 1, 15))]


def test_a_milestone_at_the_exact_end_is_crossed_and_one_at_the_start_is_not() -> None:
    """The crossed interval is (after, until]: arriving at 15:20:00 runs the square-off, leaving
    from 15:20:00 does not run it again."""
    at = datetime(2026, 1, 5, 15, 20)
    assert _short(milestones_between(CALENDAR, datetime(2026, 1, 5, 15, 0), at)) == [
        ("Mon 15:20", "square_off", "equity")
    ]
    assert milestones_between(CALENDAR, at, datetime(2026, 1, 5, 15, 24)) == []


def test_catch_up_hands_each_milestone_to_the_handler_once_in_order() -> None:
    """The machine runs what the clock crossed since its last call, and nothing twice."""
    clock, days, ran = _machine(datetime(2026, 1, 5, 9, 30))
    assert days.catch_up() == []
    clock.when = datetime(2026, 1, 5, 15, 22)
    first = days.catch_up()
    assert _short(first) == [("Mon 15:20", "square_off", "equity")]
    clock.when = datetime(2026, 1, 6, 9, 0)
    second = days.catch_up()
    assert len(second) == 8
    assert second[-1].kind is MilestoneKind.ROLLOVER
    assert ran == first + second
    assert days.trading_day() == date(2026, 1, 6)
    assert days.catch_up() == []


def test_moving_backwards_neither_reruns_nor_undoes() -> None:
    """After going back in time, crossing a processed milestone again does not run it again,
    while milestones never crossed before still run."""
    clock, days, ran = _machine(datetime(2026, 1, 5, 9, 30))
    clock.when = datetime(2026, 1, 5, 16, 30)
    days.catch_up()
    processed = list(ran)
    clock.when = datetime(2026, 1, 5, 10, 0)
    assert days.catch_up() == []
    assert days.last == datetime(2026, 1, 5, 10, 0)
    clock.when = datetime(2026, 1, 5, 17, 30)
    assert _short(days.catch_up()) == [
        ("Mon 16:45", "square_off", "currency"),
        ("Mon 17:00", "mass_cancel", "currency"),
    ]
    assert ran[: len(processed)] == processed
    assert len(ran) == len(processed) + 2


def test_a_date_before_the_start_is_processed_when_crossed() -> None:
    """Setting the clock to a date before the machine started (a test's fixed 2026 week on a
    later real date) and moving forward runs that date's milestones."""
    clock, days, _ = _machine(datetime(2026, 12, 4, 9, 0))
    clock.when = datetime(2026, 1, 5, 15, 0)
    days.catch_up()
    clock.when = datetime(2026, 1, 5, 15, 21)
    assert _short(days.catch_up()) == [("Mon 15:20", "square_off", "equity")]


def test_restart_forgets_and_fires_nothing_retroactively() -> None:
    """After a restart the machine starts from the clock's present with nothing processed."""
    clock, days, ran = _machine(datetime(2026, 1, 5, 9, 30))
    clock.when = datetime(2026, 1, 5, 15, 21)
    days.catch_up()
    clock.when = datetime(2026, 1, 8, 12, 0)  # days later, as a reset to real time would be
    days.restart()
    assert days.catch_up() == []
    clock.when = datetime(2026, 1, 5, 9, 30)
    days.catch_up()
    clock.when = datetime(2026, 1, 5, 15, 21)
    assert len(days.catch_up()) == 1
    assert len(ran) == 2


def test_a_disabled_machine_has_no_days() -> None:
    """Without trading days (no --market-hours) nothing runs and there is no trading day."""
    clock = FixedClock(datetime(2026, 1, 5, 9, 30))
    ran: list[Milestone] = []
    days = TradingDays(CALENDAR, clock, ran.append, enabled=False)
    clock.when = datetime(2026, 1, 12, 9, 30)
    assert days.catch_up() == []
    assert days.trading_day() is None
    assert ran == []


def test_milestones_render_for_the_control_route() -> None:
    """A milestone renders as {"at", "kind", "segment", "day"} in Kite's time format."""
    square_off = day_milestones(CALENDAR, date(2026, 1, 5))[1]
    assert square_off.segment is Segment.EQUITY
    assert square_off.to_wire() == {
        "at": "2026-01-05 15:20:00",
        "kind": "square_off",
        "segment": "equity",
        "day": "2026-01-05",
    }
