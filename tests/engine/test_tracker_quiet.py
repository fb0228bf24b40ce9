"""The quiet-order rule: an open order the broker has said nothing of for ``quiet_after`` makes
the desk read the book, the safety poll that finds the fills a live stream missed. Quiet is the
broker's silence: the desk's own requests (an exit re-priced every few seconds) are no news of
the order's fills, and do not put that read off."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.calendar import IST
from orderdesk.engine import OrderDesk
from orderdesk.engine.tracker import NOTHING_DUE
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal

LIMIT = {"order_type": OrderType.LIMIT, "price": Decimal("1490")}
QUIET = replace(FAST, quiet_after=15.0)


@dataclass
class SetClock:
    """Wall and monotonic time both stand still until the test moves them, so the polling
    schedule finds due only what the test's steps make due."""

    at: datetime = field(
        default_factory=lambda: datetime(2026, 12, 7, 10, 0, tzinfo=IST)  # a Monday, open
    )
    ticks: float = 1000.0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.ticks

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)
        self.ticks += seconds


async def test_the_desks_own_modifies_do_not_put_off_the_quiet_orders_read() -> None:
    """A resting order the desk re-prices every 5 s while the stream, still up, misses a fill:
    once the broker has said nothing of it for ``quiet_after`` the book is read and the fill
    found, though the desk's own modify came a moment before."""
    broker, clock = FakeBroker(), SetClock()
    async with OrderDesk(
        broker, MemoryStore(), notifier=RecordingNotifier(), config=QUIET, clock=clock
    ) as desk:
        await settled(desk)
        handle = await desk.submit(signal(**LIMIT, quantity=10))
        await handle.wait(lambda h: h.status is OrderStatus.OPEN, timeout=5)
        broker_order_id = handle.order.broker_order_id
        assert broker_order_id is not None
        broker.stream_muted = True
        broker.fill(broker_order_id, 4)
        for step in range(1, 4):
            clock.advance(5)
            await handle.modify(price=Decimal(1490 + step))
            # Within quiet_after of the broker's last news (15 s at the last step): no read.
            assert desk.tracker.due() == NOTHING_DUE
        clock.advance(5)
        await handle.modify(price=Decimal(1494))
        await handle.wait(lambda h: h.order.filled_quantity == 4, timeout=5)
        assert handle.status is OrderStatus.PARTIALLY_FILLED
        assert handle.order.price == Decimal(1494)
