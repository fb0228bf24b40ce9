"""Trading days: start-up that does not grow with the months of history, and a day's close/open.

- **Start-up of ``orderdesk run`` with a year of history against one day.** Two SQLite logs
  are written through :class:`~orderdesk.store.SqlEventStore` (``bench/_days_fixtures.py``): 250
  trading days of 400 orders each, every day opened by its ``DayOpened`` checkpoint and ended
  by its ``DayClosed``, and a log of the last of those days alone. The last day is the
  latest trading day by the desk's calendar (NSE's holidays) and has no close yet; the
  benchmark's clock (and the daemon's, :data:`_PINNED_RUN`) stands at 10:00 IST on it whatever
  the hour of the run, so the daemon opens no new day and closes none; it replays from the
  checkpoint, reconciles with the paper broker and serves its API. ``orderdesk run`` is
  started as a subprocess on a fresh copy of a log for every run (start-up reconciliation
  appends to it), year and day interleaved; the stopwatch runs from the spawn until the
  daemon prints its dashboard URL, and its resident set (``VmRSS``) and peak (``VmHWM``) are
  read from ``/proc`` at that moment. A bare interpreter importing the daemon's modules runs
  in the same rounds, as the floor both stand on. That floor is most of the start, so the
  part that reads the log (opening the store and ``OrderDesk.start()``) is also timed in
  process, year and day interleaved, with its Python heap peak (tracemalloc) from one traced
  run each.
- **Closing and opening a day of 5,000 orders** (Kite's daily cap), in process: a desk on
  SQLite with the async writer (as the daemon has it) and a broker stand-in whose books the
  benchmark sets, on a clock it moves. The day's orders go through ``desk.submit``: most fill
  at once, some rest and are mass-cancelled by the broker at 16:00 with the updates not
  delivered (so the close's reconciliation finds every one), some vanish from the broker's
  book (they lapse at the close), commodity orders are still working at the close, and AMOs
  for the next day stay in the broker's book overnight. The close (the clock past
  ``close_at``, ``TradingDays.catch_up``) and the next morning's open (the broker's books
  emptied, NRML carried, CNC delivered, ``catch_up`` again) are measured in process CPU time,
  which covers the writer's thread; median of 3 fresh days. The opening reads the instrument
  list again, so the stand-in hands out a list of 100,000 rows, of the order of Kite's dump
  (the Kite adapter's CSV parsing is not in it: that is the adapter's cost, not the desk's).

Run with ``make bench ARGS=days`` (or ``PYTHONPATH=. .venv/bin/python bench/bench_days.py``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench._days_fixtures import (
    AMO,
    FILLED,
    INSTRUMENTS,
    MONDAY,
    TUESDAY,
    DayCounts,
    History,
    compact,
    day_broker,
    day_signals,
    instrument_list,
    trading_days,
    write,
)
from orderdesk.brokers.paper import PaperBroker
from orderdesk.domain import (
    InstrumentInfo,
    OrderStatus,
    Variety,
)
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.events import DayClosed, DayOpened, Event, OrderLapsed
from orderdesk.engine import DeskConfig, OrderDesk
from orderdesk.engine.config import DayRules
from orderdesk.heap import settle_after_start
from orderdesk.holidays import NSE_HOLIDAYS
from orderdesk.ports.clock import SystemClock
from orderdesk.store import AsyncEventWriter, SqlEventStore
from tests.engine.fakes import INFY, FakeOrder, RecordingNotifier
from tests.support import WallClock

YEAR_DAYS = 250
ORDERS_PER_DAY = 400
STARTUP_RUNS = 7
STARTUP_TIMEOUT = 120.0
DESK_RUNS = 9
"""In-process starts of each log: tens of milliseconds each, so more of them than daemons."""
CALENDAR = TradingCalendar(NSE_HOLIDAYS)
PINNED_AT = clock_time(10, 0)
"""IST time of the start-up runs' clock on the log's last day: the day open, its close hours
ahead, and none of the broker's milestones (square-off, mass cancel) near."""

DAY_RUNS = 3
_REPLAYED = re.compile(r"replayed (\d+) events into (\d+) orders")
_DASHBOARD = re.compile(r"dashboard\s+http://127\.0\.0\.1:\d+/")

# -- start-up: the clock ------------------------------------------------------------------------


