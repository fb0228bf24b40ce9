"""Issue 13, Kite's autoslice: an order above the freeze quantity goes to Kite as one
``autoslice=true`` placement through the real Kite adapter, and the children the simulator cuts
are the desk's (fills, positions, strategy), refereed by the official kiteconnect client."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from kiteconnect import KiteConnect

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.events import AutosliceSent, OrderCreated
from orderdesk.domain.ids import client_order_id
from orderdesk.domain.reports import InstrumentInfo
from orderdesk.engine import OrderDesk
from orderdesk.engine.adoption import EXTERNAL_STRATEGY
from orderdesk.engine.config import Slicing
from orderdesk.ports.notifier import Severity
from orderdesk.store import SqlEventStore
from tests.scenarios.harness import (
    SCENARIO_CONFIG,
    BrokerView,
    ListNotifier,
    SimAddress,
    compare,
    open_desk,
    running_sim,
)

RICH = Decimal("100000000")


def _future(desk: OrderDesk) -> InstrumentInfo:
    rows = [
        i for i in desk.instruments.values() if i.name == "NIFTY" and i.instrument_type == "FUT"
    ]
    return min(rows, key=lambda info: info.expiry)


def _buy(info: InstrumentInfo, quantity: int, signal_id: str) -> Signal:
    return Signal(
        instrument=info.instrument,
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.MARKET,
        product=Product.NRML,
        strategy="bigone",
        signal_id=signal_id,
    )


def _official(sim: SimAddress) -> KiteConnect:
    """The official client on the simulator, with the desk's session (a bystander)."""
    return KiteConnect(sim.api_key, access_token=sim.access_token, root=sim.rest_root)


async def test_one_autoslice_placement_and_its_children_are_the_desks(
    tmp_path: Path, store_url: str
) -> None:
    """4,095 NIFTY futures (63 lots of 65; freeze 1,800, so slices of 27 lots) are one
    autoslice placement: the official client lists three children tagged autoslice:<parent>
    and the desk's id, and the desk tracks them as the order's children: filled, in the
    position, credited to the strategy, none external."""
    async with (
        running_sim(rate_limits=False, seed=91, opening_cash=RICH) as (_, address),
        open_desk(address, store_url, tmp_path) as desk,
    ):
        future = _future(desk)
        assert future.freeze_quantity == 1800
        handle = await desk.submit(_buy(future, 4095, "big"))
        await handle.wait()
        assert handle.status is OrderStatus.FILLED
        assert handle.filled_quantity == 4095
        parent = handle.order
        assert parent.autoslice
        assert parent.broker_parent_id is not None
        children = handle.children
        assert sorted(c.signal.quantity for c in children) == [585, 1755, 1755]
        assert {c.signal.strategy for c in children} == {"bigone"}
        assert not any(c.external for c in children)
        assert all(c.status is OrderStatus.FILLED for c in children)
        assert EXTERNAL_STRATEGY not in {o.signal.strategy for o in desk.orders()}
        assert desk.position(future.instrument, Product.NRML).quantity == 4095

        rows = await asyncio.to_thread(_official(address).orders)
        assert len(rows) == 3
        assert {tuple(r["tags"]) for r in rows} == {
            (handle.order_id, "autoslice", f"autoslice:{parent.broker_parent_id}")
        }
        assert sorted(r["order_id"] for r in rows) == sorted(handle.broker_order_ids)
        await desk.reconcile()
        differences = compare(desk, await BrokerView(address).books())
        assert not differences, str(differences)
        again = await desk.submit(_buy(future, 4095, "big"))
        assert again.order_id == handle.order_id
    store = SqlEventStore(store_url)
    try:
        kinds = [stored.type for stored in store.read(stream=handle.order_id)]
    finally:
        store.close()
    assert kinds[:3] == ["OrderCreated", "AutosliceSent", "AutosliceAnswered"]


