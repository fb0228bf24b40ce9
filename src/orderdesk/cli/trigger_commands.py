"""``orderdesk gtt …`` and ``orderdesk alerts …``: the desk's GTTs and price alerts, each for a
strategy, through the running daemon's HTTP API (``/api/gtt``, ``/api/price-alerts``).

An order is written ``SIDE:QUANTITY@PRICE`` (``BUY:10@1401.5``); an ATO's order without
``@PRICE`` is a MARKET order. Errors are one line (JSON with ``--json``); a broker without GTTs
or alerts (the paper broker) is refused with exit 3.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, NoReturn

import typer
from pydantic import TypeAdapter

from orderdesk.api.trigger_schemas import AlertIn, GttIn, TriggerOut
from orderdesk.cli import app
from orderdesk.cli._common import (
    EXIT_REFUSED,
    TRADING_EXIT_CODES,
    ConfigOption,
    JsonOption,
    UrlOption,
    build,
    carried_in,
    fail,
    plural,
    print_json,
    show,
    table,
    with_client,
)
from orderdesk.client import DeskClient

gtt_app = typer.Typer(
    rich_markup_mode="markdown",
    help="GTT triggers kept at the broker for a strategy (single, or two-leg OCO).",
    no_args_is_help=True,
)
alerts_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Price alerts kept at the broker for a strategy (simple, or ATO with a basket).",
    no_args_is_help=True,
)
app.add_typer(gtt_app, name="gtt", rich_help_panel="Trading")
app.add_typer(alerts_app, name="alerts", rich_help_panel="Trading")

_ONE = TypeAdapter(TriggerOut)
_MANY = TypeAdapter(list[TriggerOut])

StrategyOption = Annotated[
    str, typer.Option(help="The strategy the orders it places are credited to.")
]
StrategyFilter = Annotated[str | None, typer.Option("--strategy", help="Only this strategy's.")]
ActiveFilter = Annotated[bool, typer.Option("--active", help="Only those still live.")]
TriggerIdArg = Annotated[str, typer.Argument(help="The desk's id (gtt-… or alert-…).")]


def _invalid(field: str, reason: str) -> NoReturn:
    fail(
        f"{field}: {reason}",
        EXIT_REFUSED,
        error="invalid_input",
        extra={"fields": [{"field": field, "reason": reason}]},
    )


def _price(text: str, field: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        _invalid(field, f"{text!r} is not a number")


def _order(text: str, field: str, *, price_needed: bool) -> dict[str, Any]:
    """``SIDE:QUANTITY@PRICE`` as an order's fields."""
    side, sep, rest = text.partition(":")
    quantity, at, price = rest.partition("@")
    if not sep or not quantity.strip().isdigit() or (price_needed and not at):
        _invalid(field, f"{text!r} is not SIDE:QUANTITY@PRICE (e.g. BUY:10@1401.5)")
    order: dict[str, Any] = {"side": side.strip().upper(), "quantity": int(quantity)}
    if at:
        order["price"] = _price(price.strip(), field)
    return order


def _show(title: str, rows: list[TriggerOut]) -> None:
    show(
        table(
            title,
            ("id", "type", "strategy", "state", "instrument", "when", "orders", "placed", "detail"),
            [
                (
                    t.id,
                    t.type,
                    t.strategy,
                    t.state,
                    t.instrument,
                    t.condition,
                    ", ".join(
                        f"{o.side} {o.quantity} {o.instrument} {o.product}"
                        + (f" @ {o.price}" if o.price else "")
                        for o in t.orders
                    ),
                    ", ".join(t.order_ids),
                    t.detail,
                )
                for t in rows
            ],
            spare=("detail", "placed"),
        )
    )


def _answer(as_json: bool, title: str, rows: list[TriggerOut], *, listing: bool = False) -> None:
    """The rows as a table, or as JSON (a list for ``list``, the one trigger otherwise)."""
    if as_json:
        print_json(rows if listing else rows[0])
    else:
        _show(plural(len(rows), title) if listing else title, rows)


async def _one(call: Any) -> TriggerOut:
    return _ONE.validate_python(await call)


# -- GTT ---------------------------------------------------------------------------------------


