"""orderdesk's errors as HTTP answers: a reason a person can act on, never a bare 500.

::

    RequestValidationError (pydantic)  422  invalid_request   fields named
      of a body that is not JSON       400  invalid_json      where it stops parsing (or why:
                                                              not UTF-8, nested too deeply)
      a key the body gives twice       422  invalid_request   the key (strict.py)
      a body not sent as JSON          422  invalid_request   Content-Type: application/json
    BodyTooLarge (the app's BodyLimit) 413  content_too_large over 64 KiB, found as it is read
    BodyTimedOut (body_timeout.py)     408  request_timeout   a body that stopped arriving
    a body to a route that takes none  400  bad_request       refuse_unread_body (app.py)
    ValidationError (domain)           400  invalid_signal    the field and the reason
    RiskDenied                         403  risk_denied       the check and the reason
    OrderNotFound / UnknownOrder
      / UnknownDay / ApprovalNotFound  404  not_found
    InvalidTransition / CommandRefused
      / ModificationLimitReached
      / ApprovalClosed
      / NoBrokerSession                409  conflict          (the broker has no session)
      / ExitBlocked                                           (a working order not cancelled,
                                                              or an earlier exit unresolved)
    DeskClosed                         503  desk_closed       not started, or shutting down
      a request as the server stops    503  desk_closed       send it again (server.StopGate)
    SessionExpired                     503  session_expired   log in, send the same signal again
    DayNotOpen                         503  day_not_open      send the same signal again shortly
    NotOffered                         501  not_offered       the broker lacks that capability
    BrokerRejected                     422  broker_rejected   what the broker said
    BrokerAuthError                    503  broker_session    a person must log in again
    BrokerUnavailable (a 5xx)          503  broker_unavailable  failed before acting: send again
    other BrokerError                  503  broker_unavailable  unreachable, or throttled
    StoreError                         503  store_unavailable the event log cannot be written
    any other OrderDeskError           400  refused           (TokenRefused: a login's token)

Messages are built from orderdesk's own exception texts, which by contract never contain
secrets; pydantic's echo of the submitted input is left out of 422s.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from orderdesk.api.schemas import ErrorOut, FieldProblem
from orderdesk.approvals import ApprovalClosed, ApprovalNotFound
from orderdesk.domain.errors import InvalidTransition, OrderDeskError, ValidationError
from orderdesk.domain.refusals import describe_refusal
from orderdesk.engine.errors import (
    CommandRefused,
    DayNotOpen,
    DeskClosed,
    ModificationLimitReached,
    SessionExpired,
)
from orderdesk.errors import (
    BrokerAuthError,
    BrokerError,
    BrokerRejected,
    BrokerUnavailable,
    ExitBlocked,
    NotOffered,
    RiskDenied,
    StoreError,
)


class UnknownOrder(OrderDeskError, LookupError):
    """The API was asked about an order the desk does not know."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order {order_id!r}")
        self.order_id = order_id


class UnknownDay(OrderDeskError, LookupError):
    """The API was asked about a trading day the log does not hold."""

    def __init__(self, day: date) -> None:
        super().__init__(f"no trading day {day.isoformat()} in the log")
        self.day = day


class NoBrokerSession(OrderDeskError):
    """A session was handed to a desk whose broker has none (the paper broker)."""


class BodyTooLarge(StarletteHTTPException):
    """A request body grew past ``limit`` bytes while it was read (raised from ``receive``,
    so whatever reads it stops there); the answer closes the connection rather than read on."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"over {limit} bytes", headers={"Connection": "close"})
        self.limit = limit


def too_large_response(limit: int) -> JSONResponse:
    """413 for a request body over ``limit`` bytes; the connection is closed after it."""
    message = f"the request body is larger than {limit} bytes, the most any route takes"
    response = _json(413, ErrorOut(error="content_too_large", message=message))
    response.headers["Connection"] = "close"
    return response


class BodyTimedOut(StarletteHTTPException):
    """A request body did not finish arriving within ``seconds`` of its first read (raised from
    ``receive``, so whatever reads it stops there); the answer closes the connection, whose
    framing is lost with the rest of the body."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, detail=_timed_out(seconds), headers={"Connection": "close"})
        self.seconds = seconds


def _timed_out(seconds: float) -> str:
    return f"the request body did not arrive within {seconds:g} s; send it again whole"


def timed_out_response(seconds: float) -> JSONResponse:
    """408 for a request body that stopped arriving; the connection is closed after it. The
    same answer the app's handler gives :class:`BodyTimedOut` (its status's own word)."""
    response = _json(408, ErrorOut(error="request_timeout", message=_timed_out(seconds)))
    response.headers["Connection"] = "close"
    return response