class PinnedClock(SystemClock):
    """Wall time moved by a fixed offset: seconds pass as they do, on the day the bench picks.

    Without it a start after the day's close (16:15 IST) rightly closes the log's day, and the
    start being measured is no longer a plain resume."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    @classmethod
    def at_work(cls) -> PinnedClock:
        """The clock at :data:`PINNED_AT` on the latest trading day, from now on."""
        wall = datetime.now(UTC)
        day = CALENDAR.trading_day_of(wall)
        return cls(datetime.combine(day, PINNED_AT, tzinfo=IST) - wall)

    def now(self) -> datetime:
        return super().now() + self.offset


_PINNED_RUN = """
import sys
from datetime import timedelta

import orderdesk.runtime
from orderdesk.cli import main
from orderdesk.ports.clock import SystemClock

offset = timedelta(seconds=float(sys.argv.pop(1)))


class Pinned(SystemClock):
    def now(self):
        return super().now() + offset


orderdesk.runtime.SystemClock = Pinned  # the daemon's default clock, read when it starts
sys.argv[0] = "orderdesk"
main()
"""
"""``orderdesk run`` on :class:`PinnedClock`'s time (the offset its first argument): the CLI
as installed, with the runtime's default clock moved. ``runtime`` is imported first, which
``run`` would do a few lines later anyway, so the start measured is the same."""


# -- start-up: the logs -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Logs:
    """The two generated logs and what went into them."""

    year: Path
    day: Path
    days: list[date]
    counts: DayCounts
    """Of the year's log."""
    day_events: int
    generate_seconds: float
    verify_seconds: float
    verified_rows: int
    clock: PinnedClock
    """The time the logs were written at, and the desks that start on them run on."""


def _year_events(
    history: History, days: list[date], now: datetime, last: list[Event]
) -> Iterator[Event]:
    """Every day's events, oldest first; the last (today's, open) day is also kept in ``last``."""
    for day in days[:-1]:
        yield from history.day(day, close=True)
    last += history.day(days[-1], close=False, end=now)
    yield from last


def _make_logs(folder: Path, clock: PinnedClock) -> Logs:
    """Write the year's log and the last day's own log; verify the year's chain once."""
    now = clock.now()
    days = trading_days(CALENDAR, CALENDAR.trading_day_of(now), YEAR_DAYS)
    year, day = folder / "year.db", folder / "day.db"
    history = History(ORDERS_PER_DAY)
    last: list[Event] = []
    started = time.perf_counter()
    # NORMAL: a throwaway log needs no fsync per commit; the daemon opens it with FULL.
    with SqlEventStore.open(year, synchronous="NORMAL") as store:
        events = write(store, _year_events(history, days, now, last))
    with SqlEventStore.open(day, synchronous="NORMAL") as store:
        write(store, iter(last))
    generate = time.perf_counter() - started
    with SqlEventStore.open(year) as store:
        started = time.perf_counter()
        report = store.verify()
        verify = time.perf_counter() - started
    assert report.ok, report
    assert report.rows == events == history.counts.events, (report.rows, events)
    compact(year)
    compact(day)
    return Logs(year, day, days, history.counts, len(last), generate, verify, report.rows, clock)


# -- start-up: the daemon -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartUp:
    seconds: float
    cpu: float
    """CPU seconds the process had used (user + system, every thread)."""
    rss_mib: float
    peak_mib: float
    replayed: tuple[int, int] | None
    """(events, orders) as the daemon logged them."""


def _config(folder: Path, store: Path) -> Path:
    path = folder / "orderdesk.toml"
    path.write_text(
        f"""
broker = "paper"
data_dir = "{folder / "data"}"
config_dir = "{folder / "conf"}"

[store]
url = "sqlite:///{store}"

[paper]
prices = {{ "NSE:INFY" = "1500" }}

[api]
port = 0

[trading_day]
enabled = true
"""
    )
    return path


