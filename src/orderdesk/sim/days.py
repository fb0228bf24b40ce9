"""The trading-day machine: the simulator's day ends and begins when its clock crosses them.

With ``market_hours="nse"`` the simulator keeps NSE's trading days (KITE_API.md §14.1) on the
:class:`~orderdesk.domain.calendar.TradingCalendar` its config builds (weekends and the holiday
list closed). Each trading day ``D`` has these milestones, per segment of the calendar's hours
(equity NSE/BSE, derivatives NFO/BFO, currency CDS/BCD, commodity MCX):

- **rollover** at ``D`` 06:00 (:meth:`TradingCalendar.starts_at`): the day begins. Order and
  trade books start empty (held AMOs stay), positions are carried or settled, CNC buys move to
  holdings as T1 and the T1 of the day before settles, contracts that expired before ``D`` are
  settled and delisted (gone from ``/instruments`` and from placement), the series the day's
  window reaches are listed (a new weekly, a new monthly; an MCX or CDS future's next month,
  priced off its nearest month), every price's previous
  close becomes its last price, the old day's money moves into cash, less the charges of its
  executed orders and of its options settled at expiry (:meth:`Funds.debit_day_charges`).
  GTTs are kept. Access tokens of the day before are dead from 06:00 (the session store's own
  rule, same instant).
- **square_off** at the segment's square-off time (equity 15:20, derivatives 15:25, currency
  16:45, commodity 23:05): the broker cancels working MIS/CO orders and closes open MIS/CO
  positions with market orders; from then until the next rollover no fresh MIS/CO order is
  taken in that segment (:meth:`Exchange.intraday_closed`, read from the clock).
- **mass_cancel** at the segment's mass-cancel time (equity and derivatives 16:00, currency
  17:00, commodity 23:45): what is still working there is cancelled, "exchange mass cancel".
  At the derivatives' one, the built-in contracts expiring that day take their final
  settlement price (an option's intrinsic value, a future's index level, against the index's
  last level) and stop moving, their GTTs expire, and the next rollover settles their positions
  at it. Kite's quote
  of an expired contract after its last day is not documented; this is the simulator's
  reading of NSE's cash settlement.

Closed days have none. :class:`TradingDays` remembers the last instant it has processed (at
first, the clock at start). Whenever the clock moves forward — ``POST /_sim/clock`` and the
housekeeping tick both call :meth:`TradingDays.catch_up` — it runs every milestone crossed since,
in chronological order, each with the clock *pinned* to the milestone's instant, so a jump from
Friday 14:00 to Monday 08:00 squares off at Friday 15:20:00, mass-cancels at 16:00:00 and rolls
over at Monday 06:00:00, and every order row and trade reads those times. Milestones at the same
instant run rollover first, then square-off, then mass cancel, segments in the calendar's order.

**Moving the clock backwards** (``set`` to an earlier time) runs nothing and undoes nothing:
books, positions and tokens stay as they are. The machine then continues from the earlier
instant, but a milestone runs at most once per run of the simulator: crossing one again after
going back skips it. (Milestones the clock never crossed, such as those of a date a test sets
that lies before the real date the simulator started on, do run when crossed.)
``/_sim/reset`` puts the clock back to real time and :meth:`TradingDays.restart` forgets every
processed milestone, so nothing fires retroactively after a reset.

Everything here is deterministic: the same seed and the same clock moves give the same orders,
trades and ids.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from orderdesk.domain.calendar import IST, Segment, TradingCalendar
from orderdesk.sim.clock import SimClock, fmt
from orderdesk.sim.exchange import Exchange
from orderdesk.sim.funds import Funds
from orderdesk.sim.gtt import GttBook
from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.market import MarketData
from orderdesk.sim.portfolio import Portfolio
from orderdesk.sim.universe import (
    FIRST_FUTURES_TOKENS,
    FIRST_NFO_TOKEN,
    FUTURES,
    UNDERLYINGS,
    futures_chain,
    new_futures,
    new_series,
    series_of,
    settlement_value,
    years_to_expiry,
)


class MilestoneKind(StrEnum):
    """What happens at a milestone."""

    ROLLOVER = "rollover"
    SQUARE_OFF = "square_off"
    MASS_CANCEL = "mass_cancel"


# Same-instant milestones: the day begins before anything happens in it; a square-off's market
# orders fill before the mass cancel would find anything left.
_KIND_RANK = {MilestoneKind.ROLLOVER: 0, MilestoneKind.SQUARE_OFF: 1, MilestoneKind.MASS_CANCEL: 2}
_SEGMENT_RANK = {segment: rank for rank, segment in enumerate(Segment)}


@dataclass(frozen=True, slots=True)
class Milestone:
    """One instant of a trading day at which the simulator acts."""

    at: datetime
    """Naive IST, as the simulator's clock reads."""
    kind: MilestoneKind
    day: date
    """The trading day it belongs to (a rollover's is the day it begins)."""
    segment: Segment | None = None
    """The segment a square-off or mass cancel is for; ``None`` for a rollover."""

    def sort_key(self) -> tuple[datetime, int, int]:
        """Chronological, then rollover, square-off, mass cancel, then segment order."""
        segment = -1 if self.segment is None else _SEGMENT_RANK[self.segment]
        return (self.at, _KIND_RANK[self.kind], segment)

    def to_wire(self) -> dict[str, Any]:
        """The milestone as ``POST /_sim/clock`` reports it."""
        return {
            "at": fmt(self.at),
            "kind": str(self.kind),
            "segment": None if self.segment is None else str(self.segment),
            "day": self.day.isoformat(),
        }


