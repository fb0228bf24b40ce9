"""Order updates end to end: the ticker's text frames and postbacks, driven by real fills."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.support import eventually


async def _place(http: aiohttp.ClientSession, sim: SimServer, token: str, **form: str) -> str:
    headers = {"Authorization": f"token {sim.config.api_key}:{token}"}
    async with http.post(sim.rest_root + "/orders/regular", data=form, headers=headers) as reply:
        body = await reply.json()
    assert reply.status == 200, body
    return str(body["data"]["order_id"])


LIMIT_BUY = {
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "quantity": "2",
    "product": "CNC",
    "order_type": "LIMIT",
    "price": "1400",
}


async def test_fill_reaches_the_ticker_as_an_order_message(sim: SimServer) -> None:
    """A resting order that fills is pushed as {"type": "order"} with COMPLETE to its user."""
    sim.market.set_prices({"NSE:INFY": 1500})
    token = sim.issue_access_token()
    messages: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http:
        url = f"{sim.ws_url}?api_key={sim.config.api_key}&access_token={token}"
        async with http.ws_connect(url) as ws:
            order_id = await _place(http, sim, token, **LIMIT_BUY)
            sim.market.set_prices({"NSE:INFY": 1399})

            async def complete() -> bool:
                msg = await ws.receive(timeout=5)
                if msg.type is aiohttp.WSMsgType.TEXT:
                    messages.append(json.loads(msg.data))
                return any(m["data"].get("status") == "COMPLETE" for m in messages)

            await eventually(complete, what="a COMPLETE order message")
    orders = [m for m in messages if m["type"] == "order"]
    assert [m["data"]["order_id"] for m in orders] == [order_id]
    data = orders[0]["data"]
    assert data["user_id"] == "AB1234"
    assert data["filled_quantity"] == 2
    assert data["unfilled_quantity"] == 0


@contextlib.asynccontextmanager
async def _postback_receiver(received: list[dict[str, Any]]) -> AsyncIterator[str]:
    """A hook on 127.0.0.1:0 that appends every POSTed body to ``received``; yields its URL."""

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    finally:
        await runner.cleanup()


async def test_postbacks_carry_kite_statuses(sim_config: SimConfig) -> None:
    """Postbacks go to the configured URL: UPDATE for a modification, CANCELLED at the end."""
    received: list[dict[str, Any]] = []
    async with _postback_receiver(received) as hook_url:
        sim_config.postback_url = hook_url
        async with SimServer(sim_config) as sim, aiohttp.ClientSession() as http:
            sim.market.set_prices({"NSE:INFY": 1500})
            token = sim.issue_access_token()
            order_id = await _place(http, sim, token, **LIMIT_BUY)
            headers = {"Authorization": f"token {sim.config.api_key}:{token}"}
            url = f"{sim.rest_root}/orders/regular/{order_id}"
            async with http.put(url, data={"price": "1401"}, headers=headers) as reply:
                assert reply.status == 200
            async with http.delete(url, headers=headers) as reply:
                assert reply.status == 200
            await eventually(lambda: len(received) >= 2, what="two postbacks")
    assert [(p["order_id"], p["status"]) for p in received] == [
        (order_id, "UPDATE"),
        (order_id, "CANCELLED"),
    ]
    assert all(len(p["checksum"]) == 64 for p in received)


async def test_the_tickers_order_message_is_the_postback_payload(sim_config: SimConfig) -> None:
    """One update reaches the ticker and the postback URL as the same payload, field for field,
    app_id and checksum included (KITE_API.md §10: the WS order data is the postback's)."""
    received: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    async with _postback_receiver(received) as hook_url:
        sim_config.postback_url = hook_url
        async with SimServer(sim_config) as sim, aiohttp.ClientSession() as http:
            sim.market.set_prices({"NSE:INFY": 1500})
            token = sim.issue_access_token()
            url = f"{sim.ws_url}?api_key={sim.config.api_key}&access_token={token}"
            async with http.ws_connect(url) as ws:
                order_id = await _place(http, sim, token, **LIMIT_BUY)
                headers = {"Authorization": f"token {sim.config.api_key}:{token}"}
                cancel = f"{sim.rest_root}/orders/regular/{order_id}"
                async with http.delete(cancel, headers=headers) as reply:
                    assert reply.status == 200

                async def cancelled() -> bool:
                    msg = await ws.receive(timeout=5)
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        messages.append(json.loads(msg.data))
                    return any(m["data"].get("status") == "CANCELLED" for m in messages)

                await eventually(cancelled, what="the CANCELLED order message")
            await eventually(lambda: received, what="the CANCELLED postback")
    (pushed,) = [m["data"] for m in messages if m["type"] == "order"]
    (posted,) = received
    assert pushed == posted
    assert {"app_id", "checksum", "user_id", "unfilled_quantity"} <= set(pushed)
