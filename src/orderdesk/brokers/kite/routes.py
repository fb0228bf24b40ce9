"""Kite Connect v3's REST routes: method, path template, rate-limit class, and a name for errors.

A route's ``name`` is what error messages and logs show. It is deliberately not the URL: the
logout URL carries the access token in its query string.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from orderdesk.brokers.kite.ratelimit import EndpointClass


class Body(StrEnum):
    """How a route sends its parameters."""

    QUERY = "query"
    FORM = "form"
    JSON = "json"


class Reply(StrEnum):
    JSON = "json"
    CSV = "csv"
    ROWS = "rows"
    """JSON whose ``data`` is a list of rows, handed on as each row's raw JSON
    (``msgspec.Raw``): a reader that keeps what it made of the last read's rows decodes only
    the rows that changed (see ``client.BookRows``)."""


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    method: str
    path: str
    kind: EndpointClass = EndpointClass.OTHER
    body: Body = Body.QUERY
    reply: Reply = Reply.JSON
    authenticated: bool = True

    @property
    def is_read(self) -> bool:
        """Whether re-sending is harmless (GET), so transient failures may be retried."""
        return self.method == "GET"

    def url_path(self, **params: str) -> str:
        return self.path.format(**params) if params else self.path


_ORDER = EndpointClass.ORDER
_QUOTE = EndpointClass.QUOTE

SESSION_TOKEN = Route(
    "generate_session", "POST", "/session/token", body=Body.FORM, authenticated=False
)
SESSION_LOGOUT = Route("invalidate_access_token", "DELETE", "/session/token")
PROFILE = Route("profile", "GET", "/user/profile")
MARGINS = Route("margins", "GET", "/user/margins")
MARGINS_SEGMENT = Route("margins_segment", "GET", "/user/margins/{segment}")

PLACE_ORDER = Route("place_order", "POST", "/orders/{variety}", _ORDER, Body.FORM)
MODIFY_ORDER = Route("modify_order", "PUT", "/orders/{variety}/{order_id}", _ORDER, Body.FORM)
CANCEL_ORDER = Route("cancel_order", "DELETE", "/orders/{variety}/{order_id}", _ORDER)
ORDERS = Route("orders", "GET", "/orders", reply=Reply.ROWS)
ORDER_HISTORY = Route("order_history", "GET", "/orders/{order_id}")
TRADES = Route("trades", "GET", "/trades", reply=Reply.ROWS)
ORDER_TRADES = Route("order_trades", "GET", "/orders/{order_id}/trades")

POSITIONS = Route("positions", "GET", "/portfolio/positions")
CONVERT_POSITION = Route("convert_position", "PUT", "/portfolio/positions", body=Body.FORM)
HOLDINGS_AUTHORISE = Route(
    "authorise_holdings", "POST", "/portfolio/holdings/authorise", body=Body.FORM
)
HOLDINGS = Route("holdings", "GET", "/portfolio/holdings")

QUOTE = Route("quote", "GET", "/quote", _QUOTE)
OHLC = Route("ohlc", "GET", "/quote/ohlc", _QUOTE)
LTP = Route("ltp", "GET", "/quote/ltp", _QUOTE)
INSTRUMENTS = Route("instruments", "GET", "/instruments", reply=Reply.CSV)
INSTRUMENTS_EXCHANGE = Route(
    "instruments_exchange", "GET", "/instruments/{exchange}", reply=Reply.CSV
)

ORDER_MARGINS = Route("order_margins", "POST", "/margins/orders", body=Body.JSON)
BASKET_MARGINS = Route("basket_margins", "POST", "/margins/basket", body=Body.JSON)
ORDER_CHARGES = Route("order_charges", "POST", "/charges/orders", body=Body.JSON)

GTT_PLACE = Route("place_gtt", "POST", "/gtt/triggers", body=Body.FORM)
GTT_LIST = Route("gtt_triggers", "GET", "/gtt/triggers")
GTT_GET = Route("gtt_trigger", "GET", "/gtt/triggers/{trigger_id}")
GTT_MODIFY = Route("modify_gtt", "PUT", "/gtt/triggers/{trigger_id}", body=Body.FORM)
GTT_DELETE = Route("delete_gtt", "DELETE", "/gtt/triggers/{trigger_id}")

ALERT_CREATE = Route("create_alert", "POST", "/alerts", body=Body.FORM)
ALERT_LIST = Route("alerts", "GET", "/alerts")
ALERT_MODIFY = Route("modify_alert", "PUT", "/alerts/{uuid}", body=Body.FORM)
ALERT_DELETE = Route("delete_alerts", "DELETE", "/alerts")
ALERT_HISTORY = Route("alert_history", "GET", "/alerts/{uuid}/history")

__all__ = [
    "ALERT_CREATE",
    "ALERT_DELETE",
    "ALERT_HISTORY",
    "ALERT_LIST",
    "ALERT_MODIFY",
    "BASKET_MARGINS",
    "CANCEL_ORDER",
    "CONVERT_POSITION",
    "GTT_DELETE",
    "GTT_GET",
    "GTT_LIST",
    "GTT_MODIFY",
    "GTT_PLACE",
    "HOLDINGS",
    "HOLDINGS_AUTHORISE",
    "INSTRUMENTS",
    "INSTRUMENTS_EXCHANGE",
    "LTP",
    "MARGINS",
    "MARGINS_SEGMENT",
    "MODIFY_ORDER",
    "OHLC",
    "ORDERS",
    "ORDER_CHARGES",
    "ORDER_HISTORY",
    "ORDER_MARGINS",
    "ORDER_TRADES",
    "PLACE_ORDER",
    "POSITIONS",
    "PROFILE",
    "QUOTE",
    "SESSION_LOGOUT",
    "SESSION_TOKEN",
    "TRADES",
    "Body",
    "Reply",
    "Route",
]
