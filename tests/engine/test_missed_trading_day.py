"""A trading day the desk never opened is said, not lost without a word: the next opening names
it, says what the positions carried through it made then (from the desk's last close to the
broker's close before the opening: in no day's P&L), records it with the carried lines, and the
list of days shows it as missed, after a restart too, its move left out of the days' sum.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import cast

import pytest

from orderdesk.api.schemas import DayOut
from orderdesk.cli.day_commands import _state, _total
from orderdesk.domain import Product
from orderdesk.domain.calendar import IST
from orderdesk.domain.day import CarriedPosition, MissedDays
from orderdesk.domain.events import DayClosed, DayOpened
from orderdesk.ports.notifier import Severity
from orderdesk.store.codec import from_record, to_record
from tests.api.conftest import engine_api
from tests.engine.fakes import NIFTY_FUT, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.engine.test_days import MONDAY, TUESDAY, events_of, open_desk
from tests.support import WallClock, eventually

WEDNESDAY = date(2026, 12, 9)


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


async def a_monday_kept_then_tuesday_missed(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Monday: 75 NIFTY futures NRML bought, closed at 16:20 at 23990 while the desk ran, then
    the desk stopped. Tuesday nobody ran it: the future closed at 24100 (75 x +110 = +8,250).
    Wednesday morning the broker carries the future in at Tuesday's close."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await (
            await desk.submit(signal(instrument=NIFTY_FUT, quantity=75, product=Product.NRML))
        ).wait()
        broker.tick(NIFTY_FUT, Decimal("23990"))
        await eventually(lambda: desk.book.last_prices.get(NIFTY_FUT) == 23990, what="marked")
        clock.set(MONDAY, 16, 20)
        (closed,) = await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
        assert closed.positions[0].last_price == 23990
    broker.next_day()  # Tuesday's morning; the desk is not running
    broker.prices[NIFTY_FUT] = Decimal("24100")
    broker.next_day()  # Wednesday's: carried in at Tuesday's close
    broker.prices[NIFTY_FUT] = Decimal("24120")
    clock.set(WEDNESDAY, 9, 30)


async def test_the_opening_after_a_missed_day_says_what_the_carried_future_made_then(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Wednesday opens from Tuesday's close: it is recorded, with the carried line, that
    Tuesday was never opened and the future was last kept at Monday's 23990; one warning names
    Tuesday and its 8,250.00, which no day's P&L counts."""
    await a_monday_kept_then_tuesday_missed(broker, store, clock, notifier)
    async with open_desk(broker, store, clock, notifier) as desk:
        assert desk.trading_day == WEDNESDAY
        opened = events_of(store, DayOpened)[-1]
        (line,) = opened.positions
        assert (line.close_price, line.missed, line.kept_close) == (24100, (TUESDAY,), 23990)
        assert MissedDays.of(opened.positions) == MissedDays((TUESDAY,), Decimal("8250"))
        assert desk.day_pnl() == 0  # Wednesday's P&L starts at Tuesday's close, as before
    (warning,) = [a for a in notifier.alerts if a.title == "Trading days missed"]
    assert warning.severity is Severity.WARNING
    assert "the desk never opened (2026-12-08)" in warning.body
    assert "8,250.00 (23990 to 24100)" in warning.body
    assert "8,250.00 in all, counted nowhere" in warning.body


