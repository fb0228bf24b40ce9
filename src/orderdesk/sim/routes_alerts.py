"""Alert routes: ``/alerts`` (create, list, delete by ``uuid``), ``/alerts/{uuid}`` (read,
modify) and ``/alerts/{uuid}/history``, as gokiteconnect's ``alerts.go`` calls them."""

from __future__ import annotations

from aiohttp import web

from orderdesk.sim.alerts import AlertBook
from orderdesk.sim.core import Core, read_form
from orderdesk.sim.envelope import ok


def add_alert_routes(app: web.Application, core: Core, book: AlertBook) -> None:
    """Mount the alert routes."""

    async def create(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        spec = book.parse(await read_form(request))
        return ok(book.create(user_id, core.config.api_key, spec).to_wire())

    async def listing(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        return ok(book.alerts_of(user_id, request.query))

    async def one(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        return ok(book.get(user_id, request.match_info["uuid"]).to_wire())

    async def modify(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        alert_id = request.match_info["uuid"]
        book.get(user_id, alert_id)  # 404 before the form is judged
        spec = book.parse(await read_form(request))
        return ok(book.modify(user_id, alert_id, spec).to_wire())

    async def delete(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        book.delete(user_id, request.query.getall("uuid", []))
        return ok(None)

    async def history(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        return ok(book.history(user_id, request.match_info["uuid"]))

    app.router.add_post("/alerts", create)
    app.router.add_get("/alerts", listing)
    app.router.add_delete("/alerts", delete)
    app.router.add_get("/alerts/{uuid}", one)
    app.router.add_put("/alerts/{uuid}", modify)
    app.router.add_get("/alerts/{uuid}/history", history)


__all__ = ["add_alert_routes"]
