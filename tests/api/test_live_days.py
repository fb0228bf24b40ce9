"""The list of days, a day's detail and the live positions read the same figures, on a real desk
behind the real app: after an expiry day's close the live positions show the expired contract
settled, as the list of days does; and a closed day's count of orders is what its detail lists,
orders made after the close included, without the listing reading any day's orders back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from orderdesk.domain import OrderStatus, OrderType, Product
from orderdesk.domain.calendar import IST
from orderdesk.domain.events import DayClosed, OrderCreated
from orderdesk.engine import OrderDesk
from orderdesk.engine.history import PastDay
from orderdesk.ports.store import StoredEvent
from tests.api.conftest import engine_api
from tests.engine.fakes import (
    INFY,
    NIFTY_CE,
    NIFTY_FUT,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.engine.test_days import MONDAY, TUESDAY, events_of, open_desk
from tests.support import WallClock, eventually

WEDNESDAY = date(2026, 12, 9)


class CreatedCounting(MemoryStore):
    """Counts the reads that look for ``OrderCreated`` rows (each a look down the index)."""

    def __init__(self) -> None:
        super().__init__()
        self.created_reads = 0

    def read(self, **where: Any) -> Iterator[StoredEvent]:
        if where.get("kind") == OrderCreated.__name__:
            self.created_reads += 1
        return super().read(**where)


@dataclass
class Served:
    desk: OrderDesk
    client: aiohttp.ClientSession

    async def get(self, path: str) -> Any:
        async with self.client.get(path) as response:
            assert response.status == 200, await response.text()
            return await response.json()


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


@pytest.fixture
def store() -> CreatedCounting:
    return CreatedCounting()


@pytest.fixture
def broker() -> FakeBroker:
    """The fake broker, its NIFTY call expiring on Monday (the future later)."""
    return FakeBroker().expiring(NIFTY_CE, MONDAY)


@pytest.fixture
async def served(
    broker: FakeBroker, store: CreatedCounting, clock: WallClock
) -> AsyncIterator[Served]:
    """A desk keeping trading days on the fake broker, with the API over it on port 0."""
    async with (
        open_desk(broker, store, clock, RecordingNotifier()) as desk,
        engine_api(desk) as client,
    ):
        yield Served(desk, client)


async def first_snapshot(client: aiohttp.ClientSession) -> dict[str, Any]:
    """The stream's opening ``snapshot`` message (what the dashboard draws first)."""
    async with client.get("/api/events") as response:
        kind = None
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "snapshot":
                message: dict[str, Any] = json.loads(line.removeprefix("data: "))
                return message
    raise AssertionError("the stream ended without a snapshot")


