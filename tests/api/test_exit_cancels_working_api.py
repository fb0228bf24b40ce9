"""``POST /api/positions/exit`` over a real desk cancels the orders working in the line first
and lists them; ``cancel_working: false`` leaves them; a stop that cannot be cancelled is a 409
naming it, with nothing placed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import aiohttp

from orderdesk.domain import OrderStatus, OrderType, Product, Side
from orderdesk.engine import OrderDesk
from orderdesk.engine.handle import OrderHandle
from orderdesk.errors import OrderRejected
from tests.api.conftest import engine_api
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal

MIS = Product.MIS
EXIT = {"instrument": "NSE:INFY", "product": "MIS"}


@asynccontextmanager
async def long_ten_with_a_stop(
    broker: FakeBroker,
) -> AsyncIterator[tuple[OrderDesk, OrderHandle, aiohttp.ClientSession]]:
    """A desk long 10 INFY MIS with a SELL SL-M 10 working on it, and the API over it."""
    async with OrderDesk(broker, MemoryStore(), notifier=RecordingNotifier(), config=FAST) as desk:
        await settled(desk)
        await (await desk.submit(signal(quantity=10))).wait()
        stop = await desk.submit(
            signal(side=Side.SELL, order_type=OrderType.SL_M, trigger_price=Decimal(1400))
        )
        await stop.wait(lambda h: h.status is OrderStatus.OPEN)
        async with engine_api(desk) as client:
            yield desk, stop, client


async def test_the_exit_cancels_the_stop_first_and_lists_it() -> None:
    """The answer names the cancelled stop; the account ends flat with no stop left."""
    broker = FakeBroker()
    async with long_ten_with_a_stop(broker) as (_desk, stop, client):
        async with client.post("/api/positions/exit", json=EXIT) as response:
            reply = await response.json()
            assert response.status == 200, reply
        assert stop.status is OrderStatus.CANCELLED
    assert reply["cancelled"] == [stop.order_id]
    assert (reply["order"]["side"], reply["order"]["quantity"]) == ("SELL", 10)
    assert broker.net(INFY, MIS) == 0


async def test_cancel_working_false_leaves_the_stop() -> None:
    """Asked to keep them, the exit sells 10 beside the stop and cancels nothing."""
    broker = FakeBroker()
    async with long_ten_with_a_stop(broker) as (_desk, stop, client):
        body = {**EXIT, "cancel_working": False}
        async with client.post("/api/positions/exit", json=body) as response:
            reply = await response.json()
            assert response.status == 200, reply
        assert stop.status is OrderStatus.OPEN
    assert reply["cancelled"] == []
    assert broker.cancel_calls == 0


class StuckCancels(FakeBroker):
    """Every cancel is refused and the order stays working."""

    async def cancel_order(
        self, broker_order_id: str, variety: Any, *, parent_order_id: str | None = None
    ) -> None:
        raise OrderRejected("The order could not be cancelled at the exchange", http_status=400)


async def test_a_stop_that_cannot_be_cancelled_is_a_conflict_naming_it() -> None:
    """409 ``conflict`` naming the stop and the broker's reason; no exit is placed."""
    broker = StuckCancels()
    async with long_ten_with_a_stop(broker) as (_desk, stop, client):
        placements = len(broker.placements)
        async with client.post("/api/positions/exit", json=EXIT) as response:
            reply = await response.json()
            assert response.status == 409, reply
        assert stop.status is OrderStatus.OPEN
    assert reply["error"] == "conflict"
    assert reply["message"].startswith(
        f"exit of NSE:INFY MIS not placed: order {stop.order_id} is still working: its cancel "
        "failed (OrderRejected: The order could not be cancelled at the exchange)"
    )
    assert len(broker.placements) == placements
    assert broker.net(INFY, MIS) == 10
