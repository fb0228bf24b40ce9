"""A parked signal lapses when it can no longer be placed as it was asked, not at 06:00.

The walk: signals parked in the afternoon stayed PENDING until the next trading day began. At
15:40 an approval placed an order the broker rejected ("Markets are closed"); at 16:30, after
the desk's 16:15 DayClosed, one placed an order counted into the closed day; an MIS signal was
still PENDING at 15:21, after the 15:20 square-off, and refused only when approved.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta

import pytest

from orderdesk.approvals import ApprovalClosed, ApprovalQueue, ApprovalState, PendingSignal
from orderdesk.config import StrategySettings
from orderdesk.domain.calendar import IST, Segment, TradingCalendar
from orderdesk.domain.errors import OrderDeskError
from orderdesk.domain.values import InstrumentKey, Product, Variety
from tests.api.fakes import FakeDesk
from tests.domain.builders import signal

DAY = date(2026, 12, 8)  # a Tuesday
CRUDE = InstrumentKey.parse("MCX:CRUDEOIL26DECFUT")
PATIENT = {"patient": StrategySettings(approval=True, approval_ttl_seconds=12 * 3600)}
"""A window far longer than the day: only the day's own limits can end it."""


class DeskClock:
    """The desk's clock, set by the test (its monotonic time is the real one)."""

    def __init__(self, hour: int, minute: int) -> None:
        self.at = datetime.combine(DAY, datetime.min.time(), tzinfo=IST)
        self.set(hour, minute)

    def set(self, hour: int, minute: int) -> None:
        self.at = self.at.replace(hour=hour, minute=minute)

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()


def ist(hour: int, minute: int) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=IST)


def queue_at(clock: DeskClock, desk: FakeDesk, **options: object) -> ApprovalQueue:
    return ApprovalQueue(
        desk.submit,
        PATIENT,
        screen=desk.screen,
        clock=clock,
        calendar=TradingCalendar(),
        **options,  # type: ignore[arg-type]
    )


async def park(queue: ApprovalQueue, **fields: object) -> PendingSignal:
    item = await queue.submit(signal(strategy="patient", **fields))
    assert isinstance(item, PendingSignal)
    return item


async def approve_refused(queue: ApprovalQueue, item: PendingSignal) -> str:
    with pytest.raises(ApprovalClosed) as refused:
        await queue.approve(item.approval_id)
    assert refused.value.state is ApprovalState.EXPIRED
    return str(refused.value)


async def test_a_regular_order_lapses_when_its_market_closes() -> None:
    clock, desk = DeskClock(15, 0), FakeDesk()
    queue = queue_at(clock, desk)
    item = await park(queue)
    assert item.expires_at == ist(15, 30)
    clock.set(15, 40)
    message = await approve_refused(queue, item)
    assert "its market (equity) closed at 15:30 IST on Tue 08 Dec" in message
    assert desk.submitted == []
    await queue.close()


async def test_an_mis_signal_lapses_at_the_square_off_without_an_operator() -> None:
    """At 15:20 the MIS signal lapses by itself, with nobody reading the queue, as the desk
    refuses fresh MIS orders from then on."""
    clock, desk = DeskClock(15, 0), FakeDesk()
    queue = queue_at(clock, desk)
    item = await park(queue, product=Product.MIS)
    assert item.expires_at == ist(15, 20)
    clock.set(15, 21)
    await asyncio.wait_for(item.settled.wait(), timeout=10)  # no read, no approval: the timer
    assert item.state is ApprovalState.EXPIRED
    assert "the broker's MIS/CO square-off (equity) came at 15:20 IST" in (item.reason or "")
    assert desk.submitted == []
    await queue.close()


async def test_an_amo_waits_past_the_close_until_its_trading_day_ends() -> None:
    """An after-market order is for the next session: the evening is when it is sent, so it
    does not lapse with the market or the desk's close (as a regular order does), only with its
    trading day, at the next 06:00."""
    clock, desk = DeskClock(15, 29), FakeDesk()
    queue = queue_at(clock, desk, day_closes=lambda day, segment: ist(16, 15))
    regular = await park(queue, signal_id="regular")
    assert regular.expires_at == ist(15, 30)
    clock.set(19, 0)
    item = await park(queue, variety=Variety.AMO, signal_id="amo")
    assert item.expires_at == ist(6, 0) + timedelta(days=1)  # before its 12 h window's 07:00
    clock.set(23, 0)
    assert queue.pending() == [item]
    await queue.approve(item.approval_id)
    assert [s.signal_id for s in desk.submitted] == ["amo"]
    await queue.close()


async def test_a_commodity_signal_waits_past_the_equity_close_for_its_evening() -> None:
    """At 16:10 a crude oil signal is parked on a desk whose book holds equity only (its
    close 16:15): MCX trades until 23:30, and the desk closes later once the order is in its
    book, so the signal waits for MCX's close, not the desk's present 16:15."""
    clock, desk = DeskClock(16, 10), FakeDesk()
    closes = {Segment.EQUITY: ist(16, 15), Segment.COMMODITY: ist(0, 0) + timedelta(days=1)}
    queue = queue_at(clock, desk, day_closes=lambda day, segment: closes[segment])
    item = await park(queue, instrument=CRUDE, product=Product.NRML)
    assert item.expires_at == ist(23, 30)
    assert item.lapses_because == "its market (commodity) closed at 23:30 IST on Tue 08 Dec"
    clock.set(17, 0)
    await queue.approve(item.approval_id)
    assert [s.instrument for s in desk.submitted] == [CRUDE]
    await queue.close()


async def test_an_amo_sent_after_the_close_is_parked() -> None:
    clock, desk = DeskClock(20, 0), FakeDesk()
    queue = queue_at(clock, desk, day_closes=lambda day, segment: ist(16, 15))
    item = await park(queue, variety=Variety.AMO, signal_id="evening")
    assert item.lapses_because == "its trading day Tue 08 Dec ended at 06:00 IST"
    await queue.close()


async def test_a_signal_that_can_no_longer_be_placed_is_refused_not_parked() -> None:
    """Sent at 16:30, after its day's close, a signal is refused at once: nothing waits for an
    operator, nothing is placed, and its id is free for a later day."""
    clock, desk = DeskClock(16, 30), FakeDesk()
    queue = queue_at(clock, desk)
    with pytest.raises(OrderDeskError) as refused:  # TooLateToPark: a plain refusal (HTTP 400)
        await queue.submit(signal(strategy="patient", signal_id="late"))
    assert str(refused.value) == (
        "patient: BUY 10 NSE:INFY was not parked for approval: its market (equity) closed at "
        "15:30 IST on Tue 08 Dec; nothing was placed (send it again when it can be placed)"
    )
    assert queue.recent() == []
    assert desk.submitted == []
    clock.at += timedelta(days=1)
    clock.set(10, 0)
    assert isinstance(
        await queue.submit(signal(strategy="patient", signal_id="late")), PendingSignal
    )
    await queue.close()
