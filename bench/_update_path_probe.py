"""One measurement of one version of orderdesk, for ``bench_update_path``, in a process of its own.

``bench/bench_update_path.py`` runs this file as ``python bench/_update_path_probe.py MEASURE
ARGS_JSON`` with ``PYTHONPATH=<tree>/src:<tree>``, once per version and round, and reads the
last line it prints (``RESULT {...}``). The same file measures the version before issue 14
(``b786ff2``) and the current one, so it uses only what both have: ``OrderDesk``, the Kite
adapter, the simulator, and the engine tests' fakes and scenario harness. The one difference,
where the stream's order updates enter the desk, is :func:`_entry`.

Measures:

- ``updates``: bench_engine's "order updates applied" workload, unchanged (2,000 orders × 5
  reports, 4 of them with a trade read, SQLite WAL + group commit, collector settled);
- ``wire``: submit() until the placement's request is written by the Kite adapter, first with
  nothing else going on, then while a stream of 2,000 order updates/s enters the desk, a
  quarter of them showing a fill the desk has no trade for (the desk reads it from the
  simulator over REST); the simulator runs in its own process, as Kite does, and the desk's
  collector is settled after start as ``orderdesk run`` does;
- ``ticks``: a price change in the simulator (in this process) until its ``PriceTick`` leaves
  ``KiteBroker.events()`` on its way into a running desk, while one order fills a little at a
  time (each fill a report whose trades must be read), without and with the simulator's
  ``latency_ms`` fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import inspect
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

MAIN = Path(__file__).resolve().parent.parent
TREE = Path(os.environ.get("UPDATE_PATH_TREE", str(MAIN))).resolve()
if TREE != MAIN:
    # The venv's editable install puts the main tree's src/ on the path too; a module the
    # measured tree lacks must fail, not be taken from the other version.
    sys.path = [p for p in sys.path if Path(p or ".").resolve() != MAIN / "src"]

import aiohttp  # noqa: E402 - after the path is settled

import orderdesk  # noqa: E402
from orderdesk.brokers.kite import KiteBroker, load_config  # noqa: E402
from orderdesk.domain import BrokerStatus, Fill, OrderType, Product, Side, Signal  # noqa: E402
from orderdesk.domain.values import InstrumentKey  # noqa: E402
from orderdesk.engine import DeskConfig, OrderDesk  # noqa: E402
from orderdesk.heap import settle_after_start  # noqa: E402
from orderdesk.ports.broker import PriceTick  # noqa: E402
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier  # noqa: E402
from tests.scenarios.harness import DictSecrets, SimAddress, kite_options, running_sim  # noqa: E402

INFY = InstrumentKey.parse("NSE:INFY")
SBIN = InstrumentKey.parse("NSE:SBIN")

Put = Callable[[Any], Coroutine[Any, Any, None]]
Idle = Callable[[], Coroutine[Any, Any, None]]


def _entry(desk: OrderDesk) -> tuple[Put, Idle, str]:
    """Where the broker stream's order updates enter the desk, and how to wait for them.

    After issue 14: ``desk.news.put`` and ``desk.idle()``. Before: ``desk.tracker.dispatch``
    and ``desk.tracker.idle()`` (the tracker's stream loop called the same).
    """
    news = getattr(desk, "news", None)
    idle = getattr(desk, "idle", None)
    if news is not None and idle is not None:
        return news.put, idle, "desk.news.put"
    tracker: Any = desk.tracker
    return tracker.dispatch, tracker.idle, "desk.tracker.dispatch"


def _config(**wanted: Any) -> DeskConfig:
    """A DeskConfig with those of ``wanted`` this version knows."""
    known = {f.name for f in dataclasses.fields(DeskConfig)}
    return DeskConfig(**{k: v for k, v in wanted.items() if k in known})


QUIET = _config(
    reconcile_interval=None,
    poll_interval=3600,
    first_look=3600,
    quiet_after=3600,
    load_instruments=False,
)


def _signal(
    i: int,
    *,
    instrument: InstrumentKey = INFY,
    quantity: int = 1,
    price: Decimal = Decimal("1500"),
    prefix: str = "b",
) -> Signal:
    return Signal(
        instrument=instrument,
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        price=price,
        product=Product.MIS,
        signal_id=f"{prefix}{i}",
    )


class _IndexedStore(MemoryStore):
    """The engine tests' memory store, with a stream's rows found without a scan.

    ``submit()`` asks the log whether its order id was used before (``read(stream=...)``); the
    test store answers by walking every row, which SQLite does not (an index), so with the
    2,500 orders a run holds it would measure the fake store, not the desk.
    """

    def __init__(self) -> None:
        super().__init__()
        self._streams: dict[str, list[Any]] = {}

    def append(self, events: Sequence[Any]) -> list[Any]:
        rows: list[Any] = super().append(events)
        for row in rows:
            self._streams.setdefault(row.stream, []).append(row)
        return rows

    def read(
        self,
        *,
        stream: str | None = None,
        kind: str | None = None,
        after: int = 0,
        before: int | None = None,
    ) -> Iterator[Any]:
        if stream is None:
            yield from super().read(kind=kind, after=after, before=before)
            return
        for row in list(self._streams.get(stream, ())):
            if (
                row.seq > after
                and (before is None or row.seq < before)
                and (kind is None or row.type == kind)
            ):
                yield row


def _percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (values may hold ``inf`` for what never arrived)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


# -- updates: bench_engine's "order updates applied" -------------------------------------------

UPDATE_ORDERS = 2000
UPDATES_PER_ORDER = 5


class _TradeBook(FakeBroker):
    """Answers ``order_trades`` from an index, as a broker's per-order trade book does."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.by_order: dict[str, list[Fill]] = {}

    def add_trade(self, broker_order_id: str, trade_id: str, quantity: int) -> None:
        report = self.book[broker_order_id].report
        self.by_order.setdefault(broker_order_id, []).append(
            Fill(
                trade_id=trade_id,
                broker_order_id=broker_order_id,
                instrument=report.instrument,
                side=report.side,
                product=report.product,
                quantity=quantity,
                price=Decimal("1500"),
            )
        )

    async def order_trades(self, broker_order_id: str) -> list[Fill]:
        return list(self.by_order.get(broker_order_id, ()))


class _GcPauses:
    """Times the collector's passes through ``gc.callbacks`` while the block runs."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.total = 0.0
        self.passes = 0
        self._started = 0.0

    def _callback(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            took = time.perf_counter() - self._started
            self.longest = max(self.longest, took)
            self.total += took
            self.passes += 1

    def __enter__(self) -> _GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._callback)


async def _updates(tmp: Path) -> dict[str, Any]:
    from orderdesk.store import AsyncEventWriter, SqlEventStore

    store = SqlEventStore.open(tmp / "bench.db")
    writer = AsyncEventWriter(store)
    broker = _TradeBook(stream_muted=True, fill_market=False)
    desk = OrderDesk(broker, store, writer=writer, notifier=RecordingNotifier(), config=QUIET)
    async with desk:
        put, idle, entry = _entry(desk)
        settle_after_start()  # as `orderdesk run` does once the desk has started
        handles = await asyncio.gather(
            *(desk.submit(_signal(i, quantity=4)) for i in range(UPDATE_ORDERS))
        )
        reports = [broker.report(h.broker_order_ids[0]) for h in handles]
        waves = [
            [
                dataclasses.replace(r, status=BrokerStatus.OPEN, broker_status_text="OPEN")
                for r in reports
            ]
        ]
        for r in reports:
            for n in range(1, UPDATES_PER_ORDER):
                broker.add_trade(r.broker_order_id, f"{r.broker_order_id}-{n}", 1)
        for filled in range(1, UPDATES_PER_ORDER):
            status = BrokerStatus.COMPLETE if filled == 4 else BrokerStatus.OPEN
            waves.append(
                [
                    dataclasses.replace(
                        r, filled_quantity=filled, pending_quantity=4 - filled, status=status
                    )
                    for r in reports
                ]
            )
        with _GcPauses() as pauses:
            cpu = time.process_time()
            started = time.perf_counter()
            for wave in waves:
                for report in wave:  # as the stream delivers them: one after another
                    await put(report)
            await idle()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
        assert all(h.order.fill_quantity == 4 for h in handles), "fills were not recorded"
    await writer.aclose()
    store.close()
    updates = UPDATE_ORDERS * UPDATES_PER_ORDER
    return {
        "rate": updates / elapsed,
        "per_cpu_second": updates / cpu,
        "longest_pause_ms": pauses.longest * 1e3,
        "entry": entry,
    }


def _run_updates(_args: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_updates(Path(tmp)))


# -- wire: signal → request on the wire, quiet and with a stream flowing -----------------------

WIRE_SIGNALS = 1000
WARM_SIGNALS = 50
STREAM_RATE = 2000.0
"""Order updates per second entering the desk while signals are measured."""
STREAM_ORDERS = 2500
"""Orders the stream is about: four updates each, so 10,000 updates, 5 s at 2,000/s."""
STREAM_BLOCK = 100
"""Orders whose updates are interleaved: a block's RECEIVED, then its OPEN, ... (as a stream
of many orders moving at once delivers them)."""


class _SimControl:
    """The simulator's loopback control routes, over plain aiohttp (not the adapter)."""

    def __init__(self, session: aiohttp.ClientSession, root: str) -> None:
        self._session = session
        self._root = root

    async def post(self, path: str, body: dict[str, Any]) -> None:
        async with self._session.post(self._root + path, json=body) as reply:
            reply.raise_for_status()