def _naive(when: datetime) -> datetime:
    return when.astimezone(IST).replace(tzinfo=None)


def day_milestones(calendar: TradingCalendar, day: date) -> list[Milestone]:
    """A trading day's milestones, in the order they run (none for a closed day)."""
    if not calendar.is_trading_day(day):
        return []
    found = [Milestone(_naive(calendar.starts_at(day)), MilestoneKind.ROLLOVER, day)]
    for segment in calendar.hours:
        found.append(
            Milestone(
                _naive(calendar.square_off_at(day, segment)),
                MilestoneKind.SQUARE_OFF,
                day,
                segment,
            )
        )
        found.append(
            Milestone(
                _naive(calendar.mass_cancel_at(day, segment)),
                MilestoneKind.MASS_CANCEL,
                day,
                segment,
            )
        )
    return sorted(found, key=Milestone.sort_key)


def milestones_between(
    calendar: TradingCalendar, after: datetime, until: datetime
) -> list[Milestone]:
    """Every milestone in ``(after, until]`` (naive IST), in the order they run."""
    if until <= after:
        return []
    # A day's milestones lie between its 06:00 and midnight, so the trading day ``after``
    # belongs to is the earliest that can still have one ahead of it.
    first = calendar.trading_day_of(after)
    found: list[Milestone] = []
    for day in calendar.trading_days(first, until.date()):
        found.extend(m for m in day_milestones(calendar, day) if after < m.at <= until)
    return sorted(found, key=Milestone.sort_key)


MilestoneHandler = Callable[[Milestone], None]


class TradingDays:
    """Runs the milestones the clock has crossed, once each, in order (see the module doc)."""

    def __init__(
        self,
        calendar: TradingCalendar,
        now: Callable[[], datetime],
        handler: MilestoneHandler,
        *,
        enabled: bool = True,
    ) -> None:
        self.calendar = calendar
        self.enabled = enabled
        self._now = now
        self._handler = handler
        self._last = now()
        self._done: set[Milestone] = set()

    def __repr__(self) -> str:
        return f"TradingDays(enabled={self.enabled}, last={fmt(self._last)})"

    @property
    def last(self) -> datetime:
        """The last instant processed (naive IST)."""
        return self._last

    def trading_day(self) -> date | None:
        """The trading day the clock is in; ``None`` when days are off."""
        if not self.enabled:
            return None
        return self.calendar.trading_day_of(self._now())

    def catch_up(self) -> list[Milestone]:
        """Run every milestone crossed since the last call; returns them, in order."""
        if not self.enabled:
            return []
        now = self._now()
        if now <= self._last:
            self._last = now  # backwards: nothing runs, nothing is undone
            return []
        ran: list[Milestone] = []
        for milestone in milestones_between(self.calendar, self._last, now):
            if milestone in self._done:
                continue
            self._done.add(milestone)
            # Should a handler fail, the next call resumes after this milestone, not before.
            self._last = milestone.at
            self._handler(milestone)
            ran.append(milestone)
        self._last = now
        return ran

    def restart(self) -> None:
        """Start again from the clock's present, with nothing processed (``/_sim/reset``)."""
        self._last = self._now()
        self._done.clear()


