"""A verified copy of the event log after every trading day's close (``[store] backup_dir``).

The log is the desk's whole past, in one file on one disk. With ``backup_dir`` set (best on
another disk, or a folder a sync tool copies off the machine), ``orderdesk run`` backs the log up
(:func:`~orderdesk.store.backup.back_up`) as ``events-<day>.db`` each time a day's
:class:`~orderdesk.domain.events.DayClosed` is recorded, then keeps the newest ``backup_keep``.
At start-up it first backs up the last closed day if that day has no backup yet: the desk may
have stopped between the close and the copy, or backups were only just switched on.

The copy runs on a worker thread (a year's log takes seconds), so the desk trades on meanwhile.
A failure (a full disk, a folder gone, a chain found broken) is a WARNING alert naming the day
and the reason; the next close tries again, and earlier backups stay as they were; and
``orderdesk doctor`` warns while the last closed day has no backup (:class:`StorageProbe`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import stat
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from orderdesk.doctor import Storage
from orderdesk.domain.events import DayClosed
from orderdesk.engine.desk import OrderDesk
from orderdesk.errors import StoreError
from orderdesk.logging import LOG_FILE_BACKUPS
from orderdesk.ports.notifier import Severity
from orderdesk.store.backup import (
    BackupReport,
    back_up,
    daily_backup_path,
    daily_backups,
    prune,
)
from orderdesk.store.location import make_private_dir, sqlite_file

log = logging.getLogger(__name__)

ALERT_TITLE = "Event log backup failed"


class DailyBackups:
    """Backs ``desk``'s log (at ``url``) up into ``folder`` after each close."""

    def __init__(self, desk: OrderDesk, url: str, folder: Path, keep: int) -> None:
        self._desk = desk
        self._url = url
        self._folder = folder
        self._keep = keep

    async def run(self) -> None:
        """Until the desk stops: catch up on the last close, then back up after each one."""
        closes = self._desk.events(only=(DayClosed,))  # before the catch-up: no close missed
        last = self._desk.last_closed_day()
        if last is not None and not daily_backup_path(self._folder, last).exists():
            await self.back_up(last)
        async for event in closes:
            assert isinstance(event, DayClosed)
            await self.back_up(event.day)

    async def back_up(self, day: date) -> BackupReport | None:
        """Back the log up as ``day``'s (replacing one of the same day), then prune."""
        try:
            report, pruned = await asyncio.to_thread(self._write, day)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not isinstance(exc, StoreError):  # a bug: its traceback, and the task lives on
                log.exception("the backup after %s's close failed", day)
            await self._desk.alerts.raise_(
                Severity.WARNING,
                ALERT_TITLE,
                f"the backup after {day}'s close was not written: {exc}",
                key="store:backup",
            )
            return None
        log.info(
            "store.backup day=%s path=%s events=%d head=%d bytes=%d seconds=%.2f pruned=%d",
            day,
            report.path,
            report.rows,
            report.head.seq,
            report.size,
            report.seconds,
            len(pruned),
        )
        return report

    def _write(self, day: date) -> tuple[BackupReport, list[Path]]:
        try:
            make_private_dir(self._folder)  # the whole history: its owner's alone
            report = back_up(self._url, daily_backup_path(self._folder, day), replace=True)
            return report, prune(self._folder, self._keep)
        except OSError as exc:
            raise StoreError(f"{self._folder}: {exc.strerror or exc}") from exc


@dataclass(frozen=True, slots=True)
class StorageProbe:
    """What ``orderdesk doctor`` is told about the log's file: the room left beside it and its
    daily backups (None for a log that is not a file, e.g. on PostgreSQL), and which of the
    desk's private files others can read."""

    url: str
    backup_dir: Path | None
    copies_dir: Path | None = None
    """Where `orderdesk backup` writes without a ``backup_dir`` (``data_dir/backups``)."""
    secrets_file: Path | None = None
    log_file: Path | None = None

    def __call__(self, last_closed: date | None) -> Storage | None:
        log = sqlite_file(self.url)
        if log is None:
            return None
        size = sum(part.stat().st_size for part in (log, Path(f"{log}-wal")) if part.exists())
        backups = daily_backups(self.backup_dir) if self.backup_dir is not None else []
        # Every file in the backup folders, not the daily ones' names alone: `orderdesk backup`
        # names its copies by the second, and each is the whole history as well.
        folders = {folder for folder in (self.backup_dir, self.copies_dir) if folder is not None}
        files = [
            log,
            Path(f"{log}-wal"),
            Path(f"{log}-shm"),
            *(path for folder in sorted(folders) for path in _files_in(folder)),
        ]
        # Named to the doctor only when there: "the secrets file is yours alone" of none.
        secrets = _existing(self.secrets_file)
        desk_log = _existing(self.log_file)
        if secrets is not None:
            files.append(secrets)
        if desk_log is not None:
            rotated = (Path(f"{desk_log}.{n}") for n in range(1, LOG_FILE_BACKUPS + 1))
            files += [desk_log, *rotated]
        return Storage(
            log=log,
            log_bytes=size,
            free_bytes=shutil.disk_usage(log.parent).free,
            backup_dir=self.backup_dir,
            last_backup=backups[-1][0] if backups else None,
            last_closed=last_closed,
            open_to_others=_open_to_others(files),
            secrets_file=secrets,
            log_file=desk_log,
        )


def _existing(path: Path | None) -> Path | None:
    return path if path is not None and path.exists() else None


def _files_in(folder: Path) -> list[Path]:
    """The files in ``folder``, by name (none when it is not there or cannot be listed)."""
    try:
        return sorted(path for path in folder.iterdir() if path.is_file())
    except OSError:
        return []


def _open_to_others(files: Iterable[Path]) -> tuple[tuple[Path, int], ...]:
    """Those of ``files`` that exist with any permission for the group or others."""
    found = []
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                found.append((path, mode))
    return tuple(found)


@contextlib.asynccontextmanager
async def running_backups(
    desk: OrderDesk, url: str, folder: Path | None, keep: int
) -> AsyncIterator[DailyBackups | None]:
    """Daily backups for the duration of the block, when ``folder`` is set."""
    if folder is None:
        yield None
        return
    backups = DailyBackups(desk, url, folder, keep)
    task = asyncio.create_task(backups.run(), name="daily-backups")
    try:
        yield backups
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


__all__ = ["ALERT_TITLE", "DailyBackups", "StorageProbe", "running_backups"]
