"""Kite alerts on the wire: the rows ``/alerts`` answers, and the form a create or modify sends.

Field names are Kite's (``kite-mocks/alerts_*.json``; gokiteconnect's ``alerts.go`` for the
create form and the ATO basket). orderdesk keeps alerts on an instrument's ``LastTradedPrice``
against a constant; an alert Kite holds in another form (an index's ``INDICES`` exchange, one
instrument against another) is left out of the desk's list rather than failing the whole read:
it is not one of the desk's.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

from orderdesk.brokers.kite.mapping import (
    MARKET_PROTECTED,
    ORDER_TYPES,
    PRODUCTS,
    SIDES,
    WIRE_EXCHANGE,
    WIRE_ORDER_TYPE,
    WIRE_PRODUCT,
    WIRE_SIDE,
    UnmappedValue,
    instrument,
    lookup,
    plain_price,
)
from orderdesk.brokers.kite.schemas import Wire
from orderdesk.domain.reports import AlertOrder, PriceAlert

log = logging.getLogger(__name__)

ATTRIBUTE = "LastTradedPrice"


class BasketParams(Wire):
    transaction_type: str
    product: str
    order_type: str
    quantity: int
    price: Decimal = Decimal(0)
    trigger_price: Decimal = Decimal(0)


class BasketItemRow(Wire):
    exchange: str
    tradingsymbol: str
    params: BasketParams


class BasketRow(Wire):
    items: tuple[BasketItemRow, ...] = ()


class AlertRow(Wire):
    uuid: str
    type: str
    name: str
    status: str
    lhs_attribute: str
    lhs_exchange: str
    lhs_tradingsymbol: str
    operator: str
    rhs_type: str
    rhs_constant: Decimal = Decimal(0)
    alert_count: int = 0
    basket: BasketRow | None = None


class OrderMetaRow(Wire):
    order_id: str = ""


class AlertHistoryRow(Wire):
    uuid: str
    order_meta: list[OrderMetaRow] | None = None


def alert(row: AlertRow) -> PriceAlert:
    """A row → :class:`PriceAlert`; raises :class:`UnmappedValue` for a form the desk does not
    keep (see the module's docstring)."""
    if row.lhs_attribute != ATTRIBUTE or row.rhs_type != "constant":
        raise UnmappedValue("rhs_type", "only LastTradedPrice against a constant is kept")
    basket = tuple(
        AlertOrder(
            instrument=instrument(item.exchange, item.tradingsymbol),
            side=lookup(SIDES, item.params.transaction_type, "transaction_type"),
            quantity=item.params.quantity,
            product=lookup(PRODUCTS, item.params.product, "product"),
            order_type=lookup(ORDER_TYPES, item.params.order_type, "order_type"),
            price=plain_price(item.params.price),
            trigger_price=plain_price(item.params.trigger_price),
        )
        for item in (row.basket.items if row.basket is not None else [])
    )
    return PriceAlert(
        name=row.name,
        instrument=instrument(row.lhs_exchange, row.lhs_tradingsymbol),
        operator=row.operator,
        value=plain_price(row.rhs_constant),
        basket=basket,
        alert_id=row.uuid,
        status=row.status,
        fired=row.alert_count,
    )


def alerts(rows: list[AlertRow]) -> list[PriceAlert]:
    """The rows the desk can keep (the others are logged and left out)."""
    kept = []
    for row in rows:
        try:
            kept.append(alert(row))
        except UnmappedValue as exc:
            log.debug("alert %s left out: %s %s", row.uuid, exc.field, exc.reason)
    return kept


def order_ids(rows: list[AlertHistoryRow]) -> list[str]:
    """The orders an alert's firings placed (an ATO's ``order_meta``), oldest first."""
    return [meta.order_id for row in rows for meta in row.order_meta or () if meta.order_id]


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def alert_form(price_alert: PriceAlert) -> dict[str, str]:
    """The form body of ``POST /alerts`` and ``PUT /alerts/{uuid}``."""
    key = price_alert.instrument
    form = {
        "name": price_alert.name,
        "type": price_alert.kind,
        "lhs_exchange": WIRE_EXCHANGE[key.exchange],
        "lhs_tradingsymbol": key.tradingsymbol,
        "lhs_attribute": ATTRIBUTE,
        "operator": price_alert.operator,
        "rhs_type": "constant",
        "rhs_constant": _number(price_alert.value),
    }
    if price_alert.basket:
        items: list[dict[str, Any]] = [
            {
                "type": "",
                "tradingsymbol": order.instrument.tradingsymbol,
                "exchange": WIRE_EXCHANGE[order.instrument.exchange],
                "weight": 0,
                "params": {
                    "transaction_type": WIRE_SIDE[order.side],
                    "product": WIRE_PRODUCT[order.product],
                    "order_type": WIRE_ORDER_TYPE[order.order_type],
                    "validity": "DAY",
                    "quantity": order.quantity,
                    "price": float(order.price),
                    "trigger_price": float(order.trigger_price),
                    "variety": "regular",
                    # Kite refuses a MARKET or SL-M order without protection since 2026
                    # (KITE_API.md §14.2); whether it checks an ATO's basket when it is created
                    # is UNVERIFIED, so the basket carries Kite's automatic protection.
                    "market_protection": -1 if order.order_type in MARKET_PROTECTED else 0,
                },
            }
            for order in price_alert.basket
        ]
        basket = {"name": price_alert.name, "type": "", "tags": [], "items": items}
        form["basket"] = json.dumps(basket)
    return form


__all__ = [
    "AlertHistoryRow",
    "AlertRow",
    "alert",
    "alert_form",
    "alerts",
    "order_ids",
]
