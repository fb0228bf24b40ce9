"""Order-rate headroom: the order requests the broker has had this second, minute and day.

Kite counts place, modify and cancel together against one account's 10 a second and 400 a
minute, and placements alone against its 5,000 a day (rejected ones too; KITE_API.md §9). The
dashboard shows how close the desk is, so the counter reads what the broker has seen, not what
the desk was asked: a request waiting in the desk's own rate limiter (or held back after a 429)
has not reached the broker, and counting it would show the desk over a limit it is keeping.

A placement counts when the broker's answer is recorded: bound to a broker order
(``OrderAccepted``) or refused (``OrderSubmitRejected``). A modify counts at its answer too
(``OrderModified`` by the desk, ``OrderModifyRejected``). A cancel counts when it is asked
(``OrderCancelRequested``): the desk records nothing when the broker says yes to one (the order's
end comes later, as the broker's news), so a cancel still queued in the desk reads a moment
early. Only placements count toward the day.

Left out: a placement whose outcome is unknown (it counts once it is known: found at the broker,
or refused), and an order the desk did not place (adopted from Kite web or mobile, which Kite
counts against the same account). The day's count starts from the orders the desk holds for
today when this process starts (those the broker placed or refused), and starts again at the
next trading day. The limits are the ones the desk runs with, handed in as :class:`OrderLimits`:
the running desk hands in its broker's own (Kite's adapter: ``[kite] orders_per_second``,
``orders_per_minute`` and ``orders_per_day``), and Kite's published ones for a broker that keeps
none, such as the paper broker (a strategy rehearsed on paper is shown against what Kite would
allow it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from orderdesk.domain.calendar import IST
from orderdesk.domain.events import (
    Event,
    OrderAccepted,
    OrderCancelRequested,
    OrderModified,
    OrderModifyRejected,
    OrderSubmitRejected,
)
from orderdesk.domain.order import Order
from orderdesk.domain.status import OrderStatus
from orderdesk.ports.preflight import OrderLimits


def rate_day(trading_day: date | None, at: datetime) -> date:
    """The day Kite's daily order count belongs to: the desk's trading day, else IST's date."""
    return trading_day or at.astimezone(IST).date()


_PLACED = (OrderAccepted, OrderSubmitRejected)
"""A placement the broker has answered: it holds the order, or refused it."""
# The desk's own refusals are OrderSubmitRejected too, with nothing but their reason to tell
# them from the broker's: so they are told by their words.
_HELD_BACK = "rate limited for too long"
"""How the placement path begins the reason of a placement it gave up on after 429s
(engine/placement.py): no placement Kite counted."""
_SPENT = "order placements are spent"
"""The words of the Kite adapter's own refusal once the day's cap is spent (nothing sent)."""


def _not_sent(reason: str) -> bool:
    """Whether a rejection's ``reason`` is the desk's own: held back after 429s, or refused
    with the day's cap spent, before anything reached the broker."""
    return reason.startswith(_HELD_BACK) or _SPENT in reason


_MINUTE = timedelta(minutes=1)


def is_placement(event: Event) -> bool:
    """Whether ``event`` is the broker's answer to a placement (what Kite's day counts)."""
    if isinstance(event, OrderSubmitRejected):
        return not _not_sent(event.reason)
    return isinstance(event, _PLACED)


def counts_toward_rate(event: Event) -> bool:
    """Whether ``event`` is an order request the broker has had (a placement, a modify or a
    cancel), as Kite's per-second and per-minute limits count them."""
    match event:
        case OrderAccepted() | OrderSubmitRejected():
            return is_placement(event)
        case OrderModifyRejected():
            return True
        case OrderModified(external=external):
            return not external  # a change made outside orderdesk is not the desk's request
        case OrderCancelRequested():
            return True
        case _:
            return False


def placed_or_refused(order: Order) -> bool:
    """Whether the broker has answered ``order``'s placement (a restart's count for the day)."""
    if order.external:
        return False
    return order.broker_order_id is not None or (
        order.status is OrderStatus.REJECTED
        and order.submit_attempts > 0
        and not _not_sent(order.reason or "")
    )


@dataclass(frozen=True, slots=True)
class RateUse:
    """Requests the broker had in the last second and minute, placements today, and the
    limits."""

    second: int
    minute: int
    day: int
    limits: OrderLimits = field(default_factory=OrderLimits)

    @property
    def second_limit(self) -> int:
        return self.limits.per_second

    @property
    def minute_limit(self) -> int:
        return self.limits.per_minute

    @property
    def day_limit(self) -> int:
        return self.limits.per_day


class OrderRate:
    """Fed with every event; answers how many order requests fell in each window."""

    def __init__(self, limits: OrderLimits | None = None) -> None:
        self.limits = limits or OrderLimits()
        self._recent: deque[datetime] = deque()
        self._day: date | None = None
        self._today = 0

    def seed(self, orders: Iterable[Order], day: date | None) -> None:
        """Start the day's count from the orders the desk holds for ``day``."""
        self._day = day
        self._today = sum(1 for order in orders if placed_or_refused(order))

    def observe(self, event: Event, day: date | None) -> None:
        if not counts_toward_rate(event):
            return
        if day != self._day:
            self._day, self._today = day, 0
        if is_placement(event):
            self._today += 1
        self._recent.append(event.at)
        self._forget(event.at)

    def use(self, now: datetime, day: date | None) -> RateUse:
        """The counts at ``now``, on ``day`` (a day with no request yet counts none)."""
        self._forget(now)
        second = sum(1 for at in self._recent if now - at < timedelta(seconds=1))
        today = self._today if day == self._day else 0
        return RateUse(second=second, minute=len(self._recent), day=today, limits=self.limits)

    def _forget(self, now: datetime) -> None:
        while self._recent and now - self._recent[0] >= _MINUTE:
            self._recent.popleft()


__all__ = [
    "OrderLimits",
    "OrderRate",
    "RateUse",
    "counts_toward_rate",
    "is_placement",
    "placed_or_refused",
    "rate_day",
]
