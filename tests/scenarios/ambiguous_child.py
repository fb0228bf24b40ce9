"""An engine process for the ambiguous-reply scenario: submit ``amb-0 .. amb-(N-1)``, see them
done.

``python -m tests.scenarios.ambiguous_child STORE COUNT DATA_DIR WINDOW`` with the simulator's
address as JSON on stdin (as :mod:`tests.scenarios.engine_child`, whose store and folder rules it
shares). WINDOW is the desk's ``late_order_window`` in seconds: the scenario's simulator delays
its late orders by less than that, as Kite's "seconds later" is less than the default. Every run
submits the same signals with the same ids against the same log, so a run after a SIGKILL
finds what the killed one recorded; it exits 0 once every order is final and reconciled.
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
from tests.scenarios.engine_child import locate
from tests.scenarios.harness import SCENARIO_CONFIG, SimAddress, open_desk

SYMBOLS = ("INFY", "RELIANCE", "TCS", "SBIN", "ITC", "WIPRO")
CONCURRENCY = 8


def ambiguous_signal(i: int) -> Signal:
    """Signal ``i``: a small market order, buys and sells alternating per round of names."""
    return Signal(
        instrument=InstrumentKey.parse(f"NSE:{SYMBOLS[i % len(SYMBOLS)]}"),
        side=Side.BUY if (i // len(SYMBOLS)) % 2 == 0 else Side.SELL,
        quantity=1 + i % 3,
        order_type=OrderType.MARKET,
        product=Product.MIS,
        strategy="amb",
        signal_id=f"amb-{i}",
    )


async def run(store_url: str, data_dir: Path, count: int, window: float, sim: SimAddress) -> None:
    config = replace(SCENARIO_CONFIG, late_order_window=window)
    # The simulator's limits are off, so the adapter's are too (as in the crash scenario).
    async with open_desk(
        sim, store_url, data_dir, config=config, rate_limits_enabled=False
    ) as desk:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> None:
            async with gate:
                handle = await desk.submit(ambiguous_signal(i))
            await handle.wait(timeout=120)

        await asyncio.gather(*(one(i) for i in range(count)))
        await desk.news.idle()
        await desk.reconcile()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    address = SimAddress(**json.loads(sys.stdin.readline()))
    store_url, data_dir = locate(sys.argv[1], Path(sys.argv[3]))
    asyncio.run(run(store_url, data_dir, int(sys.argv[2]), float(sys.argv[4]), address))
