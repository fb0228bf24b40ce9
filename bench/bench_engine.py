"""The order engine's own costs: intake to the broker call, updates applied, reconciliation.

- **signal → broker call**: from ``desk.submit()`` to the moment the engine hands the request
  to the broker port (risk gate, id derivation, the intent appended to the log, the state
  machine). The broker here answers at once, so this is the engine's overhead alone; the Kite
  adapter's own cost on the wire is measured by its benchmarks.
- **order updates applied per second**: broker reports through ``order.on_report``, the store
  and ``order.apply``, with many orders updating concurrently over the durable SQLite store and
  its group-commit writer (falls back to memory if the store package is absent).
- **reconciliation CPU**: 3,000 orders and 3,000 trades, fetched books in hand, reconciled
  against a desk that missed every update (the worst case), measured in process CPU time.

Run with ``.venv/bin/python -m bench engine`` (or ``PYTHONPATH=. .venv/bin/python
bench/bench_engine.py``); it borrows the engine tests' fake broker.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from orderdesk.domain import BrokerStatus, OrderType, Product, Side, Signal
from orderdesk.engine import DeskConfig, OrderDesk
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier

SIGNALS = 2000
UPDATE_ORDERS = 2000
UPDATES_PER_ORDER = 5
RECONCILE_ORDERS = 3000
QUIET = DeskConfig(reconcile_interval=None, poll_interval=3600, load_instruments=False)


def _signal(i: int, quantity: int = 1) -> Signal:
    return Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        price=Decimal("1500"),
        product=Product.MIS,
        signal_id=f"b{i}",
    )


class _StampingBroker(FakeBroker):
    """Notes when the engine calls ``place_order`` and answers without matching."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.stamps: dict[str, float] = {}
        self.stream_muted = True

    async def place_order(self, command: Any) -> str:
        self.stamps[command.client_order_id] = time.perf_counter()
        return await super().place_order(command)


def _stores(tmp: Path) -> tuple[Any, Any, str]:
    try:
        from orderdesk.store import AsyncEventWriter, SqlEventStore
    except ImportError:
        return MemoryStore(), None, "memory store (orderdesk.store not installed)"
    store = SqlEventStore.open(tmp / "bench.db")
    return store, AsyncEventWriter(store), "SQLite WAL, synchronous=FULL, group commit"


async def _wire_overhead() -> list[float]:
    broker = _StampingBroker()
    async with OrderDesk(broker, MemoryStore(), notifier=RecordingNotifier(), config=QUIET) as desk:
        latencies = []
        for i in range(SIGNALS):
            signal = _signal(i)
            started = time.perf_counter()
            await desk.submit(signal)
            order_id = desk.orders()[-1].order_id
            latencies.append(broker.stamps[order_id] - started)
    return latencies


async def _updates(tmp: Path) -> tuple[float, str]:
    store, writer, kind = _stores(tmp)
    broker = FakeBroker(stream_muted=True, fill_market=False)
    desk = OrderDesk(broker, store, writer=writer, notifier=RecordingNotifier(), config=QUIET)
    async with desk:
        handles = await asyncio.gather(
            *(desk.submit(_signal(i, quantity=4)) for i in range(UPDATE_ORDERS))
        )
        reports = [broker.report(h.broker_order_ids[0]) for h in handles]
        # Five distinct pieces of news per order: open, then four partial fills up to complete.
        waves = [[replace(r, status=BrokerStatus.OPEN, broker_status_text="OPEN") for r in reports]]
        for filled in range(1, UPDATES_PER_ORDER):
            status = BrokerStatus.COMPLETE if filled == 4 else BrokerStatus.OPEN
            waves.append(
                [
                    replace(
                        r,
                        filled_quantity=filled,
                        pending_quantity=4 - filled,
                        status=status,
                    )
                    for r in reports
                ]
            )
        started = time.perf_counter()
        for wave in waves:
            for report in wave:  # as the stream delivers them: one after another
                await desk.tracker.dispatch(report)
        await desk.tracker.idle()
        elapsed = time.perf_counter() - started
    if writer is not None:
        await writer.aclose()
    store.close()
    return UPDATE_ORDERS * UPDATES_PER_ORDER / elapsed, kind


async def _reconcile() -> tuple[float, float]:
    broker = FakeBroker(stream_muted=True, fill_market=False)
    store = MemoryStore()
    async with OrderDesk(broker, store, notifier=RecordingNotifier(), config=QUIET) as desk:
        logging.getLogger("orderdesk").setLevel(logging.ERROR)
        await asyncio.gather(*(desk.submit(_signal(i)) for i in range(RECONCILE_ORDERS)))
        for broker_order_id in list(broker.book):
            broker.fill(broker_order_id)
        reports = await broker.orders()
        trades = await broker.trades()
        positions = await broker.positions()
        cpu = time.process_time()
        report = await desk.reconciler.apply(reports, trades, positions)
        cpu = time.process_time() - cpu
        assert len(report.rows) == 2 * RECONCILE_ORDERS, len(report.rows)
        # A second pass over books that now agree: the steady-state timer cost.
        steady = time.process_time()
        again = await desk.reconciler.apply(reports, trades, positions)
        steady = time.process_time() - steady
        assert again.ok
    return cpu, steady


def run() -> list[dict[str, Any]]:
    logging.getLogger("orderdesk").setLevel(logging.ERROR)
    latencies = asyncio.run(_wire_overhead())
    cuts = statistics.quantiles(latencies, n=100)
    with tempfile.TemporaryDirectory() as tmp:
        rate, store_kind = asyncio.run(_updates(Path(tmp)))
    cpu, steady = asyncio.run(_reconcile())
    return [
        {
            "name": "signal → broker call, p50",
            "value": round(cuts[49] * 1e6, 1),
            "unit": "µs",
            "target": "< 1000",
            "note": f"{SIGNALS} sequential limit signals, memory store, default risk gate",
        },
        {
            "name": "signal → broker call, p99",
            "value": round(cuts[98] * 1e6, 1),
            "unit": "µs",
            "target": None,
            "note": "same run",
        },
        {
            "name": "order updates applied",
            "value": round(rate),
            "unit": "updates/s",
            "target": ">= 20000",
            "note": f"{UPDATE_ORDERS} orders × {UPDATES_PER_ORDER} reports, {store_kind}",
        },
        {
            "name": "reconcile 3,000 orders + 3,000 trades (all missed)",
            "value": round(cpu, 3),
            "unit": "s CPU",
            "target": "< 0.5",
            "note": "books already fetched; 6,000 mismatches recorded and alerted",
        },
        {
            "name": "reconcile 3,000 orders + 3,000 trades (in agreement)",
            "value": round(steady, 3),
            "unit": "s CPU",
            "target": "< 0.5",
            "note": "the timer's usual pass",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(
            f"{row['name']}: {row['value']} {row['unit']} (target {row['target']}) — {row['note']}"
        )