def desk_closed_response(message: str) -> JSONResponse:
    """503 ``desk_closed`` (a failure to try again, not a refusal): the desk is not running, or
    stopped before the request was carried out."""
    return _json(503, ErrorOut(error="desk_closed", message=message))


CONFLICTS: tuple[type[Exception], ...] = (
    InvalidTransition,
    ApprovalClosed,
    CommandRefused,
    ExitBlocked,
    ModificationLimitReached,
    NoBrokerSession,
)
NOT_FOUND: tuple[type[Exception], ...] = (ApprovalNotFound, LookupError)


def _json(status: int, body: ErrorOut) -> JSONResponse:
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"))


def error_response(exc: OrderDeskError) -> JSONResponse:
    """The HTTP answer for one of orderdesk's own errors."""
    if isinstance(exc, ValidationError):
        problem = FieldProblem(field=exc.field, reason=exc.reason)
        return _json(400, ErrorOut(error="invalid_signal", message=str(exc), fields=[problem]))
    if isinstance(exc, RiskDenied):
        return _json(403, ErrorOut(error="risk_denied", message=exc.reason, check=exc.check))
    if isinstance(exc, NOT_FOUND):
        return _json(404, ErrorOut(error="not_found", message=str(exc)))
    if isinstance(exc, InvalidTransition):
        # The state machine's edge ("FILLED -> REQUEST_MODIFY") is not for the person asking.
        message = f"the order {describe_refusal(exc)}"
        return _json(409, ErrorOut(error="conflict", message=message))
    if isinstance(exc, CONFLICTS):
        return _json(409, ErrorOut(error="conflict", message=str(exc)))
    if isinstance(exc, DeskClosed):
        return desk_closed_response(str(exc))
    if isinstance(exc, SessionExpired):
        # The engine's text names the reason and says to log in and send the same signal again.
        return _json(503, ErrorOut(error="session_expired", message=str(exc)))
    if isinstance(exc, DayNotOpen):
        return _json(503, ErrorOut(error="day_not_open", message=str(exc)))
    if isinstance(exc, NotOffered):
        return _json(501, ErrorOut(error="not_offered", message=str(exc)))
    if isinstance(exc, BrokerRejected):
        return _json(422, ErrorOut(error="broker_rejected", message=exc.message))
    if isinstance(exc, BrokerAuthError):
        message = "the broker session is invalid or expired; log in again"
        return _json(503, ErrorOut(error="broker_session", message=message))
    if isinstance(exc, BrokerUnavailable):
        # A failure to try again, not a refusal. A command's own look at the order's row found
        # it not carried out, or could not read it: the order stands as it was (its refusal is
        # in its history), and the broker's books are said no more of than is known. Not "the
        # order": a reconcile or a session renewal fails here too.
        message = f"the broker failed to answer ({exc.message}); nothing was carried out: try again"
        return _json(503, ErrorOut(error="broker_unavailable", message=message))
    if isinstance(exc, BrokerError):
        return _json(503, ErrorOut(error="broker_unavailable", message=exc.message))
    if isinstance(exc, StoreError):
        return _json(503, ErrorOut(error="store_unavailable", message=str(exc)))
    return _json(400, ErrorOut(error="refused", message=str(exc)))


def _field_name(location: tuple[int | str, ...]) -> str:
    # ("body", "price") -> "price"; ("path", "order_id") -> "order_id".
    parts = [str(part) for part in location[1:]] or [str(part) for part in location]
    return ".".join(parts) or "body"


NOT_JSON = "the body must be JSON, sent with Content-Type: application/json"
PARSE_FAILED = "There was an error parsing the body"
"""FastAPI's 400 for a JSON body that failed to parse other than by its syntax; the reason is
the exception it was raised from."""


def _unparseable(cause: BaseException) -> JSONResponse:
    """400 ``invalid_json`` for a body ``json.loads`` failed on other than by its syntax."""
    if isinstance(cause, UnicodeError):
        message = "the body is not valid UTF-8 JSON"
    elif isinstance(cause, RecursionError):
        message = "the body is not valid JSON: it is nested too deeply"
    else:
        # A number past Python's 4,300 digits: the text before its advice to the programmer.
        reason = str(cause).partition("; use sys.")[0] or "not JSON"
        message = f"the body is not valid JSON: {reason}"
    return _json(400, ErrorOut(error="invalid_json", message=message))


def _sent_as_bytes(error: Mapping[str, Any]) -> bool:
    """Whether ``error`` is a model's refusal of the body FastAPI left as bytes: it parses only
    a JSON content type (a missing one too is left unparsed)."""
    return tuple(error.get("loc", ())) == ("body",) and isinstance(error.get("input"), bytes)