def _status(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def _cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env["COLUMNS"] = "200"
    return env


def _fresh_copy(source: Path, target: Path) -> Path:
    """``source`` copied to ``target`` (and its WAL files gone), flushed to disk: a year's log
    is hundreds of megabytes, whose writeback must not overlap the start being measured."""
    for stale in target.parent.glob(f"{target.name}*"):
        stale.unlink()
    shutil.copyfile(source, target)
    with target.open("rb") as copy:
        os.fsync(copy.fileno())
    return target


def _start(folder: Path, source: Path, clock: PinnedClock) -> StartUp:
    """Spawn ``orderdesk run`` on a fresh copy of ``source`` and ``clock``'s time; time it
    until its dashboard line."""
    store = _fresh_copy(source, folder / "events.db")
    config = _config(folder, store)
    errors = folder / "stderr.log"
    seconds = cpu = rss = peak = None
    with errors.open("w") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _PINNED_RUN,
                str(clock.offset.total_seconds()),
                "run",
                "--config",
                str(config),
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=_environment(),
        )
        assert process.stdout is not None
        watchdog = threading.Timer(STARTUP_TIMEOUT, process.kill)
        watchdog.start()
        try:
            for line in iter(process.stdout.readline, ""):
                if _DASHBOARD.search(line):
                    seconds = time.perf_counter() - started
                    rss, peak = _status(process.pid)
                    cpu = _cpu(process.pid)
                    break
        finally:
            watchdog.cancel()
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=30)
            process.stdout.close()
    log = errors.read_text()
    if seconds is None or cpu is None or rss is None or peak is None:
        raise RuntimeError(f"orderdesk run exited ({code}) before its dashboard line:\n{log}")
    _check_day_kept(store, clock)
    match = _REPLAYED.search(log)
    replayed = (int(match.group(1)), int(match.group(2))) if match else None
    return StartUp(seconds, cpu, rss, peak, replayed)


def _check_day_kept(store: Path, clock: PinnedClock) -> None:
    """Start-up must have resumed the log's open day: neither closed it nor opened another."""
    with SqlEventStore.open(store) as log:
        checkpoint = log.latest(DayOpened.__name__)
        closed = log.latest(DayClosed.__name__)
    assert checkpoint is not None
    opened = checkpoint.event()
    assert isinstance(opened, DayOpened)
    if opened.day != CALENDAR.trading_day_of(clock.now()):
        raise RuntimeError("a new trading day began during the benchmark; run it again")
    assert closed is None or closed.seq < checkpoint.seq, "start-up closed the day"


_IMPORTS = """
import sys, time
started = float(sys.argv[1])
import orderdesk.cli.run_commands, orderdesk.runtime, orderdesk.logging, orderdesk.brokers.paper
import orderdesk.api.desk_adapter, orderdesk.store.migrate, alembic.command, uvicorn
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
cpu = time.process_time()
print(time.time() - started, cpu, status["VmRSS"].split()[0], status["VmHWM"].split()[0])
"""


def _bare_imports() -> StartUp:
    """A fresh interpreter importing the daemon's main modules (a subset of what it loads):
    the floor under every start, timed from the spawn to the end of the imports."""
    out = subprocess.run(
        [sys.executable, "-c", _IMPORTS, repr(time.time())],
        capture_output=True,
        text=True,
        check=True,
        env=_environment(),
    ).stdout.split()
    return StartUp(float(out[0]), float(out[1]), int(out[2]) / 1024, int(out[3]) / 1024, None)


@dataclass(frozen=True, slots=True)
class DeskStart:
    seconds: float
    cpu: float
    heap_peak_mib: float
    """The peak of Python allocations while the store opened and the desk started (0 when
    not traced: tracing slows the start, so timed runs go untraced)."""


async def _open_desk(store_path: Path, clock: PinnedClock, *, traced: bool) -> DeskStart:
    """Open the store and start a desk on it as ``orderdesk run`` does, minus the API."""
    gc.collect()  # what earlier runs in this process left behind is not this start's to collect
    if traced:
        tracemalloc.start()
    cpu, started = time.process_time(), time.perf_counter()
    store = SqlEventStore.open(store_path)
    async with AsyncEventWriter(store) as writer:
        desk = OrderDesk(
            PaperBroker(prices={INFY: Decimal("1500")}),
            store,
            writer=writer,
            clock=clock,
            config=DeskConfig(days=DayRules(calendar=CALENDAR)),
        )
        await desk.start()
        cpu, seconds = time.process_time() - cpu, time.perf_counter() - started
        peak = 0.0
        if traced:
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        assert desk.days is not None
        assert desk.days.state.day == CALENDAR.trading_day_of(clock.now())
        assert len(desk.orders()) == ORDERS_PER_DAY
        await desk.close()
    store.close()
    return DeskStart(seconds, cpu, peak)


