"""Two reducing orders sent at the same instant are checked one after the other: the second
counts the first as working, so together they never take more than the position.

The walk that found it: past the day's loss limit two strategy signals arrived together (two
SELL 75 against a long 75); each was held to the position while the other's intent was still
being written (an await before the order is in the book), both passed, both filled, and the
account was short a naked call opened at the loss limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

from orderdesk.domain import OrderStatus, Product, Side
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.handle import OrderHandle
from orderdesk.errors import RiskDenied
from orderdesk.store.writer import AsyncEventWriter
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import NIFTY_CE, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.engine.test_risk_walk_working_orders import sale
from tests.support import eventually

NRML = Product.NRML
LOT = 75


@asynccontextmanager
async def running(
    broker: FakeBroker, store: MemoryStore, limits: RiskLimits
) -> AsyncIterator[OrderDesk]:
    """A desk committing through the group-commit writer, as ``orderdesk run`` does: an
    intent's commit is an await, during which another signal runs."""
    async with AsyncEventWriter(store) as writer:
        desk = OrderDesk(
            broker, store, writer=writer, notifier=RecordingNotifier(), config=FAST, limits=limits
        )
        async with desk:
            yield await settled(desk)


async def long_past_the_limit(desk: OrderDesk, broker: FakeBroker) -> None:
    """One lot of the call bought at 100 falls to 80: 75 x -20 = -1,500, past 1,000."""
    bought = await desk.submit(signal(instrument=NIFTY_CE, quantity=LOT, product=NRML))
    await bought.wait()
    assert bought.status is OrderStatus.FILLED
    broker.tick(NIFTY_CE, Decimal(80))
    await eventually(lambda: desk.day_pnl() == Decimal(-1500), what="the loss marked")


async def test_two_reducing_signals_at_one_instant_let_only_one_through(
    broker: FakeBroker, store: MemoryStore
) -> None:
    """Past the desk's loss limit, SELL 75 from alpha and from beta at once against the long
    75: exactly one is placed, the other refused naming the one working."""
    async with running(broker, store, RiskLimits(daily_loss_limit=Decimal(1000))) as desk:
        await long_past_the_limit(desk, broker)
        results = await asyncio.gather(
            desk.submit(sale("exit-a", "alpha")),
            desk.submit(sale("exit-b", "beta")),
            return_exceptions=True,
        )
        placed = [r for r in results if isinstance(r, OrderHandle)]
        denied = [r for r in results if isinstance(r, RiskDenied)]
        assert (len(placed), len(denied)) == (1, 1), results
        await placed[0].wait(lambda h: h.status is OrderStatus.OPEN)
    sells = [p.client_order_id for p in broker.placements if p.signal.side is Side.SELL]
    assert sells == [placed[0].order_id]
    assert denied[0].check == "daily_loss_limit"
    assert denied[0].reason.endswith(
        "only an order that reduces a position goes through: SELL 75 with 75 already working "
        "on that side is more than the long 75 NRML held in NFO:NIFTY26DEC24000CE; cancel the "
        "working orders first"
    )


async def test_signals_in_other_instruments_do_not_wait_for_each_other(
    broker: FakeBroker, store: MemoryStore
) -> None:
    """The turn is per instrument: buys of two instruments at one instant are both placed,
    and one instrument's two buys both go when nothing limits them."""
    async with running(broker, store, RiskLimits()) as desk:
        handles = await asyncio.gather(
            desk.submit(signal(quantity=1, signal_id="infy-1")),
            desk.submit(signal(quantity=1, signal_id="infy-2")),
            desk.submit(signal(instrument=NIFTY_CE, quantity=LOT, product=NRML)),
        )
        for handle in handles:
            await handle.wait()
    assert [h.status for h in handles] == [OrderStatus.FILLED] * 3
    assert len(broker.placements) == 3
