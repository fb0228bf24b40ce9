"""The order lifecycle: internal statuses, broker statuses, and the one transition table.

Kite reports many status strings (``PUT ORDER REQ RECEIVED``, ``VALIDATION PENDING``, …); the
Kite adapter maps each to a broker-neutral :class:`BrokerStatus`, and a broker report becomes a
:class:`Trigger` here. The engine's own commands are triggers too. Every legal move is one line
of :data:`TRANSITIONS`; anything else is :class:`~orderdesk.domain.errors.InvalidTransition`.

``MODIFY_PENDING`` and ``CANCEL_PENDING`` are overlays on a resting order: the order remembers
the status it had (its *base*), broker updates keep advancing that base underneath, and a
rejected modify or cancel returns to it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal


class OrderStatus(StrEnum):
    INITIALIZED = "INITIALIZED"
    """Persisted locally, not yet sent."""
    SUBMITTING = "SUBMITTING"
    """The placement request is (about to be) on the wire."""
    SUBMIT_UNKNOWN = "SUBMIT_UNKNOWN"
    """The request may or may not have reached the broker; resolved by looking up the tag."""
    ACCEPTED = "ACCEPTED"
    """The broker has it (an order id exists); not yet resting at the exchange."""
    TRIGGER_PENDING = "TRIGGER_PENDING"
    OPEN = "OPEN"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    MODIFY_PENDING = "MODIFY_PENDING"
    CANCEL_PENDING = "CANCEL_PENDING"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    LAPSED = "LAPSED"
    """The trading day ended and how the order ended can no longer be learned: the broker's
    book of that day is gone (the desk was not there to read it). Alerted when recorded."""


TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.LAPSED}
)
OVERLAYS = frozenset({OrderStatus.MODIFY_PENDING, OrderStatus.CANCEL_PENDING})
UNRESOLVED = frozenset({OrderStatus.SUBMITTING, OrderStatus.SUBMIT_UNKNOWN})
"""Statuses after which nobody knows whether the broker holds the order."""
IN_FLIGHT = UNRESOLVED | OVERLAYS
"""A request to the broker (place, modify, cancel) whose outcome is not known yet. A desk
with no order in one of these is quiet: nothing it asked the broker is still unanswered
(working orders may of course still fill)."""
WORKING = frozenset(
    {
        OrderStatus.ACCEPTED,
        OrderStatus.TRIGGER_PENDING,
        OrderStatus.OPEN,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.MODIFY_PENDING,
        OrderStatus.CANCEL_PENDING,
    }
)
"""Statuses of an order alive at the broker."""


def is_terminal(status: OrderStatus) -> bool:
    return status in TERMINAL


RANK: dict[OrderStatus, int] = {
    OrderStatus.INITIALIZED: 0,
    OrderStatus.SUBMITTING: 1,
    OrderStatus.SUBMIT_UNKNOWN: 1,
    OrderStatus.ACCEPTED: 2,
    OrderStatus.TRIGGER_PENDING: 3,
    OrderStatus.OPEN: 4,
    OrderStatus.PARTIALLY_FILLED: 5,
    OrderStatus.FILLED: 6,
    OrderStatus.CANCELLED: 6,
    OrderStatus.REJECTED: 6,
    OrderStatus.LAPSED: 6,
}
"""How far along the lifecycle a base status is; broker updates only ever move it up."""


class BrokerStatus(StrEnum):
    """What a broker says about an order, in broker-neutral words."""

    RECEIVED = "RECEIVED"
    """Taken in, being validated or sent to the exchange (Kite's transient statuses)."""
    TRIGGER_PENDING = "TRIGGER_PENDING"
    OPEN = "OPEN"
    MODIFY_PENDING = "MODIFY_PENDING"
    MODIFIED = "MODIFIED"
    MODIFY_REJECTED = "MODIFY_REJECTED"
    CANCEL_PENDING = "CANCEL_PENDING"
    COMPLETE = "COMPLETE"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"
    """A status string the adapter does not know: treated as non-terminal and informational."""


class Trigger(StrEnum):
    # engine commands
    SUBMIT = "SUBMIT"
    SUBMIT_UNKNOWN = "SUBMIT_UNKNOWN"
    SUBMIT_REJECTED = "SUBMIT_REJECTED"
    RESUBMIT = "RESUBMIT"
    REQUEST_MODIFY = "REQUEST_MODIFY"
    MODIFY_ACCEPTED = "MODIFY_ACCEPTED"
    MODIFY_REJECTED = "MODIFY_REJECTED"
    REQUEST_CANCEL = "REQUEST_CANCEL"
    CANCEL_REJECTED = "CANCEL_REJECTED"
    SESSION_REFUSED = "SESSION_REFUSED"
    WITHDRAW = "WITHDRAW"
    DAY_ENDED = "DAY_ENDED"
    # broker reports
    BROKER_ACCEPTED = "BROKER_ACCEPTED"
    BROKER_TRIGGER_PENDING = "BROKER_TRIGGER_PENDING"
    BROKER_OPENED = "BROKER_OPENED"
    BROKER_PARTIALLY_FILLED = "BROKER_PARTIALLY_FILLED"
    BROKER_FILLED = "BROKER_FILLED"
    BROKER_CANCELLED = "BROKER_CANCELLED"
    BROKER_REJECTED = "BROKER_REJECTED"


S = OrderStatus
T = Trigger

ReturnToBase = Literal["RETURN_TO_BASE"]
RETURN_TO_BASE: Final[ReturnToBase] = "RETURN_TO_BASE"
"""Target of an overlay's exit: back to the base status the order had before the request."""

TRANSITIONS: dict[tuple[OrderStatus, Trigger], OrderStatus | ReturnToBase] = {
    (S.INITIALIZED, T.SUBMIT): S.SUBMITTING,
    (S.SUBMITTING, T.SUBMIT_UNKNOWN): S.SUBMIT_UNKNOWN,
    # A synchronous 4xx proves the broker did not take the order.
    (S.SUBMITTING, T.SUBMIT_REJECTED): S.REJECTED,
    # Only proven absence (the tag is not in the broker's book) allows a second send.
    (S.SUBMIT_UNKNOWN, T.RESUBMIT): S.SUBMITTING,
    # The broker said it could not tell, and its book never showed the order while a late one
    # could still appear: given up as not placed, never sent again (a late order would be two).
    (S.SUBMIT_UNKNOWN, T.SUBMIT_REJECTED): S.REJECTED,
    # The broker's stream can overtake the placement reply, so every broker report is legal
    # while the request is in flight or its outcome is unknown.
    (S.SUBMITTING, T.BROKER_ACCEPTED): S.ACCEPTED,
    (S.SUBMITTING, T.BROKER_TRIGGER_PENDING): S.TRIGGER_PENDING,
    (S.SUBMITTING, T.BROKER_OPENED): S.OPEN,
    (S.SUBMITTING, T.BROKER_PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.SUBMITTING, T.BROKER_FILLED): S.FILLED,
    (S.SUBMITTING, T.BROKER_CANCELLED): S.CANCELLED,
    (S.SUBMITTING, T.BROKER_REJECTED): S.REJECTED,
    (S.SUBMIT_UNKNOWN, T.BROKER_ACCEPTED): S.ACCEPTED,
    (S.SUBMIT_UNKNOWN, T.BROKER_TRIGGER_PENDING): S.TRIGGER_PENDING,
    (S.SUBMIT_UNKNOWN, T.BROKER_OPENED): S.OPEN,
    (S.SUBMIT_UNKNOWN, T.BROKER_PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.SUBMIT_UNKNOWN, T.BROKER_FILLED): S.FILLED,
    (S.SUBMIT_UNKNOWN, T.BROKER_CANCELLED): S.CANCELLED,
    (S.SUBMIT_UNKNOWN, T.BROKER_REJECTED): S.REJECTED,
    (S.ACCEPTED, T.BROKER_TRIGGER_PENDING): S.TRIGGER_PENDING,
    (S.ACCEPTED, T.BROKER_OPENED): S.OPEN,
    (S.ACCEPTED, T.BROKER_PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.ACCEPTED, T.BROKER_FILLED): S.FILLED,
    (S.ACCEPTED, T.BROKER_CANCELLED): S.CANCELLED,
    (S.ACCEPTED, T.BROKER_REJECTED): S.REJECTED,
    (S.TRIGGER_PENDING, T.BROKER_OPENED): S.OPEN,
    (S.TRIGGER_PENDING, T.BROKER_PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.TRIGGER_PENDING, T.BROKER_FILLED): S.FILLED,
    (S.TRIGGER_PENDING, T.BROKER_CANCELLED): S.CANCELLED,
    # The exchange can reject a stop when it triggers (e.g. outside the circuit band).
    (S.TRIGGER_PENDING, T.BROKER_REJECTED): S.REJECTED,
    # A resting order modified into a stop (LIMIT to SL or SL-M) waits for its trigger again;
    # the order's own rule tells this from a stale report (Order._stop_rearmed).
    (S.OPEN, T.BROKER_TRIGGER_PENDING): S.TRIGGER_PENDING,
    (S.OPEN, T.BROKER_PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.OPEN, T.BROKER_FILLED): S.FILLED,
    (S.OPEN, T.BROKER_CANCELLED): S.CANCELLED,
    (S.OPEN, T.BROKER_REJECTED): S.REJECTED,
    (S.PARTIALLY_FILLED, T.BROKER_PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.BROKER_FILLED): S.FILLED,
    # Cancelling the rest of a partly filled order (or IOC / TTL lapse) ends it cancelled.
    (S.PARTIALLY_FILLED, T.BROKER_CANCELLED): S.CANCELLED,
    (S.ACCEPTED, T.REQUEST_MODIFY): S.MODIFY_PENDING,
    (S.TRIGGER_PENDING, T.REQUEST_MODIFY): S.MODIFY_PENDING,
    (S.OPEN, T.REQUEST_MODIFY): S.MODIFY_PENDING,
    (S.PARTIALLY_FILLED, T.REQUEST_MODIFY): S.MODIFY_PENDING,
    (S.MODIFY_PENDING, T.MODIFY_ACCEPTED): RETURN_TO_BASE,
    (S.MODIFY_PENDING, T.MODIFY_REJECTED): RETURN_TO_BASE,
    (S.ACCEPTED, T.REQUEST_CANCEL): S.CANCEL_PENDING,
    (S.TRIGGER_PENDING, T.REQUEST_CANCEL): S.CANCEL_PENDING,
    (S.OPEN, T.REQUEST_CANCEL): S.CANCEL_PENDING,
    (S.PARTIALLY_FILLED, T.REQUEST_CANCEL): S.CANCEL_PENDING,
    (S.CANCEL_PENDING, T.CANCEL_REJECTED): RETURN_TO_BASE,
    # The broker refused the session (expired token): nothing was placed, so the order is back
    # to an intent that the same signal may send again once a person has logged in.
    (S.SUBMITTING, T.SESSION_REFUSED): S.INITIALIZED,
    # Such an intent cancelled before it is sent again: nothing was ever placed.
    (S.INITIALIZED, T.WITHDRAW): S.CANCELLED,
    # A placement the broker answered 429, cancelled (or refused by the kill switch) while the
    # desk waits to send it again: a 429 proves nothing was placed, so nothing ever was.
    (S.SUBMITTING, T.WITHDRAW): S.CANCELLED,
    # The trading day is over and the broker's book of it is gone: whatever the order still
    # waited for can no longer be learned. Never left open into the next day.
    (S.INITIALIZED, T.DAY_ENDED): S.LAPSED,
    (S.SUBMITTING, T.DAY_ENDED): S.LAPSED,
    (S.SUBMIT_UNKNOWN, T.DAY_ENDED): S.LAPSED,
    (S.ACCEPTED, T.DAY_ENDED): S.LAPSED,
    (S.TRIGGER_PENDING, T.DAY_ENDED): S.LAPSED,
    (S.OPEN, T.DAY_ENDED): S.LAPSED,
    (S.PARTIALLY_FILLED, T.DAY_ENDED): S.LAPSED,
    (S.MODIFY_PENDING, T.DAY_ENDED): S.LAPSED,
    (S.CANCEL_PENDING, T.DAY_ENDED): S.LAPSED,
}
"""Every legal move. Broker triggers on an overlay are looked up against its base status."""

BROKER_TRIGGERS = frozenset(t for t in Trigger if t.name.startswith("BROKER_"))

__all__ = [
    "BROKER_TRIGGERS",
    "IN_FLIGHT",
    "OVERLAYS",
    "RANK",
    "RETURN_TO_BASE",
    "TERMINAL",
    "TRANSITIONS",
    "UNRESOLVED",
    "WORKING",
    "BrokerStatus",
    "OrderStatus",
    "ReturnToBase",
    "Trigger",
    "is_terminal",
]
