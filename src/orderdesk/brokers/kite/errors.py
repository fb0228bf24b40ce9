"""Kite's errors as types, each one a subclass of a broker-neutral class the engine decides on.

Kite names the failure in its error envelope (``error_type``); :func:`error_for` turns that name
into a class through one explicit dict, :data:`ERROR_TYPES`, with :class:`GeneralException` as
the default (pykiteconnect does the same). Two HTTP facts refine the name: a 429 is always rate
limiting (Kite sends it as ``NetworkException``), and an unclassified error's status says
whether the broker refused the request (4xx) or failed (5xx)::

    KiteError                                  (mixin carried by every class below)
    ├── TokenException        → BrokerAuthError       session expired or invalidated (403)
    ├── PermissionException   → BrokerRejected        the app may not use this endpoint
    ├── UserException         → BrokerRejected        an account problem
    ├── InputException        → InputRejected         missing or invalid parameters
    ├── OrderException        → OrderRejected         the order cannot be placed/modified/cancelled
    ├── MarginException       → MarginRejected        insufficient funds
    ├── HoldingException      → MarginRejected        insufficient holdings to sell
    ├── TooManyRequests       → BrokerRateLimited     HTTP 429, whatever the error_type
    ├── NetworkException      → BrokerUnavailable     Kite could not reach its OMS
    ├── DataException         → BrokerUnavailable     Kite could not understand its OMS
    ├── GeneralException      → BrokerUnavailable     unclassified, 5xx (or no status at all)
    ├── GeneralRejection      → BrokerRejected        unclassified, 4xx
    ├── RouteNotFound         → NotFound              404 (unknown order id, unknown route)
    ├── KiteTransportError    → BrokerTransportError  no usable reply; ``maybe_sent`` says
    │   │                                             whether the request may have left
    │   ├── KiteTimeout
    │   └── MalformedResponse                         a reply that does not parse; names the
    │                                                 endpoint and the field
    ├── TickerError                                   the WebSocket ticker stopped for good
    │   ├── TickerTokenError  (+ TokenException)      upgrade refused with HTTP 403
    │   └── TickerGaveUpError → BrokerUnavailable     too many failed reconnections in a row
    └── (placements whose outcome is unknown raise orderdesk's UnknownOutcome, with the tag)

Messages carry Kite's own text and the endpoint's *name*, never a URL (the logout URL holds the
access token) and never a header.
"""

from __future__ import annotations

from orderdesk.errors import (
    BrokerAuthError,
    BrokerError,
    BrokerRateLimited,
    BrokerRejected,
    BrokerTransportError,
    BrokerUnavailable,
    InputRejected,
    MarginRejected,
    NotFound,
    OrderRejected,
)


class KiteError(BrokerError):
    """Base of every error the Kite adapter raises (besides ``UnknownOutcome``)."""


class TokenException(KiteError, BrokerAuthError):
    """The access token is expired or invalidated; a person has to log in again."""


class PermissionException(KiteError, BrokerRejected):
    """The app is not permitted to use this endpoint."""


class UserException(KiteError, BrokerRejected):
    """An account-related problem."""


class InputException(KiteError, InputRejected):
    """Missing or invalid parameters (also freeze-quantity breaches, too few iceberg legs)."""


class OrderException(KiteError, OrderRejected):
    """The order cannot be placed, modified, fetched or cancelled."""


class MarginException(KiteError, MarginRejected):
    """Insufficient funds."""


class HoldingException(KiteError, MarginRejected):
    """Insufficient holdings to sell."""


class TooManyRequests(KiteError, BrokerRateLimited):
    """HTTP 429: Kite throttled the request, which proves it did nothing with it."""


class NetworkException(KiteError, BrokerUnavailable):
    """Kite's API could not reach its order management system."""


class DataException(KiteError, BrokerUnavailable):
    """Kite's API could not understand its order management system's reply."""


class GeneralException(KiteError, BrokerUnavailable):
    """An unclassified server-side failure."""


class GeneralRejection(KiteError, BrokerRejected):
    """An unclassified 4xx: the request was refused."""


class RouteNotFound(KiteError, NotFound):
    """HTTP 404: the thing asked about (or the route) does not exist."""


class KiteTransportError(KiteError, BrokerTransportError):
    """No usable reply.

    ``maybe_sent`` is False only when the request provably never left (the connection could not
    be opened); it decides whether a placement's outcome is unknown.
    """

    def __init__(
        self,
        message: str,
        *,
        maybe_sent: bool = True,
        http_status: int | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message, http_status=http_status, error_type=error_type)
        self.maybe_sent = maybe_sent


class KiteTimeout(KiteTransportError):
    """The call did not finish within its timeout."""


class MalformedResponse(KiteTransportError):
    """A reply arrived but does not have the shape the endpoint promises."""

    def __init__(
        self, endpoint: str, field: str, reason: str, *, http_status: int | None = None
    ) -> None:
        super().__init__(
            f"malformed response from {endpoint}: {field}: {reason}", http_status=http_status
        )
        self.endpoint = endpoint
        self.field = field
        self.reason = reason


class TickerError(KiteError):
    """Root of the ticker's fatal errors: the client has stopped and will not reconnect."""


class TickerTokenError(TickerError, TokenException):
    """Kite refused the WebSocket upgrade with HTTP 403: the access token is invalid or expired.

    A :class:`TokenException` (so a ``BrokerAuthError``) like the REST side's, so one handler
    can ask a person to log in again.
    """


class TickerGaveUpError(TickerError, BrokerUnavailable):
    """Reconnection failed ``max_reconnects`` times in a row."""


ERROR_TYPES: dict[str, type[KiteError]] = {
    "TokenException": TokenException,
    "PermissionException": PermissionException,
    "UserException": UserException,
    "InputException": InputException,
    "OrderException": OrderException,
    "MarginException": MarginException,
    "HoldingException": HoldingException,
    "NetworkException": NetworkException,
    "DataException": DataException,
    "GeneralException": GeneralException,
}
"""Kite's ``error_type`` → our class. Names not listed fall back to :class:`GeneralException`."""


def error_class(error_type: str | None, http_status: int | None) -> type[KiteError]:
    """The class for an error envelope (or a bare HTTP error) with this type and status."""
    if http_status == 429:
        return TooManyRequests
    cls = ERROR_TYPES.get(error_type or "", GeneralException)
    if cls is GeneralException and http_status is not None and 400 <= http_status < 500:
        # The status is the better witness when Kite did not classify the failure.
        return RouteNotFound if http_status == 404 else GeneralRejection
    return cls


def error_for(message: str, error_type: str | None, http_status: int | None) -> KiteError:
    """Build the typed error for what Kite said."""
    cls = error_class(error_type, http_status)
    return cls(message or "no message", http_status=http_status, error_type=error_type)


__all__ = [
    "ERROR_TYPES",
    "DataException",
    "GeneralException",
    "GeneralRejection",
    "HoldingException",
    "InputException",
    "KiteError",
    "KiteTimeout",
    "KiteTransportError",
    "MalformedResponse",
    "MarginException",
    "NetworkException",
    "OrderException",
    "PermissionException",
    "RouteNotFound",
    "TickerError",
    "TickerGaveUpError",
    "TickerTokenError",
    "TokenException",
    "TooManyRequests",
    "UserException",
    "error_class",
    "error_for",
]
