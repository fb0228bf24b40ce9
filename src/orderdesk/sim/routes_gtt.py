"""GTT routes: ``/gtt/triggers`` and ``/gtt/triggers/{id}``."""

from __future__ import annotations

from aiohttp import web

from orderdesk.sim.core import Core, read_form
from orderdesk.sim.envelope import NotFoundError, ok


def _trigger_id(request: web.Request) -> int:
    try:
        return int(request.match_info["trigger_id"])
    except ValueError:
        raise NotFoundError("Trigger not found.") from None


def add_gtt_routes(app: web.Application, core: Core) -> None:
    """Mount the GTT routes."""
    book = core.gtt

    async def place(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        spec = book.parse(await read_form(request))
        return ok({"trigger_id": book.place(user_id, core.config.api_key, spec)})

    async def listing(request: web.Request) -> web.Response:
        return ok(book.triggers_of(await core.require_auth(request)))

    async def one(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        return ok(book.get(user_id, _trigger_id(request)).to_wire())

    async def modify(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        trigger_id = _trigger_id(request)
        spec = book.parse(await read_form(request))
        return ok({"trigger_id": book.modify(user_id, trigger_id, spec)})

    async def delete(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        return ok({"trigger_id": book.delete(user_id, _trigger_id(request))})

    app.router.add_post("/gtt/triggers", place)
    app.router.add_get("/gtt/triggers", listing)
    app.router.add_get("/gtt/triggers/{trigger_id}", one)
    app.router.add_put("/gtt/triggers/{trigger_id}", modify)
    app.router.add_delete("/gtt/triggers/{trigger_id}", delete)


__all__ = ["add_gtt_routes"]
