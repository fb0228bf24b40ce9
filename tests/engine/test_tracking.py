"""Tracking: stream reports and fills, positions from fills, modify/cancel, stream loss."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from orderdesk.domain import BrokerStatus, Event, OrderStatus, OrderType, Side
from orderdesk.engine import CommandRefused, ModificationLimitReached, OrderDesk
from orderdesk.engine.adoption import EXTERNAL_STRATEGY
from tests.engine.fakes import (
    INFY,
    UNKNOWN_AFTER,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.support import eventually


def limit(**overrides: object) -> dict[str, object]:
    return {"order_type": OrderType.LIMIT, "price": Decimal("1490"), **overrides}


async def test_fills_build_positions_and_ticks_mark_them(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """A filled buy becomes a position whose P&L follows the last tick exactly."""
    handle = await desk.submit(signal(quantity=10))
    await handle.wait()
    position = desk.position(INFY, handle.order.signal.product)
    assert position.quantity == 10
    broker.tick(INFY, Decimal("1512.35"))
    await eventually(lambda: position.last_price == Decimal("1512.35"))
    assert position.pnl() == Decimal("123.50")


async def test_duplicate_and_stale_reports_change_nothing(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore
) -> None:
    """A repeated report is a no-op and an older one is ignored, never moving the order back."""
    handle = await desk.submit(signal(**limit()))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    (broker_order_id,) = handle.broker_order_ids
    broker.fill(broker_order_id, 4)
    await eventually(lambda: handle.filled_quantity == 4)
    current = broker.report(broker_order_id)
    before = len(store.rows)
    broker.push(current)
    broker.push(replace(current, status=BrokerStatus.OPEN, filled_quantity=0, pending_quantity=10))
    await eventually(lambda: "OrderUpdateIgnored" in store.types(handle.order_id))
    assert handle.status is OrderStatus.PARTIALLY_FILLED
    assert handle.filled_quantity == 4
    assert len(store.rows) == before + 1


async def test_fill_before_the_order_is_bound_is_applied_once_bound(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """A fill that arrives while the order has no broker id yet is applied once it is bound."""
    broker.drop_reports = True
    broker.script = [UNKNOWN_AFTER]  # the fill is on the stream; the binding comes from the book
    handle = await desk.submit(signal(signal_id="early"))
    await handle.wait(lambda h: h.is_resolved)
    await eventually(lambda: handle.order.fills)
    assert handle.order.fill_quantity == 10
    assert desk.position(INFY, handle.order.signal.product).quantity == 10


async def test_modify_then_limit_reached(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Modifications apply until the configured limit, after which the desk refuses first."""
    from tests.engine.conftest import FAST

    config = replace(FAST, max_modifications=2)
    async with OrderDesk(broker, store, notifier=notifier, config=config) as desk:
        handle = await desk.submit(signal(**limit()))
        await handle.wait(lambda h: h.status is OrderStatus.OPEN)
        await handle.modify(price=Decimal("1491"))
        await handle.modify(quantity=12)
        assert handle.order.price == Decimal("1491")
        assert handle.order.quantity == 12
        with pytest.raises(ModificationLimitReached) as exc_info:
            await handle.modify(price=Decimal("1492"))
    assert exc_info.value.limit == 2
    assert broker.modify_calls == 2


async def test_cancel_and_cancel_all(desk: OrderDesk, broker: FakeBroker) -> None:
    """Cancel ends one order; cancel_all ends every open one and leaves filled ones alone."""
    resting = [await desk.submit(signal(**limit())) for _ in range(3)]
    filled = await desk.submit(signal())
    await filled.wait()
    for handle in resting:
        await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    await resting[0].cancel()
    await resting[0].wait()
    assert resting[0].status is OrderStatus.CANCELLED
    asked = await desk.cancel_all()
    assert sorted(asked) == sorted(h.order_id for h in resting[1:])
    for handle in resting[1:]:
        await handle.wait()
        assert handle.status is OrderStatus.CANCELLED
    assert filled.status is OrderStatus.FILLED


