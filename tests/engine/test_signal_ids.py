"""A signal id is a strategy's idempotency key: the same signal sent again is answered with
the order it made, and another signal under the same id is refused, not silently dropped."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, OrderType, Side
from orderdesk.engine import OrderDesk
from orderdesk.engine.errors import SignalIdReused
from tests.engine.fakes import FakeBroker, signal
from tests.support import eventually


async def test_the_same_signal_again_is_its_order(desk: OrderDesk, broker: FakeBroker) -> None:
    first = await desk.submit(signal(signal_id="s-1", price=None))
    again = await desk.submit(signal(signal_id="s-1", price=None))
    assert again.order_id == first.order_id
    assert len(broker.book) == 1


@pytest.mark.parametrize(
    ("other", "differ"),
    [
        ({"side": Side.SELL}, "side differs"),
        ({"quantity": 20}, "quantity differs"),
        ({"order_type": OrderType.LIMIT, "price": Decimal(1400)}, "order_type, price differ"),
    ],
)
async def test_another_signal_under_a_used_id_is_refused_naming_what_differs(
    desk: OrderDesk, broker: FakeBroker, other: dict[str, object], differ: str
) -> None:
    first = await desk.submit(signal(signal_id="s-1"))
    await eventually(lambda: first.status is OrderStatus.FILLED, what="filled")
    with pytest.raises(SignalIdReused) as refused:
        await desk.submit(signal(signal_id="s-1", **other))
    assert str(refused.value) == (
        f"signal id 's-1' was used for another signal ({differ}); a new signal needs a new id"
    )
    assert refused.value.order_id == first.order_id
    assert len(broker.book) == 1
    with pytest.raises(SignalIdReused):
        await desk.screen(signal(signal_id="s-1", **other))
