"""Kite's postbacks reach a running desk through ``POST /webhooks/kite``: a forged one is refused
and changes nothing; a genuine one applies once, however often it is sent; one replayed with a
forged status is only a reason to read the order from Kite."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from orderdesk.config import ApiSettings, EngineSettings, Settings, TradingDaySettings
from orderdesk.domain import InstrumentKey, OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.events import OrderStatusChanged
from orderdesk.domain.status import TERMINAL as TERMINAL_HERE
from orderdesk.runtime import Runtime, open_runtime
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.orders import TERMINAL
from tests.support import DictSecrets, eventually


@pytest.fixture
async def desk_on_sim(tmp_path: Path) -> AsyncIterator[tuple[SimServer, Runtime]]:
    """A daemon on the simulator whose only live channel is postbacks (polling is too slow to
    matter within the test and the ticker is off)."""
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            del os.environ[name]
    async with SimServer(SimConfig(port=0, seed=11, price_tick_interval=None)) as sim:
        secrets = DictSecrets(
            {
                "kite.access_token": sim.issue_access_token(),
                "kite.api_secret": sim.config.api_secret,
            }
        )
        kite = {
            "api_key": sim.config.api_key,
            "root": sim.rest_root,
            "ws_url": sim.ws_url,
            "stream": "poll",
            "poll_interval_seconds": 300,
            "rate_limits_enabled": False,
        }
        settings = Settings(
            broker="kite",
            data_dir=tmp_path,
            config_dir=tmp_path,
            api=ApiSettings(port=0),
            engine=EngineSettings(reconcile_interval_seconds=300, poll_interval_seconds=300),
            trading_day=TradingDaySettings(enabled=False),  # the sim is always open here
            kite=kite,
        )
        async with open_runtime(settings, secrets=secrets) as runtime:
            yield sim, runtime


def _fill_events(runtime: Runtime, order_id: str) -> list[OrderStatusChanged]:
    return [
        event
        for stored in runtime.store.read(stream=order_id)
        if isinstance(event := stored.event(), OrderStatusChanged)
        and event.status is OrderStatus.FILLED
    ]


async def test_forged_refused_genuine_applied_once(desk_on_sim: tuple[SimServer, Runtime]) -> None:
    """A wrong checksum gets 401 and no event; the genuine body sent three times fills once."""
    sim, runtime = desk_on_sim
    assert runtime.api is not None
    url = runtime.api.url + "/webhooks/kite"
    handle = await runtime.desk.submit(
        Signal(
            instrument=InstrumentKey.parse("NSE:INFY"),
            side=Side.BUY,
            quantity=3,
            order_type=OrderType.MARKET,
            product=Product.MIS,
            market_protection=Decimal(-1),
        )
    )
    order = handle.order
    assert order.broker_order_id is not None
    at_sim = sim.exchange.get(sim.config.user_id, order.broker_order_id)
    assert at_sim.status in TERMINAL
    wire = at_sim.to_wire() | {"status": "COMPLETE", "user_id": at_sim.user_id}
    genuine = json.dumps(sim.postbacks.payload(wire)).encode()
    forged = json.dumps(json.loads(genuine) | {"checksum": "0" * 64}).encode()

    # The log trails the news the desk has applied (it rides with the next commit): flushed
    # first, so what the forged postback would have written is all that could be new.
    await runtime.desk.flushed()
    events_before = runtime.store.last_seq()
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=forged) as reply:
            assert reply.status == 401
        await runtime.desk.flushed()
        assert runtime.store.last_seq() == events_before
        assert runtime.desk.order(order.order_id).status is not OrderStatus.FILLED

        answers = []
        for _ in range(3):
            async with http.post(url, data=genuine) as reply:
                answers.append((reply.status, await reply.text()))
    assert answers == [(200, "ok"), (200, "duplicate"), (200, "duplicate")]
    await eventually(
        lambda: runtime.desk.order(order.order_id).status is OrderStatus.FILLED,
        what="the postback to fill the order",
    )
    await runtime.desk.flushed()
    assert len(_fill_events(runtime, order.order_id)) == 1


async def test_webhooks_need_no_token_but_other_routes_do(
    desk_on_sim: tuple[SimServer, Runtime],
) -> None:
    """The webhook path is reachable without the bearer token; the API is not."""
    _, runtime = desk_on_sim
    assert runtime.api is not None
    async with aiohttp.ClientSession() as http:
        async with http.post(runtime.api.url + "/webhooks/kite", data=b"{}") as reply:
            assert reply.status == 401
            assert "invalid postback" in await reply.text()
        async with http.get(runtime.api.url + "/api/orders") as reply:
            assert reply.status == 401
        async with http.post(runtime.api.url + "/webhooks/nobody", data=b"{}") as reply:
            assert reply.status == 404


async def _price(sim: SimServer, http: aiohttp.ClientSession, price: float) -> None:
    """Kite's last price of INFY (the simulator matches resting orders against it at once)."""
    async with http.post(sim.rest_root + "/_sim/prices", json={"NSE:INFY": price}) as reply:
        assert reply.status == 200


async def test_a_replayed_postback_with_a_forged_status_is_not_believed(
    desk_on_sim: tuple[SimServer, Runtime],
) -> None:
    """Kite's checksum signs the order id and timestamp only: a captured postback of a resting
    order, replayed with CANCELLED, verifies. The desk reads the order from Kite (OPEN) instead
    of believing it, so the order stays working, and the genuine postback of its real fill
    later brings the fill."""
    sim, runtime = desk_on_sim
    assert runtime.api is not None
    url = runtime.api.url + "/webhooks/kite"
    async with aiohttp.ClientSession() as http:
        await _price(sim, http, 1500.0)
        handle = await runtime.desk.submit(
            Signal(
                instrument=InstrumentKey.parse("NSE:INFY"),
                side=Side.BUY,
                quantity=3,
                order_type=OrderType.LIMIT,
                price=Decimal("1450"),
                product=Product.MIS,
            )
        )
        order = handle.order
        assert order.broker_order_id is not None
        at_sim = sim.exchange.get(sim.config.user_id, order.broker_order_id)
        assert at_sim.status == "OPEN"
        wire = at_sim.to_wire() | {"user_id": at_sim.user_id}
        forged = sim.postbacks.payload(
            wire | {"status": "CANCELLED", "status_message": "cancelled outside orderdesk"}
        )
        async with http.post(url, data=json.dumps(forged).encode()) as reply:
            assert (reply.status, await reply.text()) == (200, "ok")

        await _price(sim, http, 1440.0)
        at_sim = sim.exchange.get(sim.config.user_id, order.broker_order_id)
        assert at_sim.status == "COMPLETE"
        genuine = sim.postbacks.payload(at_sim.to_wire() | {"user_id": at_sim.user_id})
        async with http.post(url, data=json.dumps(genuine).encode()) as reply:
            assert (reply.status, await reply.text()) == (200, "ok")

        ended = await eventually(
            lambda: runtime.desk.order(order.order_id).status in TERMINAL_HERE,
            what="the order to end",
        )
    assert ended
    assert runtime.desk.order(order.order_id).status is OrderStatus.FILLED
    await runtime.desk.flushed()
    statuses = [
        event.status
        for stored in runtime.store.read(stream=order.order_id)
        if isinstance(event := stored.event(), OrderStatusChanged)
    ]
    assert OrderStatus.CANCELLED not in statuses
    assert len(_fill_events(runtime, order.order_id)) == 1