async def test_cancel_of_a_finished_order_is_refused(
    desk: OrderDesk, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Cancelling a filled order is refused in a trader's words and recorded in the same
    words, never as the state machine's edge; a cancel that lost to a fill pages nobody."""
    handle = await desk.submit(signal())
    await handle.wait()
    with pytest.raises(CommandRefused) as exc_info:
        await handle.cancel()
    assert str(exc_info.value) == f"order {handle.order_id} is filled; nothing to cancel"
    assert "OrderTransitionRefused" in store.types(handle.order_id)
    assert "Order update refused" not in notifier.titles()
    assert not any("->" in a.body or "REQUEST_" in a.body for a in notifier.alerts)


async def test_second_cancel_and_modify_after_the_end_say_why(desk: OrderDesk) -> None:
    """A second cancel says the order is already cancelled; a modify of it says it cannot be."""
    handle = await desk.submit(signal(**limit()))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    await handle.cancel()
    await handle.wait()
    with pytest.raises(CommandRefused) as again:
        await handle.cancel()
    assert str(again.value) == f"order {handle.order_id} is already cancelled; nothing to cancel"
    with pytest.raises(CommandRefused) as modify:
        await handle.modify(price=Decimal("1491"))
    assert str(modify.value) == (
        f"order {handle.order_id} is already cancelled; it cannot be modified"
    )


async def test_stream_loss_alerts_and_polling_catches_up(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """With the socket down, a fill that happened at the broker arrives through polling."""
    handle = await desk.submit(signal(**limit()))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    broker.disconnect()
    await eventually(lambda: not desk.stream_connected)
    assert "Broker stream lost" in notifier.titles()
    broker.stream_muted = True
    broker.fill(handle.broker_order_ids[0])
    await handle.wait()
    assert handle.order.fill_quantity == 10
    broker.stream_muted = False
    broker.reconnect()
    await eventually(lambda: desk.stream_connected)


async def test_external_order_on_the_stream_is_adopted(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """An order placed on Kite web (no tag) shows up as an external order, with an alert."""
    broker_order_id = broker.create(signal(side=Side.SELL, quantity=3), tag=None)
    order = await eventually(lambda: desk.book.by_broker_id.get(broker_order_id))
    assert order.external
    assert order.signal.strategy == EXTERNAL_STRATEGY
    await eventually(lambda: order.fills)
    assert desk.position(INFY, order.signal.product).quantity == -3
    await eventually(lambda: "Reconciliation: external_order" in notifier.titles())
    assert "Order update refused" not in notifier.titles()


async def test_subscribers_see_recorded_events(desk: OrderDesk) -> None:
    """An event subscription receives the order's events in the order they were recorded."""
    seen: list[Event] = []
    stream = desk.events()
    handle = await desk.submit(signal())
    async for event in stream:
        seen.append(event)
        if getattr(event, "status", None) is OrderStatus.FILLED:
            break
    names = [type(e).__name__ for e in seen]
    assert names[:2] == ["OrderCreated", "OrderSubmitting"]
    assert all(getattr(e, "order_id", None) == handle.order_id for e in seen)


@pytest.mark.parametrize(("placed_with", "shown"), [("mine", "mine"), ("autoslice:x9", None)])
async def test_an_external_order_keeps_the_label_it_was_placed_with(
    desk: OrderDesk, broker: FakeBroker, placed_with: str, shown: str | None
) -> None:
    """Kite web's or another client's tag was dropped on adoption (null in /api/orders while
    the broker's row read "mine"); a label no signal could carry is left out, not refused."""
    broker_order_id = broker.create(signal(quantity=2), tag=placed_with)
    order = await eventually(lambda: desk.book.by_broker_id.get(broker_order_id))
    assert order.external
    assert order.signal.tag == shown
