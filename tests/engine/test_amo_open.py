"""AMOs at the open: the broker holds an AMO until its segment's market opens and pushes nothing
when it then rests, so the desk looks at the AMOs still waiting when each segment opens (a few
from their histories, many from one read of the book), and reads nothing for them all night."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderStatusReport, OrderType
from orderdesk.domain.calendar import IST
from orderdesk.domain.reports import InstrumentInfo
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import InstrumentKey, Product, Variety
from orderdesk.engine import OrderDesk
from orderdesk.engine.handle import OrderHandle
from orderdesk.engine.tracker import NOTHING_DUE
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import AmoHoldingBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

AMO = {
    "order_type": OrderType.LIMIT,
    "price": Decimal("1400"),
    "product": Product.CNC,
    "variety": Variety.AMO,
}
LOOKING = replace(FAST, first_look=0.01, look_singly=2)
"""A look is due 10 ms (of the test's wall clock) after an acceptance; two are read singly."""
USDINR = InstrumentKey.parse("CDS:USDINR26DECFUT")


def ist(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=IST)


@dataclass
class StillClock:
    """Wall time stands still until the test moves it; monotonic time is real (timers)."""

    at: datetime = field(default_factory=lambda: ist("2026-12-07 20:00:00"))  # a Monday evening

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()


class AmoBroker(AmoHoldingBroker):
    """The fake broker holding AMOs as Kite does (``AMO REQ RECEIVED``) until the test releases
    them, pushing nothing then; with order histories, its reads counted."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.book_reads = 0
        self.history_reads: list[str] = []

    def release(self, handle: OrderHandle) -> None:
        """The exchange's open: the AMO rests, OPEN, and nobody is told."""
        broker_order_id = handle.order.broker_order_id
        assert broker_order_id is not None
        entry = self.book[broker_order_id]
        entry.report = replace(entry.report, status=BrokerStatus.OPEN, broker_status_text="OPEN")

    async def orders(self) -> list[OrderStatusReport]:
        self.book_reads += 1
        return await super().orders()

    async def order_history(self, broker_order_id: str) -> list[OrderStatusReport]:
        self.history_reads.append(broker_order_id)
        return [self.report(broker_order_id)]


async def held_overnight(
    desk: OrderDesk, broker: AmoBroker, clock: StillClock, *signals: Signal
) -> list[OrderHandle]:
    """``signals`` placed as AMOs in the evening: held by the broker, still ``ACCEPTED``
    after their first look."""
    await settled(desk)
    handles = [await desk.submit(s) for s in signals]
    reads = broker.book_reads + len(broker.history_reads)
    clock.at = ist("2026-12-07 20:00:00.020")  # past first_look, within quiet_after
    await eventually(
        lambda: broker.book_reads + len(broker.history_reads) > reads, what="the first look"
    )
    await desk.idle()
    assert {h.status for h in handles} == {OrderStatus.ACCEPTED}
    return handles


async def test_an_amo_is_seen_open_once_its_segments_market_opens() -> None:
    """An evening AMO the broker releases at 09:15, pushing nothing, is seen OPEN from its
    history when the equity market opens; no fill was needed to tell the desk."""
    broker, clock = AmoBroker(), StillClock()
    async with OrderDesk(
        broker, MemoryStore(), notifier=RecordingNotifier(), config=LOOKING, clock=clock
    ) as desk:
        (handle,) = await held_overnight(desk, broker, clock, signal(**AMO, signal_id="amo-1"))
        clock.at = ist("2026-12-08 09:14:59")
        broker.release(handle)  # a moment early, so only the open can make the desk look
        assert desk.tracker.due() == NOTHING_DUE
        clock.at = ist("2026-12-08 09:15:00")
        await handle.wait(lambda h: h.status is OrderStatus.OPEN, timeout=5)
        assert handle.order.filled_quantity == 0
        assert broker.history_reads[-1] == handle.order.broker_order_id


async def test_many_amos_at_the_open_are_seen_from_one_read_of_the_book() -> None:
    """Each segment's open looks at its own AMOs: currency's at 09:00 alone, from its history;
    at 09:15 more AMOs wait than ``look_singly``, and the equity ones are seen OPEN from one
    read of the book, none of their histories read."""
    broker, clock = AmoBroker(), StillClock()
    broker.infos.append(
        InstrumentInfo(
            instrument=USDINR,
            instrument_token=2001,
            name="USDINR",
            instrument_type="FUT",
            segment="CDS-FUT",
            tick_size=Decimal("0.0025"),
            lot_size=1,
        )
    )
    async with OrderDesk(
        broker, MemoryStore(), notifier=RecordingNotifier(), config=LOOKING, clock=clock
    ) as desk:
        handles = await held_overnight(
            desk,
            broker,
            clock,
            *(signal(**AMO, signal_id=f"amo-{i}") for i in range(3)),
            signal(
                **{**AMO, "product": Product.NRML, "price": Decimal("90")},
                instrument=USDINR,
                quantity=1,
                signal_id="fx",
            ),
        )
        *equity, currency = handles
        equity_ids = {h.order.broker_order_id for h in equity}
        history_reads = len(broker.history_reads)
        clock.at = ist("2026-12-08 09:00:00")
        await eventually(
            lambda: currency.order.broker_order_id in broker.history_reads[history_reads:],
            what="the currency AMO looked at when its market opened",
        )
        for handle in equity:
            broker.release(handle)
        book_reads, history_reads = broker.book_reads, len(broker.history_reads)
        clock.at = ist("2026-12-08 09:15:00")
        for handle in equity:
            await handle.wait(lambda h: h.status is OrderStatus.OPEN, timeout=5)
        assert currency.status is OrderStatus.ACCEPTED
        assert broker.book_reads > book_reads
        assert not equity_ids & set(broker.history_reads[history_reads:])


async def test_a_held_amo_is_not_a_quiet_order_all_night() -> None:
    """An AMO the broker holds overnight makes the desk read nothing, however long it waits;
    once its market has opened, one still unseen is a quiet order like any other."""
    quick = replace(LOOKING, quiet_after=0.05)
    broker, clock = AmoBroker(), StillClock()
    async with OrderDesk(
        broker, MemoryStore(), notifier=RecordingNotifier(), config=quick, clock=clock
    ) as desk:
        await held_overnight(desk, broker, clock, signal(**AMO, signal_id="amo-1"))
        clock.at = ist("2026-12-08 03:00:00")
        await eventually(
            lambda: desk.tracker.clock.monotonic() - desk.tracker._last_poll > quick.quiet_after,
            what="quiet_after passed since the last read",
        )
        assert desk.tracker.due() == NOTHING_DUE
        book_reads = broker.book_reads
        clock.at = ist("2026-12-08 10:00:00")  # open, and the broker has not released it
        await eventually(lambda: broker.book_reads > book_reads, what="the quiet order polled")
