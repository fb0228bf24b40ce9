"""Errors the engine raises to its callers, under the one :class:`OrderDeskError` root.

A risk denial is :class:`~orderdesk.errors.RiskDenied` (defined beside the broker errors, since
the HTTP API and CLI map it too); the engine adds the errors of its own commands here.
"""

from __future__ import annotations

from orderdesk.domain.errors import InvalidTransition, OrderDeskError
from orderdesk.domain.refusals import describe_refusal


class OrderNotFound(OrderDeskError, LookupError):
    """No order with this id is known to the desk."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order {order_id!r}")
        self.order_id = order_id


class ModificationLimitReached(OrderDeskError):
    """The order has been modified as often as the broker allows; cancel and re-place it."""

    def __init__(self, order_id: str, limit: int) -> None:
        super().__init__(f"order {order_id} has reached the modification limit of {limit}")
        self.order_id = order_id
        self.limit = limit


class CommandRefused(OrderDeskError):
    """A modify or cancel the order's state machine refused (recorded and alerted too)."""

    def __init__(self, order_id: str, detail: str, *, message: str | None = None) -> None:
        super().__init__(message or f"order {order_id}: {detail}")
        self.order_id = order_id
        self.detail = detail

    @classmethod
    def by_state(cls, order_id: str, error: InvalidTransition) -> CommandRefused:
        """The refusal as a person reads it ("order od… is already cancelled; nothing to
        cancel"), never the state machine's edge."""
        detail = describe_refusal(error)
        return cls(order_id, detail, message=f"order {order_id} {detail}")


class PlacedBeforeUnlogged(CommandRefused):
    """A signal whose order the desk's log does not hold, though the broker holds orders it
    made from that order (an autoslice's children carry their parent's id as their tag): the
    log was restored from a backup older than it. Placing the signal again would place it
    twice, so it is refused, naming what the broker holds."""

    def __init__(self, order_id: str, signal_id: str, made: list[str]) -> None:
        detail = (
            f"signal id {signal_id!r} was placed before as order {order_id}, which the desk's "
            f"log does not hold (restored from a backup older than it?); the broker holds "
            f"{', '.join(made)} made from it (adopted), so it is not placed again"
        )
        super().__init__(order_id, detail, message=detail)
        self.signal_id = signal_id
        self.made = made


class SignalIdReused(CommandRefused):
    """A signal id the strategy used before, sent again with other terms: the desk answers a
    resent signal with its order (idempotency), so a different signal under the same id would
    silently not be placed. Refused instead, naming what differs."""

    def __init__(self, order_id: str, signal_id: str, differing: list[str]) -> None:
        verb = "differs" if len(differing) == 1 else "differ"
        detail = (
            f"signal id {signal_id!r} was used for another signal ({', '.join(differing)} "
            f"{verb}); a new signal needs a new id"
        )
        super().__init__(order_id, detail, message=detail)
        self.signal_id = signal_id
        self.differing = differing


class BasketAborted(OrderDeskError):
    """A hedge leg of a basket failed, so the legs that depend on it were not placed."""

    def __init__(self, reason: str, placed: list[str]) -> None:
        super().__init__(f"basket aborted: {reason}")
        self.reason = reason
        self.placed = placed
        """Order ids of the legs placed before the basket stopped."""


class DeskClosed(OrderDeskError):
    """The desk is not running (not started yet, or closed)."""


class SessionExpired(OrderDeskError):
    """There is no valid broker session: a person must log in. Nothing was recorded for the
    signal (or the modify, the cancel), so the same request (a signal: same id) succeeds once
    the login has reached the desk."""

    def __init__(self, reason: str) -> None:
        # One text for a signal, a modify and a cancel: "the same signal" told a person
        # cancelling an order to send a signal.
        super().__init__(
            f"no valid broker session ({reason}); log in (`orderdesk login`) and send the "
            "same request again (a signal: the same signal id)"
        )
        self.reason = reason


class DayNotOpen(OrderDeskError):
    """Today's trading day is not open yet (the broker's books could not be read); nothing was
    recorded for the signal, so it may be sent again."""


__all__ = [
    "BasketAborted",
    "CommandRefused",
    "DayNotOpen",
    "DeskClosed",
    "ModificationLimitReached",
    "OrderNotFound",
    "PlacedBeforeUnlogged",
    "SessionExpired",
    "SignalIdReused",
]
