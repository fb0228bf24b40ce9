"""A strategy in its own process, trading through a running desk's HTTP API.

Start the desk first (`orderdesk run`, or `make demo`). DeskClient.from_settings finds it the
way the CLI does: the API token in the config dir, and the address the desk announced there.
Several such processes can feed one desk; `GET /api/strategies` attributes orders and P&L.
"""

import asyncio

from orderdesk import DeskClient, InstrumentKey, OrderType, Product, Side, Signal
from orderdesk.config import load_settings


async def main() -> None:
    async with DeskClient.from_settings(load_settings()) as desk:
        signal = Signal(
            instrument=InstrumentKey.parse("NSE:TCS"),
            side=Side.BUY,
            quantity=5,
            order_type=OrderType.MARKET,
            product=Product.CNC,
            strategy="momentum",
            signal_id="2026-11-23-tcs-1",  # sent again after a lost reply: the same order
        )
        reply = await desk.submit(signal)  # the desk's risk checks and approvals apply
        if reply.order is None:  # the strategy has `approval = true`: the operator decides
            print(f"waiting: orderdesk pending --approve {reply.pending.approval_id}")
            return
        order = await desk.wait(reply.order.order_id)  # until filled, cancelled or rejected
        print(f"{order.order_id} {order.status} {order.filled_quantity} @ {order.average_price}")
        for book in await desk.strategies():
            print(f"{book.strategy}: {book.orders} orders, P&L {book.pnl}")


if __name__ == "__main__":
    asyncio.run(main())