async def test_the_list_of_days_shows_the_missed_day_after_a_restart(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """`orderdesk days` (GET /api/days) lists Tuesday between Wednesday and Monday, missed, no
    P&L of its own and the carried future's move over it said apart; a desk started again
    reads the same from the log, and the days' total leaves it out, saying so."""
    await a_monday_kept_then_tuesday_missed(broker, store, clock, notifier)
    async with open_desk(broker, store, clock, notifier) as desk:
        assert desk.trading_day == WEDNESDAY  # opened by this start; then it stops
    clock.set(WEDNESDAY, 10, 0)
    async with (
        open_desk(broker, store, clock, RecordingNotifier()) as desk,
        engine_api(desk) as client,
        client.get("/api/days") as response,
    ):
        assert response.status == 200
        rows = [DayOut.model_validate(row) for row in await response.json()]
    assert [(r.day, r.missed) for r in rows] == [
        (WEDNESDAY, False),
        (TUESDAY, True),
        (MONDAY, False),
    ]
    tuesday = rows[1]
    assert (tuesday.pnl, tuesday.opened_at, tuesday.missed_move) == (None, None, 8250)
    assert tuesday.carried_positions == 1
    assert _state(tuesday).startswith("missed: the desk never opened it")
    assert "8,250.00" in _state(tuesday)
    total = _total(rows)
    assert "over 2 days" in total
    assert "1 day the desk never opened left out (their carried positions made 8,250.00" in total
    assert "without a close" not in total


async def test_missed_days_a_flat_desk_carried_nothing_through_are_listed_too(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Stopped on Monday holding nothing, started on Wednesday: Tuesday is in the log
    (``DayOpened.missed``) and listed as missed, carrying nothing, and the days' total leaves
    it out without a word of a move (nothing was carried, so nothing was lost). It was listed
    only when a position was carried through it, while the alert named it."""
    async with open_desk(broker, store, clock, notifier) as desk:
        clock.set(MONDAY, 16, 20)
        await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
    broker.next_day()
    broker.next_day()
    clock.set(WEDNESDAY, 9, 30)
    async with (
        open_desk(broker, store, clock, notifier) as desk,
        engine_api(desk) as client,
        client.get("/api/days") as response,
    ):
        assert desk.trading_day == WEDNESDAY
        rows = [DayOut.model_validate(row) for row in await response.json()]
    assert events_of(store, DayOpened)[-1].missed == (TUESDAY,)
    assert [(r.day, r.missed) for r in rows] == [
        (WEDNESDAY, False),
        (TUESDAY, True),
        (MONDAY, False),
    ]
    assert (rows[1].carried_positions, rows[1].missed_move) == (0, None)
    assert "nothing carried through it" in _state(rows[1])
    total = _total(rows)
    assert total.count("1 day the desk never opened left out") == 1
    assert "not known" not in total


async def test_a_missed_day_without_a_kept_close_of_the_line_says_its_move_is_unknown(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Monday was never closed at a price of the future (the desk stopped before it had one):
    the move over Tuesday is not made up; the warning says it is not known and not counted."""
    broker.carried = {(NIFTY_FUT, Product.NRML): 75}
    async with open_desk(broker, store, clock, notifier) as desk:
        assert desk.trading_day == MONDAY  # the future carried in, never ticked
    broker.next_day()
    broker.next_day()
    clock.set(WEDNESDAY, 9, 30)
    async with open_desk(broker, store, clock, notifier) as desk:
        assert desk.trading_day == WEDNESDAY
    (line,) = events_of(store, DayOpened)[-1].positions
    assert line.missed == (TUESDAY,)
    assert MissedDays.of((line,)) == MissedDays((TUESDAY,), None)
    (warning,) = [a for a in notifier.alerts if a.title == "Trading days missed"]
    assert "none of it is counted" in warning.body


async def test_a_day_after_a_kept_one_misses_nothing(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Tuesday opened after Monday's close records no missed day and says nothing of one."""
    broker.carried = {(NIFTY_FUT, Product.NRML): 75}
    async with open_desk(broker, store, clock, notifier) as desk:
        clock.set(MONDAY, 16, 20)
        await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
        broker.next_day()
        clock.set(TUESDAY, 9, 30)
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    (line,) = events_of(store, DayOpened)[-1].positions
    assert (line.missed, line.kept_close) == ((), None)
    assert "Trading days missed" not in notifier.titles()


async def test_a_line_gone_over_a_missed_day_is_said_to_be_unknown(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """The future Monday's close kept is no longer carried on Wednesday (sold on Tuesday, at a
    price nobody kept): the warning names it and says the missed day's move is not known."""
    await a_monday_kept_then_tuesday_missed(broker, store, clock, notifier)
    broker.carried.clear()
    async with open_desk(broker, store, clock, notifier) as desk:
        assert desk.trading_day == WEDNESDAY
    assert events_of(store, DayOpened)[-1].positions == ()
    (warning,) = [a for a in notifier.alerts if a.title == "Trading days missed"]
    assert warning.severity is Severity.WARNING
    assert f"{NIFTY_FUT} NRML 75: no longer carried" in warning.body
    assert "none of it is counted" in warning.body


def test_a_carried_lines_missed_days_round_trip_and_older_rows_have_none() -> None:
    """The missed days and the kept close are written with the opening and read back as they
    were; a line logged before them (no such keys) reads as carried from a kept day."""
    line = CarriedPosition(
        instrument=NIFTY_FUT,
        product=Product.NRML,
        quantity=75,
        close_price=Decimal("24100"),
        average_price=Decimal("24000"),
        missed=(TUESDAY,),
        kept_close=Decimal("23990"),
    )
    opened = DayOpened(at=datetime(2026, 12, 9, 4, 0, tzinfo=UTC), day=WEDNESDAY, positions=(line,))
    kind, payload = to_record(opened)
    assert payload["positions"][0]["missed"] == ["2026-12-08"]
    assert from_record(kind, payload) == opened
    for key in ("missed", "kept_close"):
        del payload["positions"][0][key]
    (older,) = cast("DayOpened", from_record(kind, payload)).positions
    assert (older.missed, older.kept_close, older.missed_pnl) == ((), None, None)
