"""Order and trade routes: place, modify, cancel, the order book, history and trades.

Place, modify and cancel pass the static-IP rule first (:mod:`orderdesk.sim.static_ip`).
Placement is where the ``lost_response`` fault bites: the order is created, then the connection
is closed before any reply is written, so the client sees a connection error while the order sits
in the book — the "unknown outcome" the engine must resolve by looking for its tag. The
``ambiguous_timeout`` fault is Kite's own version of it (KITE_API.md §14.2): the reply is a 400
``InputException`` saying the request timed out, and the order appears in the book only after a
seeded delay on the simulated clock (:meth:`Exchange.place_later`), or never. With
``slow_placement_ms`` the order is created, and answered, only that long (real time) after the
request arrived, also when the client has stopped waiting: the reply a timed-out client never
reads.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from orderdesk.sim.core import Core, read_form
from orderdesk.sim.envelope import JSON, InputError, encode_json, encode_ok_list, ok
from orderdesk.sim.order_params import ModifyRequest, PlaceRequest

ORDER_TIMED_OUT = "Order request timed out. Please check the order book."
"""Kite's ambiguous placement reply (HTTP 400, InputException). KITE_API.md §14.2 quotes its
opening, "Order request timed out. Please check the order book…"; what follows is UNVERIFIED,
so the simulator sends the quoted words only."""


class LostResponse(Exception):
    """Raised after the work is done to make the server drop the connection unanswered."""


def add_order_routes(app: web.Application, core: Core) -> None:
    """Mount ``/orders*`` and ``/trades``."""
    exchange = core.exchange
    slow: set[asyncio.Task[Any]] = set()
    """Placements held by ``slow_placement_ms`` (kept here: the loop holds tasks weakly)."""

    def create(user_id: str, req: PlaceRequest) -> Any:
        if req.autoslice:
            return exchange.place_autoslice(user_id, core.config.api_key, req)
        return {"order_id": exchange.place(user_id, core.config.api_key, req).order_id}

    async def create_slowly(delay: float, user_id: str, req: PlaceRequest) -> Any:
        await asyncio.sleep(delay)
        return create(user_id, req)

    async def place(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        core.static_ip.check(request, "place")
        core.limiter.check_order_quota(user_id, placement=True)
        values = await read_form(request)
        req = PlaceRequest.parse(request.match_info["variety"], values)
        ambiguity = core.faults.roll_ambiguous()
        if ambiguity is not None:
            if ambiguity.delay is not None:
                exchange.place_later(ambiguity.delay, user_id, core.config.api_key, req)
            raise InputError(ORDER_TIMED_OUT)
        if core.faults.slow_placement_ms > 0:
            # A task of its own, shielded: the order is created even if the client leaves and
            # the server cancels this handler.
            task = asyncio.get_running_loop().create_task(
                create_slowly(core.faults.slow_placement_ms / 1000, user_id, req)
            )
            slow.add(task)
            task.add_done_callback(slow.discard)
            data = await asyncio.shield(task)
        else:
            data = create(user_id, req)
        if core.faults.roll(core.faults.lost_response):
            raise LostResponse
        return ok(data)

    async def modify(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        core.static_ip.check(request, "modify")
        core.limiter.check_order_quota(user_id, placement=False)
        req = ModifyRequest.parse(await read_form(request))
        order = exchange.modify(
            user_id, request.match_info["variety"], request.match_info["order_id"], req
        )
        return ok({"order_id": order.order_id})

    async def cancel(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        core.static_ip.check(request, "cancel")
        core.limiter.check_order_quota(user_id, placement=False)
        values = await read_form(request)
        order = exchange.cancel(
            user_id,
            request.match_info["variety"],
            request.match_info["order_id"],
            values.get("parent_order_id") or None,
        )
        return ok({"order_id": order.order_id})

    # The rendered book per user, reused while the exchange's revision is unchanged: books are
    # read far more often than they change, and encoding 100 rows of JSON dominates a request.
    rendered: dict[str, tuple[int, bytes]] = {}
    # Each order's encoded row, kept beside the row it encodes: a write changes one order, so
    # re-encoding only that one keeps the read after a write from costing the whole book
    # (262 ms at 10,000 orders when every row was encoded again). Holding the row object keeps
    # the identity check sound; ids repeat after a reset, rows do not.
    fragments: dict[str, tuple[dict[str, Any], bytes]] = {}

    def encode_book(user_id: str) -> bytes:
        parts = []
        for order in exchange.orders_of(user_id):
            row = order.book_row()
            cached = fragments.get(order.order_id)
            if cached is None or cached[0] is not row:
                cached = fragments[order.order_id] = (row, encode_json(row))
            parts.append(cached[1])
        return encode_ok_list(parts)

    async def book(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        cached = rendered.get(user_id)
        if cached is None or cached[0] != exchange.revision:
            cached = rendered[user_id] = (exchange.revision, encode_book(user_id))
        return web.Response(body=cached[1], content_type=JSON)

    async def history(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        return ok(list(exchange.get(user_id, request.match_info["order_id"]).history))

    async def order_trades(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        order = exchange.get(user_id, request.match_info["order_id"])
        return ok(exchange.trades_of(user_id, order.order_id))

    async def trades(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        return ok(exchange.trades_of(user_id))

    app.router.add_get("/orders", book)
    app.router.add_get("/trades", trades)
    app.router.add_post("/orders/{variety}", place)
    app.router.add_get("/orders/{order_id}", history)
    app.router.add_get("/orders/{order_id}/trades", order_trades)
    app.router.add_put("/orders/{variety}/{order_id}", modify)
    app.router.add_delete("/orders/{variety}/{order_id}", cancel)


__all__ = ["ORDER_TIMED_OUT", "LostResponse", "add_order_routes"]
