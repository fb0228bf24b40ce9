"""The paper broker's stream as a desk reads it: it says it is connected, and it carries the
prices of what the desk subscribes to, so positions are marked from the start."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from orderdesk.domain.calendar import IST
from orderdesk.domain.events import DayOpened
from orderdesk.domain.values import InstrumentKey, Product
from orderdesk.engine import OrderDesk
from orderdesk.ports.broker import ConnectionState, ConnectionStateChanged, PriceTick
from tests.contract.test_paper_days import INFY, TCS, paper
from tests.contract.test_paper_walk_days import (
    DAYS,
    TUESDAY,
    bought_and_stopped,
    market_buy,
    restarted,
)
from tests.engine.fakes import MemoryStore, RecordingNotifier
from tests.support import WallClock, eventually

UNKNOWN = InstrumentKey.parse("NSE:FOOBAR")


async def test_the_stream_says_it_is_connected_first(tmp_path: Path) -> None:
    """The first news of the paper stream is that it is connected (nothing to dial)."""
    broker = paper(WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST)), tmp_path)
    broker.set_price(INFY, Decimal(1501))  # news waiting before the stream opens
    stream = broker.events()
    first = await asyncio.wait_for(anext(stream), timeout=5)
    assert isinstance(first, ConnectionStateChanged)
    assert first.state is ConnectionState.CONNECTED
    await stream.aclose()
    await broker.close()


async def test_a_subscription_is_answered_with_the_known_prices(tmp_path: Path) -> None:
    """Subscribed, the paper broker pushes the price it knows of each instrument (none for one
    without a price), before any later move."""
    broker = paper(WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST)), tmp_path)
    await broker.subscribe_prices([INFY, UNKNOWN])
    broker.set_price(TCS, Decimal(4001))  # a later move: its tick comes after the answer
    stream = broker.events()
    ticks: list[tuple[InstrumentKey | None, Decimal]] = []
    while not ticks or ticks[-1][0] != TCS:
        news = await asyncio.wait_for(anext(stream), timeout=5)
        if isinstance(news, PriceTick):
            ticks.append((news.instrument, news.last_price))
    assert ticks == [(INFY, Decimal(1500)), (TCS, Decimal(4001))]
    await stream.aclose()
    await broker.close()


async def test_a_paper_desk_is_not_degraded(tmp_path: Path) -> None:
    """A desk on paper has its broker stream up from the start."""
    clock = WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST))
    async with OrderDesk(
        paper(clock, tmp_path),
        MemoryStore(),
        notifier=RecordingNotifier(),
        clock=clock,
        config=DAYS,
    ) as desk:
        await eventually(lambda: desk.stream_connected, what="the paper stream connected")


async def test_a_paper_desk_marks_a_carried_position_from_the_start(
    tmp_path: Path,
) -> None:
    """Monday the desk buys 5 TCS CNC at 4000 and stops; Tuesday it starts with TCS at 4100
    in the config. Tuesday opens with TCS carried at Monday's close, 4000, and the position is
    marked at 4100 from the start: the day's P&L is the overnight +500, with no estimate."""
    clock = WallClock(datetime(2026, 12, 7, 10, 0, tzinfo=IST))
    store, notifier = MemoryStore(), RecordingNotifier()
    await bought_and_stopped(
        tmp_path, clock, store, notifier, market_buy(TCS, Product.CNC, 5, "mon-tcs")
    )

    clock.set(TUESDAY, 9, 20)
    broker = restarted(clock, tmp_path, TCS="4100")
    async with OrderDesk(broker, store, notifier=notifier, clock=clock, config=DAYS) as desk:
        await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
        opened = [e for e in store.events() if isinstance(e, DayOpened)][-1]
        (carried,) = opened.positions
        assert (carried.instrument, carried.quantity, carried.close_price) == (
            TCS,
            5,
            Decimal(4000),
        )
        position = await eventually(
            lambda: (p := desk.position(TCS, Product.CNC)).unrealised() == 500 and p,
            what="TCS marked at 4100",
        )
        assert position.quantity == 5
        assert desk.day_pnl() == 500
        assert not any(p.estimated for p in desk.day_positions())


async def test_a_restarted_paper_desk_marks_its_positions_at_the_configured_price(
    tmp_path: Path,
) -> None:
    """Bought 5 TCS CNC at 4000, stopped, started the same day with TCS at 4100 in the config:
    the position shows +500 unrealised, not "no price"."""
    clock = WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST))
    store, notifier = MemoryStore(), RecordingNotifier()
    await bought_and_stopped(
        tmp_path, clock, store, notifier, market_buy(TCS, Product.CNC, 5, "tue-tcs")
    )

    clock.set(TUESDAY, 11, 0)
    broker = restarted(clock, tmp_path, TCS="4100")
    async with OrderDesk(broker, store, notifier=notifier, clock=clock, config=DAYS) as desk:
        await eventually(
            lambda: desk.position(TCS, Product.CNC).unrealised() == 500,
            what="TCS marked at 4100",
        )
        assert not any(p.estimated for p in desk.day_positions())
