"""A running desk keeps its PostgreSQL lock across a server restart: the restart drops the
session's advisory lock, and the desk's watcher takes it again when the server is back, or, if
another desk took it first, alerts and stops this one.

These tests restart their server, so they get one of their own (not the session's, which the
other store tests share).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orderdesk.errors import OrderDeskError
from orderdesk.ports.notifier import Severity
from orderdesk.store.desk_lock import DeskLock, DeskLockLost, StoreInUse, desk_holds, exclusive_desk
from tests import pg
from tests.support import eventually

EVERY = 0.02
"""The watcher's period here: short, so each test waits only as long as its condition needs."""


@dataclass
class RecordedAlerts:
    """The desk's alerts, as the watcher raises them."""

    raised: list[tuple[Severity, str, str, str]] = field(default_factory=list)

    async def raise_(
        self, severity: Severity, title: str, body: str, *, key: str, order_id: str | None = None
    ) -> None:
        self.raised.append((severity, title, body, key))


async def run_watched(lock: DeskLock, alerts: RecordedAlerts) -> None:
    """A desk running with its lock watched, until the watcher stops it (5 s at most)."""
    async with lock.watched(alerts, every=EVERY), asyncio.timeout(5):
        await asyncio.Event().wait()


@pytest.fixture(scope="module")
def server() -> Iterator[pg.PostgresServer]:
    """A PostgreSQL server of this module's own, to restart at will."""
    try:
        started = pg.start_server()
    except pg.PostgresUnavailable as exc:
        message = f"PostgreSQL store tests cannot run: {exc}"
        if pg.required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    yield started
    started.stop()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_a_running_desk_holds_its_store_again_after_the_server_restarts(
    server: pg.PostgresServer, mode: str
) -> None:
    """After ``pg_ctl stop -m fast|immediate`` and a start, the watched lock is held again: a
    second desk is refused and ``orderdesk login``'s probe finds the running one."""
    url = server.new_database()
    alerts = RecordedAlerts()
    with exclusive_desk(url) as lock:
        async with lock.watched(alerts, every=EVERY):
            await asyncio.to_thread(server.restart, mode)

            await eventually(lambda: desk_holds(url), interval=0.05, what="the lock taken again")
            with pytest.raises(StoreInUse), exclusive_desk(url):
                pass
    assert alerts.raised == []
    assert desk_holds(url) is False  # let go when the desk stops, as before
    with exclusive_desk(url):
        pass


def test_keeping_a_held_lock_takes_nothing_again(server: pg.PostgresServer) -> None:
    """While the server stays up the check finds the lock held and changes nothing."""
    url = server.new_database()
    with exclusive_desk(url) as lock:
        assert lock.keep() is False
        assert desk_holds(url) is True


def test_a_lock_dropped_by_a_restart_is_taken_again_by_keep(server: pg.PostgresServer) -> None:
    """The check itself (what the watcher runs on its thread) re-takes a dropped lock."""
    url = server.new_database()
    with exclusive_desk(url) as lock:
        server.restart("fast")
        assert desk_holds(url) is False  # the restart dropped it: the defect's starting point

        assert lock.keep() is True
        assert desk_holds(url) is True
        with pytest.raises(StoreInUse), exclusive_desk(url):
            pass


async def test_a_desk_whose_lock_another_desk_took_is_alerted_and_stopped(
    server: pg.PostgresServer,
) -> None:
    """A second desk that takes the store while the server was restarting keeps it; the first
    desk raises a CRITICAL alert and its block ends with DeskLockLost (``orderdesk run`` prints
    it and exits), instead of trading on beside the second."""
    url = server.new_database()
    alerts = RecordedAlerts()
    with exclusive_desk(url) as lock:
        server.restart("fast")
        with exclusive_desk(url):  # the second desk, first to the restarted server
            with pytest.raises(DeskLockLost) as lost:
                await run_watched(lock, alerts)

            assert desk_holds(url) is True  # the second desk's hold is untouched
    assert "another orderdesk took it" in str(lost.value)
    assert [(severity, key) for severity, _, _, key in alerts.raised] == [
        (Severity.CRITICAL, "desk_lock_lost")
    ]
    assert "another orderdesk took it" in alerts.raised[0][2]


async def test_the_lost_lock_ends_a_runtime_built_like_orderdesk_run(
    server: pg.PostgresServer,
) -> None:
    """Entered as the runtime's last context (an exit stack inside an async context manager),
    with ``orderdesk run``'s task waiting for Ctrl-C, the lost lock unwinds the runtime's other
    contexts and reaches ``run`` as DeskLockLost, an OrderDeskError it prints on one line."""
    url = server.new_database()
    unwound: list[str] = []

    @contextlib.asynccontextmanager
    async def started() -> AsyncIterator[RecordedAlerts]:
        try:
            yield RecordedAlerts()
        finally:
            unwound.append("desk")

    @contextlib.asynccontextmanager
    async def open_runtime() -> AsyncIterator[None]:
        with exclusive_desk(url) as lock:
            async with contextlib.AsyncExitStack() as stack:
                alerts = await stack.enter_async_context(started())
                await stack.enter_async_context(lock.watched(alerts, every=EVERY))
                yield

    async def run() -> None:
        stop = asyncio.Event()  # Ctrl-C, never pressed here
        async with open_runtime():
            server.restart("fast")
            with exclusive_desk(url):
                await asyncio.wait_for(stop.wait(), timeout=5)

    with pytest.raises(DeskLockLost) as lost:
        await run()
    assert isinstance(lost.value, OrderDeskError)
    assert unwound == ["desk"]
    assert desk_holds(url) is False  # both let go: the first by stopping, the second its block


async def test_a_stop_of_its_own_is_not_taken_for_a_lost_lock(server: pg.PostgresServer) -> None:
    """A desk cancelled for another reason (its own shutdown) is cancelled, not DeskLockLost."""
    url = server.new_database()
    entered = asyncio.Event()
    with exclusive_desk(url) as lock:

        async def desk() -> None:
            async with lock.watched(RecordedAlerts(), every=EVERY):
                entered.set()
                await asyncio.Event().wait()

        task = asyncio.create_task(desk())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert lock.keep() is False


async def test_an_sqlite_lock_is_not_watched(tmp_path: Path) -> None:
    """A file lock lasts as long as its process: watching it starts nothing and never fails."""
    url = f"sqlite:///{tmp_path / 'events.db'}"
    with exclusive_desk(url) as lock:
        before = len(asyncio.all_tasks())
        async with lock.watched(RecordedAlerts(), every=EVERY):
            assert len(asyncio.all_tasks()) == before
        assert lock.keep() is False
