"""A cancel that loses the race to a fill: the caller is told the order filled, the fill is
recorded once, and nobody is paged; a cancel the broker refuses for any other reason still is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.engine import CommandRefused, OrderDesk, RiskLimits
from orderdesk.errors import OrderRejected
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

PAGES = ("Order update refused", "Cancel failed")
"""The alerts a lost race used to raise."""


class RacingBroker(FakeBroker):
    """A fake broker that runs ``before_cancel`` (the race) as a cancel reaches it."""

    before_cancel: Callable[[str], Awaitable[None]] | None = None

    async def cancel_order(
        self, broker_order_id: str, variety: Any, *, parent_order_id: str | None = None
    ) -> None:
        if self.before_cancel is not None:
            await self.before_cancel(broker_order_id)
        await super().cancel_order(broker_order_id, variety, parent_order_id=parent_order_id)


@pytest.fixture
def broker() -> RacingBroker:
    """The fake broker with a hook where a race can happen."""
    return RacingBroker()


@pytest.fixture
async def desk(
    broker: RacingBroker, store: MemoryStore, notifier: RecordingNotifier
) -> AsyncIterator[OrderDesk]:
    """A started desk on ``broker``, its stream up and its start-up catch-up over."""
    async with OrderDesk(
        broker, store, notifier=notifier, config=FAST, limits=RiskLimits()
    ) as running:
        yield await settled(running)


async def resting(desk: OrderDesk) -> str:
    """A LIMIT buy of 10 INFY open at the broker; its order id."""
    handle = await desk.submit(signal(order_type=OrderType.LIMIT, price=Decimal("1490")))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    return handle.order_id


async def test_a_fill_the_desk_has_not_heard_of_yet_answers_the_cancel(
    desk: OrderDesk, broker: RacingBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The broker refuses the cancel of an order it has filled while the stream is silent: the
    desk reads the order's row, records the fill, and answers "filled" with no alert and no
    complaint left on the order."""
    order_id = await resting(desk)
    order = desk.order(order_id)
    broker.stream_muted = True
    assert order.broker_order_id is not None
    trade = broker.fill(order.broker_order_id)
    with pytest.raises(CommandRefused) as exc_info:
        await desk.cancel(order_id)
    assert str(exc_info.value) == f"order {order_id} is filled; nothing to cancel"
    assert (order.status, order.fill_quantity, order.reason) == (OrderStatus.FILLED, 10, None)
    assert desk.position(INFY, order.signal.product).quantity == 10
    assert list(order.fills) == [trade.trade_id]
    # The broker's refusal is in the log, before the fill it lost to.
    assert store.types(order_id)[-2:] == ["OrderCancelRejected", "OrderStatusChanged"]
    assert not [t for t in notifier.titles() if t in PAGES]


async def test_a_fill_that_arrives_while_the_cancel_is_in_flight_answers_it(
    desk: OrderDesk, broker: RacingBroker, notifier: RecordingNotifier
) -> None:
    """The fill's news lands while the broker is being asked, which then refuses: the caller
    hears "filled" (not a bare success), and nobody is paged."""
    order_id = await resting(desk)
    order = desk.order(order_id)

    async def fill_first(broker_order_id: str) -> None:
        broker.fill(broker_order_id)
        await eventually(lambda: order.status is OrderStatus.FILLED, what="the fill recorded")

    broker.before_cancel = fill_first
    with pytest.raises(CommandRefused) as exc_info:
        await desk.cancel(order_id)
    assert str(exc_info.value) == f"order {order_id} is filled; nothing to cancel"
    assert (order.status, order.fill_quantity, order.reason) == (OrderStatus.FILLED, 10, None)
    assert not [t for t in notifier.titles() if t in PAGES]


