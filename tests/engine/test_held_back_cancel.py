"""An order the broker's 429s hold back (SUBMITTING, its own task sending it again) is the
desk's alone between its sends: a cancel, a cancel-all and the kill switch withdraw it unsent
(CANCELLED, ``OrderWithdrawn``), so the end of the storm places nothing; the switch spares the
desk's exits. A cancel that meets the re-send on the wire is carried out at the broker as soon
as the broker's answer accepts the order. Operator walk: all three answered "cancelled" while
the order was placed, and left OPEN, once the storm ended."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderType, Side
from orderdesk.engine import OrderDesk
from orderdesk.ports.broker import PlaceOrder
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import (
    INFY,
    RATE_LIMITED,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.support import eventually

STORM = [RATE_LIMITED] * 100_000
"""Placements answered 429 until the test clears the script (the storm ends)."""
PATIENT = replace(FAST, rate_limit_give_up=60.0)
"""Gives up on a 429 only after a minute: the storm ends first, as the test decides."""
HELD_CANCELLED = "cancelled before it was sent (held back by the broker's rate limit)"
NOT_SENT = "Held-back order not sent"


def limit(signal_id: str) -> object:
    return signal(signal_id=signal_id, order_type=OrderType.LIMIT, price=Decimal("1443"))


async def held(desk: OrderDesk, broker: FakeBroker, signal_id: str) -> str:
    """Submit a resting buy in the storm; its id once its task is sending it again."""
    handle = await desk.submit(limit(signal_id))  # type: ignore[arg-type]
    assert handle.status is OrderStatus.SUBMITTING
    sent = len(broker.placements)
    await eventually(lambda: len(broker.placements) > sent, what="sent again")
    return handle.order_id


async def storm_ends_and_the_desk_places(desk: OrderDesk, broker: FakeBroker) -> str:
    """Clear the storm and place one more order through it: once that one is at the broker,
    the desk's held sends have had their turn. Its id."""
    broker.script.clear()
    after = await desk.submit(signal(signal_id="after-the-storm"))
    await after.wait(timeout=5)
    assert after.status is OrderStatus.FILLED
    return after.order_id


def withdrawn(desk: OrderDesk, store: MemoryStore, order_id: str) -> str:
    """The reason of ``order_id``, withdrawn unsent (else the assertion says what it is)."""
    order = desk.order(order_id)
    assert order.status is OrderStatus.CANCELLED, (order.status, order.reason)
    assert "OrderWithdrawn" in store.types(order_id)
    assert order_id not in desk.placement.sending
    assert order.reason is not None
    return order.reason


