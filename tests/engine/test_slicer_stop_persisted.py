"""A sliced order whose slicing was stopped stays stopped: the stop is in the log, on the parent.

Operator walk (``[engine] slicing = "desk"``): a 6,500 NIFTY option cut into slices, cancelled
(or stopped by ``kill-switch on --cancel-open``) after its first slice, read correctly in the
process; a restart then placed the unsent slices at the old price, the kill switch still
engaged, as the stop lived in memory only. A parent whose first slice filled before its cancel
stayed PARTIALLY_FILLED for good, its cancel again doing nothing; and a slice the broker's RMS
rejected after taking it (news, not the placement's answer) did not stop the ones after it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.domain import Order, OrderStatus, OrderType, Product, client_order_id
from orderdesk.domain.events import KillSwitchChanged
from orderdesk.engine import OrderDesk
from orderdesk.engine.errors import CommandRefused
from orderdesk.ports.broker import PlaceOrder
from tests.engine.conftest import FAST
from tests.engine.fakes import NIFTY_FUT, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

STOPPED = "Slicing stopped"


class HeldBroker(FakeBroker):
    """Placements after the first ``free`` wait for ``gate``: the slicing is slow, as with the
    walk's latency fault, and a cancel meets a slice on the wire."""

    def __init__(self, free: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.free = free
        self.gate = asyncio.Event()
        self.waiting = 0

    async def place_order(self, command: PlaceOrder) -> str:
        if len(self.placements) >= self.free:
            self.waiting += 1
            await self.gate.wait()
            self.waiting -= 1
        return await super().place_order(command)


async def started(desk: OrderDesk, broker: FakeBroker) -> None:
    """Wait until the start-up's continuation of unfinished slicing has had its turn: an
    order placed after the start reaches the broker behind any slice it would cut. The probe
    is left out of ``broker.placements``, which then holds the slices alone."""
    probe = await desk.submit(signal(signal_id=f"probe-{len(broker.placements)}"))
    await probe.wait(timeout=5)
    broker.placements = [p for p in broker.placements if p.client_order_id != probe.order_id]
    await desk.idle()


def big(signal_id: str, **overrides: Any) -> Any:
    """4,500 NIFTY futures: slices of 1,800, 1,800 and 900."""
    return signal(
        instrument=NIFTY_FUT,
        quantity=4500,
        product=Product.NRML,
        signal_id=signal_id,
        **overrides,
    )


def resting(signal_id: str) -> Any:
    return big(signal_id, order_type=OrderType.LIMIT, price=Decimal("23900"))


async def stopped_on_the_wire(
    desk: OrderDesk, broker: HeldBroker, stop: Any, signal_id: str = "big", **overrides: Any
) -> str:
    """Submit the big order, ``stop`` it while its second slice is on the wire, then let the
    broker answer; the parent's id once its submission is over."""
    submitted = asyncio.create_task(desk.submit(big(signal_id, **overrides)))
    await eventually(lambda: broker.waiting == 1, what="second slice on the wire")
    await stop()
    broker.gate.set()
    handle = await submitted
    return handle.order_id


async def test_a_cancelled_parent_places_nothing_after_a_restart(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Cancelled with its second slice on the wire: that slice is cancelled once the broker
    shows it, the third is never cut, and a restart on the same log places nothing either."""
    broker = HeldBroker()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        parent_id = client_order_id(big("big").strategy, "big")
        order_type = {"order_type": OrderType.LIMIT, "price": Decimal("23900")}
        await stopped_on_the_wire(desk, broker, lambda: desk.cancel(parent_id), **order_type)
        handle = desk.handle(parent_id)
        await handle.wait(timeout=5)
        assert handle.status is OrderStatus.CANCELLED
        assert len(broker.placements) == 2
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await started(desk, broker)
        handle = desk.handle(parent_id)
        assert handle.status is OrderStatus.CANCELLED
        assert len(handle.children) == 2
    assert len(broker.placements) == 2


async def test_the_kill_switchs_cancel_stops_the_slicing_for_good(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """``kill-switch on --cancel-open`` with a slice on the wire, then a restart with the
    switch still engaged: the unsent slice is never placed, in the process or after."""
    broker = HeldBroker()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        parent_id = await stopped_on_the_wire(
            desk,
            broker,
            lambda: desk.engage_kill_switch("walk", cancel_open=True),
            order_type=OrderType.LIMIT,
            price=Decimal("23900"),
        )
        await desk.handle(parent_id).wait(timeout=5)
        assert len(broker.placements) == 2
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await desk.release_kill_switch("a probe")
        await started(desk, broker)
        assert desk.handle(parent_id).status is OrderStatus.CANCELLED
    assert len(broker.placements) == 2


async def test_the_kill_switch_engaged_mid_way_stops_the_slicing(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """``kill-switch on`` (no cancel) with the second slice on the wire: that slice stands,
    the third, a new order now, is not cut; nor after the release and a restart."""
    broker = HeldBroker()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        parent_id = await stopped_on_the_wire(
            desk,
            broker,
            lambda: desk.engage_kill_switch("walk"),
            order_type=OrderType.LIMIT,
            price=Decimal("23900"),
        )
        assert STOPPED in notifier.titles()
        assert len(broker.placements) == 2
        await desk.release_kill_switch("walk over")
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await started(desk, broker)
        assert [c.status for c in desk.handle(parent_id).children] == [OrderStatus.OPEN] * 2
    assert len(broker.placements) == 2


async def test_a_restart_with_the_kill_switch_engaged_does_not_go_on_slicing(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A parent the last process left mid-way (no stop recorded), the kill switch engaged
    since: the start-up does not place its slices, says so once, and records the stop, so the
    switch's release and another restart place nothing either."""
    parent = resting("p")
    parent_id = client_order_id(parent.strategy, "p")
    now = datetime.now(UTC)
    store.append(
        [
            Order.create(parent_id, parent, now),
            KillSwitchChanged(at=now, engaged=True, reason="walk"),
        ]
    )
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await eventually(lambda: STOPPED in notifier.titles(), what="slicing stopped")
        await desk.idle()
        assert desk.handle(parent_id).status is OrderStatus.CANCELLED
        await desk.release_kill_switch("walk over")
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await started(desk, broker)
        assert desk.handle(parent_id).status is OrderStatus.CANCELLED
    assert broker.placements == []
    assert notifier.titles().count(STOPPED) == 1


async def test_a_parent_whose_slices_filled_before_its_cancel_ends_cancelled(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Market slices: the first fills, the cancel meets the second on the wire and loses the
    race to its fill. The parent ends CANCELLED with the 3,600 filled (as Kite shows a partly
    filled cancelled order), not PARTIALLY_FILLED for good; a second cancel is refused as an
    ended order's, and a restart neither revives it nor places the rest."""
    broker = HeldBroker()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        parent_id = client_order_id(big("big").strategy, "big")
        await stopped_on_the_wire(desk, broker, lambda: desk.cancel(parent_id))
        handle = desk.handle(parent_id)
        await eventually(
            lambda: all(child.status is OrderStatus.FILLED for child in handle.children),
            what="both slices filled",
        )
        await desk.idle()
        assert handle.status is OrderStatus.CANCELLED
        assert handle.is_done
        assert handle.filled_quantity == 3600
        with pytest.raises(CommandRefused):
            await desk.cancel(parent_id)
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await started(desk, broker)
        handle = desk.handle(parent_id)
        assert handle.status is OrderStatus.CANCELLED
        assert handle.filled_quantity == 3600
    assert len(broker.placements) == 2


class RejectsAfterTaking(FakeBroker):
    """The broker takes the first placement (answers its id), then its RMS rejects it for
    funds: news on the stream, not the answer. ``later``: while the second slice is being
    placed; else the moment after the answer (the loop's next turn, as a socket's message
    already in when the answer comes)."""

    def __init__(self, *, later: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.later = later
        self.first: str | None = None

    async def place_order(self, command: PlaceOrder) -> str:
        if self.later and self.first is not None and len(self.placements) == 1:
            self.reject(self.first, "Insufficient funds")
        broker_order_id = await super().place_order(command)
        if self.first is None:
            self.first = broker_order_id
            if not self.later:
                asyncio.get_running_loop().call_soon(
                    self.reject, broker_order_id, "Insufficient funds"
                )
        return broker_order_id


@pytest.mark.parametrize(("later", "placed"), [(False, 1), (True, 2)])
async def test_a_slice_rejected_after_the_broker_took_it_stops_the_rest(
    store: MemoryStore, notifier: RecordingNotifier, later: bool, placed: int
) -> None:
    """The first slice is taken, then rejected by the broker's RMS: no slice is cut once the
    rejection has reached the desk (the news received is recorded before each next slice is
    cut), and the alert says why; a restart places none either."""
    broker = RejectsAfterTaking(later=later)
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await desk.submit(resting("big"))
        await desk.idle()
        assert len(broker.placements) == placed
        assert handle.children[0].status is OrderStatus.REJECTED
        assert any(
            "Insufficient funds" in alert.body
            for alert in notifier.alerts
            if alert.title == STOPPED
        )
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await started(desk, broker)
    assert len(broker.placements) == placed
