"""A day's views once it is past say what they said while it was live, on a real desk behind
the real app: an evening AMO placed after Monday's close and filled at Tuesday's open is
Tuesday's order and Tuesday's trade in the list of days, the day's detail, the trade book of the
day and of a range, and the day's charges, read back from the log on Wednesday as the live
book showed them on Tuesday; Monday lists it as Monday's end left it, waiting, and charges
nothing for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from orderdesk.domain.calendar import IST
from orderdesk.domain.reports import Charges, OrderStatusReport
from orderdesk.engine import OrderDesk
from tests.api.conftest import engine_api
from tests.engine.fakes import MemoryStore, RecordingNotifier
from tests.engine.test_amo_open import AmoBroker
from tests.engine.test_days import MONDAY, TUESDAY, open_desk
from tests.engine.test_history_carried_orders import amo_carried_into_tuesday, on_to_wednesday
from tests.support import WallClock


class ChargingBroker(AmoBroker):
    """The AMO-holding fake broker with a calculator: 0.1% of an order's turnover."""

    async def order_charges(self, reports: Sequence[OrderStatusReport]) -> list[Charges]:
        zero = Decimal(0)
        return [
            Charges(
                broker_order_id=report.broker_order_id,
                instrument=report.instrument,
                transaction_tax=report.filled_quantity * report.average_price / 1000,
                exchange_turnover_charge=zero,
                sebi_turnover_charge=zero,
                brokerage=zero,
                stamp_duty=zero,
                gst=zero,
                total=report.filled_quantity * report.average_price / 1000,
            )
            for report in reports
        ]


@dataclass
class Served:
    desk: OrderDesk
    broker: ChargingBroker
    store: MemoryStore
    clock: WallClock
    client: aiohttp.ClientSession

    async def get(self, path: str) -> Any:
        async with self.client.get(path) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def views(self, day: str) -> dict[str, Any]:
        """What each view says of ``day``: its line in the list of days, its orders, its
        trades, those of the range from Monday, and its charges."""
        line = {d["day"]: d for d in await self.get("/api/days")}[day]
        detail = await self.get(f"/api/days/{day}")
        charges = await self.get(f"/api/charges?day={day}")
        return {
            "counts": (line["orders"], line["fills"]),
            "orders": [
                (o["order_id"], o["status"], o["filled_quantity"]) for o in detail["orders"]
            ],
            "trades": await self.get(f"/api/trades?day={day}"),
            "range": [
                t
                for t in await self.get(f"/api/trades?since={MONDAY.isoformat()}")
                if t["day"] == day
            ],
            "charged": [(o["order_id"], Decimal(o["total"])) for o in charges["orders"]],
            "charges": charges["charges"],
        }


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """A desk keeping trading days on the AMO-holding broker, the API over it on port 0."""
    broker, store = ChargingBroker(), MemoryStore()
    clock = WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))
    async with (
        open_desk(broker, store, clock, RecordingNotifier()) as desk,
        engine_api(desk) as client,
    ):
        yield Served(desk, broker, store, clock, client)


async def test_a_carried_amos_day_reads_back_as_it_read_live(served: Served) -> None:
    """Tuesday's views on Wednesday are Tuesday's live views: one order (the AMO, FILLED), one
    fill, its trade in the day's and the range's trade book, its delivery buy charged; Monday
    lists its own order alone (the AMO, placed after its close for Tuesday, is Tuesday's)."""
    desk = served.desk
    week = await amo_carried_into_tuesday(desk, served.broker, served.store, served.clock)
    tuesday, monday = TUESDAY.isoformat(), MONDAY.isoformat()
    live = await served.views(tuesday)
    assert live["counts"] == (1, 1)
    assert live["orders"] == [(week.amo, "FILLED", 10)]
    [trade] = live["trades"]
    assert (trade["day"], trade["order_id"], trade["quantity"]) == (tuesday, week.amo, 10)
    assert live["range"] == live["trades"]
    assert live["charged"] == [(week.amo, 14)]  # 10 at 1,400, 0.1%

    await on_to_wednesday(desk, served.broker, served.store, served.clock)

    assert (await served.get("/api/days"))[0]["day"] == "2026-12-09"
    assert await served.views(tuesday) == live
    earlier = await served.views(monday)
    assert earlier["counts"] == (1, 1)
    assert [order_id for order_id, _, _ in earlier["orders"]] == [week.monday_order]
    assert [t["order_id"] for t in earlier["trades"]] == [week.monday_order]
    assert earlier["range"] == earlier["trades"]
    assert [order_id for order_id, _ in earlier["charged"]] == [week.monday_order]
