"""No order update is lost across socket drops: WebSocket updates plus the gap-fill hook.

A stand-in for the issue's simulator acceptance test until the simulator's ticker lands: a local
server owns an order book (what REST would return) and pushes each change to whichever socket is
live; the test drops the socket 20 times while 200 orders walk their lifecycles, pushing some
updates while no socket is connected. Only the gap-fill can recover those.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orderdesk.brokers.kite.ticker import Connected, KiteTicker, OrderUpdated, TickerConfig
from tests.support import eventually

API_KEY, TOKEN = "kitekey", "tok"
TERMINAL = {"COMPLETE", "CANCELLED", "REJECTED"}


@dataclass
class Exchange:
    """The broker side: the order book and the live sockets updates are pushed to."""

    book: dict[str, dict[str, Any]] = field(default_factory=dict)
    live: list[web.WebSocketResponse] = field(default_factory=list)
    requests: list[web.Request] = field(default_factory=list)
    pushed_to_nobody: int = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one ticker socket until it closes."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.live.append(ws)
        self.requests.append(request)
        try:
            async for _ in ws:
                pass
        finally:
            if ws in self.live:
                self.live.remove(ws)
        return ws

    async def change(self, order: dict[str, Any]) -> None:
        """Record an order change in the book, then push it to every live socket."""
        self.book[order["order_id"]] = order
        if not self.live:
            self.pushed_to_nobody += 1
        for ws in list(self.live):
            # A socket dying mid-send loses this push; the client's gap-fill recovers it.
            with contextlib.suppress(ConnectionError):
                await ws.send_str(json.dumps({"type": "order", "data": order}))

    def drop(self) -> None:
        """Abort every live socket's TCP connection."""
        self.live.clear()
        for request in self.requests:
            if request.transport is not None:
                request.transport.abort()
        self.requests.clear()


def lifecycle(order_id: str, rng: random.Random) -> list[dict[str, Any]]:
    """The successive states of one order: open, maybe partly filled, then a terminal status."""
    qty = rng.randint(1, 10) * 10
    end = rng.choice(["COMPLETE", "COMPLETE", "CANCELLED", "REJECTED"])
    states = [("OPEN", 0)]
    if end != "REJECTED" and rng.random() < 0.5:
        states.append(("OPEN", qty // 2))
    states.append((end, qty if end == "COMPLETE" else states[-1][1]))
    return [
        {"order_id": order_id, "status": s, "filled_quantity": f, "quantity": qty, "seq": i}
        for i, (s, f) in enumerate(states)
    ]


class LocalBook:
    """The consumer side: applies updates only when they move an order forward."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}

    def apply(self, order: dict[str, Any]) -> None:
        """Keep the update if it is further along than what we hold (duplicates are no-ops)."""
        held = self.orders.get(order["order_id"])
        if held is None or order["seq"] > held["seq"]:
            self.orders[order["order_id"]] = dict(order)


@pytest.fixture
async def exchange_url() -> AsyncIterator[tuple[Exchange, str]]:
    """The exchange's ticker endpoint on a local port."""
    exchange = Exchange()
    app = web.Application()
    app.router.add_get("/", exchange.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield exchange, str(server.make_url("/")).replace("http://", "ws://")
    finally:
        await server.close()


async def test_200_orders_reach_terminal_status_locally_across_20_drops(
    exchange_url: tuple[Exchange, str], no_backoff: None
) -> None:
    """Every order ends in its broker terminal status locally although the socket drops 20 times."""
    exchange, url = exchange_url
    rng = random.Random(5)
    local = LocalBook()
    connects = 0

    async def gap_fill() -> None:
        for order in list(exchange.book.values()):  # what GET /orders would return
            local.apply(order)

    config = TickerConfig(url=url)  # reconnects at once: stamina's test mode (no_backoff)
    async with aiohttp.ClientSession() as session:
        ticker = KiteTicker(API_KEY, TOKEN, session=session, gap_fill=gap_fill, config=config)
        async with ticker:

            async def consume() -> None:
                nonlocal connects
                async for event in ticker.events():
                    if isinstance(event, OrderUpdated):
                        local.apply(dict(event.order))
                    elif isinstance(event, Connected):
                        connects += 1

            consumer = asyncio.create_task(consume())
            await eventually(lambda: exchange.live, what="first connection")
            steps = [lifecycle(f"2403{n:011d}", rng) for n in range(200)]
            pending = [iter(s) for s in steps]
            changes: list[dict[str, Any]] = []  # the lifecycles, interleaved at random
            while pending:
                it = rng.choice(pending)
                change = next(it, None)
                if change is None:
                    pending.remove(it)
                else:
                    changes.append(change)
            drop_at = set(rng.sample(range(1, len(changes) - 1), 20))
            for index, change in enumerate(changes):
                if index in drop_at:
                    exchange.drop()
                    await exchange.change(change)  # lands while no socket is up
                    await eventually(lambda: exchange.live, what="reconnect")
                else:
                    await exchange.change(change)
            await eventually(
                lambda: all(
                    local.orders.get(oid, {}).get("status") == o["status"]
                    for oid, o in exchange.book.items()
                ),
                what="every order's final status locally",
            )
            consumer.cancel()

    assert len(local.orders) == 200
    assert all(o["status"] in TERMINAL for o in local.orders.values())
    assert local.orders == exchange.book
    assert exchange.pushed_to_nobody == 20  # those could only come back through gap_fill
    assert connects == 21
