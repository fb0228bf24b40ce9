"""Baskets, target-position orders and freeze-quantity slicing, ending at the broker's book."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orderdesk.domain import Order, OrderStatus, Product, Side, client_order_id
from orderdesk.domain.errors import ValidationError
from orderdesk.engine import BasketAborted, OrderDesk
from orderdesk.engine.slicing import slice_quantities
from tests.engine.conftest import FAST
from tests.engine.fakes import (
    INFY,
    NIFTY_CE,
    NIFTY_FUT,
    NIFTY_PE,
    REJECT,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)


def test_slice_quantities_whole_lots_under_the_freeze_limit() -> None:
    """Slices never exceed the freeze limit and are whole lots; their sum is the quantity."""
    assert slice_quantities(100, None) == [100]
    assert slice_quantities(1800, 1800, 75) == [1800]
    assert slice_quantities(4050, 1800, 75) == [1800, 1800, 450]
    assert slice_quantities(2000, 1000, 75) == [975, 975, 50]
    with pytest.raises(ValidationError) as exc_info:
        slice_quantities(100, 50, 75)
    assert exc_info.value.field == "quantity"


async def test_order_above_freeze_is_sliced_into_one_parent(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """4,050 NIFTY futures become three broker orders under one parent that ends FILLED."""
    handle = await desk.submit(
        signal(instrument=NIFTY_FUT, quantity=4050, product=Product.NRML, signal_id="big")
    )
    await handle.wait()
    assert handle.status is OrderStatus.FILLED
    quantities = sorted(entry.report.quantity for entry in broker.book.values())
    assert quantities == [450, 1800, 1800]
    assert sorted(broker.tags()) == sorted(child.order_id for child in handle.children)
    assert handle.filled_quantity == 4050
    assert broker.net(NIFTY_FUT, Product.NRML) == 4050
    again = await desk.submit(
        signal(instrument=NIFTY_FUT, quantity=4050, product=Product.NRML, signal_id="big")
    )
    assert again.order_id == handle.order_id
    assert len(broker.book) == 3


async def test_sliced_order_resumes_after_restart(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A parent logged before a crash, its slicing unfinished, gets its children on restart."""
    parent = signal(instrument=NIFTY_FUT, quantity=3600, product=Product.NRML, signal_id="p")
    parent_id = client_order_id(parent.strategy, "p")
    store.append([Order.create(parent_id, parent, datetime.now(UTC))])
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = desk.handle(parent_id)
        await handle.wait(lambda h: len(h.children) == 2 and h.is_done)
        assert handle.status is OrderStatus.FILLED
    assert sorted(e.report.quantity for e in broker.book.values()) == [1800, 1800]


async def test_basket_places_hedges_first(desk: OrderDesk, broker: FakeBroker) -> None:
    """The buy leg (the hedge) reaches the broker before the sell leg it protects."""
    sell = signal(instrument=NIFTY_CE, side=Side.SELL, quantity=75, product=Product.NRML)
    buy = signal(instrument=NIFTY_PE, side=Side.BUY, quantity=75, product=Product.NRML)
    handles = await desk.submit_basket([sell, buy])
    for handle in handles:
        await handle.wait()
    assert [p.signal.side for p in broker.placements] == [Side.BUY, Side.SELL]
    assert sorted(broker.tags()) == sorted(h.order_id for h in handles)


async def test_basket_stops_when_a_hedge_is_rejected(desk: OrderDesk, broker: FakeBroker) -> None:
    """A rejected hedge means the naked leg after it is never placed."""
    broker.script = [REJECT]
    sell = signal(instrument=NIFTY_CE, side=Side.SELL, quantity=75, product=Product.NRML)
    buy = signal(instrument=NIFTY_PE, side=Side.BUY, quantity=75, product=Product.NRML)
    with pytest.raises(BasketAborted) as exc_info:
        await desk.submit_basket([sell, buy])
    assert len(exc_info.value.placed) == 1
    assert [p.signal.side for p in broker.placements] == [Side.BUY]


async def test_target_position_places_the_difference(desk: OrderDesk, broker: FakeBroker) -> None:
    """Targets of +10, +4 and 0 trade 10, -6 and -4 against the broker's live position."""
    first = await desk.target_position(INFY, 10, product=Product.MIS)
    assert first is not None
    await first.wait()
    second = await desk.target_position(INFY, 4, product=Product.MIS)
    assert second is not None
    await second.wait()
    assert second.order.signal.side is Side.SELL
    assert second.order.signal.quantity == 6
    assert await desk.target_position(INFY, 4, product=Product.MIS) is None
    flat = await desk.exit_position(INFY, product=Product.MIS)
    assert flat is not None
    await flat.wait()
    assert broker.net(INFY) == 0
    assert len(broker.book) == 3


async def test_target_position_retires_a_working_predecessor(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """A new target cancels the earlier target order that is still resting, then trades."""
    broker.fill_market = False
    first = await desk.target_position(INFY, 10, product=Product.MIS)
    assert first is not None
    await first.wait(lambda h: h.status is OrderStatus.OPEN)
    broker.fill_market = True
    second = await desk.target_position(INFY, 5, product=Product.MIS)
    assert first.status is OrderStatus.CANCELLED
    assert second is not None
    await second.wait()
    assert broker.net(INFY) == 5
