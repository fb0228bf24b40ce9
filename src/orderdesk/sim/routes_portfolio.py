"""Portfolio routes: positions (and their conversion), holdings, and the holdings
authorisation an account without DDPI needs to sell them (:mod:`orderdesk.sim.authorisation`)."""

from __future__ import annotations

from aiohttp import web

from orderdesk.sim.core import Core, read_form
from orderdesk.sim.envelope import InputError, ok
from orderdesk.sim.orders import Product

CONVERTIBLE = frozenset({Product.CNC, Product.NRML, Product.MIS, Product.MTF})
"""The products a position converts between (KITE_API.md §4.2; CO and BO only name the
positions of those varieties)."""


def _product(values: dict[str, str], key: str) -> Product:
    """``old_product`` or ``new_product``, refused unless it is one of Kite's products."""
    value = values[key]
    if value not in CONVERTIBLE:
        raise InputError(f"Invalid `{key}`: use CNC, NRML, MIS or MTF.")
    return Product(value)


def add_portfolio_routes(app: web.Application, core: Core) -> None:
    """Mount ``/portfolio/*``."""
    portfolio = core.portfolio

    async def positions(request: web.Request) -> web.Response:
        return ok(portfolio.positions_payload(await core.require_auth(request)))

    async def convert(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        values = await read_form(request)
        for key in (
            "exchange",
            "tradingsymbol",
            "transaction_type",
            "quantity",
            "old_product",
            "new_product",
        ):
            if not values.get(key):
                raise InputError(f"Missing or empty field `{key}`.")
        if values["transaction_type"] not in ("BUY", "SELL"):
            raise InputError("Invalid `transaction_type`.")
        position_type = values.get("position_type", "day")
        if position_type not in ("day", "overnight"):
            raise InputError("Invalid `position_type`.")
        try:
            quantity = int(values["quantity"])
        except ValueError:
            raise InputError("Invalid `quantity`.") from None
        old_product = _product(values, "old_product")
        new_product = _product(values, "new_product")
        if new_product is Product.MIS:
            # No conversion to intraday after the square-off (KITE_API.md §14.1).
            refusal = core.exchange.intraday_closed(values["exchange"])
            if refusal is not None:
                raise InputError(refusal)
        portfolio.convert(
            user_id,
            exchange=values["exchange"],
            tradingsymbol=values["tradingsymbol"],
            buy=values["transaction_type"] == "BUY",
            quantity=quantity,
            old_product=str(old_product),
            new_product=str(new_product),
            overnight=position_type == "overnight",
        )
        return ok(True)

    async def holdings(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        return ok(portfolio.holdings_payload(user_id, core.authorisation.authorised))

    async def authorise(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        form = await request.post() if request.can_read_body else None
        isins = [str(v) for v in form.getall("isin", [])] if form is not None else []
        quantities = [str(v) for v in form.getall("quantity", [])] if form is not None else []
        if len(isins) != len(quantities):
            raise InputError("Each `isin` needs its `quantity`.")
        wanted: dict[str, int] = {}
        for isin, quantity in zip(isins, quantities, strict=True):
            try:
                wanted[isin] = int(quantity)
            except ValueError:
                raise InputError("Invalid `quantity`.") from None
            if wanted[isin] <= 0:
                raise InputError("Invalid `quantity`.")
        request_id = core.authorisation.request(user_id, wanted or None)
        return ok({"request_id": request_id})

    async def authorisation_page(request: web.Request) -> web.Response:
        # The depository's TPIN and OTP page, approved at once (as the login page is).
        api_key, request_id = request.match_info["api_key"], request.match_info["request_id"]
        if api_key != core.config.api_key:
            raise InputError("Invalid `api_key`.")
        core.authorisation.approve(request_id)
        raise web.HTTPFound(f"{request.path}/finish?status=success")

    async def authorisation_finished(request: web.Request) -> web.Response:
        return web.Response(
            text="<!doctype html><title>Holdings authorised</title>"
            "<p>Holdings authorised for today. You can close this page.</p>",
            content_type="text/html",
        )

    async def auctions(request: web.Request) -> web.Response:
        await core.require_auth(request)
        return ok([])

    app.router.add_get("/portfolio/positions", positions)
    app.router.add_put("/portfolio/positions", convert)
    app.router.add_get("/portfolio/holdings", holdings)
    app.router.add_get("/portfolio/holdings/auctions", auctions)
    app.router.add_post("/portfolio/holdings/authorise", authorise)
    page = "/connect/portfolio/authorise/holdings/{api_key}/{request_id}"
    app.router.add_get(page, authorisation_page)
    app.router.add_get(page + "/finish", authorisation_finished)


__all__ = ["add_portfolio_routes"]