def _desk_start(
    folder: Path, source: Path, clock: PinnedClock, *, traced: bool = False
) -> DeskStart:
    store = _fresh_copy(source, folder / "desk.db")
    _check_day_kept(store, clock)
    return asyncio.run(_open_desk(store, clock, traced=traced))


def _desk_starts(logs: Logs, folder: Path) -> dict[str, list[DeskStart]]:
    """In process, interleaved: the store's opening and ``OrderDesk.start()`` alone, which
    is all of start-up that reads the log (the daemon's imports are most of its start)."""
    runs: dict[str, list[DeskStart]] = {"year": [], "day": [], "year_heap": [], "day_heap": []}
    order = [("year", logs.year), ("day", logs.day)]
    for _, source in order:
        _desk_start(folder, source, logs.clock)  # warm: the first desk in a process imports lazily
    for round_ in range(DESK_RUNS):
        for name, source in order if round_ % 2 == 0 else order[::-1]:
            runs[name].append(_desk_start(folder, source, logs.clock))
    for name, source in order:
        runs[f"{name}_heap"].append(_desk_start(folder, source, logs.clock, traced=True))
    return runs


def _startups(logs: Logs, folder: Path) -> dict[str, list[StartUp]]:
    runs: dict[str, list[StartUp]] = {"year": [], "day": [], "imports": []}
    year_dir, day_dir = folder / "run-year", folder / "run-day"
    year_dir.mkdir()
    day_dir.mkdir()
    # One unmeasured start of each first: the API token is created then, and the page cache
    # holds the interpreter's files for every measured run alike.
    _start(year_dir, logs.year, logs.clock)
    _start(day_dir, logs.day, logs.clock)
    for round_ in range(STARTUP_RUNS):
        order = [("year", year_dir, logs.year), ("day", day_dir, logs.day)]
        for name, run_dir, source in order if round_ % 2 == 0 else order[::-1]:
            runs[name].append(_start(run_dir, source, logs.clock))
        runs["imports"].append(_bare_imports())
    return runs


# -- closing and opening a day ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayRun:
    close_cpu: float
    close_wall: float
    open_cpu: float
    open_wall: float
    reconcile_cpu: float
    """The reconciliation the desk runs right after an opening."""
    cancelled_at_close: int
    lapsed_at_close: int
    still_open: int
    lapsed_at_open: int
    carried: int
    positions_carried: int
    holdings: int
    dropped: int
    """Orders of the closed day no longer held in memory after the open."""


