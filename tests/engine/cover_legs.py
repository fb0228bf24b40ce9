"""Protective orders on the fake broker: resting stops, and a cover order's stop leg, which the
fake broker places none of by itself (Kite puts one in the book once a cover order's entry has
filled: variety ``co``, naming the entry as parent)."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.status import BrokerStatus, OrderStatus
from orderdesk.domain.values import OrderType, Product, Side, Validity, Variety
from orderdesk.engine import OrderDesk
from orderdesk.engine.handle import OrderHandle
from tests.engine.fakes import NIFTY_FUT, FakeBroker, FakeOrder, signal
from tests.support import eventually


async def place_stop_leg(
    desk: OrderDesk, broker: FakeBroker, cover: OrderHandle, trigger: Decimal
) -> str:
    """Put the stop leg of the filled cover order ``cover`` in the broker's book, tell the
    desk as Kite's stream would, and return the desk's id of the leg once it has adopted it."""
    entry = cover.order
    assert entry.broker_order_id is not None
    leg_id = f"{entry.broker_order_id}9"
    report = OrderStatusReport(
        broker_order_id=leg_id,
        status=BrokerStatus.TRIGGER_PENDING,
        broker_status_text="TRIGGER PENDING",
        instrument=entry.signal.instrument,
        side=entry.signal.side.opposite,
        order_type=OrderType.SL_M,
        product=Product.CO,
        variety=Variety.CO,
        validity=Validity.DAY,
        quantity=entry.filled_quantity,
        filled_quantity=0,
        pending_quantity=entry.filled_quantity,
        trigger_price=trigger,
        parent_order_id=entry.broker_order_id,
    )
    broker.book[leg_id] = FakeOrder(report)
    broker.emit(report)
    await eventually(lambda: cover.order_id in desk.book.legs, what="the stop leg")
    return desk.book.legs[cover.order_id]


async def resting(desk: OrderDesk, **fields: object) -> OrderHandle:
    handle = await desk.submit(signal(**fields))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    return handle


async def sell_stop(desk: OrderDesk, signal_id: str, quantity: int) -> OrderHandle:
    """A SL-M sell of INFY MIS, resting at the broker."""
    return await resting(
        desk,
        side=Side.SELL,
        quantity=quantity,
        order_type=OrderType.SL_M,
        trigger_price=Decimal("1450"),
        signal_id=signal_id,
    )


async def long_with_cover_order(
    desk: OrderDesk, broker: FakeBroker, signal_id: str = "cover"
) -> tuple[str, str]:
    """A cover order's buy of 75 NIFTY filled, its stop leg resting; returns the entry's id and
    the leg's."""
    cover = await desk.submit(
        signal(
            instrument=NIFTY_FUT,
            quantity=75,
            variety=Variety.CO,
            trigger_price=Decimal("23900"),
            signal_id=signal_id,
        )
    )
    await cover.wait()
    return cover.order_id, await place_stop_leg(desk, broker, cover, Decimal("23900"))


def broker_status(desk: OrderDesk, broker: FakeBroker, order_id: str) -> BrokerStatus:
    broker_order_id = desk.order(order_id).broker_order_id
    assert broker_order_id is not None
    return broker.book[broker_order_id].report.status