async def test_a_cancel_withdraws_an_order_held_back_by_429s(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """`orderdesk cancel ID` in the storm: CANCELLED at once with the reason, never sent after
    the storm (only the next order is at the broker), and not alerted (it was asked)."""
    broker.script = list(STORM)
    async with OrderDesk(broker, store, notifier=notifier, config=PATIENT) as desk:
        order_id = await held(desk, broker, "cancel-me")
        handle = await desk.cancel(order_id)
        assert handle.status is OrderStatus.CANCELLED
        assert withdrawn(desk, store, order_id) == HELD_CANCELLED
        after = await storm_ends_and_the_desk_places(desk, broker)
    assert broker.tags() == [after]
    assert NOT_SENT not in notifier.titles()


async def test_cancel_all_withdraws_every_order_held_back(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """`orderdesk cancel-all` names the held orders, and they are withdrawn: none is placed."""
    broker.script = list(STORM)
    async with OrderDesk(broker, store, notifier=notifier, config=PATIENT) as desk:
        first = await held(desk, broker, "one")
        second = await held(desk, broker, "two")
        assert sorted(await desk.cancel_all()) == sorted([first, second])
        assert withdrawn(desk, store, first) == HELD_CANCELLED
        assert withdrawn(desk, store, second) == HELD_CANCELLED
        after = await storm_ends_and_the_desk_places(desk, broker)
    assert broker.tags() == [after]


async def test_the_kill_switch_withdraws_an_order_held_back(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The switch engaged without cancel_open refuses new orders from then on: the held one
    was never sent, so it is withdrawn (said why, one alert) and answered as such."""
    broker.script = list(STORM)
    async with OrderDesk(broker, store, notifier=notifier, config=PATIENT) as desk:
        order_id = await held(desk, broker, "held")
        done = await desk.engage_kill_switch("drill")
        assert done.cancelled == (order_id,)
        reason = withdrawn(desk, store, order_id)
        assert "kill switch is engaged (drill)" in reason
        assert "429" in reason
        await desk.release_kill_switch("drill over")
        after = await storm_ends_and_the_desk_places(desk, broker)
    assert broker.tags() == [after]
    alerts = [a for a in notifier.alerts if a.title == NOT_SENT]
    assert len(alerts) == 1
    assert alerts[0].severity is Severity.WARNING
    assert order_id in alerts[0].body


async def test_the_kill_switch_with_cancel_open_withdraws_an_order_held_back(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """POST /api/kill-switch {"engaged": true, "cancel_open": true} in the storm: its
    `cancelled` names the held order, which is withdrawn and never placed."""
    broker.script = list(STORM)
    async with OrderDesk(broker, store, notifier=notifier, config=PATIENT) as desk:
        order_id = await held(desk, broker, "held")
        done = await desk.engage_kill_switch("drill", cancel_open=True)
        assert done.cancelled == (order_id,)
        assert "kill switch is engaged (drill)" in withdrawn(desk, store, order_id)
        await desk.release_kill_switch("drill over")
        after = await storm_ends_and_the_desk_places(desk, broker)
    assert broker.tags() == [after]
    assert [a.title for a in notifier.alerts].count(NOT_SENT) == 1


async def test_the_kill_switch_spares_an_exit_held_back(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Long 10 INFY; in the storm a resting buy and the account's exit are both held back.
    The switch withdraws the buy, and the exit (the way out, never stopped by the switch)
    goes once the storm ends: the position is closed."""
    async with OrderDesk(broker, store, notifier=notifier, config=PATIENT) as desk:
        await (await desk.submit(signal(signal_id="long"))).wait(timeout=5)
        broker.script = list(STORM)
        buy = await held(desk, broker, "adds")
        # Left working by the exit (its default cancel would withdraw it already).
        exit_handle = await desk.exit_position(INFY, product=signal().product, cancel_working=False)
        assert exit_handle is not None
        assert exit_handle.status is OrderStatus.SUBMITTING
        assert exit_handle.order.signal.side is Side.SELL

        done = await desk.engage_kill_switch("drill")

        assert done.cancelled == (buy,)
        assert "kill switch is engaged" in withdrawn(desk, store, buy)
        assert exit_handle.order_id in desk.placement.sending
        broker.script.clear()
        await exit_handle.wait(timeout=5)
        assert exit_handle.status is OrderStatus.FILLED
    assert broker.tags().count(exit_handle.order_id) == 1
    assert buy not in broker.tags()
    assert broker.net(INFY) == 0


class AnswersLate(FakeBroker):
    """Answers scripted 429s at once; any other placement stays on the wire until ``gate``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.gate = asyncio.Event()
        self.on_wire = 0

    async def place_order(self, command: PlaceOrder) -> str:
        if self.script and self.script[0] == RATE_LIMITED:
            return await super().place_order(command)
        self.on_wire += 1
        await self.gate.wait()
        return await super().place_order(command)


async def test_a_cancel_meeting_the_resend_on_the_wire_cancels_it_once_accepted(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Answered 429, the order's next send is on the wire when the cancel comes: nothing can
    be withdrawn, so the broker's acceptance is followed by the cancel at the broker."""
    broker = AnswersLate(script=[RATE_LIMITED])
    async with OrderDesk(broker, store, notifier=notifier, config=PATIENT) as desk:
        handle = await desk.submit(limit("raced"))  # type: ignore[arg-type]
        assert handle.status is OrderStatus.SUBMITTING
        await eventually(lambda: broker.on_wire == 1, what="the re-send on the wire")
        await desk.cancel(handle.order_id)
        assert handle.status is OrderStatus.SUBMITTING  # not withdrawn: it may be placed
        broker.gate.set()
        await handle.wait(timeout=5)
        assert handle.status is OrderStatus.CANCELLED
    assert broker.cancel_calls == 1
    assert broker.tags() == [handle.order_id]


async def test_a_cancel_meeting_the_first_send_on_the_wire_cancels_it_once_accepted(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The same without any 429: a cancel-all while the placement's answer is awaited names
    the order, and cancels it at the broker once the answer accepts it."""
    broker = AnswersLate()
    async with OrderDesk(broker, store, notifier=notifier, config=PATIENT) as desk:
        submitting = asyncio.create_task(desk.submit(limit("first")))  # type: ignore[arg-type]
        await eventually(lambda: broker.on_wire == 1, what="the placement on the wire")
        (order,) = desk.orders()
        assert await desk.cancel_all() == [order.order_id]
        broker.gate.set()
        handle = await submitting
        await handle.wait(timeout=5)
        assert handle.status is OrderStatus.CANCELLED
    assert broker.cancel_calls == 1
