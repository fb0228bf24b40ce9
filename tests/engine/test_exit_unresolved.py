"""An exit whose placement outcome is unknown is waited for, never re-priced, and never
followed by a second exit that could exit twice.

The operator walk: INFY MIS +10 on the simulator with ``ambiguous_timeout`` (Kite answers a
placement 400 "Order request timed out", the order appears later). ``orderdesk exit NSE:INFY``
left its order SUBMIT_UNKNOWN; the re-pricer spent its 3 attempts on an order the broker did not
have yet and alerted "still SUBMIT_UNKNOWN after 3 re-prices … exit again". The second exit,
as advised, answered HTTP 500 after ~10 s: a TimeoutError out of ``_retire``'s wait for the
first exit's outcome. The first exit's late order filled too, and the account went short.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.domain import OrderStatus, Product, Side
from orderdesk.domain.events import ExitRepriced
from orderdesk.domain.reports import Quote
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import DeskConfig, ExitPolicy
from orderdesk.engine.errors import CommandRefused
from orderdesk.engine.handle import OrderHandle
from orderdesk.errors import ExitBlocked
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.engine.test_late_orders import UnsureBroker
from tests.support import eventually

MIS = Product.MIS
QUICK = ExitPolicy(reprice_after=0.01, max_reprices=3, band_percent=Decimal(2))


class LateExits(UnsureBroker):
    """An :class:`UnsureBroker` (the next ``unsure`` placements answered "Order request timed
    out", nothing in the book until the test creates the late order) that counts book reads,
    records the exit's status at each quote read (a re-price reads the last price first), and
    fills an order once it is modified (a re-price through the market fills)."""

    exit_handle: OrderHandle | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.reads = 0
        self.quoted_at: list[OrderStatus] = []

    async def orders(self) -> list[Any]:
        self.reads += 1
        return await super().orders()

    async def quotes(self, instruments: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        if self.exit_handle is not None:
            self.quoted_at.append(self.exit_handle.order.status)
        return await super().quotes(instruments)

    async def modify_order(
        self, broker_order_id: str, variety: Any, changes: Any, **kw: Any
    ) -> None:
        await super().modify_order(broker_order_id, variety, changes, **kw)
        self.fill(broker_order_id)


@asynccontextmanager
async def long_ten(
    broker: LateExits, config: DeskConfig, notifier: RecordingNotifier, store: MemoryStore
) -> AsyncIterator[OrderDesk]:
    """A desk long 10 INFY MIS, whose next placement the broker answers "timed out" and
    whose market orders rest from then on (an exit the market ran past)."""
    desk = OrderDesk(broker, store, notifier=notifier, config=config, limits=RiskLimits())
    async with desk:
        await settled(desk)
        await (await desk.submit(signal(quantity=10))).wait()
        broker.fill_market = False
        broker.unsure = 1
        yield desk


async def unresolved_exit(desk: OrderDesk, broker: LateExits, **kw: Any) -> OrderHandle:
    handle = await desk.exit_position(INFY, product=MIS, **kw)
    assert handle is not None
    broker.exit_handle = handle
    await eventually(lambda: handle.status is OrderStatus.SUBMIT_UNKNOWN, what="unknown")
    return handle


def sells(broker: FakeBroker) -> int:
    return sum(1 for p in broker.placements if p.signal.side is Side.SELL)


def repriced(store: MemoryStore, order_id: str) -> list[int]:
    return [
        e.attempt for e in store.events() if isinstance(e, ExitRepriced) and e.order_id == order_id
    ]


async def test_an_unknown_exit_is_waited_for_then_repriced_once_working(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """No re-price while SUBMIT_UNKNOWN; the late order, bound, is re-priced from attempt 1
    and fills: one sale, no "Exit not filled", the account flat."""
    broker = LateExits()
    config = replace(FAST, late_order_window=30.0)
    async with long_ten(broker, config, notifier, store) as desk:
        handle = await unresolved_exit(desk, broker, policy=QUICK)
        # The old re-pricer read a quote within reprice_after (10 ms); the book is read ~15
        # times meanwhile by the desk's watch for a late order.
        start = broker.reads
        await eventually(
            lambda: broker.quoted_at or broker.reads - start >= 15, what="late-order reads"
        )
        assert broker.quoted_at == [], "re-priced while the placement was unresolved"
        assert handle.status is OrderStatus.SUBMIT_UNKNOWN
        broker.create(handle.order.signal, tag=handle.order_id)  # Kite's late order
        await handle.wait(timeout=5)
    assert handle.status is OrderStatus.FILLED
    assert broker.quoted_at
    assert OrderStatus.SUBMIT_UNKNOWN not in broker.quoted_at
    assert repriced(store, handle.order_id) == [1]
    assert "Exit not filled" not in notifier.titles()
    assert "Exit placement unresolved" not in notifier.titles()
    assert sells(broker) == 1
    assert broker.net(INFY, MIS) == 0


async def test_an_exit_unresolved_past_the_window_says_so_and_not_exit_again(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The book cannot be read, so the outcome stays unknown past the late-order window: a
    CRITICAL alert that the exit's placement is unresolved and not to exit again (no attempt
    spent, no "Exit not filled"); found later, it is re-priced and fills."""
    broker = LateExits()
    async with long_ten(broker, FAST, notifier, store) as desk:
        broker.orders_fail = -1
        handle = await unresolved_exit(desk, broker, policy=QUICK)
        await eventually(
            lambda: "Exit placement unresolved" in notifier.titles(), what="unresolved alert"
        )
        (alert,) = [a for a in notifier.alerts if a.title == "Exit placement unresolved"]
        assert alert.order_id == handle.order_id
        assert "do not exit again until this order is resolved or given up" in alert.body
        assert "orderdesk orders" in alert.body
        assert "0 re-prices made" in alert.body
        assert handle.status is OrderStatus.SUBMIT_UNKNOWN
        assert broker.quoted_at == []
        assert broker.modify_calls == 0
        assert repriced(store, handle.order_id) == []
        assert "Exit not filled" not in notifier.titles()
        broker.orders_fail = 0
        broker.create(handle.order.signal, tag=handle.order_id)
        await handle.wait(timeout=5)
    assert handle.status is OrderStatus.FILLED
    assert repriced(store, handle.order_id) == [1]
    assert "Exit not filled" not in notifier.titles()
    assert sells(broker) == 1


async def test_a_second_exit_while_the_first_is_unresolved_is_refused_naming_it(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The operator's second exit: an ExitBlocked (HTTP 409, CLI exit 3) naming the first
    exit's order and saying not to exit again until it is resolved; nothing placed or
    cancelled, the first left as it was."""
    broker = LateExits()
    config = replace(FAST, late_order_window=30.0, leg_timeout=0.05)
    async with long_ten(broker, config, notifier, store) as desk:
        broker.orders_fail = -1
        first = await unresolved_exit(desk, broker, policy=QUICK)
        placed = len(broker.placements)
        with pytest.raises(ExitBlocked) as refused:
            await desk.exit_position(INFY, product=MIS)
        assert first.status is OrderStatus.SUBMIT_UNKNOWN
    assert refused.value.order_ids == [first.order_id]
    message = str(refused.value)
    assert f"the earlier exit {first.order_id} is still SUBMIT_UNKNOWN" in message
    assert "Do not exit again until it is resolved or given up" in message
    assert "Nothing new was placed" in message
    assert len(broker.placements) == placed
    assert broker.cancel_calls == 0


async def test_a_second_exit_whose_cancel_of_the_first_is_not_confirmed_is_refused(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The first exit works at the broker; its cancel is never confirmed within leg_timeout
    (the stream is dead): refused naming it, CANCEL_PENDING, and nothing new placed."""
    broker = LateExits()
    config = replace(FAST, leg_timeout=0.05)
    slow = ExitPolicy(reprice_after=60.0)
    async with long_ten(broker, config, notifier, store) as desk:
        broker.unsure = 0
        first = await desk.exit_position(INFY, product=MIS, policy=slow)
        assert first is not None
        await first.wait(lambda h: h.status is OrderStatus.OPEN, timeout=5)
        broker.stream_muted = True
        placed = len(broker.placements)
        with pytest.raises(ExitBlocked) as refused:
            await desk.exit_position(INFY, product=MIS)
    assert refused.value.order_ids == [first.order_id]
    assert "after its cancel was asked" in str(refused.value)
    assert "exit again once it has ended" in str(refused.value)
    assert len(broker.placements) == placed


async def test_a_target_while_the_earlier_target_is_unresolved_is_refused(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """target_position retires its predecessor the same way: refused (409), never a
    TimeoutError, naming it; nothing placed."""
    broker = LateExits()
    config = replace(FAST, late_order_window=30.0, leg_timeout=0.05)
    async with long_ten(broker, config, notifier, store) as desk:
        broker.orders_fail = -1
        first = await desk.target_position(INFY, 0, product=MIS)
        assert first is not None
        await eventually(lambda: first.status is OrderStatus.SUBMIT_UNKNOWN, what="unknown")
        placed = len(broker.placements)
        with pytest.raises(CommandRefused) as refused:
            await desk.target_position(INFY, 0, product=MIS)
    assert refused.value.order_id == first.order_id
    assert "its placement is unresolved" in str(refused.value)
    assert len(broker.placements) == placed
