"""A strategy that embeds the desk: one process runs the desk and trades through it.

This process *is* a desk (event store, broker, engine, API): run it instead of `orderdesk run`,
not beside it (a second desk on the same event store is refused at once). A strategy beside a
running desk talks to it with DeskClient instead: examples/client_strategy.py.
"""

import asyncio

from orderdesk import InstrumentKey, OrderType, Product, Side, Signal
from orderdesk.config import load_settings
from orderdesk.runtime import open_runtime


async def main() -> None:
    async with open_runtime(load_settings()) as runtime:  # store, broker, engine, API
        signal = Signal(
            instrument=InstrumentKey.parse("NSE:INFY"),
            side=Side.BUY,
            quantity=10,
            order_type=OrderType.MARKET,
            product=Product.CNC,
            strategy="mean_rev",
            signal_id="2026-11-23-infy-1",  # your idempotency key: the same id never places twice
        )
        # Risk checks; then, as mean_rev has `approval = true`, the operator's approval (on the
        # dashboard, or `orderdesk pending --approve ID`); then placed under the client id.
        handle = await runtime.submit(signal)
        await handle.wait()  # until filled, cancelled or rejected; no limit unless timeout=
        order = handle.order
        print(f"{order.order_id} {order.status} {order.filled_quantity} @ {order.average_price}")


if __name__ == "__main__":
    asyncio.run(main())