async def test_a_refused_slice_is_shown_on_the_order_and_named_in_an_alert(
    tmp_path: Path, store_url: str
) -> None:
    """With cash for two of three slices, Kite's reply refuses the third: the desk's order
    holds it as a rejected child with the broker's reason, and the alert names that child."""
    notifier = ListNotifier()
    async with (
        running_sim(rate_limits=False, seed=92) as (_, address),
        open_desk(address, store_url, tmp_path, notifier=notifier) as desk,
    ):
        future = _future(desk)
        await BrokerView(address).control("prices", {str(future.instrument): 2000})
        handle = await desk.submit(_buy(future, 3 * 1755, "thin"))
        await handle.wait()
        children = handle.children
        rejected = [c for c in children if c.status is OrderStatus.REJECTED]
        filled = [c for c in children if c.status is OrderStatus.FILLED]
        assert len(children) == 3
        assert rejected
        assert filled
        for child in rejected:
            assert child.broker_order_id is None
            assert "Insufficient funds" in (child.reason or "")
            alerts = [a for a in notifier.about(child.order_id) if a.title == "Slice rejected"]
            assert [a.severity for a in alerts] == [Severity.WARNING]
            assert child.order_id in alerts[0].body
        assert handle.status is not OrderStatus.FILLED
        assert handle.order.reason == (
            f"{len(rejected)} of 3 slices refused by the broker: "
            + ", ".join(c.order_id for c in rejected)
        )
        assert handle.filled_quantity == sum(c.filled_quantity for c in filled)
        rows = await asyncio.to_thread(_official(address).orders)
        assert sorted(r["order_id"] for r in rows) == sorted(c.broker_order_id for c in filled)


async def test_more_than_ten_slices_is_refused_before_anything_is_sent(
    tmp_path: Path, store_url: str
) -> None:
    """11 freeze quantities would be 11 slices: refused at intake naming the limit; the
    broker's book and the desk's log hold nothing of it."""
    async with (
        running_sim(rate_limits=False, seed=93, opening_cash=RICH) as (_, address),
        open_desk(address, store_url, tmp_path) as desk,
    ):
        future = _future(desk)
        with pytest.raises(ValidationError) as exc_info:
            await desk.submit(_buy(future, 11 * 1755, "huge"))
        reason = exc_info.value.reason
        assert "needs 11 slices" in reason
        assert "at most 10" in reason
        assert '[engine] slicing = "desk"' in reason
        assert desk.orders() == []
        assert await asyncio.to_thread(_official(address).orders) == []


async def test_desk_slicing_stays_when_configured(tmp_path: Path, store_url: str) -> None:
    """``slicing = "desk"`` places every slice itself under its own tag, no autoslice."""
    config = replace(SCENARIO_CONFIG, slicing=Slicing.DESK)
    async with (
        running_sim(rate_limits=False, seed=94, opening_cash=RICH) as (_, address),
        open_desk(address, store_url, tmp_path, config=config) as desk,
    ):
        future = _future(desk)
        handle = await desk.submit(_buy(future, 1950, "desk-sliced"))
        await handle.wait()
        assert not handle.order.autoslice
        rows = await asyncio.to_thread(_official(address).orders)
        assert sorted(r["quantity"] for r in rows) == [195, 1755]
        assert {r["tag"] for r in rows} == {c.order_id for c in handle.children}
        assert not any("autoslice" in r.get("tags", []) for r in rows)


