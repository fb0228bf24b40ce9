"""The pre-flight capability: what a broker adapter can tell about its own path to the broker
before the day's first order (``orderdesk doctor``).

An adapter that offers it (Kite's) answers :meth:`PreflightSource.preflight` with a
:class:`Preflight`: where its connections leave from, whether the broker takes order writes
from there (found with a probe that cannot change anything), the broker's clock as its reply
said it, and how much of the broker's order rate is spent. The desk adds what it knows itself
(session, stream, reconciliation) in :mod:`orderdesk.doctor`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable


class Verdict(StrEnum):
    """Whether the broker takes order writes from the desk's address."""

    ACCEPTED = "accepted"
    """The probe's answer was not a refusal of the address."""
    REFUSED = "refused"
    """The broker named the address and refused it."""
    SESSION_REFUSED = "session_refused"
    """The broker refused the session, so the probe could not tell about the address."""
    THROTTLED = "throttled"
    """The broker is throttling order writes now (HTTP 429): a passing state, in which the
    address cannot be told and orders are held back until it ends."""
    UNKNOWN = "unknown"
    """The probe got no answer that tells (no connection, a server error)."""


@dataclass(frozen=True, slots=True)
class OrderRate:
    """Order requests spent against the broker's limits (``None``: could not be read)."""

    this_second: int
    this_minute: int
    today: int | None
    per_second: int
    per_minute: int
    per_day: int


@dataclass(frozen=True, slots=True)
class Preflight:
    """What the adapter found about its path to the broker."""

    configured_address: str | None
    """The local address connections are bound to (None: the system chooses)."""
    family: str
    """The address family connections are pinned to: ``ipv4``, ``ipv6`` or ``any``."""
    local_address: str | None
    """The address the probe's connection actually left from (None: no connection)."""
    verdict: Verdict
    probe: str
    """Which probe was sent, in words."""
    answer: str
    """What the broker answered it, in words (its own message where it gave one)."""
    sent_at: datetime | None
    answered_at: datetime | None
    broker_time: datetime | None
    """The broker's clock from its reply's ``Date`` header (whole seconds)."""
    rate: OrderRate


@dataclass(frozen=True, slots=True)
class OrderLimits:
    """The broker's order limits the desk runs with (Kite's published ones by default)."""

    per_second: int = 10
    per_minute: int = 400
    per_day: int = 5_000


@runtime_checkable
class OrderLimitsSource(Protocol):
    """Adapters that run under order limits of their own configuration (Kite's ``[kite]
    orders_*``): the health page shows the order rate against them."""

    def order_limits(self) -> OrderLimits: ...


@runtime_checkable
class AnyHourSource(Protocol):
    """Adapters that can be told to take regular orders at any hour (the paper broker's
    ``[paper] market_hours = "always"``): the doctor says the market is open to them, not
    closed until the exchange's next opening, as their orders fill meanwhile."""

    def takes_orders_at_any_hour(self) -> bool: ...


@runtime_checkable
class PreflightSource(Protocol):
    """Adapters that can check their own path to the broker."""

    async def preflight(self) -> Preflight: ...


__all__ = [
    "AnyHourSource",
    "OrderLimits",
    "OrderLimitsSource",
    "OrderRate",
    "Preflight",
    "PreflightSource",
    "Verdict",
]