def _gtt_body(
    instrument: str,
    triggers: list[str],
    last_price: str,
    legs: list[str],
    product: str,
    strategy: str,
) -> dict[str, Any]:
    values = [_price(t, "trigger") for t in triggers]
    orders = [_order(leg, "order", price_needed=True) | {"product": product} for leg in legs]
    gtt = build(
        GttIn,
        instrument=instrument,
        type="single" if len(values) == 1 else "two-leg",
        trigger_values=values,
        last_price=_price(last_price, "last-price"),
        orders=orders,
        strategy=strategy,
    )
    return gtt.model_dump(mode="json")


TriggerValues = Annotated[
    list[str],
    typer.Option(
        "--trigger",
        metavar="PRICE",
        help="The trigger price; give it twice (lower first) for a two-leg OCO GTT.",
    ),
]
LastPrice = Annotated[
    str,
    typer.Option(
        "--last-price", metavar="PRICE", help="The price now (it decides a single GTT's side)."
    ),
]
GttOrders = Annotated[
    list[str],
    typer.Option(
        "--order",
        metavar="SIDE:QTY@PRICE",
        help="SIDE:QUANTITY@PRICE of the LIMIT order placed when it fires; one per trigger.",
    ),
]
Product = Annotated[
    str | None,
    typer.Option(
        help="CNC, NRML, MIS or MTF. Default: CNC for stock, NRML for futures, options, "
        "currency and commodities; for modify, the one it has."
    ),
]