async def _a_day(folder: Path, listed: list[InstrumentInfo]) -> DayRun:
    clock = WallClock(datetime.combine(MONDAY, clock_time(9, 30), tzinfo=IST))
    broker = day_broker(listed)
    store = SqlEventStore.open(folder / "events.db")
    writer = AsyncEventWriter(store)
    config = DeskConfig(
        days=DayRules(calendar=CALENDAR),
        # Only the benchmark moves the day along: no timers race the measured calls.
        reconcile_interval=None,
        clock_interval=3600,
        poll_interval=3600,
        first_look=3600,
        quiet_after=3600,
    )
    desk = OrderDesk(
        broker, store, writer=writer, notifier=RecordingNotifier(), clock=clock, config=config
    )
    async with writer, desk:
        settle_after_start()  # as `orderdesk run` does once the desk has started
        assert desk.trading_day == MONDAY
        plan = day_signals()
        handles = await asyncio.gather(*(desk.submit(s) for _, s in plan))
        await desk.idle()
        fates: dict[str, list[str]] = {}
        for (kind, _), handle in zip(plan, handles, strict=True):
            fates.setdefault(kind, []).append(handle.order.broker_order_id or "")
        filled = sum(1 for h in handles if h.status is OrderStatus.FILLED)
        assert filled == FILLED, f"{filled} of {FILLED} filled"
        assert all(all(fate) for fate in fates.values()), "an order was not bound"
        assert not any(h.status is OrderStatus.CANCELLED for h in handles)

        # 16:00, the exchange's mass cancel; the desk is not told (the close's reconciliation
        # is what finds the cancellations). Some resting orders are gone from the book.
        clock.set(MONDAY, 16, 0)
        broker.stream_muted = True
        for broker_order_id in fates["cancelled"]:
            await broker.cancel_order(broker_order_id, Variety.REGULAR)
        for broker_order_id in fates["vanished"]:
            del broker.book[broker_order_id]

        # Five minutes after the day's close: the MCX orders in its book keep the day open
        # until the commodities' evening session ends (``days.close_at``).
        assert desk.days is not None
        clock.at = desk.days.close_at(MONDAY) + timedelta(minutes=5)
        close_cpu, close_wall = time.process_time(), time.perf_counter()
        opened = await desk.days.catch_up()
        close_cpu, close_wall = time.process_time() - close_cpu, time.perf_counter() - close_wall
        assert not opened
        closed = store.latest(DayClosed.__name__)
        assert closed is not None
        summary = closed.event()
        assert isinstance(summary, DayClosed)
        assert summary.day == MONDAY
        cancelled = sum(1 for h in handles if h.status is OrderStatus.CANCELLED)

        # The next morning: empty books, NRML carried, CNC delivered, the AMOs still there.
        amos = {bid: broker.book[bid] for bid in fates["amo"]}
        broker.next_day()
        broker.book.update({bid: FakeOrder(entry.report) for bid, entry in amos.items()})
        broker.stream_muted = False
        clock.set(TUESDAY, 9, 0)
        held_before = len(desk.book.orders)
        open_cpu, open_wall = time.process_time(), time.perf_counter()
        opened = await desk.days.catch_up()
        open_cpu, open_wall = time.process_time() - open_cpu, time.perf_counter() - open_wall
        assert opened
        assert desk.trading_day == TUESDAY
        reconcile_cpu = time.process_time()
        await desk.reconcile()
        reconcile_cpu = time.process_time() - reconcile_cpu
        checkpoint = store.latest(DayOpened.__name__)
        assert checkpoint is not None
        day_opened = checkpoint.event()
        assert isinstance(day_opened, DayOpened)
        assert day_opened.day == TUESDAY
        lapsed = [
            row
            for row in store.read(kind=OrderLapsed.__name__, after=closed.seq)
            if row.seq < checkpoint.seq
        ]
        run = DayRun(
            close_cpu=close_cpu,
            close_wall=close_wall,
            open_cpu=open_cpu,
            open_wall=open_wall,
            reconcile_cpu=reconcile_cpu,
            cancelled_at_close=cancelled,
            lapsed_at_close=len(summary.lapsed),
            still_open=len(summary.still_open),
            lapsed_at_open=len(lapsed),
            carried=len(day_opened.carried_orders),
            positions_carried=len(day_opened.positions),
            holdings=len(day_opened.holdings),
            dropped=held_before - len(desk.book.orders),
        )
    store.close()
    return run


def _day_run(folder: Path, listed: list[InstrumentInfo]) -> DayRun:
    """One fresh day, leaving the collector as it found it (settling is process-wide)."""
    threshold = gc.get_threshold()
    try:
        return asyncio.run(_a_day(folder, listed))
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


# -- the rows -----------------------------------------------------------------------------------


def _median(runs: Sequence[StartUp | DeskStart], field: str) -> float:
    return float(statistics.median(getattr(run, field) for run in runs))


def _listed(runs: Sequence[StartUp], field: str, places: int = 2) -> str:
    return ", ".join(f"{getattr(run, field):.{places}f}" for run in runs)


def _listed_ms(runs: Sequence[DeskStart], field: str) -> str:
    return ", ".join(f"{getattr(run, field) * 1e3:.0f}" for run in runs)


def _replay_note(runs: Sequence[StartUp]) -> str:
    """What the daemons logged replaying: the same for both logs when start-up is bounded."""
    seen = {run.replayed for run in runs}
    if len(seen) == 1:
        (only,) = seen
        if only is not None:
            return f"both replayed {only[0]:,} events into {only[1]} orders"
    return f"replayed (events, orders): {sorted(seen, key=str)}"


