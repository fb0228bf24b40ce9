"""The kill switch on the simulator, as a tester met it: with two positions protected (a cover
order's stop leg, a SL-M under an MIS long) and a buy limit resting, `cancel_open` cancels the
buy limit only: the cover order is not exited at market and the MIS long keeps its stop."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal, Variety
from orderdesk.domain.values import InstrumentKey
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import BrokerView, ListNotifier, open_desk, running_sim
from tests.support import eventually

INFY = InstrumentKey.parse("NSE:INFY")


def order(signal_id: str, **fields: Any) -> Signal:
    """A market buy of 10 INFY MIS unless told otherwise."""
    terms: dict[str, Any] = {
        "instrument": INFY,
        "side": Side.BUY,
        "quantity": 10,
        "order_type": OrderType.MARKET,
        "product": Product.MIS,
        "signal_id": signal_id,
    }
    terms.update(fields)
    return Signal(**terms)


async def test_cancel_open_leaves_the_cover_orders_leg_and_the_protective_stop(
    tmp_path: Path,
) -> None:
    """After the kill switch's cancel the cover order's position and its leg stand, the SL-M
    still rests, and only the buy limit is cancelled; the broker agrees."""
    async with (
        running_sim(seed=83, rate_limits=False) as (_, address),
        open_desk(
            address, sqlite_url(tmp_path / "desk.db"), tmp_path, notifier=ListNotifier()
        ) as desk,
    ):
        view = BrokerView(address)
        await view.control("prices", {"NSE:INFY": 1500})
        cover = await desk.submit(
            order("co", quantity=2, variety=Variety.CO, trigger_price=Decimal("1450"))
        )
        await cover.wait(timeout=10)
        leg_id = await eventually(lambda: desk.book.legs.get(cover.order_id), what="the leg")
        leg = desk.order(leg_id)
        await eventually(lambda: leg.status is OrderStatus.TRIGGER_PENDING, what="the leg rests")
        await (await desk.submit(order("long"))).wait(timeout=10)
        stop = await desk.submit(
            order("stop", side=Side.SELL, order_type=OrderType.SL_M, trigger_price=Decimal("1400"))
        )
        await stop.wait(lambda h: h.status is OrderStatus.TRIGGER_PENDING, timeout=10)
        adding = await desk.submit(
            order("add", quantity=1, order_type=OrderType.LIMIT, price=Decimal("1400"))
        )
        await adding.wait(lambda h: h.status is OrderStatus.OPEN, timeout=10)

        done = await desk.engage_kill_switch("tester's drill", cancel_open=True)

        assert list(done.cancelled) == [adding.order_id]
        assert {k.order_id for k in done.kept} == {leg_id, stop.order_id}
        await adding.wait(timeout=10)
        assert adding.status is OrderStatus.CANCELLED
        books = await view.books()
        status = {row["order_id"]: row["status"] for row in books.orders}
        assert status[leg.broker_order_id] == "TRIGGER PENDING"
        assert status[stop.order.broker_order_id] == "TRIGGER PENDING"
        assert desk.position(INFY, Product.CO).quantity == 2
        assert desk.position(INFY, Product.MIS).quantity == 10