@gtt_app.command("list")
def gtt_list(
    strategy: StrategyFilter = None,
    active: ActiveFilter = False,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The desk's GTTs: live, fired (with the orders they placed), deleted, gone."""
    query = _query(strategy, active)
    rows = with_client(config, url, lambda c: _many(c, "/api/gtt", query))
    _answer(as_json, "GTT", rows, listing=True)


@gtt_app.command("add", epilog=TRADING_EXIT_CODES)
def gtt_add(
    instrument: Annotated[str, typer.Argument(help="EXCHANGE:SYMBOL, e.g. NSE:INFY.")],
    triggers: TriggerValues,
    last_price: LastPrice,
    orders: GttOrders,
    product: Product = None,
    strategy: StrategyOption = "manual",
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Place a GTT for a strategy (e.g. --trigger 1600 --last-price 1500 --order SELL:10@1599)."""
    product = product or carried_in(instrument)
    body = _gtt_body(instrument, triggers, last_price, orders, product, strategy)
    row = with_client(config, url, lambda c: _one(c.post_json("/api/gtt", body)))
    _answer(as_json, "GTT placed", [row])


@gtt_app.command("modify", epilog=TRADING_EXIT_CODES)
def gtt_modify(
    trigger_id: TriggerIdArg,
    instrument: Annotated[str, typer.Argument(help="EXCHANGE:SYMBOL, e.g. NSE:INFY.")],
    triggers: TriggerValues,
    last_price: LastPrice,
    orders: GttOrders,
    product: Product = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """New terms for a live GTT (its strategy stays, and its product unless --product)."""
    path = f"/api/gtt/{trigger_id}"

    async def modify(client: DeskClient) -> TriggerOut:
        kept = product or await _product_of(client, path, instrument)
        body = _gtt_body(instrument, triggers, last_price, orders, kept, "manual")
        body.pop("strategy")
        return await _one(client.put_json(path, body))

    row = with_client(config, url, modify)
    _answer(as_json, "GTT modified", [row])


@gtt_app.command("delete", epilog=TRADING_EXIT_CODES)
def gtt_delete(
    trigger_id: TriggerIdArg,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a live GTT at the broker."""
    row = with_client(config, url, lambda c: _one(c.delete_json(f"/api/gtt/{trigger_id}")))
    _answer(as_json, "GTT deleted", [row])


# -- alerts ------------------------------------------------------------------------------------

Operator = Annotated[str, typer.Option("--operator", metavar="OP", help="One of <= >= < > ==.")]
Value = Annotated[
    str,
    typer.Option("--value", metavar="PRICE", help="The price the last price is compared to."),
]
Basket = Annotated[
    list[str] | None,
    typer.Option(
        "--order",
        metavar="SIDE:QTY[@PRICE]",
        help="SIDE:QUANTITY@PRICE (LIMIT) or SIDE:QUANTITY (MARKET) of the ATO's basket; "
        "repeat for more orders. Without any, the alert only notifies (simple).",
    ),
]


def _alert_body(
    name: str,
    instrument: str,
    operator: str,
    value: str,
    basket: list[str] | None,
    product: str,
    strategy: str,
) -> dict[str, Any]:
    orders = []
    for text in basket or []:
        order = _order(text, "order", price_needed=False) | {"product": product}
        order["order_type"] = "LIMIT" if "price" in order else "MARKET"
        orders.append(order)
    alert = build(
        AlertIn,
        name=name,
        instrument=instrument,
        operator=operator,
        value=_price(value, "value"),
        basket=orders,
        strategy=strategy,
    )
    return alert.model_dump(mode="json")


@alerts_app.command("list")
def alerts_list(
    strategy: StrategyFilter = None,
    active: ActiveFilter = False,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The desk's price alerts (the desk's own notifications are on the dashboard and at
    `GET /api/alerts`)."""
    query = _query(strategy, active)
    rows = with_client(config, url, lambda c: _many(c, "/api/price-alerts", query))
    _answer(as_json, "price alert", rows, listing=True)


@alerts_app.command("add", epilog=TRADING_EXIT_CODES)
def alerts_add(
    name: Annotated[str, typer.Argument(help="A name to know it by.")],
    instrument: Annotated[str, typer.Argument(help="EXCHANGE:SYMBOL, e.g. NSE:INFY.")],
    operator: Operator,
    value: Value,
    basket: Basket = None,
    product: Product = None,
    strategy: StrategyOption = "manual",
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a price alert for a strategy; with --order it is an ATO whose basket the broker
    places when it fires (e.g. --operator '<=' --value 1400 --order BUY:5@1401)."""
    product = product or carried_in(instrument)
    body = _alert_body(name, instrument, operator, value, basket, product, strategy)
    row = with_client(config, url, lambda c: _one(c.post_json("/api/price-alerts", body)))
    _answer(as_json, "alert created", [row])


@alerts_app.command("modify", epilog=TRADING_EXIT_CODES)
def alerts_modify(
    trigger_id: TriggerIdArg,
    name: Annotated[str, typer.Argument(help="A name to know it by.")],
    instrument: Annotated[str, typer.Argument(help="EXCHANGE:SYMBOL, e.g. NSE:INFY.")],
    operator: Operator,
    value: Value,
    basket: Basket = None,
    product: Product = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """New terms for a live alert (its strategy and type stay, and its basket's product unless
    --product)."""
    path = f"/api/price-alerts/{trigger_id}"

    async def modify(client: DeskClient) -> TriggerOut:
        kept = product or await _product_of(client, path, instrument)
        body = _alert_body(name, instrument, operator, value, basket, kept, "manual")
        body.pop("strategy")
        return await _one(client.put_json(path, body))

    row = with_client(config, url, modify)
    _answer(as_json, "alert modified", [row])


@alerts_app.command("delete", epilog=TRADING_EXIT_CODES)
def alerts_delete(
    trigger_id: TriggerIdArg,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a live alert at the broker."""
    path = f"/api/price-alerts/{trigger_id}"
    row = with_client(config, url, lambda c: _one(c.delete_json(path)))
    _answer(as_json, "alert deleted", [row])


def _query(strategy: str | None, active: bool) -> dict[str, str]:
    """The list filters as query parameters, for the client to encode."""
    query = {"strategy": strategy} if strategy else {}
    if active:
        query["active"] = "true"
    return query


async def _product_of(client: DeskClient, path: str, instrument: str) -> str:
    """The product of the trigger at ``path``'s orders: a modify that names none keeps it (it
    became CNC, and a futures stop was refused when it fired)."""
    current = await _one(client.get_json(path))
    return current.orders[0].product if current.orders else carried_in(instrument)


async def _many(client: DeskClient, path: str, query: dict[str, str]) -> list[TriggerOut]:
    reply = await client.get_json(path, query)
    # get_json hands a list back as {"data": [...]}: its callers read objects.
    return _MANY.validate_python(reply.get("data", []) if isinstance(reply, dict) else reply)


__all__ = ["alerts_app", "gtt_app"]