def run() -> list[dict[str, Any]]:
    logging.getLogger("orderdesk").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-days-") as tmp:
        folder = Path(tmp)
        logs = _make_logs(folder, PinnedClock.at_work())
        size_mb = logs.year.stat().st_size / 1e6
        startups = _startups(logs, folder)
        desks = _desk_starts(logs, folder)
        listed = instrument_list()
        days = []
        for i in range(DAY_RUNS):
            day_dir = folder / f"day{i}"
            day_dir.mkdir()
            days.append(_day_run(day_dir, listed))
    year, day, bare = startups["year"], startups["day"], startups["imports"]
    replay_note = _replay_note(year + day)
    paired = statistics.median(y.seconds / d.seconds for y, d in zip(year, day, strict=True))
    time_ratio = _median(year, "seconds") / _median(day, "seconds")
    peak_ratio = _median(year, "peak_mib") / _median(day, "peak_mib")
    rss_ratio = _median(year, "rss_mib") / _median(day, "rss_mib")
    runs = f"median of {STARTUP_RUNS} interleaved runs each"
    counts = logs.counts
    desk_cpu = _median(desks["year"], "cpu") / _median(desks["day"], "cpu")
    heap_ratio = desks["year_heap"][0].heap_peak_mib / desks["day_heap"][0].heap_peak_mib
    year_log = (
        f"{YEAR_DAYS} trading days {logs.days[0]}..{logs.days[-1]} × {ORDERS_PER_DAY} orders "
        f"({counts.orders:,} orders: {counts.fills:,} filled, {counts.cancelled:,} cancelled, "
        f"{counts.rejected:,} rejected), {counts.events:,} events, {size_mb:.0f} MB"
    )
    close = [d.close_cpu for d in days]
    opening = [d.open_cpu for d in days]
    first = days[0]
    same = all(
        (d.cancelled_at_close, d.lapsed_at_close, d.lapsed_at_open, d.carried)
        == (first.cancelled_at_close, first.lapsed_at_close, first.lapsed_at_open, first.carried)
        for d in days
    )
    return [
        {
            "name": "start-up, one year of history / one day: time",
            "value": round(time_ratio, 3),
            "unit": "ratio",
            "target": "<= 1.2",
            "note": f"`orderdesk run` (paper broker, SQLite) spawned until it prints its "
            f"dashboard URL, {runs}: year {_median(year, 'seconds'):.2f} s "
            f"({_listed(year, 'seconds')}), day {_median(day, 'seconds'):.2f} s "
            f"({_listed(day, 'seconds')}); CPU used by then (user + system, /proc/<pid>/stat) "
            f"year {_median(year, 'cpu'):.2f} s, day {_median(day, 'cpu'):.2f} s "
            f"({_median(year, 'cpu') / _median(day, 'cpu'):.3f}×); year/day paired by round "
            f"(adjacent runs share the machine's load): median {paired:.3f}; {replay_note}",
        },
        {
            "name": "start-up, one year of history / one day: peak RSS",
            "value": round(peak_ratio, 3),
            "unit": "ratio",
            "target": "<= 1.2",
            "note": f"VmHWM at the dashboard line, {runs}: year {_median(year, 'peak_mib'):.1f} "
            f"MiB ({_listed(year, 'peak_mib', 1)}), day {_median(day, 'peak_mib'):.1f} MiB "
            f"({_listed(day, 'peak_mib', 1)})",
        },
        {
            "name": "start-up, one year of history / one day: RSS",
            "value": round(rss_ratio, 3),
            "unit": "ratio",
            "target": "<= 1.2",
            "note": f"VmRSS at the dashboard line: year {_median(year, 'rss_mib'):.1f} MiB, "
            f"day {_median(day, 'rss_mib'):.1f} MiB",
        },
        {
            "name": "store open + OrderDesk.start(), one year / one day: CPU",
            "value": round(desk_cpu, 3),
            "unit": "ratio",
            "target": None,
            "note": f"in process, median of {DESK_RUNS} interleaved runs each, each on a fresh "
            f"copy, collector run before each: CPU year "
            f"{_median(desks['year'], 'cpu') * 1e3:.0f} ms "
            f"({_listed_ms(desks['year'], 'cpu')}), day "
            f"{_median(desks['day'], 'cpu') * 1e3:.0f} ms "
            f"({_listed_ms(desks['day'], 'cpu')}); wall year "
            f"{_median(desks['year'], 'seconds') * 1e3:.0f} ms, day "
            f"{_median(desks['day'], 'seconds') * 1e3:.0f} ms: the part of start-up that "
            "reads the log (migrations check, latest checkpoint, replay, start-up "
            "reconciliation), without the interpreter and imports that dilute the daemon's ratio",
        },
        {
            "name": "store open + OrderDesk.start(), one year / one day: Python heap peak",
            "value": round(heap_ratio, 3),
            "unit": "ratio",
            "target": None,
            "note": f"tracemalloc peak over the same start, one traced run each: year "
            f"{desks['year_heap'][0].heap_peak_mib:.2f} MiB, day "
            f"{desks['day_heap'][0].heap_peak_mib:.2f} MiB",
        },
        {
            "name": "start-up with one year of history",
            "value": round(_median(year, "seconds"), 2),
            "unit": "s",
            "target": None,
            "note": f"the year's log: {year_log}; each run on a fresh copy (start-up "
            "reconciliation appends to the log); the last day is the latest trading day by "
            "NSE's calendar, still open, its orders all terminal; the daemon's clock at "
            f"{PINNED_AT:%H:%M} IST on it whatever the hour of the run",
        },
        {
            "name": "start-up with one day",
            "value": round(_median(day, "seconds"), 2),
            "unit": "s",
            "target": None,
            "note": f"the same last day alone: {logs.day_events:,} events",
        },
        {
            "name": "interpreter + the daemon's imports",
            "value": round(_median(bare, "seconds"), 2),
            "unit": "s",
            "target": None,
            "note": "a fresh `python -c` importing the CLI, runtime, API, paper broker, store "
            f"migrations and uvicorn, spawn to imports done, in the same rounds "
            f"({_listed(bare, 'seconds')}); CPU {_median(bare, 'cpu'):.2f} s, VmHWM "
            f"{_median(bare, 'peak_mib'):.1f} MiB: the floor under both starts",
        },
        {
            "name": "verify() of the year's log",
            "value": round(logs.verify_seconds, 2),
            "unit": "s",
            "target": None,
            "note": f"SqlEventStore.verify() over {logs.verified_rows:,} rows: the hash chain "
            f"written by append() in batches is intact; generating both logs took "
            f"{logs.generate_seconds:.1f} s",
        },
        {
            "name": "close a day of 5,000 orders",
            "value": round(statistics.median(close), 3),
            "unit": "s CPU",
            "target": "< 1",
            "note": f"process CPU time (every thread: the writer's too) of `days.catch_up()` "
            "with the clock five minutes after the day's close (the MCX orders in its book "
            f"keep it open until the commodities' evening), median of {DAY_RUNS} fresh days "
            f"({', '.join(f'{c:.3f}' for c in close)}; wall "
            f"{statistics.median(d.close_wall for d in days):.3f} s): reconciliation found "
            f"{first.cancelled_at_close} mass-cancelled orders, {first.lapsed_at_close} lapsed "
            f"(gone from the broker's book), {first.still_open} still working "
            f"(MCX, AMOs) in DayClosed; {FILLED:,} filled through the stream before; "
            "SQLite WAL, synchronous=FULL, async writer",
        },
        {
            "name": "open the next day after 5,000 orders",
            "value": round(statistics.median(opening), 3),
            "unit": "s CPU",
            "target": "< 1",
            "note": f"`days.catch_up()` at 09:00 IST the next morning, median of {DAY_RUNS} "
            f"({', '.join(f'{c:.3f}' for c in opening)}; wall "
            f"{statistics.median(d.open_wall for d in days):.3f} s): broker's book emptied "
            f"but for {AMO} AMOs; {first.lapsed_at_open} lapsed, {first.carried} orders "
            f"carried; carried positions {first.positions_carried} (NRML), holdings "
            f"{first.holdings}; {first.dropped:,} orders of the closed day dropped from "
            f"memory; the instrument list read again ({INSTRUMENTS:,} rows, half of them index "
            "derivatives; freeze limits are added when a row is looked up)"
            + ("" if same else "; the counts differed between runs"),
        },
        {
            "name": "reconcile right after the open",
            "value": round(statistics.median(d.reconcile_cpu for d in days), 3),
            "unit": "s CPU",
            "target": None,
            "note": "`desk.reconcile()` as the desk runs it after an opening (not part of the "
            "row above)",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(
            f"{row['name']}: {row['value']} {row['unit']} (target {row['target']}): {row['note']}"
        )