async def test_a_cancel_refused_for_another_reason_is_still_alerted(
    desk: OrderDesk, broker: RacingBroker, notifier: RecordingNotifier
) -> None:
    """A refusal that is not a fill (the order still works at the broker) is raised and
    alerted as before, and its words stay on the order while nothing else happens."""
    order_id = await resting(desk)
    words = "Order cannot be cancelled as it is being processed. Try later."

    async def refuse(broker_order_id: str) -> None:
        raise OrderRejected(words, http_status=400)

    broker.before_cancel = refuse
    with pytest.raises(OrderRejected):
        await desk.cancel(order_id)
    order = desk.order(order_id)
    assert (order.status, order.reason) == (OrderStatus.OPEN, f"cancel refused: {words}")
    assert notifier.titles().count("Cancel failed") == 1


async def test_cancel_all_takes_a_lost_race_quietly(
    desk: OrderDesk, broker: RacingBroker, notifier: RecordingNotifier
) -> None:
    """Cancel-all over an order that filled unseen records the fill and pages nobody."""
    order_id = await resting(desk)
    order = desk.order(order_id)
    broker.stream_muted = True
    assert order.broker_order_id is not None
    broker.fill(order.broker_order_id)
    assert await desk.cancel_all() == [order_id]
    assert (order.status, order.fill_quantity) == (OrderStatus.FILLED, 10)
    assert not [t for t in notifier.titles() if t in PAGES]


async def test_a_cancel_that_meets_the_mass_cancel_answers_without_paging(
    desk: OrderDesk, broker: RacingBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """An order the exchange's mass cancel has ended is refused a cancel in words ("already
    cancelled"), the refusal logged, and nobody paged: the same race as a lost one to a fill."""
    order_id = await resting(desk)
    order = desk.order(order_id)
    assert order.broker_order_id is not None
    # The exchange cancels it at the broker (the desk sent no cancel): the stream says so.
    await FakeBroker.cancel_order(broker, order.broker_order_id, order.signal.variety)
    await eventually(lambda: order.status is OrderStatus.CANCELLED, what="the mass cancel")
    with pytest.raises(CommandRefused) as exc_info:
        await desk.cancel(order_id)
    assert str(exc_info.value) == f"order {order_id} is already cancelled; nothing to cancel"
    assert store.types(order_id)[-1] == "OrderTransitionRefused"
    assert broker.cancel_calls == 1  # the exchange's; the desk sent none
    assert not [t for t in notifier.titles() if t in PAGES]


async def test_a_cancel_that_meets_a_rejection_answers_without_paging(
    desk: OrderDesk, broker: RacingBroker, notifier: RecordingNotifier
) -> None:
    """An order the exchange rejected after taking it is refused a cancel, and nobody paged."""
    order_id = await resting(desk)
    order = desk.order(order_id)
    assert order.broker_order_id is not None
    broker.reject(order.broker_order_id, "Circuit limit breached")
    await eventually(lambda: order.status is OrderStatus.REJECTED, what="the rejection")
    with pytest.raises(CommandRefused) as exc_info:
        await desk.cancel(order_id)
    assert str(exc_info.value) == f"order {order_id} is rejected; nothing to cancel"
    assert broker.cancel_calls == 0
    assert not [t for t in notifier.titles() if t in PAGES]


async def test_a_refused_cancel_of_a_working_order_still_pages(
    desk: OrderDesk, broker: RacingBroker, notifier: RecordingNotifier
) -> None:
    """A cancel the order's state refuses while it has not ended (a cancel already pending at
    the broker) is not a lost race: it is still alerted."""
    order_id = await resting(desk)
    order = desk.order(order_id)
    gate = asyncio.Event()

    async def hold(broker_order_id: str) -> None:
        await gate.wait()

    broker.before_cancel = hold
    first = asyncio.create_task(desk.cancel(order_id))
    await eventually(lambda: order.status is OrderStatus.CANCEL_PENDING, what="cancel sent")
    with pytest.raises(CommandRefused):
        await desk.cancel(order_id)
    assert notifier.titles().count("Order update refused") == 1
    gate.set()
    await first
