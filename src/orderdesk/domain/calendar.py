"""The trading day: which dates the exchanges trade, and which day an instant belongs to.

India's exchanges trade on weekdays that are not holidays, and on the odd special session on a
day they are otherwise closed (the budget-day Sunday of 2026); everything Kite does by the clock
is in IST (KITE_API.md §14.1). A trading day *begins* at :data:`DAY_START`, 06:00 IST: the moment
Kite ends every access token of the day before, and from which its order and trade books start
empty. It lasts until the next trading day begins, so an order placed on a Friday evening, or a
Saturday, still belongs to Friday's day, and Monday's day begins on Monday at 06:00.

The intraday milestones that matter to a desk are per segment (:class:`SegmentHours`): the
broker's square-off of MIS and CO positions, and the exchange's mass cancel of unmatched orders
after the close. Both the simulator and the desk read them from here, each from its own
configuration.

A special session can have hours of its own (:class:`SessionHours`): Diwali's one-hour Muhurat
session (18:15 to 19:15 in 2021 and 2022, 13:45 to 14:45 in 2025; the exchanges announce it
each year). On such a day every segment trades in that window; Zerodha squares intraday
positions off 10 minutes before its close (its 2021 and 2022 notes; one 2021 report says 15),
and the closing session's end, 20 minutes after the close (19:25 to 19:35 in 2022), is taken as
the mass cancel. Those two offsets are this module's reading of the brokers' yearly notes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum

from orderdesk.domain.errors import ValidationError
from orderdesk.domain.values import Exchange, InstrumentKey, Product

IST = timezone(timedelta(hours=5, minutes=30), "IST")
"""India Standard Time: Kite's wall clock (UTC+05:30, no daylight saving)."""

DAY_START = time(6, 0)
"""When a trading day begins: Kite's daily token expiry (and the morning's empty books)."""

ONE_DAY = timedelta(days=1)


class Segment(StrEnum):
    """The groups of exchanges that share a day's clock."""

    EQUITY = "equity"
    DERIVATIVES = "derivatives"
    CURRENCY = "currency"
    COMMODITY = "commodity"


SEGMENT_OF: Mapping[Exchange, Segment] = {
    Exchange.NSE: Segment.EQUITY,
    Exchange.BSE: Segment.EQUITY,
    Exchange.NFO: Segment.DERIVATIVES,
    Exchange.BFO: Segment.DERIVATIVES,
    Exchange.CDS: Segment.CURRENCY,
    Exchange.BCD: Segment.CURRENCY,
    Exchange.MCX: Segment.COMMODITY,
}


PRODUCTS_OF: Mapping[Segment, frozenset[Product]] = {
    Segment.EQUITY: frozenset({Product.MIS, Product.CNC, Product.MTF}),
    Segment.DERIVATIVES: frozenset({Product.MIS, Product.NRML}),
    Segment.CURRENCY: frozenset({Product.MIS, Product.NRML}),
    Segment.COMMODITY: frozenset({Product.MIS, Product.NRML}),
}
"""The products an order may carry, by its exchange's segment: delivery (CNC, MTF) is stock's,
NRML the carry of futures, options, currency and commodities; MIS is everyone's."""


def check_product(field: str, instrument: InstrumentKey, product: Product) -> None:
    """Refuse ``product`` for an order in ``instrument`` when its exchange has no such product:
    the broker takes a GTT or an alert's order with it and refuses the order only when it fires
    (a stop that never happened), and refuses a plain order only at the wire."""
    allowed = PRODUCTS_OF[SEGMENT_OF[instrument.exchange]]
    if product not in allowed:
        names = ", ".join(sorted(allowed))
        raise ValidationError(
            field, f"{product} is not a product of {instrument.exchange} ({names})"
        )


DELIVERY = frozenset({Product.CNC, Product.MTF})
"""The products that take delivery of stock: an option or a future bought with one was booked
as stock held (a broker that took it would show it among the holdings)."""


def check_delivery(field: str, instrument: InstrumentKey, product: Product) -> None:
    """Refuse a delivery product (CNC, MTF) for an order outside the stock exchanges."""
    segment = SEGMENT_OF[instrument.exchange]
    if product in DELIVERY and segment is not Segment.EQUITY:
        raise ValidationError(
            field,
            f"{product} is delivery of stock; {instrument.exchange} ({segment}) takes NRML or MIS",
        )


NSE_OPEN = time(9, 15)
NSE_CLOSE = time(15, 30)
"""NSE's normal market hours on an ordinary trading day."""


@dataclass(frozen=True, slots=True)
class SegmentHours:
    """One segment's milestones of the day, in IST wall time."""

    square_off: time
    """Zerodha squares off open MIS/CO positions with market orders; no fresh MIS/CO after."""
    mass_cancel: time
    """The exchange cancels unmatched orders ("exchange mass cancel")."""
    opens: time = NSE_OPEN
    """The segment's normal market opens."""
    closes: time = NSE_CLOSE
    """The segment's normal market closes."""


