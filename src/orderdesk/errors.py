"""orderdesk's error tree. Every error raised on purpose derives from :class:`OrderDeskError`.

::

    OrderDeskError
    ├── ValidationError            bad input; names the field and the reason      (domain)
    ├── InvalidTransition          the order state machine refused an update       (domain)
    ├── ConfigError                a bad config file or variable; names the key
    ├── StoreError                 the event log cannot be read or written
    │   └── ChainBroken            audit verification found a tampered row
    ├── RiskDenied                 a pre-trade check refused a signal; names the check
    ├── NotOffered                 the configured broker lacks an optional capability
    ├── ExitBlocked                an exit not placed: an order working in its line could not
    │                              be cancelled first (it could overshoot the exit); names it
    └── BrokerError                anything a broker adapter raises
        ├── BrokerTransportError   no usable answer: timeout, connection refused or reset
        │   └── UnknownOutcome     a placement may or may not have happened; carries the tag
        │       └── AmbiguousReply the broker answered that it cannot tell (Kite's "Order
        │                          request timed out"): the order may still appear, later
        ├── BrokerRateLimited      the broker throttled us (429); safe to retry later
        │   └── QuotaExhausted     a quota that refills only tomorrow (the day's orders)
        ├── BrokerUnavailable      the broker answered 5xx before acting (safe for reads)
        ├── BrokerAuthError        the session is invalid or expired; never retried
        └── BrokerRejected         the broker refused the request; nothing happened
            ├── AddressRefused     not from this source address (a static-IP rule): fix the
            │                      configuration or the broker's registration; never retried
            ├── InputRejected      bad parameters
            ├── OrderRejected      the order cannot be placed / modified / cancelled
            └── MarginRejected     insufficient funds or holdings
                └── HoldingsNotAuthorised  holdings the day has not authorised for sale

Adapters subclass these (e.g. the Kite adapter's ``TokenException`` is a ``BrokerAuthError``),
so the engine decides on the broker-neutral classes only.

Retryability is decided here and nowhere else, by predicates handed to the retry library
(stamina): :func:`is_retryable_read` for reads and other idempotent calls,
:func:`is_throttled` for a request the broker's request rate held back (a 429 proves nothing
happened: it may be sent again after a backoff, a placement included), and
:func:`is_reconnectable` for a live stream whose link failed.
"""

from __future__ import annotations

from collections.abc import Sequence

from orderdesk.domain.errors import InvalidTransition, OrderDeskError, ValidationError


class ConfigError(OrderDeskError):
    """Configuration that cannot be used; the message names the key."""


class StoreError(OrderDeskError):
    """The event log could not be read or written."""