Seen = Callable[[str, str], None]
"""(method, path) of one HTTP exchange of the Kite adapter's REST client."""


class _Trace:
    """The REST client's wire trace (this tree's ``orderdesk.wire.Trace``)."""

    def __init__(self, on_written: Seen | None, on_answered: Seen | None) -> None:
        self._on_written = on_written
        self._on_answered = on_answered

    def written(self, method: str, target: str) -> None:
        if self._on_written is not None:
            self._on_written(method, target.split("?", 1)[0])

    def answered(self, method: str, target: str, status: int) -> None:
        if self._on_answered is not None:
            self._on_answered(method, target.split("?", 1)[0])


def _traced(on_written: Seen | None, on_answered: Seen | None) -> dict[str, Any]:
    """KiteBroker's keyword that observes REST: ``trace`` where REST has its own wire, an
    aiohttp session with trace hooks in the versions before it (``session_factory``)."""
    if "trace" in inspect.signature(KiteBroker.__init__).parameters:
        return {"trace": _Trace(on_written, on_answered)}

    async def chunk_sent(session: Any, context: Any, params: Any) -> None:
        if on_written is not None:
            on_written(params.method, params.url.path)

    async def request_end(session: Any, context: Any, params: Any) -> None:
        if on_answered is not None:
            on_answered(params.method, params.url.path)

    trace = aiohttp.TraceConfig()
    trace.on_request_chunk_sent.append(chunk_sent)
    trace.on_request_end.append(request_end)
    return {"session_factory": lambda: aiohttp.ClientSession(trace_configs=[trace])}


