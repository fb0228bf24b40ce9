"""Event store appends: one commit per event against batched commits, on a real SQLite file.

Every figure runs with the store's default durability (WAL, ``synchronous=FULL``: each commit is
fsynced), on a fresh file in a temporary directory, over a realistic mix of order events (a
six-event lifecycle: created with its signal, submitting, accepted, open, fill, complete). The
events are built before the clock starts; encoding, hashing and writing are all timed, because
``append`` does all three. ``synchronous=NORMAL`` is reported beside it so the cost of the fsync
is visible, for one commit per event and for batches of 1000.

The machine is shared, so every mode runs once per round, the order alternating between rounds,
and each figure is the median over rounds; the 1-minute load average before and after is in the
notes. The codec figures (encoding for append, decoding for replay at start-up) are CPU time of
one thread, so they depend less on what else the machine is doing.

One more pair of figures is about the async writer's worker thread rather than throughput: a
commit of 2000 encoded events (``append_encoded``: hashing, inserting, committing) made on a
worker thread while the main thread spins in a pure-Python loop, as an event loop busy with
decisions would, against the same commit with the main thread idle. It is measured for the
store's multi-row INSERT statements and for the same INSERT through ``executemany``: sqlite3
releases the GIL around every statement step, so a commit that steps once per row has to win
the GIL back from the busy thread once per row.
Run with ``.venv/bin/python bench/bench_store.py`` or ``make bench ARGS=store``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from orderdesk.domain import (
    BrokerStatus,
    Event,
    Exchange,
    Fill,
    InstrumentKey,
    OrderAccepted,
    OrderCreated,
    OrderFillRecorded,
    OrderStatus,
    OrderStatusChanged,
    OrderSubmitting,
    OrderType,
    Product,
    Side,
    Signal,
    client_order_id,
)
from orderdesk.store import AsyncEventWriter, SqlEventStore, Synchronous, sql
from orderdesk.store.chain import encode_events
from orderdesk.store.codec import canonical_text, from_record

SINGLE_EVENTS = 600
BATCH_EVENTS = 30_000
WRITER_TASKS = 200
ROUNDS = 5
CODEC_EVENTS = 12_000
THREAD_ROWS = 2000
THREAD_ROWS_EXECUTEMANY_BUSY = 200
"""executemany with the main thread busy waits about a GIL switch interval per row: fewer rows."""
THREAD_ROUNDS = 5


def lifecycle(n: int, start: datetime) -> list[Event]:
    """The six events of order ``n`` filling completely, a millisecond apart."""
    order_id = client_order_id("bench", f"s{n}")
    broker_id = f"2501{n:011d}"
    price = Decimal("1500.05") + n % 100
    signal = Signal(
        instrument=InstrumentKey(Exchange.NSE, "INFY"),
        side=Side.BUY if n % 2 else Side.SELL,
        quantity=10 + n % 50,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=price,
        strategy="bench",
        signal_id=f"s{n}",
    )
    at = [start + timedelta(milliseconds=i) for i in range(6)]

    def status(status: OrderStatus, broker: BrokerStatus, filled: int, i: int) -> Event:
        return OrderStatusChanged(
            at=at[i],
            order_id=order_id,
            status=status,
            base_status=status,
            broker_status=broker,
            broker_status_text=broker.value,
            filled_quantity=filled,
            average_price=price if filled else Decimal(0),
            broker_order_id=broker_id,
        )

    fill = Fill(
        trade_id=f"T{n:09d}",
        broker_order_id=broker_id,
        instrument=signal.instrument,
        side=signal.side,
        product=signal.product,
        quantity=signal.quantity,
        price=price,
        filled_at=at[4],
    )
    return [
        OrderCreated(at=at[0], order_id=order_id, signal=signal),
        OrderSubmitting(at=at[1], order_id=order_id, attempt=1),
        OrderAccepted(at=at[2], order_id=order_id, broker_order_id=broker_id),
        status(OrderStatus.OPEN, BrokerStatus.OPEN, 0, 3),
        OrderFillRecorded(at=at[4], order_id=order_id, fill=fill),
        status(OrderStatus.FILLED, BrokerStatus.COMPLETE, signal.quantity, 5),
    ]


def workload(count: int) -> list[Event]:
    """``count`` events from consecutive order lifecycles."""
    start = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)
    events: list[Event] = []
    n = 0
    while len(events) < count:
        events.extend(lifecycle(n, start + timedelta(seconds=n)))
        n += 1
    return events[:count]


class Job:
    """One way of appending ``events``; ``commits`` is how many transactions it took."""

    def __init__(self, events: list[Event], synchronous: Synchronous) -> None:
        self.events = events
        self.synchronous = synchronous
        self.commits = 0

    def __call__(self, store: SqlEventStore) -> None:
        raise NotImplementedError


class OneCommitPerEvent(Job):
    def __call__(self, store: SqlEventStore) -> None:
        for event in self.events:
            store.append([event])
        self.commits = len(self.events)


class Batched(Job):
    def __init__(self, events: list[Event], synchronous: Synchronous, size: int) -> None:
        super().__init__(events, synchronous)
        self.size = size

    def __call__(self, store: SqlEventStore) -> None:
        for i in range(0, len(self.events), self.size):
            store.append(self.events[i : i + self.size])
        self.commits = -(-len(self.events) // self.size)


class WriterTasks(Job):
    """``tasks`` concurrent asyncio tasks, each appending one order's lifecycle at a time."""

    def __init__(self, events: list[Event], synchronous: Synchronous, tasks: int) -> None:
        super().__init__(events, synchronous)
        self.tasks = tasks

    def __call__(self, store: SqlEventStore) -> None:
        async def main() -> None:
            async with AsyncEventWriter(store) as writer:

                async def worker(k: int) -> None:
                    for i in range(k * 6, len(self.events), self.tasks * 6):
                        await writer.append(self.events[i : i + 6])

                await asyncio.gather(*(worker(k) for k in range(self.tasks)))
            self.commits = writer.commits

        asyncio.run(main())


