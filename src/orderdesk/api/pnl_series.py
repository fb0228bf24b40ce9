"""The day's P&L over time, per strategy and in total: what the dashboard's chart draws.

Unrealised P&L moves with every tick and ticks are not in the log, so the curve cannot be read
back from it: the API samples the desk while it runs (a point when the figures changed, at
most one per sampling interval) and keeps the open trading day's points in memory. A reload
of the page gets the whole curve from ``GET /api/pnl``. With a folder to keep them in (the
daemon's ``<data_dir>/pnl``), each kept point is also appended to that day's file, one JSON
line, so a desk restarted during the day draws its morning again; the last
:data:`DAYS_KEPT` days' files are kept. The series is bounded: at the limit every other point
is dropped, so a long day keeps its shape at half the resolution instead of losing its morning.

The file is a convenience, not a record (the log is the record): it is not synced, a line a
crash cut short is skipped when read, and a file that cannot be written only costs the curve
after a restart (warned once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from orderdesk.api.desk import DeskService

MAX_POINTS = 2_000
CPU_SHARE = 0.01
"""At most this share of the loop's time goes to sampling."""
DAYS_KEPT = 30
"""Days whose point files stay in the folder; older ones are deleted when a day starts."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PnlPoint:
    at: datetime
    total: Decimal
    """Every position's P&L (carried and external ones included), as the positions table."""
    strategies: dict[str, Decimal]
    """Each strategy's P&L from its own fills (``GET /api/strategies``)."""


def measure(desk: DeskService, at: datetime) -> PnlPoint:
    # The day's figures as the positions table reads them: after the close, as recorded (the
    # raw book would go on moving with the evening's ticks).
    positions = desk.day_positions()
    books = desk.strategies()
    return PnlPoint(
        at=at,
        total=sum((p.pnl for p in positions), Decimal(0)),
        strategies={name: books[name].pnl for name in sorted(books)},
    )


class PnlSeries:
    """The open day's points, oldest first (served by ``GET /api/pnl``), kept in ``folder``
    as well when one is given."""

    def __init__(self, limit: int = MAX_POINTS, folder: Path | None = None) -> None:
        self.limit = limit
        self.folder = folder
        self.day: date | None = None
        self.points: list[PnlPoint] = []
        self._kept_as: date | None = None
        """The date naming the file: the trading day, or the first sample's date without one."""
        self._unwritable = False

    def sample(self, desk: DeskService, at: datetime) -> PnlPoint:
        """Measure now; keep the point if the figures moved (or it is the day's first)."""
        day = desk.trading_day()
        if day != self.day or self._kept_as is None:
            self._start(day, at)
        point = measure(desk, at)
        last = self.points[-1] if self.points else None
        if last is None or (last.total, last.strategies) != (point.total, point.strategies):
            self._add(point)
            self._write(point)
        return point

    def _add(self, point: PnlPoint) -> None:
        self.points.append(point)
        if len(self.points) > self.limit:
            # Keep the first and the newest; halve the rest.
            self.points = [*self.points[:-1:2], self.points[-1]]

    def _file(self, day: date) -> Path | None:
        return None if self.folder is None else self.folder / f"pnl-{day.isoformat()}.jsonl"

    def _start(self, day: date | None, at: datetime) -> None:
        """A new day (or the first sample): its points so far, read back from its file."""
        self.day, self.points = day, []
        self._kept_as = day if day is not None else at.date()
        path = self._file(self._kept_as)
        if path is None:
            return
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        except OSError as exc:
            log.warning("cannot read the P&L curve kept in %s: %s", path, exc)
            lines = []
        for line in lines:
            point = _decode(line)
            if point is not None:
                self._add(point)
        self._prune()

    def _prune(self) -> None:
        assert self.folder is not None
        try:
            for old in sorted(self.folder.glob("pnl-*.jsonl"))[:-DAYS_KEPT]:
                old.unlink()
        except OSError as exc:
            log.warning("cannot prune the P&L curves kept in %s: %s", self.folder, exc)

    def _write(self, point: PnlPoint) -> None:
        path = self._file(self._kept_as) if self._kept_as is not None else None
        if path is None or self._unwritable:
            return
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Opened per point (at most one a sampling interval): nothing to leave open at exit.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(descriptor, "a", encoding="utf-8") as file:
                file.write(_encode(point) + "\n")
        except OSError as exc:
            self._unwritable = True
            log.warning("cannot keep the P&L curve in %s (%s): it lasts until a restart", path, exc)

    async def run(self, desk: DeskService, interval: float) -> None:
        """Sample every ``interval`` seconds until cancelled, or less often when a sample
        costs more than ``CPU_SHARE`` of that: attributing 5,000 orders to their strategies
        takes ~11 ms of CPU, on the loop that also takes the signals."""
        while True:
            started = time.process_time()
            self.sample(desk, desk.now())
            cost = time.process_time() - started
            await asyncio.sleep(max(interval, cost / CPU_SHARE))


def _encode(point: PnlPoint) -> str:
    return json.dumps(
        {
            "at": point.at.isoformat(),
            "total": str(point.total),
            "strategies": {name: str(pnl) for name, pnl in point.strategies.items()},
        },
        separators=(",", ":"),
    )


def _decode(line: str) -> PnlPoint | None:
    """A kept point, or None for a line that is not one (cut short by a crash, edited)."""
    try:
        raw: Any = json.loads(line)
        at = datetime.fromisoformat(raw["at"])
        if at.tzinfo is None:
            return None
        strategies = {str(k): Decimal(v) for k, v in raw["strategies"].items()}
        return PnlPoint(at=at, total=Decimal(raw["total"]), strategies=strategies)
    except (ValueError, TypeError, KeyError, AttributeError, InvalidOperation):
        return None


__all__ = ["DAYS_KEPT", "PnlPoint", "PnlSeries", "measure"]