async def _wire(args: dict[str, Any]) -> dict[str, Any]:
    address = SimAddress(**args["sim"])
    written: dict[str, float] = {}
    reads = [0]
    unsent: list[str] = []

    def on_written(method: str, path: str) -> None:
        if method == "POST" and path.startswith("/orders/"):
            written.setdefault("last", time.perf_counter())

    def on_answered(method: str, path: str) -> None:
        if method == "GET" and path.endswith("/trades"):
            reads[0] += 1

    async with aiohttp.ClientSession() as plain:
        control = _SimControl(plain, address.rest_root)
        await control.post("/_sim/reset", {})
        # Polled (every 300 s, the first at start) instead of streamed: the simulator's own
        # pushes would bring the fills the measured stream is to bring.
        options = kite_options(
            address, rate_limits_enabled=False, stream="poll", poll_interval_seconds=300
        )
        broker = KiteBroker(
            load_config(options),
            DictSecrets({"kite.access_token": address.access_token}),
            **_traced(on_written, on_answered),
        )
        async with OrderDesk(
            broker, _IndexedStore(), notifier=RecordingNotifier(), config=QUIET
        ) as desk:
            put, idle, entry = _entry(desk)
            settle_after_start()  # as `orderdesk run` does once the desk has started

            async def measure(
                count: int, prefix: str, until: asyncio.Task[Any] | None
            ) -> list[float]:
                latencies = []
                for i in range(count):
                    if until is not None and until.done():
                        break
                    signal = _signal(i, price=Decimal("500"), prefix=prefix)  # rests
                    written.clear()
                    started = time.perf_counter()
                    handle = await desk.submit(signal)
                    # A placement whose request was never written (its outcome unknown, say)
                    # counts as never arriving.
                    latencies.append(written.get("last", math.inf) - started)
                    if "last" not in written:
                        unsent.append(f"{handle.order.status}")
                return latencies

            # The orders the stream is about: SBIN buys that rest, then fill at the simulator
            # while the desk is not looking (one trade each, there to be read).
            handles = []
            for start in range(0, STREAM_ORDERS, 50):
                handles += await asyncio.gather(
                    *(
                        desk.submit(_signal(i, instrument=SBIN, price=Decimal("800"), prefix="s"))
                        for i in range(start, min(start + 50, STREAM_ORDERS))
                    )
                )
            ids = [h.broker_order_ids[0] for h in handles]
            opened = {r.broker_order_id: r for r in await broker.orders()}
            await control.post("/_sim/prices", {"NSE:SBIN": 790.0})
            await control.post("/_sim/prices", {"NSE:SBIN": 850.0})
            done = {r.broker_order_id: r for r in await broker.orders()}
            assert all(done[i].status is BrokerStatus.COMPLETE for i in ids), "not filled"
            stream: list[Any] = []
            for start in range(0, len(ids), STREAM_BLOCK):
                block = ids[start : start + STREAM_BLOCK]
                stream += [
                    dataclasses.replace(
                        opened[i], status=BrokerStatus.RECEIVED, broker_status_text="OPEN PENDING"
                    )
                    for i in block
                ]
                stream += [opened[i] for i in block]
                stream += [opened[i] for i in block]  # said twice (socket and postback)
                stream += [done[i] for i in block]  # filled: its trade is read
            reads_before = reads[0]

            await measure(WARM_SIGNALS, "w", None)
            cpu, clock = time.process_time(), time.perf_counter()
            quiet = await measure(WIRE_SIGNALS, "q", None)
            quiet_busy = (time.process_time() - cpu) / (time.perf_counter() - clock)

            loop = asyncio.get_running_loop()
            sent = [0]

            async def feed() -> None:
                begun = loop.time()
                while sent[0] < len(stream):
                    due = min(len(stream), int(STREAM_RATE * (loop.time() - begun)) + 1)
                    while sent[0] < due:
                        await put(stream[sent[0]])
                        sent[0] += 1
                    await asyncio.sleep(0.002)

            feeder = loop.create_task(feed())
            await asyncio.sleep(0.25)  # the stream reaches its pace, trade reads in flight
            sent_at, reads_at, clock_at = sent[0], reads[0], time.perf_counter()
            cpu = time.process_time()
            with _GcPauses() as pauses:
                loaded = await measure(WIRE_SIGNALS, "l", feeder)
            window = time.perf_counter() - clock_at
            loaded_busy = (time.process_time() - cpu) / window
            stream_rate = (sent[0] - sent_at) / window
            read_rate = (reads[0] - reads_at) / window
            exhausted = feeder.done()
            await feeder
            await idle()
            filled = sum(1 for h in handles if h.order.fill_quantity == 1)
    return {
        "quiet_p50_us": _percentile(quiet, 50) * 1e6,
        "quiet_p99_us": _percentile(quiet, 99) * 1e6,
        "loaded_p50_us": _percentile(loaded, 50) * 1e6,
        "loaded_p99_us": _percentile(loaded, 99) * 1e6,
        "loaded_n": len(loaded),
        "quiet_cpu_share": quiet_busy,
        "loaded_cpu_share": loaded_busy,
        "unsent": unsent,
        "gc_longest_ms": pauses.longest * 1e3,
        "gc_share": pauses.total / window,
        "stream_rate": stream_rate,
        "read_rate": read_rate,
        "stream_exhausted": exhausted,
        "stream_updates": len(stream),
        "trade_reads": reads[0] - reads_before,
        "fills_recorded": filled,
        "entry": entry,
    }