def money(line: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
    return Decimal(line["realised"]), Decimal(line["unrealised"]), Decimal(line["pnl"])


async def test_after_an_expiry_days_close_live_positions_read_as_the_list_of_days(
    served: Served, broker: FakeBroker, store: CreatedCounting, clock: WallClock
) -> None:
    """Once Monday has closed, the call that expired with it is settled in every live view
    (positions, the stream's status, the strategy's share): its whole P&L realised, as Monday's
    line in the list of days has it, while the future expiring later still marks."""
    desk = served.desk
    for instrument in (NIFTY_CE, NIFTY_FUT):
        bought = await desk.submit(signal(product=Product.NRML, instrument=instrument, quantity=75))
        await bought.wait()
    paid = desk.position(NIFTY_CE, Product.NRML).average_price
    # The broker's last prices, which the close marks at: the call's settlement 20 below the
    # price paid, the future 10 above.
    broker.prices[NIFTY_CE] = paid - 20
    broker.prices[NIFTY_FUT] = desk.position(NIFTY_FUT, Product.NRML).average_price + 10
    clock.set(MONDAY, 16, 20)
    await eventually(lambda: events_of(store, DayClosed), what="Monday closed")

    positions = {line["instrument"]: line for line in await served.get("/api/positions")}
    assert money(positions[str(NIFTY_CE)]) == (-1500, 0, -1500)
    assert money(positions[str(NIFTY_FUT)]) == (0, 750, 750)
    (monday,) = await served.get("/api/days")
    assert monday["live"] is False  # closed: it reads as it closed
    assert Decimal(monday["realised"]) == sum(money(p)[0] for p in positions.values()) == -1500
    assert Decimal(monday["pnl"]) == sum(money(p)[2] for p in positions.values()) == -750

    snapshot = await first_snapshot(served.client)
    assert snapshot["positions"] == await served.get("/api/positions")

    (strategy,) = await served.get("/api/strategies")
    assert money(strategy) == (-1500, 750, -750)
    lines = {line["instrument"]: line for line in strategy["positions"]}
    assert money(lines[str(NIFTY_CE)]) == (-1500, 0, -1500)
    assert money(lines[str(NIFTY_FUT)]) == (0, 750, 750)

    # Prices after the close (the evening, the next session before the login) move the live
    # positions, not the closed day.
    desk.book.mark(NIFTY_FUT, desk.position(NIFTY_FUT, Product.NRML).average_price + 50)
    (monday,) = await served.get("/api/days")
    detail = await served.get(f"/api/days/{MONDAY}")
    assert Decimal(monday["pnl"]) == Decimal(detail["pnl"]) == -750
    assert detail["live"] is False


async def test_before_the_close_an_expiring_contract_still_marks(
    served: Served, clock: WallClock
) -> None:
    """Until the day has closed, the contract expiring with it is an open position like any
    other: its P&L unrealised, in the positions and the strategy's share alike."""
    desk = served.desk
    bought = await desk.submit(signal(product=Product.NRML, instrument=NIFTY_CE, quantity=75))
    await bought.wait()
    desk.book.mark(NIFTY_CE, desk.position(NIFTY_CE, Product.NRML).average_price - 20)
    clock.set(MONDAY, 15, 0)
    (line,) = await served.get("/api/positions")
    assert money(line) == (0, -1500, -1500)
    (strategy,) = await served.get("/api/strategies")
    assert money(strategy) == (0, -1500, -1500)


async def test_a_closed_days_count_of_orders_is_what_its_detail_lists(
    served: Served,
    broker: FakeBroker,
    store: CreatedCounting,
    clock: WallClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An evening order made after Monday's close, for Tuesday's session and still resting then,
    is Tuesday's alone, which it was carried into: Monday's line and detail leave it out,
    Tuesday's count and list it, as Tuesday's live book did; the listing reads no day's orders
    back, and a second listing looks for no order again."""
    desk = served.desk
    await (await desk.submit(signal(signal_id="mon-day"))).wait()
    clock.set(MONDAY, 16, 20)
    await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
    clock.set(MONDAY, 18, 0)
    evening = await desk.submit(
        signal(
            signal_id="mon-evening",
            product=Product.CNC,
            order_type=OrderType.LIMIT,
            price=Decimal("1400"),
        )
    )
    await evening.wait(lambda h: h.status is OrderStatus.OPEN)
    assert evening.broker_order_ids
    resting = broker.book[evening.broker_order_ids[0]]

    broker.next_day()
    broker.book[evening.broker_order_ids[0]] = resting  # still at the broker: carried
    clock.set(TUESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    assert [o.order_id for o in desk.orders()] == [evening.order_id]
    await (await desk.submit(signal(signal_id="tue-day", instrument=INFY))).wait()
    clock.set(TUESDAY, 16, 20)
    await eventually(lambda: len(events_of(store, DayClosed)) == 2, what="Tuesday closed")
    broker.next_day()
    clock.set(WEDNESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == WEDNESDAY, what="Wednesday opened")

    def no_read_back(past: PastDay) -> list[Any]:
        raise AssertionError(f"the listing read {past.day}'s orders back")

    monkeypatch.setattr(desk.history, "orders", no_read_back)
    before = store.created_reads
    days = {d["day"]: d for d in await served.get("/api/days")}
    first = store.created_reads - before
    again = {d["day"]: d for d in await served.get("/api/days")}
    second = store.created_reads - before - first
    monkeypatch.undo()  # the detail reads a past day's orders back, as it should

    listed = {day: days[day.isoformat()]["orders"] for day in (MONDAY, TUESDAY)}
    detailed = {
        day: len((await served.get(f"/api/days/{day.isoformat()}"))["orders"])
        for day in (MONDAY, TUESDAY)
    }
    assert listed == detailed == {MONDAY: 1, TUESDAY: 2}
    assert again == days
    assert (first, second) == (2, 0)  # one look after each past close; then kept, as ended
