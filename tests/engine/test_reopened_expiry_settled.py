"""A contract that expired with the day stays settled while the day is open again for an
evening segment (an operator's walk: an MCX buy at 18:00 on an expiry day showed the expired
NIFTY put as an open position again, and the day's realised P&L as 0, until the close after
midnight).

The day's figures read the same in every view: the engine's positions and its settled
contracts, ``GET /api/positions``, ``GET /api/days`` and a strategy's share
(``GET /api/strategies``), on a real desk behind the real app (loopback, port 0); the close
after midnight agrees with what the reopened day showed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.domain import Product
from orderdesk.domain.calendar import IST
from orderdesk.domain.day import PositionSnapshot
from orderdesk.domain.events import DayClosed
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk
from tests.api.conftest import engine_api
from tests.api.test_live_days import Served
from tests.engine.fakes import (
    NIFTY_CE,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.engine.test_days import MONDAY, TUESDAY, events_of, open_desk
from tests.support import WallClock, eventually

CRUDE = InstrumentKey.parse("MCX:CRUDEOIL27JANFUT")
CRUDE_EXPIRING = InstrumentKey.parse("MCX:CRUDEOIL26DECFUT")
"""An MCX contract whose last trading day is Monday: it trades until MCX's evening ends."""


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


@pytest.fixture
def broker() -> FakeBroker:
    """The fake broker: its NIFTY call expiring on Monday (the future later), and two crude
    futures, one expiring on Monday too, one in January."""
    broker = FakeBroker().expiring(NIFTY_CE, MONDAY)
    crude = replace(
        broker.infos[1],
        instrument=CRUDE,
        instrument_token=1009,
        segment="MCX",
        name="CRUDEOIL",
        lot_size=1,
        freeze_quantity=None,
        expiry="2027-01-19",
    )
    expiring = replace(
        crude, instrument=CRUDE_EXPIRING, instrument_token=1010, expiry=MONDAY.isoformat()
    )
    broker.infos += [crude, expiring]
    broker.prices[CRUDE] = Decimal("5000")
    broker.prices[CRUDE_EXPIRING] = Decimal("4900")
    return broker


@pytest.fixture
async def served(broker: FakeBroker, store: MemoryStore, clock: WallClock) -> AsyncIterator[Served]:
    """A desk keeping trading days on the fake broker, with the API over it on port 0."""
    async with (
        open_desk(broker, store, clock, RecordingNotifier()) as desk,
        engine_api(desk) as client,
    ):
        yield Served(desk, client)