class DayActions:
    """What each milestone does to the simulator's books, with the clock pinned to it."""

    def __init__(
        self,
        *,
        clock: SimClock,
        master: InstrumentMaster,
        market: MarketData,
        exchange: Exchange,
        portfolio: Portfolio,
        funds: Funds,
        gtt: GttBook,
        calendar: TradingCalendar | None = None,
    ) -> None:
        self._calendar = calendar or TradingCalendar()
        self._clock = clock
        self._master = master
        self._market = market
        self._exchange = exchange
        self._portfolio = portfolio
        self._funds = funds
        self._gtt = gtt

    def __call__(self, milestone: Milestone) -> None:
        with self._clock.pinned(milestone.at):
            # What the clock does on its own first: TTL orders due by now lapse, and AMOs are
            # released if the session is open, before the day's end finds them.
            self._exchange.sweep()
            if milestone.kind is MilestoneKind.ROLLOVER:
                self._rollover(milestone.day)
            elif milestone.segment is not None:
                if milestone.kind is MilestoneKind.SQUARE_OFF:
                    self._exchange.square_off(milestone.segment)
                else:
                    self._exchange.mass_cancel(milestone.segment)
                    if milestone.segment is Segment.DERIVATIVES:
                        self._settle_expiring(milestone.day)

    def _rollover(self, day: date) -> None:
        # The old day's contract note, while its orders are in the book and its contracts
        # still listed (one that expired with the old day is charged as the contract it was,
        # an option held into its expiry for its settlement too).
        ending = day.isoformat()  # ISO dates compare as text
        self._funds.debit_day_charges(
            {inst.instrument_token for inst in self._master if inst.expiry and inst.expiry < ending}
        )
        expired = {inst.instrument_token for inst in self._master.delist_expired(day)}
        # Positions before the book: the held AMOs' margin is valued against the new lines.
        self._funds.credit(self._portfolio.start_day(expired))
        self._exchange.start_day()
        # Before the market's notification, which checks every trigger against its price.
        self._gtt.expire(expired)
        self._list_new_series(day)
        self._market.start_day(day)

    def _index_levels(self) -> dict[str, float]:
        """The built-in underlyings' index levels now, by index key (those listed)."""
        return {
            u.index_key: self._market.last_price(index.instrument_token)
            for u in UNDERLYINGS
            if (index := self._master.by_key(u.index_key)) is not None
        }

    def _list_new_series(self, day: date) -> None:
        """The series ``day``'s window reaches that are not listed yet, struck and priced
        against the indices' levels now, and the MCX and CDS months it reaches, priced off
        their nearest month (the market opens their books)."""
        listed = {key for inst in self._master if (key := series_of(inst)) is not None}
        levels = self._index_levels()
        # Without the indices (a user's instrument file) there is nothing to strike against.
        if len(levels) == len(UNDERLYINGS):
            first = self._master.next_exchange_token("NFO", FIRST_NFO_TOKEN)
            self._master.list_more(
                new_series(day, levels, self._calendar, first_token=first, listed=listed)
            )
        firsts = {
            exchange: self._master.next_exchange_token(exchange, floor)
            for exchange, floor in FIRST_FUTURES_TOKENS.items()
        }
        self._master.list_more(
            new_futures(
                day, self._futures_spots(day), self._calendar, first_tokens=firsts, listed=listed
            )
        )

    def _futures_spots(self, day: date) -> dict[str, float]:
        """Each MCX and CDS contract's level now, as its nearest listed month's last price
        without the carry to that month's expiry (contracts with no month listed: none)."""
        spots: dict[str, float] = {}
        for contract in FUTURES:
            chain = futures_chain(contract, self._master, day)
            if chain:
                near = chain[0]
                years = years_to_expiry(date.fromisoformat(near.expiry), day)
                price = self._market.last_price(near.instrument_token)
                spots[contract.name] = price / math.exp(contract.rate * years)
        return spots

    def _settle_expiring(self, day: date) -> None:
        """The contracts expiring ``day`` take their final settlement price as their last price,
        and stop following their index: an option its intrinsic value, a future the level,
        against the index's last level (NSE settles index derivatives on the index's close)."""
        levels = self._index_levels()
        index_of = {u.name: u.index_key for u in UNDERLYINGS if u.index_key in levels}
        prices: dict[int, float] = {}
        for inst in self._master:
            key = series_of(inst)
            if key is not None and key[1] == day and key[0] in index_of:
                level = levels[index_of[key[0]]]
                prices[inst.instrument_token] = settlement_value(inst, level)
        # Their GTTs end with the contract, before its settlement price could fire them.
        self._gtt.expire(prices.keys())
        self._market.settle(prices)


__all__ = [
    "DayActions",
    "Milestone",
    "MilestoneHandler",
    "MilestoneKind",
    "TradingDays",
    "day_milestones",
    "milestones_between",
]
