"""The order rate per strategy (``max_orders_per_minute``) is counted on the desk's clock and
survives a restart. It was a window of the process's monotonic time in memory: a restarted
desk (a crash loop too) gave the strategy a fresh minute, and a desk on the simulator's clock
moved 70 s on still refused the next order, as only milliseconds of monotonic time had passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import pytest

from orderdesk.domain import Product
from orderdesk.domain.calendar import IST
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.errors import RiskDenied
from tests.engine.conftest import FAST
from tests.engine.fakes import NIFTY_FUT, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import WallClock, eventually

THREE_A_MINUTE = RiskLimits(max_orders_per_minute=3)


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 21, 39, tzinfo=IST))


def open_desk(
    broker: FakeBroker,
    store: MemoryStore,
    notifier: RecordingNotifier,
    clock: WallClock,
    *,
    limits: RiskLimits | None = None,
    strategy_limits: Mapping[str, RiskLimits] | None = None,
) -> OrderDesk:
    return OrderDesk(
        broker,
        store,
        notifier=notifier,
        config=FAST,
        clock=clock,
        limits=limits,
        strategy_limits=strategy_limits,
    )


async def sent(desk: OrderDesk, strategy: str, *ids: str) -> None:
    for signal_id in ids:
        await desk.submit(signal(strategy=strategy, signal_id=signal_id))


async def refused(desk: OrderDesk, strategy: str, signal_id: str) -> RiskDenied:
    with pytest.raises(RiskDenied) as exc_info:
        await desk.submit(signal(strategy=strategy, signal_id=signal_id))
    return exc_info.value


async def test_a_restart_within_the_minute_gives_no_fresh_minute(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier, clock: WallClock
) -> None:
    """Three orders of a strategy limited to three a minute, the desk restarted 9 s later: its
    fourth is refused in the same words as before, another strategy's goes, and once the
    desk's clock is past the minute of the three, the strategy's goes too."""
    async with open_desk(broker, store, notifier, clock, limits=THREE_A_MINUTE) as desk:
        await sent(desk, "beta", "b1", "b2", "b3")
        assert (await refused(desk, "beta", "b4")).check == "orders_per_minute"
    clock.at += timedelta(seconds=9)
    async with open_desk(broker, store, notifier, clock, limits=THREE_A_MINUTE) as desk:
        denial = await refused(desk, "beta", "b4")
        await sent(desk, "alpha", "a1")
        clock.at += timedelta(seconds=52)
        await sent(desk, "beta", "b4")
    assert denial.check == "orders_per_minute"
    assert denial.reason == (
        "strategy 'beta' sent 3 orders in the last minute; the limit is 3 a minute"
    )
    assert len(broker.placements) == 5


async def test_an_order_adopted_after_them_hides_none_of_the_minute(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier, clock: WallClock
) -> None:
    """An order placed on Kite web at 09:00 and adopted after the strategy's three is in the
    book after them, dated by the broker: the restarted desk still counts the three."""
    async with open_desk(broker, store, notifier, clock, limits=THREE_A_MINUTE) as desk:
        await sent(desk, "beta", "b1", "b2", "b3")
        outside = broker.create(
            signal(), tag=None, placed_at=datetime(2026, 12, 7, 9, 0, tzinfo=IST)
        )
        await eventually(lambda: outside in desk.book.by_broker_id, what="the adoption")
        assert list(desk.book.orders.values())[-1].external
    clock.at += timedelta(seconds=9)
    async with open_desk(broker, store, notifier, clock, limits=THREE_A_MINUTE) as desk:
        denial = await refused(desk, "beta", "b4")
    assert denial.check == "orders_per_minute"


async def test_a_strategys_own_rate_survives_a_restart(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier, clock: WallClock
) -> None:
    """A strategy's own limit (``[strategies.beta]``) counts the orders the last process
    sent in the minute as the desk's does."""
    own = {"beta": RiskLimits(max_orders_per_minute=2)}
    async with open_desk(broker, store, notifier, clock, strategy_limits=own) as desk:
        await sent(desk, "beta", "b1", "b2")
    clock.at += timedelta(seconds=5)
    async with open_desk(broker, store, notifier, clock, strategy_limits=own) as desk:
        denial = await refused(desk, "beta", "b3")
    assert denial.check == "orders_per_minute"
    assert denial.reason == (
        "strategy beta: strategy 'beta' sent 2 orders in the last minute; the limit is 2 a minute"
    )


async def test_the_minute_is_the_desks_clock(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier, clock: WallClock
) -> None:
    """The desk's clock moved 59 s on, the fourth order is still refused; 61 s on it goes,
    though the process has run for milliseconds (a desk following the simulator's clock,
    advanced)."""
    async with open_desk(broker, store, notifier, clock, limits=THREE_A_MINUTE) as desk:
        await sent(desk, "beta", "b1", "b2", "b3")
        clock.at += timedelta(seconds=59)
        denial = await refused(desk, "beta", "b4")
        clock.at += timedelta(seconds=2)
        await sent(desk, "beta", "b4")
    assert denial.check == "orders_per_minute"
    assert len(broker.placements) == 4


async def test_a_sliced_order_counts_once_after_a_restart(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier, clock: WallClock
) -> None:
    """An order above the freeze quantity is one signal, however many slices the desk cut it
    into: after a restart it counts once, as it did when it was let through."""
    twice = RiskLimits(max_orders_per_minute=2)
    big = signal(
        strategy="beta", instrument=NIFTY_FUT, quantity=4050, product=Product.NRML, signal_id="big"
    )
    async with open_desk(broker, store, notifier, clock, limits=twice) as desk:
        handle = await desk.submit(big)
        assert len(handle.children) == 3
    clock.at += timedelta(seconds=1)
    async with open_desk(broker, store, notifier, clock, limits=twice) as desk:
        await sent(desk, "beta", "b1")
        denial = await refused(desk, "beta", "b2")
    assert denial.reason.startswith("strategy 'beta' sent 2 orders in the last minute")