def money(line: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
    return Decimal(line["realised"]), Decimal(line["unrealised"]), Decimal(line["pnl"])


def line_of(desk: OrderDesk, instrument: InstrumentKey) -> PositionSnapshot:
    (line,) = [p for p in desk.day_positions() if p.instrument == instrument]
    return line


async def buy(desk: OrderDesk, instrument: InstrumentKey, quantity: int) -> None:
    bought = await desk.submit(
        signal(product=Product.NRML, instrument=instrument, quantity=quantity)
    )
    await bought.wait()


async def hold_the_call_into_its_expiry(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore, clock: WallClock
) -> None:
    """Monday: 75 of the call expiring that day bought, its settlement 20 below the price paid
    (-1,500 realised at the 16:15 close)."""
    await buy(desk, NIFTY_CE, 75)
    broker.prices[NIFTY_CE] = desk.position(NIFTY_CE, Product.NRML).average_price - 20
    clock.set(MONDAY, 16, 20)
    await eventually(lambda: events_of(store, DayClosed), what="Monday closed")
    settled = line_of(desk, NIFTY_CE)
    assert (settled.quantity, settled.realised, settled.unrealised) == (75, -1500, 0)


async def reopen_for_crude(desk: OrderDesk, clock: WallClock, instrument: InstrumentKey) -> None:
    """18:00: a crude future bought; the day is open again for MCX's evening."""
    clock.set(MONDAY, 18, 0)
    await buy(desk, instrument, 1)
    assert desk.days is not None
    await desk.days.tick()
    assert not desk.days.state.closed
    assert desk.past_days()[-1].closed is None  # live again: the evening is the day's


async def test_a_reopened_expiry_day_keeps_the_expired_contract_settled_in_every_view(
    served: Served, broker: FakeBroker, store: MemoryStore, clock: WallClock
) -> None:
    """After the 18:00 crude buy the call that expired at Monday's close reads as it closed
    (its whole P&L realised), in the engine, the positions, the list of days and the
    strategy's share, while the crude future marks; the close after midnight agrees."""
    desk = served.desk
    await hold_the_call_into_its_expiry(desk, broker, store, clock)
    await reopen_for_crude(desk, clock, CRUDE)
    desk.book.mark(CRUDE, Decimal("5001"))  # the evening's tick: a rupee a barrel up
    assert desk.days is not None

    call = line_of(desk, NIFTY_CE)
    assert (call.quantity, call.realised, call.unrealised, call.pnl) == (75, -1500, 0, -1500)
    assert desk.days.settled() == {NIFTY_CE}
    assert EngineDesk(desk).settled_contracts() == {NIFTY_CE}

    positions = {line["instrument"]: line for line in await served.get("/api/positions")}
    assert money(positions[str(NIFTY_CE)]) == (-1500, 0, -1500)
    assert money(positions[str(CRUDE)]) == (0, 100, 100)
    (monday,) = await served.get("/api/days")
    assert monday["live"] is True
    assert (Decimal(monday["realised"]), Decimal(monday["pnl"])) == (-1500, -1400)
    detail = await served.get(f"/api/days/{MONDAY}")
    assert (Decimal(detail["realised"]), Decimal(detail["pnl"])) == (-1500, -1400)
    (strategy,) = await served.get("/api/strategies")
    lines = {line["instrument"]: line for line in strategy["positions"]}
    assert money(lines[str(NIFTY_CE)]) == (-1500, 0, -1500)
    assert money(strategy) == (-1500, 100, -1400)

    broker.prices[CRUDE] = Decimal("5001")
    clock.set(TUESDAY, 0, 1)
    await eventually(lambda: len(events_of(store, DayClosed)) == 2, what="closed again")
    again = events_of(store, DayClosed)[-1]
    closed = {p.instrument: p for p in again.positions}
    assert (closed[NIFTY_CE].realised, closed[NIFTY_CE].unrealised) == (call.realised, 0)
    assert (again.realised, again.pnl) == (-1500, -1400)


async def test_an_mcx_contract_expiring_that_day_marks_until_its_own_evening_ends(
    broker: FakeBroker, store: MemoryStore, clock: WallClock
) -> None:
    """Expired with the day means its segment's close has passed: on the reopened evening the
    NIFTY call (its close at 16:15) is settled while a crude future whose last day is Monday
    still trades, marked, until MCX's close settles it after midnight."""
    async with open_desk(broker, store, clock, RecordingNotifier()) as desk:
        await hold_the_call_into_its_expiry(desk, broker, store, clock)
        await reopen_for_crude(desk, clock, CRUDE_EXPIRING)
        assert desk.days is not None
        assert desk.days.settled() == {NIFTY_CE}
        desk.book.mark(CRUDE_EXPIRING, Decimal("4901"))
        crude = line_of(desk, CRUDE_EXPIRING)
        assert (crude.quantity, crude.realised, crude.unrealised) == (1, 0, 100)

        broker.prices[CRUDE_EXPIRING] = Decimal("4901")  # its last price, at MCX's close
        clock.set(TUESDAY, 0, 1)
        await eventually(lambda: len(events_of(store, DayClosed)) == 2, what="closed again")
        closed = {p.instrument: p for p in events_of(store, DayClosed)[-1].positions}
        assert (closed[CRUDE_EXPIRING].realised, closed[CRUDE_EXPIRING].unrealised) == (100, 0)
        assert desk.days.settled() == {NIFTY_CE, CRUDE_EXPIRING}


async def test_with_mcx_held_all_day_the_expired_call_settles_at_its_own_close(
    broker: FakeBroker, store: MemoryStore, clock: WallClock
) -> None:
    """A book holding crude from the morning closes after midnight; the call that expired at
    the derivatives' close reads settled from then (16:15), not open until midnight, and
    marks like any open position before it."""
    broker.carried = {(CRUDE, Product.NRML): 1}
    async with open_desk(broker, store, clock, RecordingNotifier()) as desk:
        assert desk.days is not None
        await buy(desk, NIFTY_CE, 75)
        desk.book.mark(NIFTY_CE, desk.position(NIFTY_CE, Product.NRML).average_price - 20)
        clock.set(MONDAY, 16, 0)
        before = line_of(desk, NIFTY_CE)
        assert (before.realised, before.unrealised) == (0, -1500)
        assert desk.days.settled() == frozenset()

        clock.set(MONDAY, 16, 20)
        await desk.days.tick()
        assert not events_of(store, DayClosed)  # the day closes after MCX's evening
        after = line_of(desk, NIFTY_CE)
        assert (after.quantity, after.realised, after.unrealised) == (75, -1500, 0)
        assert desk.days.settled() == {NIFTY_CE}
