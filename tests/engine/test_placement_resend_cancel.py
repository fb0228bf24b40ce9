"""A placement whose outcome is unknown is not sent again, once proven absent, when a cancel
was asked meanwhile or the kill switch engaged since: sent again, a cancel would reach the
broker only once it was accepted (a market order fills in between), and the switch refuses new
placements. Ended REJECTED as not placed (the one end an order proven absent has), never sent
twice; the broker's late report of it takes it back, and a cancel asked is carried out then.

The scripted fake broker loses the first request before acting; its order book is read only
once the test lets it, so the cancel or the switch comes while the outcome is unknown.

And an order held back by 429s whose withdrawal the log did not take (its task stopped, the
order still SUBMITTING) is withdrawn by the next cancel or the kill switch's, not left with
nothing to send or end it."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.engine import OrderDesk
from orderdesk.errors import StoreError
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import (
    UNKNOWN_BEFORE,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.engine.test_held_back_cancel import (
    HELD_CANCELLED,
    PATIENT,
    STORM,
    held,
    storm_ends_and_the_desk_places,
    withdrawn,
)
from tests.support import eventually

NOT_PLACED = "Order not placed"
SETTLED = "Placement outcome settled"


class LooksWhenLet(FakeBroker):
    """Answers a read of its order book only while ``let_look`` is set."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.let_look = asyncio.Event()
        self.let_look.set()

    async def orders(self) -> list[OrderStatusReport]:
        await self.let_look.wait()
        return await super().orders()


async def _unknown(desk: OrderDesk, broker: LooksWhenLet, **terms: object) -> str:
    """Submit a signal whose request is lost before the broker acts; its id, unresolved, with
    the book not yet read (the resolver cannot prove it absent until the test lets it)."""
    await settled(desk)
    broker.let_look.clear()
    broker.script = [UNKNOWN_BEFORE]
    handle = await desk.submit(signal(**terms))
    assert handle.status is OrderStatus.SUBMIT_UNKNOWN
    return handle.order_id


async def _proven_absent(desk: OrderDesk, broker: LooksWhenLet, order_id: str) -> None:
    broker.let_look.set()
    await desk.handle(order_id).wait(timeout=5)
    await desk.idle()


async def test_a_cancel_asked_while_unknown_is_not_sent_again_once_proven_absent(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A market buy times out; the operator cancels it; the book proves it absent. It was
    sent again (and cancelled only once accepted: filled by then); now it is never sent
    again, ends not placed, and is answered as asked: no "Order not placed" alert, and the
    operator told of the unknown outcome hears it settled."""
    broker = LooksWhenLet()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        order_id = await _unknown(desk, broker, signal_id="cancel-me")
        await desk.cancel(order_id)
        await _proven_absent(desk, broker, order_id)
        order = desk.order(order_id)
        assert order.status is OrderStatus.REJECTED, (order.status, order.reason)
        assert order.given_up
        assert order.reason is not None
        assert order.reason.startswith("not placed:")
        assert "its cancel was asked" in order.reason
        assert order.submit_attempts == 1
        settled_alerts = await eventually(
            lambda: [a for a in notifier.alerts if a.title == SETTLED and order_id in a.body]
        )
    assert len(broker.placements) == 1
    assert broker.tags() == []
    assert broker.cancel_calls == 0
    assert NOT_PLACED not in notifier.titles()
    assert "OrderSubmitting" not in store.types(order_id)[2:]
    assert "not sent again" in settled_alerts[0].body


async def test_a_cancelled_order_not_sent_again_is_cancelled_if_it_appears_late(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Given up after the cancel, the order shows up at the broker after all: taken back live,
    the cancel asked is carried out then, as for an order found in time."""
    broker = LooksWhenLet()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        order_id = await _unknown(
            desk,
            broker,
            signal_id="late",
            order_type=OrderType.LIMIT,
            price=Decimal("1400"),
        )
        await desk.cancel(order_id)
        await _proven_absent(desk, broker, order_id)
        order = desk.order(order_id)
        assert order.status is OrderStatus.REJECTED
        broker.create(order.signal, tag=order_id)
        await eventually(lambda: order.status is OrderStatus.CANCELLED, what="cancelled")
        await desk.idle()
    assert len(broker.placements) == 1
    assert broker.cancel_calls == 1


async def test_the_kill_switch_engaged_while_unknown_stops_the_resend(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The switch engaged (without cancelling what is open) while a market buy's outcome is
    unknown refuses new placements: proven absent, the buy is not sent again but given up as
    not placed, alerted with the switch as the reason."""
    broker = LooksWhenLet()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        order_id = await _unknown(desk, broker, signal_id="refused")
        await desk.engage_kill_switch("drill")
        await _proven_absent(desk, broker, order_id)
        order = desk.order(order_id)
        assert order.status is OrderStatus.REJECTED, (order.status, order.reason)
        assert order.reason is not None
        assert "kill switch is engaged (drill)" in order.reason
    assert len(broker.placements) == 1
    alerts = [a for a in notifier.alerts if a.title == NOT_PLACED and order_id in a.body]
    assert len(alerts) == 1
    assert alerts[0].severity is Severity.WARNING
    assert "kill switch is engaged (drill)" in alerts[0].body


async def test_without_a_cancel_or_the_switch_the_order_proven_absent_is_sent_again(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The same loss with nothing asked meanwhile: sent again once, under the same id."""
    broker = LooksWhenLet()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        order_id = await _unknown(desk, broker, signal_id="goes")
        await _proven_absent(desk, broker, order_id)
        assert desk.order(order_id).status is OrderStatus.FILLED
    assert [p.client_order_id for p in broker.placements] == [order_id] * 2
    assert NOT_PLACED not in notifier.titles()


async def test_a_cancel_the_log_did_not_take_is_carried_out_when_asked_again(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The log fails the withdrawal of an order held back by 429s: the cancel fails (the
    store's error), the order is SUBMITTING with its task stopped. The cancel asked again once
    the log is back withdraws it, unsent (it waited for a broker answer nobody asked for)."""
    broker = FakeBroker(script=list(STORM))
    async with OrderDesk(broker, store, notifier=notifier, config=PATIENT) as desk:
        order_id = await held(desk, broker, "unwritten")
        store.fail_appends = True
        with pytest.raises(StoreError):
            await desk.cancel(order_id)
        store.fail_appends = False
        assert desk.order(order_id).status is OrderStatus.SUBMITTING
        handle = await desk.cancel(order_id)
        assert handle.status is OrderStatus.CANCELLED
        assert withdrawn(desk, store, order_id) == HELD_CANCELLED
        after = await storm_ends_and_the_desk_places(desk, broker)
    assert broker.tags() == [after]


async def test_the_kill_switch_withdraws_a_held_order_whose_withdrawal_the_log_did_not_take(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The switch engaged while the log fails: its withdrawal of the held order is not
    written. Engaged again once the log is back, it withdraws that order."""
    broker = FakeBroker(script=list(STORM))
    async with OrderDesk(broker, store, notifier=notifier, config=PATIENT) as desk:
        order_id = await held(desk, broker, "unwritten")
        store.fail_appends = True
        with pytest.raises(StoreError):
            await desk.engage_kill_switch("drill")
        store.fail_appends = False
        assert desk.order(order_id).status is OrderStatus.SUBMITTING
        done = await desk.engage_kill_switch("drill")
        assert done.cancelled == (order_id,)
        assert "kill switch is engaged (drill)" in withdrawn(desk, store, order_id)
        await desk.release_kill_switch("drill over")
        after = await storm_ends_and_the_desk_places(desk, broker)
    assert broker.tags() == [after]
