"""Desk orders modified at the broker by someone else (Kite web, another API client).

The desk over the Kite adapter over the simulator; the outside modification is sent as the
official client sends it (``PUT /orders/regular/<id>``), beside the desk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.order import Terms
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.reconcile import MODIFIED
from orderdesk.ports.notifier import Alert, Severity
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import (
    BrokerView,
    ListNotifier,
    SimAddress,
    open_desk,
    running_sim,
)
from tests.support import eventually

INFY = InstrumentKey.parse("NSE:INFY")
MODIFIED_OUTSIDE = "Order modified outside orderdesk"
BEYOND_LIMITS = "Order modified outside orderdesk beyond the risk limits"


@asynccontextmanager
async def desk_on_sim(
    tmp_path: Path, notifier: ListNotifier, limits: RiskLimits | None = None
) -> AsyncIterator[tuple[OrderDesk, SimAddress]]:
    """A desk on a fresh simulator with INFY at 1500 and the stream up."""
    async with (
        running_sim(seed=71) as (_, address),
        open_desk(
            address,
            sqlite_url(tmp_path / "desk.db"),
            tmp_path,
            notifier=notifier,
            limits=limits,
        ) as desk,
    ):
        await BrokerView(address).control("prices", {"NSE:INFY": 1500})
        await eventually(lambda: desk.stream_connected, what="stream up")
        yield desk, address


async def modify_at_broker(address: SimAddress, broker_order_id: str, **terms: Any) -> None:
    """What ``kite.modify_order(variety="regular", order_id=..., **terms)`` sends."""
    headers = {
        "X-Kite-Version": "3",
        "Authorization": f"token {address.api_key}:{address.access_token}",
    }
    form = {name: str(value) for name, value in terms.items()}
    url = f"{address.rest_root}/orders/regular/{broker_order_id}"
    async with aiohttp.ClientSession() as http, http.put(url, data=form, headers=headers) as reply:
        body = await reply.json()
        assert reply.status == 200, body


async def broker_row(address: SimAddress, broker_order_id: str) -> dict[str, Any]:
    books = await BrokerView(address).books()
    return next(row for row in books.orders if row["order_id"] == broker_order_id)


def stop(quantity: int = 1) -> Signal:
    return Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.SL_M,
        trigger_price=Decimal("1530"),
        product=Product.MIS,
        signal_id="stop",
    )


def outside_alerts(notifier: ListNotifier, order_id: str) -> list[Alert]:
    return [a for a in notifier.about(order_id) if a.title in (MODIFIED_OUTSIDE, BEYOND_LIMITS)]


async def test_a_trigger_moved_at_the_broker_is_taken_alerted_and_kept_by_a_desk_modify(
    tmp_path: Path,
) -> None:
    """A stop moved at the broker is the desk's stop at once, with a warning saying from what
    to what; a later desk modify of the quantity keeps the moved stop."""
    notifier = ListNotifier()
    async with desk_on_sim(tmp_path, notifier) as (desk, address):
        handle = await desk.submit(stop())
        order = handle.order
        await eventually(lambda: order.status is OrderStatus.TRIGGER_PENDING, what="resting")
        assert order.broker_order_id is not None

        await modify_at_broker(address, order.broker_order_id, trigger_price=1600)
        await eventually(lambda: order.trigger_price == Decimal("1600"), what="new trigger")
        alerts = await eventually(lambda: outside_alerts(notifier, order.order_id))
        assert [a.severity for a in alerts] == [Severity.WARNING]
        assert "trigger 1530 → 1600" in alerts[0].body

        await desk.modify(order.order_id, quantity=2)
        row = await broker_row(address, order.broker_order_id)
        assert (row["quantity"], row["trigger_price"]) == (2, 1600)
        assert order.terms == Terms(2, OrderType.SL_M, None, Decimal("1600"))


async def test_a_desk_modify_not_yet_told_of_an_outside_one_does_not_undo_it(
    tmp_path: Path,
) -> None:
    """With the stream silent, the desk modifies the quantity of a stop moved at the broker
    before it hears of the move: the broker keeps the moved stop, and reconciliation brings
    the desk to it, saying so."""
    notifier = ListNotifier()
    async with desk_on_sim(tmp_path, notifier) as (desk, address):
        handle = await desk.submit(stop())
        order = handle.order
        await eventually(lambda: order.status is OrderStatus.TRIGGER_PENDING, what="resting")
        assert order.broker_order_id is not None
        await BrokerView(address).faults(update_delay_ms=600_000)

        await modify_at_broker(address, order.broker_order_id, trigger_price=1600)
        await desk.modify(order.order_id, quantity=2)
        row = await broker_row(address, order.broker_order_id)
        assert (row["quantity"], row["trigger_price"]) == (2, 1600)

        report = await desk.reconcile()
        assert [(r.kind, r.order_id) for r in report.rows] == [(MODIFIED, order.order_id)]
        assert "trigger 1530 → 1600" in report.rows[0].detail
        assert order.terms == Terms(2, OrderType.SL_M, None, Decimal("1600"))
        assert (await desk.reconcile()).ok


async def test_a_type_changed_at_the_broker_is_found_by_reconciliation(tmp_path: Path) -> None:
    """An SL order turned into a LIMIT at the broker, with no word on the stream: reconciliation
    finds the new terms, the desk holds them, and the next pass is in agreement."""
    notifier = ListNotifier()
    async with desk_on_sim(tmp_path, notifier) as (desk, address):
        handle = await desk.submit(
            Signal(
                instrument=INFY,
                side=Side.BUY,
                quantity=1,
                order_type=OrderType.SL,
                price=Decimal("1535"),
                trigger_price=Decimal("1530"),
                product=Product.MIS,
                signal_id="sl",
            )
        )
        order = handle.order
        await eventually(lambda: order.status is OrderStatus.TRIGGER_PENDING, what="resting")
        assert order.broker_order_id is not None
        await BrokerView(address).faults(update_delay_ms=600_000)

        await modify_at_broker(address, order.broker_order_id, order_type="LIMIT", price=1400)
        report = await desk.reconcile()
        assert [(r.kind, r.order_id) for r in report.rows] == [(MODIFIED, order.order_id)]
        assert order.terms == Terms(1, OrderType.LIMIT, Decimal("1400"), None)
        [alert] = outside_alerts(notifier, order.order_id)
        assert "type SL → LIMIT, price 1535 → 1400, trigger 1530 → none" in alert.body
        assert (await desk.reconcile()).ok


async def test_a_quantity_raised_at_the_broker_past_the_limits_is_critical(
    tmp_path: Path,
) -> None:
    """A desk BUY of 1 INFY at 1456 raised at the broker: to 2, a warning; to 400 (₹5.82 lakh,
    over the ₹5 lakh order value limit), a critical alert naming the limit."""
    notifier = ListNotifier()
    limits = RiskLimits(max_quantity=1000, max_order_value=Decimal(500_000))
    async with desk_on_sim(tmp_path, notifier, limits) as (desk, address):
        handle = await desk.submit(
            Signal(
                instrument=INFY,
                side=Side.BUY,
                quantity=1,
                order_type=OrderType.LIMIT,
                price=Decimal("1456"),
                product=Product.MIS,
                signal_id="limit",
            )
        )
        order = handle.order
        await eventually(lambda: order.status is OrderStatus.OPEN, what="resting")
        assert order.broker_order_id is not None

        await modify_at_broker(address, order.broker_order_id, quantity=2)
        [within] = await eventually(lambda: outside_alerts(notifier, order.order_id))
        assert within.severity is Severity.WARNING
        assert "quantity 1 → 2" in within.body

        await modify_at_broker(address, order.broker_order_id, quantity=400)
        await eventually(lambda: len(outside_alerts(notifier, order.order_id)) == 2)
        beyond = outside_alerts(notifier, order.order_id)[-1]
        assert (beyond.severity, beyond.title) == (Severity.CRITICAL, BEYOND_LIMITS)
        assert "quantity 2 → 400" in beyond.body
        assert "max_order_value" in beyond.body
        assert order.quantity == 400
