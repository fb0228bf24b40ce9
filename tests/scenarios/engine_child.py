"""An engine process for the crash scenarios: submit ``sig-0 .. sig-(N-1)`` and see them done.

``python -m tests.scenarios.engine_child STORE COUNT [DATA_DIR [WINDOW]]`` with the simulator's
address as JSON on stdin; STORE is an SQLite file's path or a store URL
(``postgresql+psycopg://...``) and DATA_DIR the adapter's folder (by default the SQLite file's;
a URL needs one). WINDOW, in seconds, is the desk's ``late_order_window`` (the ambiguous-reply
scenario's simulator creates orders late; by default the scenario config's). Every run
submits the same signals with the same ids against the same log, so a
run after a crash finds what the killed one recorded and places nothing twice; it writes
nothing but the log. It exits 0 once every order is final and a reconciliation has run, so
the log alone agrees with the broker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

from orderdesk.domain import OrderType, Product, Side, Signal
from orderdesk.domain.values import InstrumentKey
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import SCENARIO_CONFIG, SimAddress, open_desk

SYMBOLS = ("INFY", "RELIANCE", "TCS", "SBIN", "ITC")
CONCURRENCY = 8


def crash_signal(i: int) -> Signal:
    """Signal ``i``: a small market order, buys and sells alternating per round of names."""
    return Signal(
        instrument=InstrumentKey.parse(f"NSE:{SYMBOLS[i % len(SYMBOLS)]}"),
        side=Side.BUY if (i // len(SYMBOLS)) % 2 == 0 else Side.SELL,
        quantity=1 + i % 4,
        order_type=OrderType.MARKET,
        product=Product.MIS,
        strategy="crash",
        signal_id=f"sig-{i}",
    )


def locate(store: str, data_dir: Path | None) -> tuple[str, Path]:
    """The store URL and the adapter's folder from the command line's STORE and DATA_DIR."""
    if "://" not in store:
        return sqlite_url(Path(store)), data_dir or Path(store).parent
    if data_dir is None:
        raise SystemExit("a store URL needs a DATA_DIR")
    return store, data_dir


async def run(
    store_url: str, data_dir: Path, count: int, sim: SimAddress, window: float | None = None
) -> None:
    config = (
        SCENARIO_CONFIG if window is None else replace(SCENARIO_CONFIG, late_order_window=window)
    )
    # The simulator's limits are off, so the adapter's are too: 200 orders at Kite's 10/s
    # (and two trade reads per fill at 10/s) would be most of the scenario's time budget.
    async with open_desk(
        sim, store_url, data_dir, config=config, rate_limits_enabled=False
    ) as desk:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> None:
            async with gate:
                handle = await desk.submit(crash_signal(i))
            await handle.wait(timeout=60)

        await asyncio.gather(*(one(i) for i in range(count)))
        await desk.news.idle()
        await desk.reconcile()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    address = SimAddress(**json.loads(sys.stdin.readline()))
    store_url, data_dir = locate(sys.argv[1], Path(sys.argv[3]) if len(sys.argv) > 3 else None)
    window = float(sys.argv[4]) if len(sys.argv) > 4 else None
    asyncio.run(run(store_url, data_dir, int(sys.argv[2]), address, window))
