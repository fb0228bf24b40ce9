"""The paper broker's trading days: what Kite's day does to an account, on the desk's calendar.

Kite ends each trading day for its users (KITE_API.md §14.1): after-market orders held for a
session go to the market at their segment's open, open MIS/CO positions are squared off with
market orders at their segment's square-off time, the exchange cancels what is still
working at its mass cancel, and at 06:00 of the next trading day the cash pays the old day's
charges (as Zerodha's ledger posts its contract note), the order and trade books start empty
while positions of the carry products come forward as overnight quantity, booked at the close.
A paper book that kept none of it showed the desk yesterday's orders in today's book (adopted
as placed outside orderdesk), no carried positions ("Opening positions differ" every morning)
and MIS positions open for ever.

The milestones are found as the simulator finds its own: by comparing the clock with the
calendar whenever the paper broker is asked something, and applying what was crossed in time
order, each at its own instant. A desk that was down over a weekend therefore finds Friday's
square-off and Monday's rollover done when it next reads the books.

The paper broker keeps no delivered stock (it has no holdings), so CNC and MTF positions are
carried forward as positions, as NRML ones are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from orderdesk.domain.calendar import IST, Segment, TradingCalendar


class Step(IntEnum):
    """What happens at a milestone; at the same instant, in this order (the day begins before
    anything happens in it)."""

    ROLLOVER = 0
    OPEN = 1
    SQUARE_OFF = 2
    MASS_CANCEL = 3
    LAPSE = 4
    """A TTL order's minutes run out (the broker's own timer, not the calendar's)."""


@dataclass(frozen=True, slots=True, order=True)
class Milestone:
    at: datetime
    step: Step
    segment: Segment | None = None
    """The segment an open, square-off or mass cancel is for; None for a rollover."""
    order_id: str | None = None
    """The order a lapse is of."""


def milestones(calendar: TradingCalendar, after: datetime, until: datetime) -> list[Milestone]:
    """The milestones in ``(after, until]``, in the order they happen."""
    if until <= after:
        return []
    found: list[Milestone] = []
    first, last = calendar.trading_day_of(after), calendar.trading_day_of(until)
    for day in calendar.trading_days(first, last):
        found.append(Milestone(calendar.starts_at(day), Step.ROLLOVER))
        for segment in calendar.hours:
            opens, _ = calendar.market_hours(day, segment)
            found.append(Milestone(datetime.combine(day, opens, tzinfo=IST), Step.OPEN, segment))
            found.append(Milestone(calendar.square_off_at(day, segment), Step.SQUARE_OFF, segment))
            found.append(
                Milestone(calendar.mass_cancel_at(day, segment), Step.MASS_CANCEL, segment)
            )
    return sorted(m for m in found if after < m.at <= until)


__all__ = ["Milestone", "Step", "milestones"]