def _timed(job: Job) -> float:
    """Seconds ``job`` takes on a fresh store file (opening it is not timed)."""
    with tempfile.TemporaryDirectory() as folder:
        store = SqlEventStore.open(Path(folder) / "events.db", synchronous=job.synchronous)
        try:
            start = time.perf_counter()
            job(store)
            elapsed = time.perf_counter() - start
            report = store.verify()
            assert report.ok, report  # a fast but broken chain would be no result at all
        finally:
            store.close()
    return elapsed


def _verify_rate(events: list[Event]) -> float:
    with (
        tempfile.TemporaryDirectory() as folder,
        SqlEventStore.open(Path(folder) / "events.db") as store,
    ):
        Batched(events, "FULL", 2000)(store)
        start = time.perf_counter()
        report = store.verify()
        elapsed = time.perf_counter() - start
    assert report.ok
    assert report.rows == len(events)
    return len(events) / elapsed


def _codec_rates(events: list[Event]) -> dict[str, float]:
    """Events per CPU-second for each codec step, median of ROUNDS."""
    stored = [(type(event).__name__, json.loads(canonical_text(event))) for event in events]
    steps = {
        "encode": lambda: [canonical_text(event) for event in events],
        "encode_events": lambda: encode_events(events),
        "decode": lambda: [from_record(name, payload) for name, payload in stored],
    }
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(ROUNDS):
        for name, step in steps.items():
            start = time.thread_time()
            step()
            samples[name].append(time.thread_time() - start)
    return {name: len(events) / statistics.median(times) for name, times in samples.items()}


