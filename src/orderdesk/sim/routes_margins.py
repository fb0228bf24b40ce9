"""Margin and charge calculators: ``/margins/orders``, ``/margins/basket``, ``/charges/orders``.

These three take a JSON array body (not a form), as Kite documents. In the margin calculators a
price of 0 (MARKET) is valued at the last price; the contract note charges executed orders, so
it refuses an ``average_price`` of 0 or none (KITE_API.md §6).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from orderdesk.sim.core import Core
from orderdesk.sim.envelope import InputError, ok
from orderdesk.sim.margins import (
    MarginBreakdown,
    charges,
    empty_charges,
    margin_row,
    order_margin,
    summary_row,
)
from orderdesk.sim.ports import InstrumentLike


@dataclass(frozen=True, slots=True)
class _Leg:
    inst: InstrumentLike
    raw: dict[str, Any]
    buy: bool
    product: str
    quantity: int
    price: Decimal


def _truthy(text: str | None, default: bool) -> bool:
    # The official client sends Python's ``True``/``False``; the docs say ``true``.
    return default if text is None else text.lower() == "true"


async def _legs(
    request: web.Request, core: Core, price_key: str, *, zero_is_market: bool = True
) -> list[_Leg]:
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError("Invalid JSON body: expected an array of orders.") from None
    if not isinstance(body, list):
        raise InputError("Invalid JSON body: expected an array of orders.")
    legs = []
    for raw in body:
        if not isinstance(raw, dict):
            raise InputError("Invalid order in the array.")
        inst = core.exchange.instrument(str(raw.get("exchange")), str(raw.get("tradingsymbol")))
        side = raw.get("transaction_type")
        if side not in ("BUY", "SELL"):
            raise InputError("Invalid `transaction_type`.")
        try:
            quantity = int(raw.get("quantity", 0))
            price = Decimal(str(raw.get(price_key) or 0))
        except (ValueError, TypeError, InvalidOperation):
            raise InputError("Invalid `quantity` or price.") from None
        if quantity <= 0 or not price.is_finite() or price < 0:
            raise InputError("Invalid `quantity` or price.")
        if price == 0 and not zero_is_market:
            raise InputError(f"Invalid `{price_key}`: an executed order's price, not 0.")
        if price == 0:
            price = core.exchange.last_price(inst.instrument_token)
        legs.append(_Leg(inst, raw, side == "BUY", str(raw.get("product", "CNC")), quantity, price))
    return legs


def add_margin_routes(app: web.Application, core: Core) -> None:
    """Mount the calculators."""

    async def order_margins(request: web.Request) -> web.Response:
        await core.require_auth(request)
        compact = request.query.get("mode") == "compact"
        legs = await _legs(request, core, "price")
        return ok(
            [
                margin_row(
                    leg.inst,
                    buy=leg.buy,
                    product=leg.product,
                    quantity=leg.quantity,
                    price=leg.price,
                    compact=compact,
                )
                for leg in legs
            ]
        )

    async def basket(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        consider = _truthy(request.query.get("consider_positions"), default=False)
        compact = request.query.get("mode") == "compact"
        legs = await _legs(request, core, "price")
        initial = []
        final = []
        for leg in legs:
            full = order_margin(
                leg.inst, buy=leg.buy, product=leg.product, quantity=leg.quantity, price=leg.price
            )
            initial.append(full)
            if consider:
                # Positions the basket would close need no fresh margin: scale the parts down
                # by the share of the order that opens new exposure.
                net = core.exchange.required_margin(
                    user_id,
                    leg.inst,
                    buy=leg.buy,
                    product=leg.product,
                    quantity=leg.quantity,
                    price=leg.price,
                )
                ratio = net / full.total if full.total else Decimal(0)
                final.append(
                    MarginBreakdown(
                        span=full.span * ratio,
                        exposure=full.exposure * ratio,
                        option_premium=full.option_premium * ratio,
                        var=full.var * ratio,
                        leverage=full.leverage,
                    )
                )
            else:
                final.append(full)
        orders = [
            margin_row(
                leg.inst,
                buy=leg.buy,
                product=leg.product,
                quantity=leg.quantity,
                price=leg.price,
                compact=compact,
            )
            for leg in legs
        ]
        return ok(
            {
                "initial": summary_row(initial),
                "final": summary_row(final),
                "orders": orders,
                "charges": empty_charges(),
            }
        )

    async def contract_note(request: web.Request) -> web.Response:
        await core.require_auth(request)
        legs = await _legs(request, core, "average_price", zero_is_market=False)
        rows = []
        for leg in legs:
            rows.append(
                {
                    "transaction_type": "BUY" if leg.buy else "SELL",
                    "tradingsymbol": leg.inst.tradingsymbol,
                    "exchange": leg.inst.exchange,
                    "variety": str(leg.raw.get("variety", "regular")),
                    "product": leg.product,
                    "order_type": str(leg.raw.get("order_type", "MARKET")),
                    "quantity": leg.quantity,
                    "price": float(leg.price),
                    "charges": charges(
                        leg.inst,
                        buy=leg.buy,
                        product=leg.product,
                        quantity=leg.quantity,
                        price=leg.price,
                    ),
                }
            )
        return ok(rows)

    app.router.add_post("/margins/orders", order_margins)
    app.router.add_post("/margins/basket", basket)
    app.router.add_post("/charges/orders", contract_note)


__all__ = ["add_margin_routes"]
