"""Whether an exchange trades now: each exchange keeps its segment's hours of the trading
calendar (:mod:`orderdesk.domain.calendar`), so at 20:00 MCX trades while NSE is shut.

Without trading days (``market_hours`` not ``"nse"``) every market is always open and no
square-off ever closes intraday trading. With them, an exchange is open on a trading day inside
its segment's market hours (a special session's own hours on such a day), and fresh MIS/CO
orders are refused from its segment's square-off until the next trading day begins (06:00,
KITE_API.md §14.1).
"""

from __future__ import annotations

from orderdesk.domain.calendar import IST, SEGMENT_OF, Segment
from orderdesk.domain.values import Exchange as ExchangeName
from orderdesk.sim.clock import SimClock
from orderdesk.sim.config import SimConfig
from orderdesk.sim.orders import Product

MARKET_CLOSED = "Markets are closed right now. Use GTT for placing long standing orders instead."
"""Kite's answer to an order (other than an AMO) while its exchange is shut."""
INTRADAY = frozenset({Product.MIS, Product.CO})
"""The products the broker squares off at its segment's square-off, and refuses after it."""


def segment_of(exchange: str) -> Segment | None:
    """The day's-clock segment an exchange belongs to; ``None`` for one the calendar lacks."""
    try:
        return SEGMENT_OF.get(ExchangeName(exchange))
    except ValueError:
        return None


class MarketHours:
    """Each exchange's session on the simulated clock."""

    __slots__ = ("_calendar", "_clock", "_trading_days")

    def __init__(self, config: SimConfig, clock: SimClock) -> None:
        self._trading_days = config.trading_days
        self._calendar = config.calendar
        self._clock = clock

    def __repr__(self) -> str:
        return f"MarketHours(trading_days={self._trading_days})"

    def market_open(self, exchange: str | None = None) -> bool:
        """Whether orders can reach ``exchange`` now (always, without trading days): the market
        hours of its segment on a trading day (weekends and the configured holidays closed, the
        special sessions open, in their own hours if they have them). Without an exchange, or
        for one the calendar has no segment for, NSE's hours."""
        if not self._trading_days:
            return True
        segment = None if exchange is None else segment_of(exchange)
        return self._calendar.in_market_hours(self._clock.now(), segment)

    def markets_open(self) -> dict[str, bool]:
        """:meth:`market_open` of every exchange the trading calendar keeps hours for."""
        return {str(name): self.market_open(name) for name in SEGMENT_OF}

    def intraday_closed(self, exchange: str) -> str | None:
        """Why a fresh MIS/CO order on ``exchange`` is refused now, or ``None`` if it is not.

        From the segment's square-off time until the next trading day begins (06:00), the
        broker takes no new intraday orders there (KITE_API.md §14.1).
        """
        if not self._trading_days:
            return None
        segment = segment_of(exchange)
        if segment is None:
            return None
        now = self._clock.now()
        day = self._calendar.trading_day_of(now)
        square_off = self._calendar.square_off_at(day, segment)
        if now.replace(tzinfo=IST) < square_off:
            return None
        return (
            f"MIS/CO orders are blocked after the auto square-off time ({square_off:%H:%M}) for "
            f"the {segment} segment; place CNC/NRML orders or wait for the next trading day."
        )


__all__ = ["INTRADAY", "MARKET_CLOSED", "MarketHours", "segment_of"]