async def test_an_ambiguous_answer_is_never_resent_and_late_children_are_still_the_orders(
    tmp_path: Path, store_url: str
) -> None:
    """Kite answers the autoslice placement "Order request timed out" and cuts the children a
    moment later: the desk alerts the unknown outcome, sends nothing again, and adopts the late
    children as the order's own (not external) as the stream reports them."""
    notifier = ListNotifier()
    async with (
        running_sim(rate_limits=False, seed=95, opening_cash=RICH) as (_, address),
        open_desk(address, store_url, tmp_path, notifier=notifier) as desk,
    ):
        future = _future(desk)
        view = BrokerView(address)
        await view.faults(ambiguous_timeout=1.0, ambiguous_delay_max_ms=300)
        handle = await desk.submit(_buy(future, 4095, "late"))
        assert handle.order.autoslice
        assert "Autoslice outcome unknown" in notifier.titles(Severity.CRITICAL)
        await view.faults(ambiguous_timeout=0.0)
        await handle.wait(lambda h: h.filled_quantity == 4095, timeout=30)
        children = handle.children
        assert sorted(c.signal.quantity for c in children) == [585, 1755, 1755]
        assert {c.signal.strategy for c in children} == {"bigone"}
        assert not any(c.external for c in children)
        rows = await asyncio.to_thread(_official(address).orders)
        assert len(rows) == 3, "one placement only: nothing was sent again"
        assert EXTERNAL_STRATEGY not in {o.signal.strategy for o in desk.orders()}


async def test_a_placement_in_flight_when_the_desk_stopped_is_adopted_not_resent(
    tmp_path: Path, store_url: str
) -> None:
    """The log ends at AutosliceSent (the desk died waiting for the answer) and the broker did
    place the children: the next start alerts the lost answer, sends nothing, and reconciliation
    makes the children the order's own."""
    notifier = ListNotifier()
    async with running_sim(rate_limits=False, seed=96, opening_cash=RICH) as (_, address):
        async with open_desk(address, store_url, tmp_path) as desk:
            future = _future(desk)
        signal = _buy(future, 4095, "crashed")
        order_id = client_order_id(signal.strategy, "crashed")
        at = datetime.now(UTC)
        store = SqlEventStore(store_url)
        try:
            store.append(
                [
                    OrderCreated(at=at, order_id=order_id, signal=signal),
                    AutosliceSent(at=at, order_id=order_id),
                ]
            )
        finally:
            store.close()
        placed = await asyncio.to_thread(
            _official(address).place_autoslice_order,
            variety="regular",
            exchange="NFO",
            tradingsymbol=future.instrument.tradingsymbol,
            transaction_type="BUY",
            quantity=4095,
            product="NRML",
            order_type="MARKET",
            market_protection=-1,
            tag=order_id,
        )
        assert len(placed["children"]) == 3
        async with open_desk(address, store_url, tmp_path, notifier=notifier) as desk:
            handle = desk.handle(order_id)
            assert "Autoslice outcome unknown" in notifier.titles(Severity.CRITICAL)
            assert handle.order.reason is not None
            assert (
                "stopped before the autoslice placement's answer was recorded"
                in handle.order.reason
            )
            children = handle.children
            assert sorted(c.signal.quantity for c in children) == [585, 1755, 1755]
            assert not any(c.external for c in children)
            assert handle.filled_quantity == 4095
            rows = await asyncio.to_thread(_official(address).orders)
            assert len(rows) == 3


async def test_an_address_the_broker_refuses_rejects_the_order_as_any_placement(
    tmp_path: Path, store_url: str
) -> None:
    """Kite takes orders from 127.0.0.2 only (static IP): the autoslice placement from
    127.0.0.1 is refused whole, the order is rejected naming the fix, alerted CRITICAL, and
    nothing is placed or sent again."""
    notifier = ListNotifier()
    async with (
        running_sim(rate_limits=False, seed=97, opening_cash=RICH, allowed_ips=("127.0.0.2",)) as (
            _,
            address,
        ),
        open_desk(address, store_url, tmp_path, notifier=notifier) as desk,
    ):
        future = _future(desk)
        handle = await desk.submit(_buy(future, 4095, "wrong-ip"))
        assert handle.status is OrderStatus.REJECTED
        assert handle.children == []
        assert "127.0.0.1" in (handle.order.reason or "")
        assert "Broker refuses orders from this address" in notifier.titles(Severity.CRITICAL)
        assert await asyncio.to_thread(_official(address).orders) == []
