"""Margin and charge calculators: ``/margins/orders``, ``/margins/basket``, ``/charges/orders``.

These three take a JSON array body (not a form), as Kite documents. In the margin calculators a
price of 0 (MARKET) is valued at the last price; the contract note charges executed orders, so
it refuses an ``average_price`` of 0 or none (KITE_API.md §6). The margin calculators price
orders yet to be placed, on listed instruments only; the contract note charges orders already
executed, by what each entry names, on a contract expired since as on a live one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from orderdesk.domain.charge_schedule import ContractKind
from orderdesk.sim.core import Core
from orderdesk.sim.envelope import InputError, ok
from orderdesk.sim.instruments import EXCHANGES
from orderdesk.sim.margins import (
    MarginBreakdown,
    contract_charges,
    contract_kind,
    contract_kind_by_symbol,
    empty_charges,
    margin_row,
    order_margin,
    summary_row,
)
from orderdesk.sim.ports import InstrumentLike


@dataclass(frozen=True, slots=True)
class _Terms:
    """What one entry of a calculator's body says of its order, checked."""

    raw: dict[str, Any]
    buy: bool
    product: str
    quantity: int
    price: Decimal
    """0 when the entry gives none (a MARKET order's, in the margin calculators)."""


@dataclass(frozen=True, slots=True)
class _Leg:
    inst: InstrumentLike
    raw: dict[str, Any]
    buy: bool
    product: str
    quantity: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class _NotedContract:
    """The contract of an executed order, as the contract note charges it."""

    exchange: str
    tradingsymbol: str
    kind: ContractKind


def _truthy(text: str | None, default: bool) -> bool:
    # The official client sends Python's ``True``/``False``; the docs say ``true``.
    return default if text is None else text.lower() == "true"


async def _entries(request: web.Request) -> list[dict[str, Any]]:
    """The JSON array body, each entry an object."""
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError("Invalid JSON body: expected an array of orders.") from None
    if not isinstance(body, list):
        raise InputError("Invalid JSON body: expected an array of orders.")
    for raw in body:
        if not isinstance(raw, dict):
            raise InputError("Invalid order in the array.")
    return body


def _terms(raw: dict[str, Any], price_key: str) -> _Terms:
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
    return _Terms(raw, side == "BUY", str(raw.get("product", "CNC")), quantity, price)


async def _legs(request: web.Request, core: Core, price_key: str) -> list[_Leg]:
    """The margin calculators' orders: each on a listed instrument (an expired or unknown one
    is refused, as an order on it would be), a price of 0 valued at the last price."""
    legs = []
    for raw in await _entries(request):
        inst = core.exchange.instrument(str(raw.get("exchange")), str(raw.get("tradingsymbol")))
        terms = _terms(raw, price_key)
        price = terms.price or core.exchange.last_price(inst.instrument_token)
        legs.append(_Leg(inst, raw, terms.buy, terms.product, terms.quantity, price))
    return legs


def _noted_contract(core: Core, raw: dict[str, Any]) -> _NotedContract:
    """The contract an executed order names. One the simulator no longer lists (expired since,
    as a past day's weekly option) is read off the entry itself: its charges need only its
    exchange, its symbol (an MCX or currency lot's multiplier is the symbol's) and whether it
    is an option, a future or equity, and a day's charges are asked for after its contracts
    expired."""
    exchange, symbol = raw.get("exchange"), raw.get("tradingsymbol")
    try:
        inst = core.exchange.instrument(str(exchange), str(symbol))
    except InputError:
        named = isinstance(symbol, str) and symbol.strip() != ""
        if exchange not in EXCHANGES or not named:
            raise
        return _NotedContract(
            str(exchange), str(symbol), contract_kind_by_symbol(str(exchange), str(symbol))
        )
    return _NotedContract(inst.exchange, inst.tradingsymbol, contract_kind(inst))


def _note_row(contract: _NotedContract, terms: _Terms) -> dict[str, Any]:
    """One row of the virtual contract note: the order as asked, and its charges."""
    return {
        "transaction_type": "BUY" if terms.buy else "SELL",
        "tradingsymbol": contract.tradingsymbol,
        "exchange": contract.exchange,
        "variety": str(terms.raw.get("variety", "regular")),
        "product": terms.product,
        "order_type": str(terms.raw.get("order_type", "MARKET")),
        "quantity": terms.quantity,
        "price": float(terms.price),
        "charges": contract_charges(
            contract.exchange,
            contract.tradingsymbol,
            contract.kind,
            buy=terms.buy,
            product=terms.product,
            quantity=terms.quantity,
            price=terms.price,
        ),
    }


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
        rows = []
        for raw in await _entries(request):
            contract = _noted_contract(core, raw)
            terms = _terms(raw, "average_price")
            if terms.price == 0:
                raise InputError("Invalid `average_price`: an executed order's price, not 0.")
            rows.append(_note_row(contract, terms))
        return ok(rows)

    app.router.add_post("/margins/orders", order_margins)
    app.router.add_post("/margins/basket", basket)
    app.router.add_post("/charges/orders", contract_note)


__all__ = ["add_margin_routes"]
