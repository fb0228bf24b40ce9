"""Portfolio routes: positions (and their conversion) and holdings."""

from __future__ import annotations

from aiohttp import web

from orderdesk.sim.core import Core, read_form
from orderdesk.sim.envelope import InputError, ok


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
        if values.get("position_type", "day") != "day":
            raise InputError("Only day positions can be converted in the simulator.")
        try:
            quantity = int(values["quantity"])
        except ValueError:
            raise InputError("Invalid `quantity`.") from None
        if values["new_product"] in ("MIS", "CO"):
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
            old_product=values["old_product"],
            new_product=values["new_product"],
        )
        return ok(True)

    async def holdings(request: web.Request) -> web.Response:
        return ok(portfolio.holdings_payload(await core.require_auth(request)))

    async def auctions(request: web.Request) -> web.Response:
        await core.require_auth(request)
        return ok([])

    app.router.add_get("/portfolio/positions", positions)
    app.router.add_put("/portfolio/positions", convert)
    app.router.add_get("/portfolio/holdings", holdings)
    app.router.add_get("/portfolio/holdings/auctions", auctions)


__all__ = ["add_portfolio_routes"]
