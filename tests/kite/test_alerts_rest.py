"""The Kite adapter's alerts and GTT reads against the simulator: what fired, and which orders
it placed (the link the desk attributes those orders by)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import aiohttp
import pytest

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.config import KiteConfig
from orderdesk.brokers.kite.errors import InputException
from orderdesk.domain.reports import AlertOrder, GttOrderLeg, GttTrigger, PriceAlert
from orderdesk.domain.values import Exchange, InstrumentKey, Product, Side
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

INFY = InstrumentKey(Exchange.NSE, "INFY")


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    config = SimConfig(
        host="127.0.0.1", port=0, seed=7, price_tick_interval=None, rate_limits=False
    )
    async with SimServer(config) as server:
        yield server


@pytest.fixture
async def kite(sim: SimServer) -> AsyncIterator[KiteRestClient]:
    config = KiteConfig(api_key=sim.config.api_key, root=sim.rest_root, timeout_seconds=5)
    async with KiteRestClient(config, access_token=sim.issue_access_token()) as client:
        yield client


async def _price(sim: SimServer, price: float) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(sim.rest_root + "/_sim/prices", json={"NSE:INFY": price}) as reply,
    ):
        assert reply.status == 200


DIP = PriceAlert(
    name="buy the dip",
    instrument=INFY,
    operator="<=",
    value=Decimal(1400),
    basket=(
        AlertOrder(
            instrument=INFY,
            side=Side.BUY,
            quantity=3,
            product=Product.CNC,
            price=Decimal(1401),
        ),
    ),
)


async def test_an_ato_round_trips_and_names_the_orders_it_placed(
    kite: KiteRestClient, sim: SimServer
) -> None:
    await _price(sim, 1500)
    created = await kite.create_alert(DIP)
    assert created.alert_id is not None
    assert (created.kind, created.status) == ("ato", "enabled")
    assert (created.basket, created.value) == (DIP.basket, DIP.value)
    # As written (Kite's JSON floats read 1401.0 and 1400.0 in every view of the alert).
    assert (str(created.basket[0].price), str(created.value)) == ("1401", "1400")
    moved = await kite.modify_alert(created.alert_id, replace(DIP, value=Decimal(1410)))
    assert moved.value == Decimal(1410)
    assert [a.alert_id for a in await kite.alerts()] == [created.alert_id]
    assert await kite.alert_order_ids(created.alert_id) == []
    await _price(sim, 1405)
    placed = await kite.alert_order_ids(created.alert_id)
    book = await kite.orders()
    assert placed == [r.broker_order_id for r in book]
    (fired,) = await kite.alerts()
    assert (fired.status, fired.fired) == ("disabled", 1)
    await kite.delete_alert(created.alert_id)
    assert await kite.alerts() == []


async def test_a_refused_alert_is_kites_input_error(kite: KiteRestClient) -> None:
    with pytest.raises(InputException):
        await kite.create_alert(replace(DIP, operator="=>"))


async def test_a_fired_gtt_names_its_order(kite: KiteRestClient, sim: SimServer) -> None:
    await _price(sim, 1500)
    leg = GttOrderLeg(side=Side.SELL, quantity=1, price=Decimal(1600), product=Product.CNC)
    trigger = GttTrigger(
        instrument=INFY, trigger_values=(Decimal(1600),), last_price=Decimal(1500), orders=(leg,)
    )
    trigger_id = await kite.place_gtt(trigger)
    (listed,) = await kite.gtt_triggers()
    assert (listed.trigger_id, listed.status, listed.order_ids) == (trigger_id, "active", ())
    # Read back as written, not as Kite's JSON floats (1600.0): a GTT taken as the broker holds
    # it after a change on Kite web is shown from these.
    shown = (listed.trigger_values[0], listed.last_price, listed.orders[0].price)
    assert [str(v) for v in shown] == ["1600", "1500", "1600"]
    await _price(sim, 1601)
    (fired,) = await kite.gtt_triggers()
    assert fired.status == "triggered"
    assert fired.order_ids == tuple(r.broker_order_id for r in await kite.orders())
