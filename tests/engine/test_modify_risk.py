"""A modify is held to the risk checks and the instrument's rules a new signal is held to: new
terms are new risk (a price slipped by a digit, a quantity with an extra zero), and the kill
switch stops them. A refused modify sends nothing and leaves the order as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.events import SignalDenied
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.errors import RiskDenied
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, NIFTY_FUT, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

LIMITS = RiskLimits(
    max_quantity=100,
    max_order_value=Decimal(100_000),
    price_band_percent=Decimal(10),
)


@asynccontextmanager
async def running(
    broker: FakeBroker,
    store: MemoryStore,
    notifier: RecordingNotifier,
    limits: RiskLimits = LIMITS,
    strategies: Mapping[str, RiskLimits] | None = None,
) -> AsyncIterator[OrderDesk]:
    desk = OrderDesk(
        broker,
        store,
        notifier=notifier,
        config=FAST,
        limits=limits,
        strategy_limits=strategies or {},
    )
    async with desk:
        yield await settled(desk)


async def _resting(desk: OrderDesk, broker: FakeBroker, **terms: object) -> str:
    """A working LIMIT buy of 10 INFY at 1,490 (the market at 1,500)."""
    broker.tick(INFY, Decimal(1500))
    await eventually(lambda: desk.book.last_prices.get(INFY) == Decimal(1500), what="mark")
    fields: dict[str, object] = {"order_type": OrderType.LIMIT, "price": Decimal(1490)} | terms
    handle = await desk.submit(signal(**fields))
    await eventually(lambda: handle.status is OrderStatus.OPEN, what="resting")
    return handle.order_id


def _denials(store: MemoryStore) -> list[SignalDenied]:
    return [e for e in (row.event() for row in store.rows) if isinstance(e, SignalDenied)]


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"price": Decimal(149)}, "price_band"),  # a digit dropped from 1,490
        ({"quantity": 1000}, "max_quantity"),  # an extra zero
        ({"quantity": 80}, "max_order_value"),  # 80 x 1,490 = 119,200
    ],
)
async def test_new_terms_past_a_limit_are_denied_and_nothing_is_sent(
    broker: FakeBroker,
    store: MemoryStore,
    notifier: RecordingNotifier,
    change: dict[str, object],
    check: str,
) -> None:
    async with running(broker, store, notifier) as desk:
        order_id = await _resting(desk, broker)
        calls = broker.modify_calls
        with pytest.raises(RiskDenied) as denied:
            await desk.modify(order_id, **change)  # type: ignore[arg-type]
        order = desk.order(order_id)
        assert denied.value.check == check
        assert broker.modify_calls == calls  # nothing reached the broker
        assert (order.status, order.quantity, order.price) == (
            OrderStatus.OPEN,
            10,
            Decimal(1490),
        )
        assert order.modifications == 0
    (recorded,) = _denials(store)
    assert recorded.check == check
    assert f"Modify of {order_id} denied by {check}" in notifier.titles()


async def test_the_kill_switch_stops_a_modify_but_not_a_cancel(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    async with running(broker, store, notifier) as desk:
        order_id = await _resting(desk, broker)
        await desk.engage_kill_switch("test")
        with pytest.raises(RiskDenied) as denied:
            await desk.modify(order_id, quantity=20)
        assert denied.value.check == "kill_switch"
        assert broker.modify_calls == 0
        handle = await desk.cancel(order_id)
        await eventually(lambda: handle.status is OrderStatus.CANCELLED, what="cancelled")


async def test_new_terms_off_the_tick_or_the_lot_are_refused_before_the_broker(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    async with running(broker, store, notifier, RiskLimits()) as desk:
        order_id = await _resting(desk, broker)
        with pytest.raises(ValidationError, match="tick"):
            await desk.modify(order_id, price=Decimal("1490.01"))
        broker.tick(NIFTY_FUT, Decimal(24000))
        lot = next(i.lot_size for i in broker.infos if i.instrument == NIFTY_FUT)
        future = await desk.submit(
            signal(
                instrument=NIFTY_FUT, quantity=lot, order_type=OrderType.LIMIT, price=Decimal(23900)
            )
        )
        await eventually(lambda: future.status is OrderStatus.OPEN, what="resting")
        with pytest.raises(ValidationError, match="lot"):
            await desk.modify(future.order_id, quantity=lot + 1)
        assert broker.modify_calls == 0


async def test_a_quantity_above_the_freeze_is_refused_before_the_broker(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A modify is one order at the exchange, which nothing slices: raised past the freeze
    quantity it is refused here (the simulator took an autoslice child raised so, and it
    filled), naming the freeze; up to it, it goes."""
    async with running(broker, store, notifier, RiskLimits()) as desk:
        broker.tick(NIFTY_FUT, Decimal(24000))
        info = next(i for i in broker.infos if i.instrument == NIFTY_FUT)
        assert info.freeze_quantity is not None
        whole = info.freeze_quantity // info.lot_size * info.lot_size
        future = await desk.submit(
            signal(
                instrument=NIFTY_FUT,
                quantity=info.lot_size,
                order_type=OrderType.LIMIT,
                price=Decimal(23900),
            )
        )
        await eventually(lambda: future.status is OrderStatus.OPEN, what="resting")
        with pytest.raises(ValidationError, match="freeze quantity"):
            await desk.modify(future.order_id, quantity=whole + info.lot_size)
        assert broker.modify_calls == 0
        await desk.modify(future.order_id, quantity=whole)
        await eventually(lambda: future.order.quantity == whole, what="modified")


async def test_terms_within_the_limits_still_go_through(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    async with running(broker, store, notifier) as desk:
        order_id = await _resting(desk, broker)
        handle = await desk.modify(order_id, quantity=20, price=Decimal(1480))
        await eventually(lambda: handle.order.price == Decimal(1480), what="modified")
        assert handle.order.quantity == 20
    assert _denials(store) == []


async def test_a_strategys_own_limits_hold_its_modifies_too(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    async with running(
        broker, store, notifier, RiskLimits(), {"alpha": RiskLimits(max_quantity=15)}
    ) as desk:
        order_id = await _resting(desk, broker, strategy="alpha")
        with pytest.raises(RiskDenied) as denied:
            await desk.modify(order_id, quantity=16)
    assert denied.value.reason == "strategy alpha: quantity 16 exceeds the limit of 15"