class ChainBroken(StoreError):
    """Audit verification found a row whose hash does not follow from its predecessor."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"event {seq}: {reason}")
        self.seq = seq
        self.reason = reason


class RiskDenied(OrderDeskError):
    """A pre-trade check refused a signal."""

    def __init__(self, check: str, reason: str) -> None:
        super().__init__(f"{check}: {reason}")
        self.check = check
        self.reason = reason


class NotOffered(OrderDeskError):
    """The configured broker does not offer an optional capability (see
    :mod:`orderdesk.ports.broker`), e.g. the paper broker keeps no holdings."""

    def __init__(self, broker: str, capability: str) -> None:
        super().__init__(f"the {broker} broker does not offer {capability}")
        self.broker = broker
        self.capability = capability


class ExitBlocked(OrderDeskError):
    """An exit was not placed: orders working in the position's instrument and product were
    to be cancelled first, and these could not be (a cancel failed, or the order did not end
    in time). Left working, one filling after the exit would open the opposite position; so
    nothing was placed, and ``blocking`` names each order with the reason."""

    def __init__(self, line: str, blocking: Sequence[tuple[str, str]]) -> None:
        named = "; ".join(f"order {order_id} {reason}" for order_id, reason in blocking)
        super().__init__(
            f"exit of {line} not placed: {named}; the position is unchanged. Cancel the "
            "working orders there and exit again (or exit keeping them working)"
        )
        self.line = line
        self.blocking = tuple(blocking)
        self.order_ids = [order_id for order_id, _reason in blocking]


class BrokerError(OrderDeskError):
    """Base of broker adapter errors; ``http_status`` and ``error_type`` when the broker said."""

    def __init__(
        self, message: str, *, http_status: int | None = None, error_type: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.error_type = error_type


class AdapterFailed(BrokerError):
    """A broker adapter failed to load, be built or start with an exception that is not one of
    the desk's errors (an adapter's bug, or a library under it): the adapter is named, and the
    exception, in one line (its traceback is logged at DEBUG). ``stage`` is "load" for a module
    that fails to import or an entry point naming no factory, else "start"."""

    def __init__(self, adapter: str, error: BaseException, *, stage: str = "start") -> None:
        detail = str(error).strip()
        said = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
        super().__init__(f"the broker adapter {adapter!r} failed to {stage}: {said}")
        self.adapter = adapter
        self.error = error


class BrokerTransportError(BrokerError):
    """No usable answer arrived (timeout, refused, reset, unparseable reply)."""


class UnknownOutcome(BrokerTransportError):
    """A placement may have reached the broker; resolve it by its tag, never re-send blindly."""

    def __init__(self, message: str, *, tag: str, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.tag = tag


class AmbiguousReply(UnknownOutcome):
    """The broker did answer the placement, and its answer is that it cannot tell whether the
    order was placed (Kite's HTTP 400 "Order request timed out. Please check the order book").
    The order may appear in the book seconds later, or never: resolved by the book like every
    unknown outcome, but absence proves nothing until the order has had time to appear, and
    then it means "not placed", never "send it again" (a late order would make two)."""


class BrokerRateLimited(BrokerError):
    """The broker throttled the request; nothing happened."""


class QuotaExhausted(BrokerRateLimited):
    """A quota that does not refill within seconds is spent (Kite's placements per day):
    nothing happened, and sending again before it refills cannot succeed."""


class BrokerUnavailable(BrokerError):
    """The broker answered with a server error."""


class BrokerAuthError(BrokerError):
    """The session is invalid or expired. Never retried: a person has to log in again."""


class BrokerRejected(BrokerError):
    """The broker refused the request; it holds no new state because of it."""


class AddressRefused(BrokerRejected):
    """The broker refuses order writes from the address the request came from (Kite's
    static-IP rule): a configuration fault, so never an unknown outcome and never retried.
    ``address`` is the one the broker named (None when it named none)."""

    def __init__(self, message: str, *, address: str | None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.address = address


class InputRejected(BrokerRejected):
    """Parameters the broker does not accept."""


class OrderRejected(BrokerRejected):
    """An order the broker cannot place, modify or cancel (e.g. already complete)."""


class MarginRejected(BrokerRejected):
    """Insufficient funds or holdings."""


class HoldingsNotAuthorised(MarginRejected):
    """The broker may not release the delivered stock a sale needs: an account without DDPI
    (or POA) must authorise the day's sales of holdings at the depository first (Kite: HTTP
    428, CDSL's TPIN). A person must act; sending it again unchanged is refused again."""


class NotFound(BrokerRejected):
    """The thing asked about does not exist at the broker."""


def is_retryable_read(error: BaseException) -> bool:
    """Whether a *read* (or another idempotent call) may be retried after ``error``."""
    if isinstance(error, BrokerAuthError | BrokerRejected):
        return False
    return isinstance(error, BrokerTransportError | BrokerRateLimited | BrokerUnavailable)


def is_throttled(error: BaseException) -> bool:
    """Whether the broker's request rate held back a request (HTTP 429), which may then be
    queued again after a backoff, a placement included: nothing happened, and the rate refills
    within seconds. A spent daily quota (:class:`QuotaExhausted`) refills only tomorrow."""
    return isinstance(error, BrokerRateLimited) and not isinstance(error, QuotaExhausted)


def is_reconnectable(error: BaseException) -> bool:
    """Whether a live stream should connect again after ``error``: the link could not be
    opened or dropped (a transport error) or the broker failed (5xx); never when the broker
    refused the session or the request, which a new connection cannot change."""
    if isinstance(error, BrokerAuthError | BrokerRejected):
        return False
    return isinstance(error, BrokerTransportError | BrokerUnavailable)


__all__ = [
    "AdapterFailed",
    "AddressRefused",
    "AmbiguousReply",
    "BrokerAuthError",
    "BrokerError",
    "BrokerRateLimited",
    "BrokerRejected",
    "BrokerTransportError",
    "BrokerUnavailable",
    "ChainBroken",
    "ConfigError",
    "ExitBlocked",
    "HoldingsNotAuthorised",
    "InputRejected",
    "InvalidTransition",
    "MarginRejected",
    "NotFound",
    "NotOffered",
    "OrderDeskError",
    "OrderRejected",
    "QuotaExhausted",
    "RiskDenied",
    "StoreError",
    "UnknownOutcome",
    "ValidationError",
    "is_reconnectable",
    "is_retryable_read",
    "is_throttled",
]
