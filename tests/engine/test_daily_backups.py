"""Daily backups (``[store] backup_dir``) beside a desk living its days on an SQLite log: one
verified copy after each close, the newest kept, a missed close caught up at start-up, and a
failure alerted without stopping the desk."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from orderdesk.daily_backups import ALERT_TITLE, running_backups
from orderdesk.domain.calendar import IST
from orderdesk.domain.events import DayClosed
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.ports.notifier import Severity
from orderdesk.store import SqlEventStore
from orderdesk.store.backup import backup_head, daily_backups
from tests.engine.fakes import FakeBroker, RecordingNotifier, signal
from tests.engine.test_days import DAYS, MONDAY, TUESDAY
from tests.support import WallClock, eventually


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


@pytest.fixture
def store(tmp_path: Path) -> SqlEventStore:
    return SqlEventStore.open(tmp_path / "data" / "events.db")


def open_desk(
    broker: FakeBroker, store: SqlEventStore, clock: WallClock, notifier: RecordingNotifier
) -> OrderDesk:
    return OrderDesk(
        broker, store, notifier=notifier, clock=clock, config=DAYS, limits=RiskLimits()
    )


def closes_in(path: Path) -> list[date]:
    """The days a backup's log says were closed."""
    with SqlEventStore.open(path) as copy:
        return [
            event.day
            for stored in copy.read(kind=DayClosed.__name__)
            if isinstance(event := stored.event(), DayClosed)
        ]


def backed_up_days(folder: Path) -> list[date]:
    return [day for day, _ in daily_backups(folder)]


async def test_each_close_leaves_a_verified_copy_and_the_newest_are_kept(
    tmp_path: Path, store: SqlEventStore, clock: WallClock
) -> None:
    broker, notifier, folder = FakeBroker(), RecordingNotifier(), tmp_path / "backups"
    async with (
        open_desk(broker, store, clock, notifier) as desk,
        running_backups(desk, store.url, folder, keep=1),
    ):
        bought = await desk.submit(signal())
        await bought.wait()
        assert backed_up_days(folder) == []  # nothing closed yet
        clock.set(MONDAY, 16, 20)
        await eventually(lambda: backed_up_days(folder) == [MONDAY], what="Monday's backup")
        monday = folder / "events-2026-12-07.db"
        assert closes_in(monday) == [MONDAY]
        assert folder.stat().st_mode & 0o777 == 0o700  # the whole history: its owner's alone
        rows, head = backup_head(monday)
        assert rows == head.seq > 0

        broker.next_day()
        clock.set(TUESDAY, 9, 0)
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        clock.set(TUESDAY, 16, 20)
        await eventually(lambda: backed_up_days(folder) == [TUESDAY], what="Tuesday's, alone")
        assert closes_in(folder / "events-2026-12-08.db") == [MONDAY, TUESDAY]
    assert ALERT_TITLE not in notifier.titles()
    store.close()


async def test_a_close_without_its_backup_is_backed_up_at_the_next_start(
    tmp_path: Path, store: SqlEventStore, clock: WallClock
) -> None:
    """The desk closed Monday with backups off (or stopped before the copy): the next start
    with backups on writes Monday's."""
    broker, notifier, folder = FakeBroker(), RecordingNotifier(), tmp_path / "backups"
    async with open_desk(broker, store, clock, notifier):
        clock.set(MONDAY, 16, 20)
        await eventually(lambda: list(store.read(kind="DayClosed")), what="Monday closed")
    async with (
        open_desk(broker, store, clock, notifier) as desk,
        running_backups(desk, store.url, folder, keep=5),
    ):
        await eventually(lambda: backed_up_days(folder) == [MONDAY], what="Monday caught up")
    assert closes_in(folder / "events-2026-12-07.db") == [MONDAY]
    store.close()


async def test_a_backup_that_cannot_be_written_is_alerted_and_the_desk_trades_on(
    tmp_path: Path, store: SqlEventStore, clock: WallClock
) -> None:
    broker, notifier = FakeBroker(), RecordingNotifier()
    not_a_folder = tmp_path / "backups"
    not_a_folder.write_text("a file where the folder should be")
    async with (
        open_desk(broker, store, clock, notifier) as desk,
        running_backups(desk, store.url, not_a_folder, keep=5),
    ):
        clock.set(MONDAY, 16, 20)
        await eventually(lambda: ALERT_TITLE in notifier.titles(), what="the failure alerted")
        [alert] = [a for a in notifier.alerts if a.title == ALERT_TITLE]
        assert alert.severity is Severity.WARNING
        assert "2026-12-07" in alert.body
        assert str(not_a_folder) in alert.body
        broker.next_day()
        clock.set(TUESDAY, 9, 0)
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        bought = await desk.submit(signal())
        await bought.wait()
    assert not_a_folder.read_text() == "a file where the folder should be"
    store.close()