def _on_worker(call: Callable[[], object], busy: bool) -> float:
    """Seconds ``call`` takes on a fresh worker thread; with ``busy``, the calling thread spins
    in pure Python (holding the GIL but for the interpreter's switch interval) until it ends."""
    outcome: list[float | BaseException] = []

    def work() -> None:
        start = time.perf_counter()
        try:
            call()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(time.perf_counter() - start)

    worker = threading.Thread(target=work, name="bench-store-commit")
    worker.start()
    if busy:
        spins = 0
        while not outcome:  # plain bytecode: no call here ever lets go of the GIL
            spins += 1
    worker.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _thread_commit(executemany: bool, busy: bool, rows: int) -> float:
    """µs per row of one ``append_encoded`` of ``rows`` events on a worker thread, on a fresh
    store whose statements are warmed by an untimed append of the same size first."""
    events = workload(2 * rows)
    warm, timed = encode_events(events[:rows]), encode_events(events[rows:])
    with tempfile.TemporaryDirectory() as folder:
        store = SqlEventStore.open(Path(folder) / "events.db")
        try:
            if executemany:
                # The store's own INSERT and transaction; only the multi-row switch is off, so
                # the rows go to exec_driver_sql(insert.sql, rows): one executemany.
                store._insert._multirow = False
            store.append_encoded(warm)
            elapsed = _on_worker(lambda: store.append_encoded(timed), busy)
            report = store.verify()
            assert report.ok, report
            assert report.rows == 2 * rows, report
        finally:
            store.close()
    return elapsed / rows * 1e6


def _thread_commits() -> dict[str, float]:
    """Median µs per row of each (insert, main thread) mode over THREAD_ROUNDS rounds."""
    modes = {
        "multirow_solo": (False, False, THREAD_ROWS),
        "executemany_solo": (True, False, THREAD_ROWS),
        "multirow_busy": (False, True, THREAD_ROWS),
        "executemany_busy": (True, True, THREAD_ROWS_EXECUTEMANY_BUSY),
    }
    samples: dict[str, list[float]] = {name: [] for name in modes}
    order = list(modes)
    for round_ in range(THREAD_ROUNDS):
        for name in order if round_ % 2 == 0 else reversed(order):
            samples[name].append(_thread_commit(*modes[name]))
    return {name: statistics.median(values) for name, values in samples.items()}