DEFAULT_HOURS: Mapping[Segment, SegmentHours] = {
    # Zerodha's support pages give 15:20 for equity and 15:25 for equity derivatives (one older
    # copy says 15:20 for both), 16:45 for currency, 25 minutes before the close (23:30) for
    # commodities; the mass cancel follows each close (KITE_API.md §14.1). The sessions are
    # Zerodha's "What are the market timings?": currency 09:00-17:00, MCX's internationally
    # referenced commodities 09:00-23:30 (23:55 from November to March, when US clocks are
    # back; agri contracts close at 17:00 or 21:00): the one close the square-off above assumes.
    Segment.EQUITY: SegmentHours(square_off=time(15, 20), mass_cancel=time(16, 0)),
    Segment.DERIVATIVES: SegmentHours(square_off=time(15, 25), mass_cancel=time(16, 0)),
    Segment.CURRENCY: SegmentHours(
        square_off=time(16, 45), mass_cancel=time(17, 0), opens=time(9), closes=time(17)
    ),
    Segment.COMMODITY: SegmentHours(
        square_off=time(23, 5), mass_cancel=time(23, 45), opens=time(9), closes=time(23, 30)
    ),
}


SQUARE_OFF_BEFORE_CLOSE = timedelta(minutes=10)
"""On a session with hours of its own: how long before its close intraday is squared off."""
MASS_CANCEL_AFTER_CLOSE = timedelta(minutes=20)
"""On a session with hours of its own: the closing session's end, after which nothing works."""


@dataclass(frozen=True, slots=True)
class SessionHours:
    """A special session's market hours (IST), when they are not the usual ones."""

    opens: time
    closes: time

    def __post_init__(self) -> None:
        if not DAY_START <= self.opens < self.closes:
            raise ValueError(
                f"a session opens after {DAY_START:%H:%M} and before it closes "
                f"(got {self.opens:%H:%M} to {self.closes:%H:%M})"
            )
        late = datetime.combine(date.min, self.closes) + MASS_CANCEL_AFTER_CLOSE
        if late.date() != date.min:
            raise ValueError(f"a session closing at {self.closes:%H:%M} would end after midnight")