def _run_wire(args: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_wire(args))


# -- ticks: price change → PriceTick out of KiteBroker.events(), trade reads slow or not --------

TICKS = 150
TICK_EVERY = 0.02
FILL_EVERY = 12
"""Ticks between two fills of the working order: one report with a trade to read every 0.24 s."""
WARM_TICKS = 20
DRAIN = 3.0
"""Seconds after a phase's last price change that a tick may still arrive; later is lost."""
LATENCIES_MS = (0.0, 200.0)


class _StampedKite(KiteBroker):
    """The Kite adapter, noting when each price tick leaves :meth:`events`."""

    def __init__(self, *args: Any, on_tick: Callable[[PriceTick], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_tick = on_tick

    async def events(self) -> Any:
        async for event in super().events():
            if isinstance(event, PriceTick):
                self._on_tick(event)
            yield event


class _Arrivals:
    """When each INFY price reached the desk's stream, and a wake-up once all expected have."""

    def __init__(self) -> None:
        self.token = 0
        self.at: dict[int, float] = {}
        """Perf-counter time by price in paise (the first tick at that price)."""
        self._expected: set[int] = set()
        self._all_in = asyncio.Event()

    def on_tick(self, tick: PriceTick) -> None:
        if tick.instrument_token == self.token:
            paise = round(tick.last_price * 100)
            self.at.setdefault(paise, time.perf_counter())
            self._expected.discard(paise)
            if not self._expected:
                self._all_in.set()

    def expect(self, prices: set[int]) -> None:
        self._expected = prices - set(self.at)
        if self._expected:
            self._all_in.clear()
        else:
            self._all_in.set()

    async def wait(self, seconds: float) -> None:
        """Until every expected price has arrived, or ``seconds`` have passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._all_in.wait()


async def _ticks(args: dict[str, Any]) -> dict[str, Any]:
    arrivals = _Arrivals()
    reads = [0]

    def on_answered(method: str, path: str) -> None:
        if method == "GET" and path.endswith("/trades"):
            reads[0] += 1

    async with running_sim(seed=7, rate_limits=False) as (sim, address):
        broker = _StampedKite(
            load_config(kite_options(address, rate_limits_enabled=False)),
            DictSecrets({"kite.access_token": address.access_token}),
            **_traced(None, on_answered),
            on_tick=arrivals.on_tick,
        )
        async with OrderDesk(
            broker, _IndexedStore(), notifier=RecordingNotifier(), config=QUIET
        ) as desk:
            _, idle, _ = _entry(desk)
            settle_after_start()
            info = await broker.rest.instrument(INFY)
            assert info is not None
            arrivals.token = info.instrument_token
            await broker.subscribe_prices([INFY])
            handle = await desk.submit(
                _signal(0, instrument=SBIN, quantity=2000, price=Decimal("800"), prefix="t")
            )
            sim.faults.partial_fill = 0.01  # each pass fills a little: one report each
            price = [140000]  # INFY in paise, one step up per change: every tick is unique
            sbin = [79000]

            async def phase(ticks: int) -> tuple[list[float], int, int]:
                sent: dict[int, float] = {}
                reads_at, filled_at = reads[0], handle.order.filled_quantity
                loop = asyncio.get_running_loop()
                begun = loop.time()
                for i in range(ticks):
                    await asyncio.sleep(max(0.0, begun + i * TICK_EVERY - loop.time()))
                    if i % FILL_EVERY == FILL_EVERY // 2:
                        sbin[0] -= 5
                        sim.market.set_prices({"NSE:SBIN": sbin[0] / 100})
                    price[0] += 5
                    sent[price[0]] = time.perf_counter()
                    sim.market.set_prices({"NSE:INFY": price[0] / 100})
                arrivals.expect(set(sent))
                await arrivals.wait(DRAIN)
                latencies = [arrivals.at.get(p, math.inf) - t for p, t in sent.items()]
                await idle()
                return latencies, reads[0] - reads_at, handle.order.filled_quantity - filled_at

            price[0] += 5
            arrivals.expect({price[0]})
            sim.market.set_prices({"NSE:INFY": price[0] / 100})
            await arrivals.wait(10.0)  # the subscription is live
            await phase(WARM_TICKS)
            phases: dict[str, Any] = {}
            for latency_ms in LATENCIES_MS:
                sim.faults.latency_ms = latency_ms
                latencies, phase_reads, filled = await phase(TICKS)
                sim.faults.latency_ms = 0.0
                await asyncio.sleep(0.5)  # reads of the phase finish before the next begins
                phases[f"{latency_ms:g}"] = {
                    "p50_ms": _percentile(latencies, 50) * 1e3,
                    "p90_ms": _percentile(latencies, 90) * 1e3,
                    "p99_ms": _percentile(latencies, 99) * 1e3,
                    "max_ms": max(latencies) * 1e3,
                    "lost": sum(1 for v in latencies if math.isinf(v)),
                    "ticks": len(latencies),
                    "trade_reads": phase_reads,
                    "filled": filled,
                }
    return {"phases": phases}


def _run_ticks(args: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_ticks(args))


MEASURES = {"updates": _run_updates, "wire": _run_wire, "ticks": _run_ticks}


def main(argv: list[str]) -> int:
    import logging

    logging.getLogger("orderdesk").setLevel(logging.ERROR)
    where = Path(orderdesk.__file__).resolve()
    if not where.is_relative_to(TREE):
        raise SystemExit(f"orderdesk came from {where}, not from the tree measured ({TREE})")
    measure, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    result = MEASURES[measure](args)
    result["orderdesk"] = str(where.parent)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
