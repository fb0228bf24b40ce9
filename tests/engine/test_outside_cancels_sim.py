"""The operator's walk against the simulator: the desk's exit of a cover order's stop leg it had
moved is no outside modification; a cancel sent by another client (as ``kite.cancel_order``
sends it) is alerted as a cancel outside orderdesk."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import aiohttp

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.values import Variety
from tests.engine.test_outside_modifications import INFY, MODIFIED_OUTSIDE, desk_on_sim
from tests.scenarios.harness import ListNotifier, SimAddress
from tests.support import eventually

CANCELLED_OUTSIDE = "Order cancelled outside orderdesk"


async def cancel_at_broker(address: SimAddress, broker_order_id: str) -> None:
    """What ``kite.cancel_order(variety="regular", order_id=...)`` sends."""
    headers = {
        "X-Kite-Version": "3",
        "Authorization": f"token {address.api_key}:{address.access_token}",
    }
    url = f"{address.rest_root}/orders/regular/{broker_order_id}"
    async with aiohttp.ClientSession() as http, http.delete(url, headers=headers) as reply:
        body = await reply.json()
        assert reply.status == 200, body


async def test_the_desks_exit_of_a_moved_stop_leg_is_quiet_on_the_simulator(
    tmp_path: Path,
) -> None:
    notifier = ListNotifier()
    async with desk_on_sim(tmp_path, notifier) as (desk, _):
        cover = await desk.submit(
            Signal(
                instrument=INFY,
                side=Side.BUY,
                quantity=1,
                order_type=OrderType.MARKET,
                product=Product.MIS,
                variety=Variety.CO,
                trigger_price=Decimal("1480"),
                signal_id="cover",
            )
        )
        await cover.wait()
        leg_id = await eventually(lambda: desk.book.legs.get(cover.order_id), what="stop leg")
        await desk.modify(leg_id, trigger_price=Decimal("1485"))

        await desk.cancel(cover.order_id)
        leg = desk.order(leg_id)
        await eventually(lambda: leg.status is OrderStatus.FILLED, what="the leg's exit")
        await desk.idle()

        titles = [a.title for a in notifier.about(leg_id)]
        assert MODIFIED_OUTSIDE not in titles
        assert CANCELLED_OUTSIDE not in titles
        assert leg.trigger_price == Decimal("1485")


async def test_a_cancel_by_another_client_is_alerted_on_the_simulator(tmp_path: Path) -> None:
    notifier = ListNotifier()
    async with desk_on_sim(tmp_path, notifier) as (desk, address):
        handle = await desk.submit(
            Signal(
                instrument=INFY,
                side=Side.BUY,
                quantity=15,
                order_type=OrderType.LIMIT,
                price=Decimal("1450"),
                product=Product.MIS,
                strategy="meanrev",
                signal_id="resting",
            )
        )
        order = handle.order
        await eventually(lambda: order.status is OrderStatus.OPEN, what="resting")
        assert order.broker_order_id is not None

        await cancel_at_broker(address, order.broker_order_id)

        [alert] = await eventually(
            lambda: [a for a in notifier.about(order.order_id) if a.title == CANCELLED_OUTSIDE]
        )
        assert "meanrev" in alert.body
        assert "nothing of 15 filled" in alert.body
        assert order.status is OrderStatus.CANCELLED
