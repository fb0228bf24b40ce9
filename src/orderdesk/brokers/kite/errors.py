"""Kite's errors as types, each one a subclass of a broker-neutral class the engine decides on.

Kite names the failure in its error envelope (``error_type``); :func:`error_for` turns that name
into a class through one explicit dict, :data:`ERROR_TYPES`, with :class:`GeneralException` as
the default (pykiteconnect does the same). Two HTTP facts refine the name: a 429 is always rate
limiting (Kite sends it as ``NetworkException``), and an unclassified error's status says
whether the broker refused the request (4xx) or failed (5xx)::

    KiteError                                  (mixin carried by every class below)
    ├── TokenException        → BrokerAuthError       session expired or invalidated (403)
    ├── PermissionException   → BrokerRejected        the app may not use this endpoint
    │   └── SourceAddressRefused → AddressRefused     order writes from an unregistered IP
    ├── UserException         → BrokerRejected        an account problem
    ├── InputException        → InputRejected         missing or invalid parameters
    ├── OrderException        → OrderRejected         the order cannot be placed/modified/cancelled
    ├── MarginException       → MarginRejected        insufficient funds
    ├── HoldingException      → MarginRejected        insufficient holdings to sell
    ├── HoldingsUnauthorised  → HoldingsNotAuthorised HTTP 428, whatever the error_type: the
    │                                                 day's sale of holdings not authorised
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

Kite names an address it refuses under the static-IP rule in the message (``IP (2402:…) is
not allowed``; KITE_API.md §14.2), while its ``error_type`` and HTTP status for it are
unverified. So the message decides, through the patterns of :data:`IP_REFUSALS`, whatever type
Kite gave: such a refusal is a configuration fault, and taken for anything else (a 5xx's
unknown outcome, an input error) the desk would retry or alert the wrong thing.

Messages carry Kite's own text and the endpoint's *name*, never a URL (the logout URL holds the
access token) and never a header.
"""

from __future__ import annotations

import re

from orderdesk.errors import (
    AddressRefused,
    BrokerAuthError,
    BrokerError,
    BrokerRateLimited,
    BrokerRejected,
    BrokerTransportError,
    BrokerUnavailable,
    HoldingsNotAuthorised,
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


class SourceAddressRefused(PermissionException, AddressRefused):
    """Kite refuses order writes from the address the request came from (static-IP rule)."""


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


class HoldingsUnauthorised(KiteError, HoldingsNotAuthorised):
    """HTTP 428: a CNC sale of holdings the day has not authorised (KITE_API.md §5.2; Kite's
    forum: "If there are any un-authorised quantity then only 428 will be thrown")."""


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
    if http_status == 428:
        return HoldingsUnauthorised
    cls = ERROR_TYPES.get(error_type or "", GeneralException)
    if cls is GeneralException and http_status is not None and 400 <= http_status < 500:
        # The status is the better witness when Kite did not classify the failure.
        return RouteNotFound if http_status == 404 else GeneralRejection
    return cls


IP_REFUSALS: tuple[re.Pattern[str], ...] = (
    # The text one user reported (forum comment/52125): "IP (2402:…) is not allowed".
    re.compile(r"\bIP\s*\(\s*([0-9A-Fa-f:.]+)\s*\)\s*is not allowed", re.IGNORECASE),
    # Its likely variants, should Kite drop the brackets or say "whitelisted"/"registered".
    re.compile(
        r"\bIP(?: address)?\s+([0-9A-Fa-f:.]*[0-9A-Fa-f])\s+is not "
        r"(?:allowed|whitelisted|registered)",
        re.IGNORECASE,
    ),
)
"""Kite's words for "orders from this address are refused"; group 1 is the address."""


def refused_address(message: str) -> str | None:
    """The address a static-IP refusal names, or None when ``message`` is not one."""
    for pattern in IP_REFUSALS:
        found = pattern.search(message)
        if found is not None:
            return found.group(1)
    return None


def error_for(message: str, error_type: str | None, http_status: int | None) -> KiteError:
    """Build the typed error for what Kite said."""
    if http_status != 429 and (address := refused_address(message or "")) is not None:
        return SourceAddressRefused(
            message, address=address, http_status=http_status, error_type=error_type
        )
    cls = error_class(error_type, http_status)
    return cls(message or "no message", http_status=http_status, error_type=error_type)


__all__ = [
    "ERROR_TYPES",
    "IP_REFUSALS",
    "DataException",
    "GeneralException",
    "GeneralRejection",
    "HoldingException",
    "HoldingsUnauthorised",
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
    "SourceAddressRefused",
    "TickerError",
    "TickerGaveUpError",
    "TickerTokenError",
    "TokenException",
    "TooManyRequests",
    "UserException",
    "error_class",
    "error_for",
    "refused_address",
]
