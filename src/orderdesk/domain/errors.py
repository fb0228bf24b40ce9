"""The root of orderdesk's error tree and the errors the pure domain raises.

::

    OrderDeskError
    ├── ValidationError        bad input: names the field and the reason
    ├── InvalidTransition      an update or command the order's state machine refuses
    └── (adapters, store, engine add their own branches under OrderDeskError)

Programmer errors stay ``RuntimeError``/``TypeError``: they are bugs, not outcomes.
"""

from __future__ import annotations


class OrderDeskError(Exception):
    """Base class of every error orderdesk raises on purpose."""


class ValidationError(OrderDeskError, ValueError):
    """Input that cannot become an order; ``field`` and ``reason`` say exactly why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidTransition(OrderDeskError):
    """The state machine refused a command or broker update (``"A -> B"`` in the message)."""

    def __init__(self, source: str, trigger: str, detail: str = "") -> None:
        message = f"{source} -> {trigger}"
        if detail:
            message = f"{message}: {detail}"
        super().__init__(message)
        self.source = source
        self.trigger = trigger
        self.detail = detail


__all__ = ["InvalidTransition", "OrderDeskError", "ValidationError"]
