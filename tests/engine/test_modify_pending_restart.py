"""A modify whose answer was lost with the process that sent it (killed mid-request) is settled
by the order's row at the broker, as a modify of unknown outcome is within one process: the
asked terms shown, it was carried out; the old ones, it was not, and the order works on at
them, alerted so it can be sent again. Until then the order is not held MODIFY_PENDING for good:
a cancel always goes, and a modify is sent again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.status import BrokerStatus
from orderdesk.engine import OrderDesk
from orderdesk.engine.errors import CommandRefused
from orderdesk.ports.broker import OrderChanges
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

WORKING = Decimal(1490)
ASKED = Decimal(1495)
NOT_APPLIED = "Modify not applied"


@asynccontextmanager
async def running(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> AsyncIterator[OrderDesk]:
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        yield await settled(desk)


async def left_modifying(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> str:
    """A LIMIT buy working at 1,490, and a log that ends with a modify to 1,495 requested and
    never answered: what the desk writes before calling the broker, as if killed right after."""
    async with running(broker, store, notifier) as desk:
        handle = await desk.submit(
            signal(order_type=OrderType.LIMIT, price=WORKING, signal_id="modpend")
        )
        await eventually(lambda: handle.status is OrderStatus.OPEN, what="working")
        order = desk.order(handle.order_id)
    store.append(order.request_modify(datetime.now(UTC), price=ASKED))
    return order.order_id


async def applied_at_broker(broker: FakeBroker, order_id: str) -> None:
    """The request that was in flight reached the broker, which carried it out."""
    (broker_order_id,) = [oid for oid, entry in broker.book.items() if entry.report.tag == order_id]
    await broker.modify_order(broker_order_id, None, OrderChanges(price=ASKED))


async def test_a_restarted_desk_cancels_an_order_left_modify_pending(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The cancel goes: the lost modify is settled first (not applied: the broker holds 1,490),
    then the order is cancelled at the broker."""
    order_id = await left_modifying(broker, store, notifier)
    async with running(broker, store, notifier) as desk:
        await desk.cancel(order_id)
        order = desk.order(order_id)
        await eventually(lambda: order.status is OrderStatus.CANCELLED, what="cancelled")
    assert broker.cancel_calls == 1
    assert broker.modify_calls == 0  # settled by reading, nothing sent again
    assert order.price == WORKING
    assert "OrderModifyRejected" in store.types(order_id)
    assert NOT_APPLIED in notifier.titles()


async def test_cancel_all_cancels_an_order_left_modify_pending(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Cancel-all (the kill switch's cancel too) does not leave it working."""
    order_id = await left_modifying(broker, store, notifier)
    async with running(broker, store, notifier) as desk:
        assert await desk.cancel_all() == [order_id]
        order = desk.order(order_id)
        await eventually(lambda: order.status is OrderStatus.CANCELLED, what="cancelled")


async def test_a_restarted_desk_modifies_an_order_left_modify_pending(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A new modify is not refused as waiting for an answer: the lost one is settled, and the
    new terms are sent and taken."""
    order_id = await left_modifying(broker, store, notifier)
    async with running(broker, store, notifier) as desk:
        await desk.modify(order_id, price=Decimal(1496))
        order = desk.order(order_id)
        assert order.status is OrderStatus.OPEN
        assert order.price == Decimal(1496)
    assert broker.modify_calls == 1


async def test_an_interrupted_modify_not_applied_leaves_the_order_at_its_terms(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Settled by the row showing the old terms: OPEN at 1,490, the modify said unanswered and
    alerted as not applied (to be sent again), and nothing sent for it."""
    order_id = await left_modifying(broker, store, notifier)
    async with running(broker, store, notifier) as desk:
        order = desk.order(order_id)
        await desk.commands.settle_interrupted(order)
        assert order.status is OrderStatus.OPEN
        assert order.price == WORKING
        assert order.modifications == 0
        assert (order.reason or "").startswith("modify unanswered")
    (alert,) = [a for a in notifier.alerts if a.title == NOT_APPLIED]
    assert alert.order_id == order_id
    assert "send it again" in alert.body
    assert broker.modify_calls == 0


async def test_an_interrupted_modify_the_broker_applied_is_taken(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Settled by the row showing the asked terms: OPEN at 1,495, counted as the desk's own
    modify (not one made outside orderdesk), and nothing alerted or sent again."""
    order_id = await left_modifying(broker, store, notifier)
    await applied_at_broker(broker, order_id)
    async with running(broker, store, notifier) as desk:
        order = desk.order(order_id)
        await desk.commands.settle_interrupted(order)
        assert order.status is OrderStatus.OPEN
        assert order.price == ASKED
        assert order.modifications == 1
        assert not order.reason
        report = await desk.reconcile()
    assert report.ok
    assert NOT_APPLIED not in notifier.titles()
    assert "Order modified outside orderdesk" not in notifier.titles()
    assert broker.modify_calls == 1  # the one the killed process sent


async def test_start_up_settles_an_interrupted_modify(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Restarted alone, the desk ends with the order OPEN at the broker's terms, cancellable."""
    order_id = await left_modifying(broker, store, notifier)
    async with running(broker, store, notifier) as desk:
        order = desk.order(order_id)
        assert order.status is OrderStatus.OPEN
        assert order.price == WORKING
        assert NOT_APPLIED in notifier.titles()
        await desk.cancel(order_id)
        await eventually(lambda: order.status is OrderStatus.CANCELLED, what="cancelled")


class HeldModifyBroker(FakeBroker):
    """Holds every modify at the broker's door until released."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def modify_order(self, *args: Any, **kwargs: Any) -> None:
        self.reached.set()
        await self.release.wait()
        await super().modify_order(*args, **kwargs)


async def test_a_modify_of_this_process_on_its_way_is_left_to_its_sender(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Guard: while this process's own modify waits for the broker, nothing settles it from
    the row (the broker still shows 1,490) and a cancel is refused as before; its answer sets
    the new terms."""
    broker = HeldModifyBroker()
    async with running(broker, store, notifier) as desk:
        handle = await desk.submit(signal(order_type=OrderType.LIMIT, price=WORKING))
        await eventually(lambda: handle.status is OrderStatus.OPEN, what="working")
        order = desk.order(handle.order_id)
        modifying = asyncio.create_task(desk.modify(order.order_id, price=ASKED))
        await broker.reached.wait()
        await desk.commands.settle_interrupted(order)
        assert order.status is OrderStatus.MODIFY_PENDING
        with pytest.raises(CommandRefused) as refused:
            await desk.cancel(order.order_id)
        broker.release.set()
        await modifying
        assert order.status is OrderStatus.OPEN
        assert order.price == ASKED
    assert "waiting for the broker to answer a modification" in str(refused.value)
    assert broker.report(order.broker_order_id or "").status is BrokerStatus.OPEN
