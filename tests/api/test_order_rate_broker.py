"""The health panel's order rate is the broker's: placements count when the broker has answered
them (not while they wait in the desk's own rate limiter), the day counts placements only (as
Kite's daily cap does), and the limits are the ones the desk runs with."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from orderdesk.api.order_rate import OrderRate
from orderdesk.domain.events import (
    OrderAccepted,
    OrderCancelRequested,
    OrderModified,
    OrderModifyRequested,
    OrderSubmitRejected,
    OrderSubmitting,
)
from orderdesk.domain.values import OrderType
from orderdesk.engine import OrderDesk
from tests.api.conftest import engine_api
from tests.engine.conftest import FAST
from tests.engine.fakes import MemoryStore, QueuedBroker, signal
from tests.support import eventually

DAY = date(2026, 12, 4)
START = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)


async def test_placements_waiting_in_the_desk_are_not_counted_until_the_broker_answers() -> None:
    broker = QueuedBroker()
    async with OrderDesk(broker, MemoryStore(), config=FAST) as desk, engine_api(desk) as client:

        async def rate() -> Any:
            async with client.get("/api/health/detail") as response:
                assert response.status == 200
                return (await response.json())["order_rate"]

        await rate()  # the API's counter is listening
        sending = [asyncio.create_task(desk.submit(signal(signal_id=f"s{n}"))) for n in range(3)]
        await eventually(lambda: broker.waiting == 3, what="three placements queued")
        held = await rate()
        assert (held["second"], held["minute"], held["day"]) == (0, 0, 0)

        broker.gate.set()
        await asyncio.gather(*sending)

        async def answered() -> Any:
            now = await rate()
            return now["minute"] == 3 and now

        sent = await eventually(answered, what="the three answered placements counted")
        assert sent["day"] == 3


def test_the_day_counts_placements_and_the_minute_every_request_the_broker_had() -> None:
    rate = OrderRate()
    at = START
    events = [
        OrderSubmitting(at=at, order_id="a", attempt=1),  # asked: not at the broker yet
        OrderAccepted(at=at, order_id="a", broker_order_id="1"),
        OrderSubmitRejected(at=at, order_id="b", reason="RMS: blocked"),  # Kite counts these
        OrderSubmitRejected(at=at, order_id="c", reason="rate limited for too long: 429"),
        OrderSubmitRejected(  # the adapter's own refusal at the cap: nothing was sent
            at=at,
            order_id="d",
            reason="the day's 5000 order placements are spent (Kite's daily cap, …)",
        ),
        OrderModifyRequested(
            at=at,
            order_id="a",
            quantity=5,
            price=Decimal(1),
            trigger_price=None,
            order_type=OrderType.LIMIT,
        ),
        OrderModified(
            at=at,
            order_id="a",
            quantity=5,
            price=Decimal(1),
            trigger_price=None,
            order_type=OrderType.LIMIT,
        ),
        OrderModified(  # changed on Kite web: not the desk's request
            at=at,
            order_id="a",
            quantity=6,
            price=Decimal(1),
            trigger_price=None,
            order_type=OrderType.LIMIT,
            external=True,
        ),
        OrderCancelRequested(at=at, order_id="a"),
    ]
    for event in events:
        rate.observe(event, DAY)
    use = rate.use(at + timedelta(milliseconds=500), DAY)
    assert (use.second, use.minute, use.day) == (4, 4, 2)


def test_the_limits_are_the_ones_the_desk_runs_with() -> None:
    from orderdesk.api.order_rate import OrderLimits

    rate = OrderRate(OrderLimits(per_second=5, per_minute=200, per_day=3000))
    use = rate.use(START, DAY)
    assert (use.second_limit, use.minute_limit, use.day_limit) == (5, 200, 3000)
    assert (OrderRate().use(START, DAY).day_limit, OrderLimits().per_minute) == (5000, 400)