def run() -> list[dict[str, object]]:
    """Measure and return the figures as ``{name, value, unit, target, note}`` rows."""
    load_before = os.getloadavg()[0]
    single = workload(SINGLE_EVENTS)
    many = workload(BATCH_EVENTS)
    jobs: dict[str, Job] = {
        "single_full": OneCommitPerEvent(single, "FULL"),
        "single_normal": OneCommitPerEvent(single, "NORMAL"),
        "batched_100": Batched(many, "FULL", 100),
        "batched_1000": Batched(many, "FULL", 1000),
        "batched_1000_normal": Batched(many, "NORMAL", 1000),
        "writer": WriterTasks(many, "FULL", WRITER_TASKS),
    }
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    order = list(jobs)
    for round_ in range(ROUNDS):
        for name in order if round_ % 2 == 0 else reversed(order):
            samples[name].append(_timed(jobs[name]))
    rate = {name: len(jobs[name].events) / statistics.median(samples[name]) for name in jobs}
    load_after = os.getloadavg()[0]
    verify_rate = _verify_rate(many)
    codec = _codec_rates(workload(CODEC_EVENTS))
    thread = _thread_commits()
    switch_ms = sys.getswitchinterval() * 1000
    cpus = os.cpu_count()
    load = f"1-min load average {load_before:.1f} before, {load_after:.1f} after, {cpus} CPUs"
    rounds = f"median of {ROUNDS} rounds, alternating order; {load}"
    return [
        {
            "name": "store_append_one_commit_per_event",
            "value": round(rate["single_full"]),
            "unit": "events/s",
            "target": None,
            "note": f"{SINGLE_EVENTS} events, append([event]) each: one fsynced commit per event "
            f"(WAL, synchronous=FULL); {rounds}",
        },
        {
            "name": "store_append_one_commit_per_event_normal",
            "value": round(rate["single_normal"]),
            "unit": "events/s",
            "target": None,
            "note": "as above with synchronous=NORMAL (no fsync per commit: survives a killed "
            "process, not a power cut)",
        },
        {
            "name": "store_append_batched_100",
            "value": round(rate["batched_100"]),
            "unit": "events/s",
            "target": None,
            "note": f"{BATCH_EVENTS} events, append() of 100 per transaction; synchronous=FULL",
        },
        {
            "name": "store_append_batched_1000",
            "value": round(rate["batched_1000"]),
            "unit": "events/s",
            "target": ">= 20000",
            "note": f"{BATCH_EVENTS} events, append() of 1000 per transaction; synchronous=FULL; "
            f"encoding + hashing + writing timed; {rounds}",
        },
        {
            "name": "store_append_batched_1000_normal",
            "value": round(rate["batched_1000_normal"]),
            "unit": "events/s",
            "target": None,
            "note": "as above with synchronous=NORMAL, for the cost of the fsync per commit",
        },
        {
            "name": "store_append_async_writer",
            "value": round(rate["writer"]),
            "unit": "events/s",
            "target": None,
            "note": f"{WRITER_TASKS} asyncio tasks each awaiting writer.append(6 events) in turn; "
            f"group commit made {jobs['writer'].commits} commits for "
            f"{BATCH_EVENTS // 6} calls; synchronous=FULL",
        },
        {
            "name": "store_batched_speedup",
            "value": round(rate["batched_1000"] / rate["single_full"], 1),
            "unit": "x",
            "target": None,
            "note": "batched (1000) / one commit per event, both synchronous=FULL",
        },
        {
            "name": "store_verify",
            "value": round(verify_rate),
            "unit": "rows/s",
            "target": None,
            "note": f"verify() over {BATCH_EVENTS} rows (one snapshot, streamed)",
        },
        {
            "name": "codec_encode",
            "value": round(codec["encode"]),
            "unit": "events/CPU-s",
            "target": None,
            "note": f"canonical_text(event), the payload text an append hashes and writes "
            f"(canonical format 2, msgspec), over {CODEC_EVENTS} bench events; thread CPU time, "
            f"median of {ROUNDS}",
        },
        {
            "name": "codec_encode_events",
            "value": round(codec["encode_events"]),
            "unit": "events/CPU-s",
            "target": None,
            "note": "the store's whole pre-lock step: payload, canonical text, envelope pieces",
        },
        {
            "name": "codec_decode",
            "value": round(codec["decode"]),
            "unit": "events/CPU-s",
            "target": None,
            "note": "from_record() of payloads read back as JSON, as replay at start-up does",
        },
        {
            "name": "store_append_thread_solo_multirow",
            "value": round(thread["multirow_solo"], 1),
            "unit": "µs/row",
            "target": None,
            "note": f"append_encoded() of {THREAD_ROWS} encoded events (hash, insert, fsynced "
            "commit) on a worker thread, main thread idle; the store's multi-row INSERT "
            f"({sql._DriverInsert.ROWS_PER_STATEMENT} rows a statement); median of {THREAD_ROUNDS}",
        },
        {
            "name": "store_append_thread_solo_executemany",
            "value": round(thread["executemany_solo"], 1),
            "unit": "µs/row",
            "target": None,
            "note": "as above with the same single-row INSERT sent through executemany (the "
            "store's multi-row switch turned off)",
        },
        {
            "name": "store_append_thread_busy_loop_multirow",
            "value": round(thread["multirow_busy"], 1),
            "unit": "µs/row",
            "target": None,
            "note": f"multi-row, {THREAD_ROWS} events, while the main thread spins in a "
            "pure-Python loop until the commit ends (an event loop busy with decisions); "
            f"GIL switch interval {switch_ms:g} ms",
        },
        {
            "name": "store_append_thread_busy_loop_executemany",
            "value": round(thread["executemany_busy"], 1),
            "unit": "µs/row",
            "target": None,
            "note": f"executemany under the same busy loop; only {THREAD_ROWS_EXECUTEMANY_BUSY} "
            f"events, as every row waits for the GIL (at {THREAD_ROWS} a round would take "
            "seconds); the commit's fixed waits (BEGIN, head, fsync) weigh a little more per row",
        },
        {
            "name": "store_append_thread_busy_loop_ratio",
            "value": round(thread["executemany_busy"] / thread["multirow_busy"], 1),
            "unit": "x",
            "target": None,
            "note": "executemany / multi-row µs per row, both with the main thread busy",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