def as_ist(when: datetime) -> datetime:
    """``when`` in IST; a naive datetime is taken to be IST wall time already (Kite's)."""
    return when.replace(tzinfo=IST) if when.tzinfo is None else when.astimezone(IST)


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """Trading dates (weekdays that are not holidays, and special sessions) and the day each
    instant belongs to."""

    holidays: frozenset[date] = frozenset()
    day_start: time = DAY_START
    hours: Mapping[Segment, SegmentHours] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    sessions: frozenset[date] = frozenset()
    """Special sessions: dates the exchanges trade though they fall on a weekend or a holiday.
    Such a day is a trading day like any other, with the usual milestones."""
    session_hours: Mapping[date, SessionHours] = field(default_factory=dict)
    """Special sessions with hours of their own (Diwali's Muhurat session): trading days whose
    market hours, square-off and mass cancel follow those hours, in every segment."""

    def is_trading_day(self, day: date) -> bool:
        """A weekday that is not an exchange holiday, or a special session."""
        return (
            day in self.sessions
            or day in self.session_hours
            or (day.weekday() < 5 and day not in self.holidays)
        )

    def market_hours(self, day: date, segment: Segment | None = None) -> tuple[time, time]:
        """When ``day``'s normal market opens and closes (IST wall time): a special session's
        own hours, else ``segment``'s usual ones (NSE's without a segment)."""
        own = self.session_hours.get(day)
        if own is not None:
            return own.opens, own.closes
        usual = None if segment is None else self.hours.get(segment)
        return (NSE_OPEN, NSE_CLOSE) if usual is None else (usual.opens, usual.closes)

    def in_market_hours(self, when: datetime, segment: Segment | None = None) -> bool:
        """Whether ``segment``'s market (NSE's without a segment) is open at ``when`` (naive:
        IST wall time): a trading day, and inside its market hours."""
        local = as_ist(when)
        opens, closes = self.market_hours(local.date(), segment)
        return self.is_trading_day(local.date()) and opens <= local.time() < closes

    def market_until(self, when: datetime, segment: Segment | None = None) -> tuple[bool, datetime]:
        """Whether ``segment``'s market (NSE's without a segment) is open at ``when``, and until
        when it stays so: its close while open, else its next opening (IST-aware)."""
        local = as_ist(when)
        day = local.date()
        if self.is_trading_day(day):
            opens, closes = self.market_hours(day, segment)
            if local.time() < opens:
                return False, datetime.combine(day, opens, tzinfo=IST)
            if local.time() < closes:
                return True, datetime.combine(day, closes, tzinfo=IST)
        following = self.next_trading_day(day)
        opens, _ = self.market_hours(following, segment)
        return False, datetime.combine(following, opens, tzinfo=IST)

    def next_trading_day(self, day: date) -> date:
        """The first trading day strictly after ``day``."""
        day += ONE_DAY
        while not self.is_trading_day(day):
            day += ONE_DAY
        return day

    def previous_trading_day(self, day: date) -> date:
        """The last trading day strictly before ``day``."""
        day -= ONE_DAY
        while not self.is_trading_day(day):
            day -= ONE_DAY
        return day

    def starts_at(self, day: date) -> datetime:
        """The instant ``day`` begins (IST-aware)."""
        return datetime.combine(day, self.day_start, tzinfo=IST)

    def trading_day_of(self, when: datetime) -> date:
        """The trading day ``when`` belongs to: the latest one begun at or before it."""
        local = as_ist(when)
        day = local.date()
        if not self.is_trading_day(day) or local.time() < self.day_start:
            day = self.previous_trading_day(day)
        return day

    def session_of(self, when: datetime, segment: Segment) -> date:
        """The trading day whose market an order placed at ``when`` is for: the day ``when``
        belongs to, or the next one for an order placed after that day's ``segment`` closed
        (an AMO, which waits for the next session)."""
        day = self.trading_day_of(when)
        _, closes = self.market_hours(day, segment)
        if as_ist(when) >= datetime.combine(day, closes, tzinfo=IST):
            return self.next_trading_day(day)
        return day

    def next_start_after(self, when: datetime) -> datetime:
        """When the trading day after the one ``when`` belongs to begins (UTC-aware)."""
        following = self.next_trading_day(self.trading_day_of(when))
        return self.starts_at(following).astimezone(UTC)

    def trading_days(self, first: date, last: date) -> Iterator[date]:
        """The trading days from ``first`` to ``last``, both included."""
        day = first if self.is_trading_day(first) else self.next_trading_day(first)
        while day <= last:
            yield day
            day = self.next_trading_day(day)

    def square_off_at(self, day: date, segment: Segment) -> datetime:
        """When the broker squares off ``segment``'s MIS/CO positions on ``day`` (IST-aware)."""
        own = self.session_hours.get(day)
        if own is not None:
            return datetime.combine(day, own.closes, tzinfo=IST) - SQUARE_OFF_BEFORE_CLOSE
        return datetime.combine(day, self.hours[segment].square_off, tzinfo=IST)

    def square_off_passed(self, exchange: Exchange, when: datetime) -> datetime | None:
        """The broker's square-off time of ``exchange``'s segment, if ``when`` is past it in
        the trading day ``when`` is in (which lasts until the next one begins at 06:00): no
        fresh MIS/CO position there until then."""
        cutoff = self.square_off_at(self.trading_day_of(when), SEGMENT_OF[exchange])
        return cutoff if when >= cutoff else None

    def mass_cancel_at(self, day: date, segment: Segment) -> datetime:
        """When the exchange cancels ``segment``'s unmatched orders on ``day`` (IST-aware)."""
        own = self.session_hours.get(day)
        if own is not None:
            return datetime.combine(day, own.closes, tzinfo=IST) + MASS_CANCEL_AFTER_CLOSE
        return datetime.combine(day, self.hours[segment].mass_cancel, tzinfo=IST)

    def last_mass_cancel(self, day: date) -> datetime:
        """The latest mass cancel of ``day`` across segments: after it, no order of the day can
        still be working at the exchange."""
        return max(self.mass_cancel_at(day, segment) for segment in self.hours)


def next_token_expiry(login: datetime, day_start: time = DAY_START) -> datetime:
    """The next 06:00 IST after ``login``: Kite ends every access token then, trading day or not.

    A login before 06:00 expires the same morning; one made later, the next morning. The result
    carries ``login``'s kind of time: IST-aware for an aware ``login``, naive IST for a naive one.
    """
    local = as_ist(login)
    expiry = datetime.combine(local.date(), day_start, tzinfo=IST)
    if local >= expiry:
        expiry += ONE_DAY
    return expiry.replace(tzinfo=None) if login.tzinfo is None else expiry


__all__ = [
    "DAY_START",
    "DEFAULT_HOURS",
    "IST",
    "MASS_CANCEL_AFTER_CLOSE",
    "NSE_CLOSE",
    "NSE_OPEN",
    "SEGMENT_OF",
    "SQUARE_OFF_BEFORE_CLOSE",
    "Segment",
    "SegmentHours",
    "SessionHours",
    "TradingCalendar",
    "as_ist",
    "next_token_expiry",
]
