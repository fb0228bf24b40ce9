"""A send the last process stopped in is an unknown outcome like any other: the restart alerts
"Placement outcome unknown" with what the desk will do, and "Placement outcome settled" once the
order is at the broker. It was recorded silently, so the operator heard nothing of an order the
desk then sent again by itself."""

from __future__ import annotations

from orderdesk.domain import OrderStatus
from orderdesk.engine import OrderDesk
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier
from tests.engine.test_recovery import intent_only
from tests.support import eventually


async def test_a_send_the_last_process_stopped_in_is_alerted_then_said_settled(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    order_id, _ = intent_only(store, "cut")
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        order = desk.order(order_id)
        await eventually(lambda: order.status is OrderStatus.FILLED)
        [settled] = await eventually(
            lambda: [a for a in notifier.alerts if a.title == "Placement outcome settled"]
        )
    [unknown] = [a for a in notifier.alerts if a.title == "Placement outcome unknown"]
    assert unknown.order_id == order_id
    assert "the desk stopped before the broker's answer was recorded" in unknown.body
    assert "Do not place it again by hand" in unknown.body
    assert settled.order_id == order_id
    assert "sent again by the desk under the same id" in settled.body
    assert broker.tags() == [order_id]