async def _on_request_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    unparseable = [e for e in exc.errors() if e.get("type") == "json_invalid"]
    if unparseable:
        # FastAPI reports a JSON syntax error as a validation error located at ("body", pos):
        # the position is no field, and a body that does not parse is a 400 (as documented).
        error = unparseable[0]
        position = error["loc"][-1]
        reason = (error.get("ctx") or {}).get("error") or "not JSON"
        message = f"the body is not valid JSON: {reason} at character {position}"
        return _json(400, ErrorOut(error="invalid_json", message=message))
    if any(_sent_as_bytes(e) for e in exc.errors()):
        # "body: Input should be a valid dictionary" said nothing of the content type.
        problem = FieldProblem(field="body", reason=NOT_JSON)
        return _json(422, ErrorOut(error="invalid_request", message=NOT_JSON, fields=[problem]))
    problems = [
        FieldProblem(field=_field_name(tuple(error.get("loc", ()))), reason=str(error["msg"]))
        for error in exc.errors()
    ]
    message = "; ".join(f"{p.field}: {p.reason}" for p in problems) or "invalid request"
    return _json(422, ErrorOut(error="invalid_request", message=message, fields=problems))


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette's own refusals (unparseable body, unknown route, wrong method) in our shape.
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, BodyTooLarge):
        return too_large_response(exc.limit)
    if exc.detail == PARSE_FAILED and exc.__cause__ is not None:
        return _unparseable(exc.__cause__)
    word = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    response = _json(exc.status_code, ErrorOut(error=word, message=str(exc.detail)))
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
"""The order in which a 405's ``Allow`` lists methods."""


def _allowed_methods(request: Request) -> list[str]:
    """The methods of the resource at this path, for a 405's ``Allow`` (RFC 9110 15.5.6).

    Starlette names only the first route matching the path, but GET, PATCH and DELETE of
    /api/orders/{id} are separate routes, so every route of the path counts. Where paths of
    several templates match (/api/orders/cancel-all is also an /api/orders/{id}), the resource
    is the most literal one: the OpenAPI schema documents POST alone there.
    """
    probe = {**request.scope, "fastapi": {}}  # matching writes to FastAPI's part of the scope
    matching = [r for r in _leaf_routes(request.app.router.routes) if _takes_path(r, probe)]
    if not matching:
        return []
    fewest = min(len(r.param_convertors) for r in matching)
    methods: set[str] = set()
    for route in matching:
        if len(route.param_convertors) == fewest:
            methods |= route.methods or set()
    return [method for method in METHODS if method in methods]


def _leaf_routes(routes: Sequence[BaseRoute]) -> Iterator[Route]:
    """Every route with a path and methods. FastAPI 0.16x keeps an included router as one
    route holding it (``original_router``) where older versions copied its routes in."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _leaf_routes(inner.routes)
        elif isinstance(route, Route):  # APIRoute is one
            yield route


def _takes_path(route: Route, scope: Scope) -> bool:
    match, _ = route.matches(scope)
    return match is not Match.NONE


async def _on_desk_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OrderDeskError)
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_request_invalid)
    app.add_exception_handler(OrderDeskError, _on_desk_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {
        "model": ErrorOut,
        "description": "Unparseable body (`invalid_json`), or the desk refused the input.",
    },
    401: {"model": ErrorOut, "description": "Missing or wrong bearer token."},
    403: {"model": ErrorOut, "description": "A risk check or the kill switch denied it."},
    404: {"model": ErrorOut, "description": "No such order, trading day or pending signal."},
    409: {"model": ErrorOut, "description": "The order or signal is not in a state for this."},
    413: {"model": ErrorOut, "description": "The body is larger than any route takes (64 KiB)."},
    422: {"model": ErrorOut, "description": "Invalid request, or the broker refused it."},
    503: {
        "model": ErrorOut,
        "description": "The broker is unreachable or failed to answer (`broker_unavailable`: "
        "send it again), there is no valid broker session "
        "(`session_expired`: log in and send the same signal again; `broker_session`: the "
        "broker refused the session, log in and send it again), or today's trading day is not "
        "open yet (`day_not_open`).",
    },
}
"""Documented on every data route so clients (and schemathesis) know the error shapes."""
NOT_OFFERED_RESPONSE: dict[int | str, dict[str, object]] = {
    501: {
        "model": ErrorOut,
        "description": "The configured broker does not offer this (`not_offered`), e.g. the "
        "paper broker keeps no holdings.",
    }
}
"""Documented on the routes that surface an optional broker capability."""

__all__ = [
    "ERROR_RESPONSES",
    "NOT_OFFERED_RESPONSE",
    "BodyTimedOut",
    "BodyTooLarge",
    "NoBrokerSession",
    "UnknownDay",
    "UnknownOrder",
    "desk_closed_response",
    "error_response",
    "install_error_handlers",
    "timed_out_response",
    "too_large_response",
]
