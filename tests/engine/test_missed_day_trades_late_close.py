"""A trade made at the broker while the desk was stopped, in a carried product (a GTT that fired:
NRML, CNC), on a day whose close the desk then missed.

Closed the next trading day, the day's trades are gone from the broker's books (Kite's 06:00
rollover), so the desk cannot book them; but what the broker carries out of the day (its
positions' overnight quantities, its holdings) shows they happened. The day is then not
presented as exact: the close marks the lines concerned estimated, and says why in words, in
the log (so a restart reads the same), the list of days and the day's detail.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from orderdesk.domain import Product, Side
from orderdesk.domain.calendar import IST
from orderdesk.domain.events import DayClosed, DayOpened, ReconciliationMismatch
from orderdesk.domain.values import InstrumentKey
from orderdesk.ports.notifier import Severity
from tests.api.conftest import engine_api
from tests.engine.fakes import (
    INFY,
    NIFTY_FUT,
    ExpiringBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.engine.test_days import MONDAY, TUESDAY, events_of, open_desk
from tests.support import WallClock, eventually

AWAY = "trades made while the desk was away are not in this day"


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


@pytest.fixture
def broker() -> ExpiringBroker:
    return ExpiringBroker()


async def a_monday_left_at_three(
    broker: ExpiringBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
    *,
    with_stock: bool = True,
) -> None:
    """Monday: the desk buys 150 NIFTY futures NRML at 24000 (and, ``with_stock``, 10 INFY CNC
    at 1500); they close at 23900 (and 1490); the desk stopped at 15:00, before the close."""
    async with open_desk(broker, store, clock, notifier) as desk:
        bought = await desk.submit(
            signal(signal_id="fut", instrument=NIFTY_FUT, quantity=150, product=Product.NRML)
        )
        await bought.wait()
        if with_stock:
            await (await desk.submit(signal(signal_id="stock", product=Product.CNC))).wait()
        clock.set(MONDAY, 15, 0)
    broker.stream_muted = True  # no desk listens until the next start
    broker.prices[NIFTY_FUT] = Decimal("23900")
    broker.prices[INFY] = Decimal("1490")


def fired_while_away(broker: ExpiringBroker, clock: WallClock, *orders: Any) -> None:
    """Orders the broker placed and filled on Monday afternoon, the desk stopped (a GTT's)."""
    clock.set(MONDAY, 15, 10)
    for placed in orders:
        broker.create(placed, tag=None, placed_at=clock.now())


async def closed_on_tuesday(
    broker: ExpiringBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
    *,
    expired: InstrumentKey | None = None,
) -> DayClosed:
    """The broker's Tuesday morning (``expired``: a contract settled on Monday, carried no
    more); the desk starts at 09:20 with Monday's dead token and the login closes Monday,
    late, and opens Tuesday."""
    broker.next_day()
    if expired is not None:
        broker.carried = {key: qty for key, qty in broker.carried.items() if key[0] != expired}
    broker.token_dead = True
    clock.set(TUESDAY, 9, 20)
    broker.stream_muted = False
    async with open_desk(broker, store, clock, notifier) as desk:
        await eventually(lambda: not desk.session_info().usable, what="the dead token refused")
        await desk.renew_session("fresh")
        assert desk.trading_day == TUESDAY
    (closed,) = events_of(store, DayClosed)
    return closed


async def test_a_carried_position_the_broker_changed_makes_the_late_close_an_estimate(
    broker: ExpiringBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """A GTT sold 75 of the 150 NRML while the desk was stopped: the broker carries 75 out of
    Monday. Monday's late close keeps the 150 the desk's trades left (the sale's price is gone
    with Monday's books) but marks that line, and the day, estimated, saying why; the stock
    nothing touched stays exact. Tuesday opens at the broker's 75, the mismatch recorded."""
    await a_monday_left_at_three(broker, store, clock, notifier)
    fired_while_away(
        broker,
        clock,
        signal(instrument=NIFTY_FUT, side=Side.SELL, quantity=75, product=Product.NRML),
    )

    closed = await closed_on_tuesday(broker, store, clock, notifier)

    assert (closed.day, closed.late, closed.estimated) == (MONDAY, True, True)
    lines = {p.product: p for p in closed.positions}
    future, stock = lines[Product.NRML], lines[Product.CNC]
    assert (future.quantity, future.last_price, future.estimated) == (150, 23900, True)
    assert future.why_estimated == (
        f"the broker's positions at the next open differ from the close: {NIFTY_FUT} NRML "
        f"carried 75, the close had 150: {AWAY}"
    )
    assert (stock.quantity, stock.estimated, stock.why_estimated) == (10, False, "")
    assert "Closed day is missing trades" in notifier.titles(Severity.WARNING)
    (tuesday,) = [o for o in events_of(store, DayOpened) if o.day == TUESDAY]
    assert [(p.instrument, p.quantity) for p in tuesday.positions] == [(NIFTY_FUT, 75)]
    assert [m.detail for m in events_of(store, ReconciliationMismatch)] == [
        f"{NIFTY_FUT} NRML: carried 75, expected 150"
    ]


async def test_stock_a_gtt_bought_while_away_is_said_on_a_line_of_its_own(
    broker: ExpiringBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """A CNC buy of 5 INFY fired while the desk was stopped, on a day the desk traded no INFY:
    the broker holds 5 the close does not imply. The close has no INFY line to mark, so it
    gets a flat one, estimated, saying why; the future nothing touched stays exact."""
    await a_monday_left_at_three(broker, store, clock, notifier, with_stock=False)
    fired_while_away(broker, clock, signal(quantity=5, product=Product.CNC))

    closed = await closed_on_tuesday(broker, store, clock, notifier)

    assert closed.estimated
    lines = {(p.instrument, p.product): p for p in closed.positions}
    future, stock = lines[(NIFTY_FUT, Product.NRML)], lines[(INFY, Product.CNC)]
    assert (future.estimated, future.why_estimated) == (False, "")
    assert (stock.quantity, stock.pnl, stock.estimated) == (0, 0, True)
    assert stock.why_estimated == (
        f"the broker's holdings at the next open differ from the close: {INFY} 5, the close "
        f"implied 0: {AWAY}"
    )
    assert closed.pnl == -15_000  # the desk's own 150 at Monday's close: nothing made up


async def test_nothing_carried_otherwise_keeps_the_late_close_exact(
    broker: ExpiringBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Without trades while away, the late close reads the broker's holdings as well and finds
    them as the close implies: nothing is marked estimated, no warning."""
    await a_monday_left_at_three(broker, store, clock, notifier)

    closed = await closed_on_tuesday(broker, store, clock, notifier)

    assert (closed.late, closed.estimated) == (True, False)
    assert not any(p.estimated or p.why_estimated for p in closed.positions)
    assert "Closed day is missing trades" not in notifier.titles()


async def test_a_contract_that_expired_with_the_day_is_not_taken_for_a_missing_trade(
    broker: ExpiringBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """The future expired on Monday: the broker carries none of it into Tuesday, as the close
    implies, though the instrument list the close reads is still Monday's."""
    broker.infos = [
        replace(info, expiry=MONDAY.isoformat()) if info.instrument == NIFTY_FUT else info
        for info in broker.infos
    ]
    await a_monday_left_at_three(broker, store, clock, notifier)

    closed = await closed_on_tuesday(broker, store, clock, notifier, expired=NIFTY_FUT)

    assert not closed.estimated
    assert "Closed day is missing trades" not in notifier.titles()


async def test_the_list_of_days_and_the_days_detail_say_so_after_a_restart(
    broker: ExpiringBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Restarted after that close, the desk reads Monday from the log: the list of days and
    Monday's detail (through the API) call it estimated, the changed line saying why."""
    await a_monday_left_at_three(broker, store, clock, notifier)
    fired_while_away(
        broker,
        clock,
        signal(instrument=NIFTY_FUT, side=Side.SELL, quantity=75, product=Product.NRML),
    )
    closed = await closed_on_tuesday(broker, store, clock, notifier)
    clock.set(TUESDAY, 10, 0)
    async with open_desk(broker, store, clock, notifier) as desk:
        assert [day.closed for day in desk.past_days() if day.day == MONDAY] == [closed]
        async with engine_api(desk) as client:
            days = {row["day"]: row for row in await get(client, "/api/days")}
            detail = await get(client, f"/api/days/{MONDAY}")
    assert days[MONDAY.isoformat()]["estimated"] is True
    assert detail["estimated"] is True
    lines = {line["product"]: line for line in detail["positions"]}
    assert (lines["NRML"]["quantity"], lines["NRML"]["estimated"]) == (150, True)
    assert (
        "trades made while the desk was away are not in this day"
        in (lines["NRML"]["why_estimated"])
    )
    assert lines["CNC"]["estimated"] is False
    assert lines["CNC"]["why_estimated"] == ""


async def get(client: aiohttp.ClientSession, path: str) -> Any:
    async with client.get(path) as response:
        assert response.status == 200, await response.text()
        return await response.json()
