"""The trading day in the engine: open it from the broker's books, close it, keep its clock.

A desk runs every trading day, so the day is part of its state (DESIGN.md, "The trading day"):

- **Opening a day** needs a broker session (the morning login). The desk reads the broker's
  order book, positions, holdings (from a broker that keeps them: the
  :class:`~orderdesk.ports.broker.HoldingsSource` capability) and instrument master; every
  order it still holds from before is either still at the broker (carried, e.g. an AMO for
  today) or lapses, alerted, because the broker's book of its day is gone. What the broker
  carried in is compared with what the previous day's close implied (a difference is a
  ``day_open`` mismatch), then taken as the day's opening state and written as a
  :class:`~orderdesk.domain.events.DayOpened` checkpoint. Memory then holds today: the
  previous days' orders are dropped (the store keeps them), positions start from the carried
  ones at the previous close (the day's P&L is Kite's m2m), and the daily loss limit and
  counts start again. Each strategy's share of the carried positions, taken from the closing
  day's strategy books (``attribution.carried_shares``), is written in the checkpoint too, so
  a strategy's books and loss limit go on counting what it carries, from the close. Broker
  news is the open day's: from the start of the next trading day until it is opened, news
  waits (:meth:`~orderdesk.engine.news.BrokerNews.day_open_until`), so an AMO that filled at
  the open before the morning login (its fill by postback, on the login's gap-fill, or read
  while the day opens) is carried into the day and fills in its book, after its
  ``DayOpened``.
- **Closing a day** (at ``close_at``, after the exchanges' mass cancel) reconciles with the
  broker, so every order ends as the broker says (mass-cancelled, squared off, filled); one the
  broker no longer has lapses, alerted. The positions are marked at the broker's last prices
  (the desk's own last tick may be hours old: a laptop asleep through the afternoon), at the
  desk's own when those cannot be read. A :class:`~orderdesk.domain.events.DayClosed` records
  the day's positions and P&L, which is how a past day reads back, and how the open day reads
  once closed (after a restart too: the new process has seen none of the day's prices).
- **A late close**: a desk that was not running at ``close_at`` (started after it) has seen
  none of the day's last prices, so it closes the day only once it can read the broker, and
  marks it at the broker's prices, never at nothing. Before the next trading day begins (06:00)
  the broker's books are still the day's: the close reconciles them (the square-off and any
  other fill come in as news) and marks at the broker's last prices. Later, the day's books are
  gone and the token of its day is dead: the close waits for the login, then marks at the
  day's closing price (a quote's ``close`` is the previous session's, so only when no session
  came between), lapses what the broker no longer has, and takes an intraday position the
  broker no longer carries as squared off at that close, an estimate said in the event. A
  carried line (NRML, CNC holdings) the broker carries out of the day otherwise than the close
  has it was changed by trades the desk never saw (a GTT that fired while it was stopped),
  which the broker's books no longer show: the close keeps the desk's own trades and says the
  line is an estimate, and why (:mod:`~orderdesk.engine.missed_trades`). The next day opens
  only after it.
- **Missed days**: a day that opens after trading days the desk never opened (it was stopped
  through them) opens from the broker's close before it, so what the carried lines made over
  those days is in no day's P&L. Each carried line records them, with the price the last close
  the desk kept marked it at (:attr:`~orderdesk.domain.day.CarriedPosition.kept_close`), and
  the opening says once what they made, line by line, or that it is not known.
- **The day's clock**: the broker's square-off of MIS/CO positions per segment: a warning
  some minutes ahead (``square_off_warning``) listing the positions it will close, while they
  can still be converted or exited; an alert at the cutoff listing those open as it was
  crossed (the broker's square-off fills, which may come in before the clock's look, taken
  back); and, when configured, the desk's own square-off some minutes earlier, which the desk
  carries out.

Milestones are found by comparing the clock with the calendar on a short timer, so a clock that
jumps (the simulator's, in tests) crosses them just as the real one does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from orderdesk.domain.attribution import StrategyBook, carried_shares, is_square_off
from orderdesk.domain.calendar import IST, SEGMENT_OF, Segment
from orderdesk.domain.day import (
    INTRADAY,
    CarriedPosition,
    Holding,
    MissedDays,
    PositionSnapshot,
    StrategyCarry,
    expected_opening,
)
from orderdesk.domain.events import (
    DayClosed,
    DayOpened,
    OrderEvent,
    ReconciliationMismatch,
)
from orderdesk.domain.money import to_paise
from orderdesk.domain.order import Order
from orderdesk.domain.parent import slicing_complete
from orderdesk.domain.position import Position, PositionBook
from orderdesk.domain.reports import HoldingReport, OrderStatusReport, PositionReport, Quote
from orderdesk.domain.signal import SQUARE_OFF_STRATEGY, Signal
from orderdesk.domain.values import ORDER_PRODUCTS, InstrumentKey, OrderType, Product, Side
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.book import OrderBook
from orderdesk.engine.config import DayRules
from orderdesk.engine.instruments import InstrumentMaster
from orderdesk.engine.missed_trades import carry_differences, mark_missing_trades
from orderdesk.engine.news import BrokerNews
from orderdesk.engine.placement import matches_tag
from orderdesk.engine.reconcile import Reconciler
from orderdesk.engine.recorder import Recorder
from orderdesk.engine.risk import KillSwitch
from orderdesk.engine.session import SessionWatch
from orderdesk.errors import BrokerAuthError, BrokerRejected, StoreError
from orderdesk.ports.broker import Broker, HoldingsSource
from orderdesk.ports.notifier import Severity

log = logging.getLogger(__name__)

OPEN_RETRY_SECONDS = 10.0
"""After the broker's books could not be read, the next attempt to open the day (or to close
one late) waits this long (monotonic seconds), so a broker outage is not hammered by the clock
loop."""


_Lines = list[tuple[InstrumentKey, Product, int]]
"""Intraday positions as (instrument, product, signed quantity), one a line."""


@dataclass(frozen=True, slots=True)
class DayMismatch:
    """A difference between what the previous close implied and what the broker shows."""

    detail: str


@dataclass(slots=True)
class DayState:
    """Which day the desk has open, and whether it is closed (rebuilt by replay)."""

    day: date | None = None
    closed: bool = False
    close: DayClosed | None = None
    """Once the day is closed, its latest close: the day's figures read as this recorded them
    (replay says only ``closed``; :meth:`TradingDays.restore` finds the close)."""


@dataclass(frozen=True, slots=True)
class _LateBooks:
    """What a late close read from the broker: its order book, its positions, and the prices
    to mark the day's positions at; on a later day, its holdings too (None: it keeps none)."""

    reports: Sequence[OrderStatusReport]
    positions: Sequence[PositionReport]
    prices: dict[InstrumentKey, Decimal]
    holdings: Sequence[HoldingReport] | None = None


@dataclass(frozen=True, slots=True)
class SquareOffDue:
    """The desk's own square-off of one segment's MIS/CO positions is due now."""

    segment: Segment
    cutoff: datetime
    """When the broker squares off (IST-aware)."""
    orders: tuple[Order, ...]
    """The segment's working MIS/CO orders, to cancel first."""
    exits: tuple[Signal, ...]
    """Market orders that flatten the segment's MIS positions (a cover order's goes with the
    cancel of its stop leg)."""


@dataclass(frozen=True, slots=True)
class DayTick:
    """What one look at the clock found for the desk to do."""

    opened: bool = False
    """A trading day was opened (the desk reconciles and re-subscribes prices)."""
    square_offs: tuple[SquareOffDue, ...] = ()


class TradingDays:
    """Opens and closes the desk's trading days and watches the day's clock."""

    def __init__(
        self,
        rules: DayRules,
        *,
        broker: Broker,
        recorder: Recorder,
        book: OrderBook,
        alerts: Alerts,
        session: SessionWatch,
        kill_switch: KillSwitch,
        reconciler: Reconciler,
        instruments: InstrumentMaster,
        news: BrokerNews,
        strategy_books: Callable[[], Mapping[str, StrategyBook]] | None = None,
    ) -> None:
        """``strategy_books``: the open day's books per strategy (the desk's
        ``strategy_books``), read at the next opening for each strategy's share of what the
        broker carried (None: carried positions are no strategy's)."""
        self.rules = rules
        self._strategy_books = strategy_books
        self.calendar = rules.calendar
        self.broker = broker
        self.recorder = recorder
        self.book = book
        self.alerts = alerts
        self.session = session
        self.kill_switch = kill_switch
        self.clock = recorder.clock
        self.state = DayState()
        self.reconciler = reconciler
        self.instruments = instruments
        self.news = news
        # Broker news is the open day's: none is recorded before a day opens (see restore).
        news.day_open_until(None)
        self._lock = asyncio.Lock()
        self._done_today: set[tuple[date, str]] = set()
        self._retry_at = 0.0
        self._holidays_alerted: tuple[tuple[int, ...], tuple[int, int]] | None = None
        """The missing years last alerted, and the ISO (year, week) they were alerted in."""
        self._watching_since: datetime | None = None
        """When this desk began watching the days (its start): a day whose close came before
        it was closed by nobody, and is closed late."""

    # -- what the desk asks ----------------------------------------------------------------------

    @property
    def day(self) -> date | None:
        """The trading day the desk has open (None before the first opening)."""
        return self.state.day

    def today(self, now: datetime | None = None) -> date:
        """The trading day the clock is in."""
        return self.calendar.trading_day_of(now or self.clock.now())

    def is_open(self, now: datetime | None = None) -> bool:
        """Whether the day the clock is in has been opened (signals may be accepted)."""
        return self.state.day == self.today(now)

    def restore(self, state: DayState) -> None:
        """The day state as replay found it; the desk watches the days from now on. A closed
        day gets its close back (one look down the store's type index), the only record of
        the prices it closed at: a new process has seen no tick of the day."""
        if state.closed and state.close is None:
            state.close = self._latest_close(state.day)
        self.state = state
        self._watching_since = self.clock.now()
        self.news.day_open_until(self._ends(state.day))

    def _ends(self, day: date | None) -> datetime | None:
        """When ``day`` ends: the next trading day begins (None: no day)."""
        if day is None:
            return None
        return self.calendar.starts_at(self.calendar.next_trading_day(day))

    def _latest_close(self, day: date | None) -> DayClosed | None:
        """The log's latest ``DayClosed``, when it is ``day``'s."""
        stored = self.recorder.journal.store.latest(DayClosed.__name__)
        closed = stored.event() if stored is not None else None
        return closed if isinstance(closed, DayClosed) and closed.day == day else None

    def missed_close(self, day: date) -> bool:
        """Whether ``day``'s close came before this desk started: nobody closed it on time,
        and the prices the day ended at were never seen."""
        since = self._watching_since
        return since is not None and since >= self.close_at(day)

    # -- the timer -------------------------------------------------------------------------------

    async def tick(self) -> DayTick:
        """Act on every milestone the clock has passed since the last look; what is left for
        the desk to do (after an opening, an own square-off) comes back."""
        now = self.clock.now()
        opened = await self.catch_up(now)
        square_offs: tuple[SquareOffDue, ...] = ()
        if self.state.day == self.today(now):
            square_offs = await self._square_off_clock(now)
        return DayTick(opened, square_offs)

    def close_at(self, day: date) -> datetime:
        """When the desk closes ``day``: ``close_at``, or as long after a later mass cancel as
        ``close_at`` is after an ordinary day's equity and derivatives one (16:00): that of a
        session with hours of its own (a Muhurat evening), or, for the open day, of a segment
        it trades in that closes later (currency's 17:00, commodities' 23:45). Closed at 16:15,
        an MCX book went on trading unrecorded: the close froze positions the evening then
        squared off or sold, and marked them mid-session."""
        usual = self._usual_close(day)
        if day in self.calendar.session_hours:
            return max(usual, self.calendar.last_mass_cancel(day) + self._after_mass_cancel(day))
        if day != self.state.day:
            return usual
        later = [self._segment_close(day, segment) for segment in self._segments_in_book()]
        return max([usual, *later])

    def close_with(self, day: date, segment: Segment) -> datetime:
        """:meth:`close_at` once an order of ``segment`` is in the book: a parked commodity
        signal is placeable until the evening close it would bring about."""
        return max(self.close_at(day), self._segment_close(day, segment))

    def _usual_close(self, day: date) -> datetime:
        """``close_at`` on ``day``: the close of a day of equity and derivatives alone."""
        return datetime.combine(day, self.rules.close_at, tzinfo=IST)

    def _after_mass_cancel(self, day: date) -> timedelta:
        """How long after an ordinary day's equity and derivatives mass cancel (16:00)
        ``close_at`` comes: a later segment's close comes as long after its own."""
        ordinary = self.calendar.hours[Segment.DERIVATIVES].mass_cancel
        return self._usual_close(day) - datetime.combine(day, ordinary, tzinfo=IST)

    def _segment_close(self, day: date, segment: Segment) -> datetime:
        """When the desk closes ``day`` for ``segment``: a day of that segment alone closes
        then (``close_at`` for equity and derivatives; a segment without hours of its own
        closes with them)."""
        if segment not in self.calendar.hours:
            return self._usual_close(day)
        return self.calendar.mass_cancel_at(day, segment) + self._after_mass_cancel(day)

    def _segments_in_book(self) -> set[Segment]:
        """The segments of the open day's orders and positions."""
        instruments = {o.signal.instrument for o in self.book.orders.values()}
        instruments.update(p.instrument for p in self.book.positions)
        return {SEGMENT_OF[i.exchange] for i in instruments}

    async def catch_up(self, now: datetime | None = None) -> bool:
        """Close the open day if its time has come, and open today's when a session allows;
        True when a day was opened. A day whose close this desk missed is closed when the
        broker can be read, and the next day opens only after it."""
        now = now or self.clock.now()
        async with self._lock:
            state = self.state
            today = self.today(now)
            if self._trades_on_after_its_close(today):
                log.info("day %s reopened: it trades on in a later segment", state.day)
                self.reopened()
            due = self._close_due(now)
            if due is not None and not self.missed_close(due):
                await self._close(due, reconcile=due == today)
            elif due is not None and not await self._close_late(due, today):
                return False
            if state.day != today and self.session.usable:
                return await self._open(today)
            return False

    async def _open(self, day: date) -> bool:
        """Open ``day``; False (alerted) when the broker's books could not be read: a refused
        session is alerted as the session's end, anything else as a day that cannot open."""
        if self.clock.monotonic() < self._retry_at:
            return False
        try:
            reports = await self.broker.orders()
            positions = await self.broker.positions()
            holdings = None
            # A broker without delivered stock (the paper broker) opens the day with none.
            if isinstance(self.broker, HoldingsSource):
                holdings = await self.broker.holdings()
        except Exception as exc:
            if self._unreadable(f"opening {day}", exc):
                # The session's end is the one CRITICAL ("Broker session ended", saying to
                # log in); the login opens the day. A second one here read as a broker fault.
                return False
            await self.alerts.raise_(
                Severity.CRITICAL,
                "Cannot open the trading day",
                f"{day}: the broker's books could not be read ({type(exc).__name__}: {exc}); "
                "signals are refused until the day opens.",
                key="day:open",
            )
            return False
        await self._opened(day, reports, positions, holdings)
        return True

    # -- opening ---------------------------------------------------------------------------------

    async def _opened(
        self,
        day: date,
        reports: Sequence[OrderStatusReport],
        positions: Sequence[PositionReport],
        holdings: Sequence[HoldingReport] | None,
    ) -> None:
        try:
            await self.instruments.refresh()
        except Exception as exc:
            await self.alerts.raise_(
                Severity.WARNING,
                "Instrument list not refreshed",
                f"{day}: {type(exc).__name__}: {exc}; yesterday's list stays in use",
                key="day:instruments",
            )
        previous = self.state.day
        now = self.clock.now()
        lapsed = await self._lapse_unknown(reports, now)
        carried_orders = tuple(o.order_id for o in self.book.orders.values() if not o.is_terminal)
        mismatches: list[DayMismatch] = []
        if previous is not None and previous == self.calendar.previous_trading_day(day):
            mismatches = self._compare_opening(positions, holdings)
        carried = tuple(_carried(p) for p in positions if p.overnight_quantity)
        missed = self._missed_since(previous, day)
        unknown = self._no_longer_carried(carried, holdings) if missed else []
        if missed:
            kept = self._kept_closes()
            carried = tuple(_carried_through(missed, p, kept) for p in carried)
        shares: tuple[StrategyCarry, ...] = ()
        if previous is not None and self._strategy_books is not None:
            # The book still holds the closing day (start_day below moves it on): each
            # strategy's net quantity there, as far as the broker carried it in.
            shares = carried_shares(self._strategy_books().values(), carried)
        opened = DayOpened(
            at=now,
            day=day,
            positions=carried,
            holdings=tuple(_holding(h) for h in (holdings or ()) if h.quantity or h.t1_quantity),
            carried_orders=carried_orders,
            kill_switch=self.kill_switch.engaged,
            kill_switch_reason=self.kill_switch.reason,
            strategy_positions=shares,
            missed=missed,
        )
        await self.recorder.desk_event(opened)
        self.state = DayState(day=day, closed=False)
        self.book.start_day(
            PositionBook.opening(p.position() for p in opened.positions),
            opened.holdings,
            set(carried_orders),
            opening=opened.positions,
            shares=opened.strategy_positions,
        )
        self.recorder.forget_except(set(carried_orders))
        # The news that waited for the day (an AMO's fill at the open, from a postback or the
        # login's gap-fill) is recorded from here on, after DayOpened, in the day's book.
        self.news.day_open_until(self._ends(day))
        self._done_today = {item for item in self._done_today if item[0] >= day}
        await self._report_mismatches(mismatches)
        await self._report_missed(day, missed, opened.positions, unknown)
        # An engaged switch is carried into the day: said where the morning is read, since it
        # refuses every new order (the loss limit's engaged it on an earlier day).
        engaged = (
            f"; the kill switch is still engaged ({self.kill_switch.reason or 'no reason given'}):"
            " no new orders until it is released"
            if self.kill_switch.engaged
            else ""
        )
        await self.alerts.raise_(
            Severity.WARNING if engaged else Severity.INFO,
            "Trading day opened",
            f"{day}: {len(opened.positions)} carried positions, {len(opened.holdings)} "
            f"holdings, {len(carried_orders)} orders carried, {len(lapsed)} lapsed{engaged}",
            # Each day's its own: not throttled as a repeat of yesterday's, nor counted as one.
            key=f"day:open:{day}",
        )
        await self._check_holidays(day)

    def _missed_since(self, previous: date | None, day: date) -> tuple[date, ...]:
        """The trading days between ``previous``, the last day the desk opened, and ``day``:
        days it never opened (it was stopped through them), whose P&L nobody kept."""
        if previous is None:
            return ()
        following = self.calendar.next_trading_day(previous)
        return tuple(self.calendar.trading_days(following, day - timedelta(days=1)))

    def _kept_closes(self) -> dict[tuple[InstrumentKey, Product], PositionSnapshot]:
        """The positions of the last day the desk kept, as its close recorded them."""
        close = self.state.close
        if close is None or close.day != self.state.day:
            return {}
        return {(p.instrument, p.product): p for p in close.positions}

    def _no_longer_carried(
        self, carried: Sequence[CarriedPosition], holdings: Sequence[HoldingReport] | None
    ) -> list[str]:
        """The lines the last day's close implied would be carried in (still listed) that
        the broker no longer carries: closed on a missed day, at a price nobody kept."""
        expected = expected_opening(
            self.book.positions,
            (self.book.holdings or {}).values(),
            listed=self.instruments.listed,
            keeps_holdings=holdings is not None,
        )
        present = {(p.instrument, p.product) for p in carried}
        return [f"{i} {p} {q}" for (i, p), q in expected.positions.items() if (i, p) not in present]

    async def _report_missed(
        self,
        day: date,
        missed: tuple[date, ...],
        opened: Sequence[CarriedPosition],
        gone: Sequence[str],
    ) -> None:
        """Say once that ``day`` opened after trading days the desk never opened, and what of
        the P&L of the positions carried through them no day counts."""
        if not missed:
            return
        named = ", ".join(str(d) for d in missed)
        through = MissedDays.of(opened)
        if through is None and not gone:
            await self.alerts.raise_(
                Severity.INFO,
                "Trading days missed",
                f"{day} opened after trading days the desk never opened ({named}); no "
                "position was carried through them",
                key=f"day:missed:{day}",
            )
            return
        moves = [_move_words(p) for p in opened if p.missed]
        moves += [f"{line}: no longer carried, closed at a price nobody kept" for line in gone]
        if through is not None and through.pnl is not None and not gone:
            total = f"{to_paise(through.pnl):,} in all, counted nowhere"
        else:
            total = "not all of it is known, and none of it is counted"
        await self.alerts.raise_(
            Severity.WARNING,
            "Trading days missed",
            f"{day} opened after trading days the desk never opened ({named}): what the "
            f"positions carried through them made then is in no day's P&L: {'; '.join(moves)}; "
            f"{total}",
            key=f"day:missed:{day}",
        )

    def holidays_missing(self, day: date | None = None) -> tuple[int, ...] | None:
        """The years the holiday list should cover on ``day`` (the clock's trading day) and
        does not: this year, and in December the next, since a desk that runs through the new
        year would take its holidays for trading days. None: the list's years are not known."""
        known = self.rules.holiday_years
        if known is None:
            return None
        day = day or self.today()
        wanted = [day.year, day.year + 1] if day.month == 12 else [day.year]
        return tuple(year for year in wanted if year not in known)

    async def _check_holidays(self, day: date) -> None:
        """Alert when the holiday list does not cover the years it should (see
        :meth:`holidays_missing`): once a week at most for the same years, since only a
        restart mends it and every December opening would otherwise say so again. A restart
        that did not mend it is told again (the week is kept in memory, on purpose)."""
        years = self.holidays_missing(day) or ()
        missing = [str(year) for year in years]
        week = day.isocalendar()[:2]
        if missing and self._holidays_alerted != (years, week):
            self._holidays_alerted = (years, week)
            await self.alerts.raise_(
                Severity.WARNING,
                "Holiday list out of date",
                f"{day}: the desk knows no exchange holidays for {' and '.join(missing)}, so "
                "it would take them for trading days; add them ([trading_day] holidays_file "
                "or holidays, from the exchange's published list) and restart the desk",
                key=f"day:holidays:{'+'.join(missing)}",
            )

    async def _lapse_unknown(
        self, reports: Sequence[OrderStatusReport], now: datetime
    ) -> list[Order]:
        """Orders of earlier days the broker's book no longer shows: their end is unknowable.

        A sliced order's parent was never at the broker, so it is always among them. Its
        children carry its outcome (each carried or lapsed on its own), so it is closed in the
        log without an alert, every morning after a sliced order; unless the day ended before
        all its slices were placed (the desk stopped mid-way): the rest is never placed, said.
        """
        unfinished = [o for o in self.book.orders.values() if not o.is_terminal]
        if not unfinished:
            return []
        at_broker = {r.broker_order_id for r in reports}
        gone = [
            order
            for order in unfinished
            if order.broker_order_id not in at_broker
            and not any(matches_tag(r, order.order_id) for r in reports)
        ]
        unknown: list[Order] = []
        settled: list[Order] = []
        lapsed: list[Order] = []
        # Held for a login (the broker refused the session) and never sent: nothing was
        # placed, so the broker's contract notes have nothing to tell of it.
        held = [order for order in gone if order.deferred]
        lapsed += await self._lapse(
            held,
            "it was held for a login and never sent: nothing was placed",
            now,
            advice="sent again, its signal id answers with this order: a new id places it",
        )
        for order in gone:
            children = self.book.children_of(order.order_id)
            if order.deferred:
                continue
            if not children:
                unknown.append(order)
            elif slicing_complete(order, children):
                settled.append(order)
            else:
                placed = sum(child.signal.quantity for child in children)
                why = (
                    f"its slicing stopped with {placed} of {order.signal.quantity} placed; "
                    "the rest was never placed"
                )
                lapsed += await self._lapse([order], why, now)
        await self._lapse(settled, "its children carry its outcome", now, alert=False)
        return [*await self._lapse(unknown, "the broker's book of that day is gone", now), *lapsed]

    async def _lapse(
        self,
        orders: Sequence[Order],
        why: str,
        now: datetime,
        *,
        alert: bool = True,
        advice: str = "check the broker's contract notes for how it ended",
    ) -> list[Order]:
        if not orders:
            return []

        today = self.calendar.trading_day_of(now)

        def lapse(order: Order) -> list[OrderEvent]:
            # An AMO placed after the close worked in the next session: that day is the one
            # that ended with it (a day skipped by a stopped desk, too), unless it is today's.
            placed = self.calendar.trading_day_of(order.created_at)
            segment = SEGMENT_OF[order.signal.instrument.exchange]
            meant = self.calendar.session_of(order.created_at, segment)
            day = meant if meant < today else placed
            return order.lapse(day, f"trading day {day} ended: {why}", now)

        await self.recorder.decide_many([(order, lapse) for order in orders])
        for order in orders if alert else ():
            await self.alerts.raise_(
                Severity.WARNING,
                "Order lapsed",
                f"{order.order_id} ({order.signal.instrument} {order.signal.side} "
                f"{order.signal.quantity}, was {order.broker_status_text or 'not at the broker'}"
                f"): {order.reason}; {advice}",
                key=f"lapsed:{order.order_id}",
                order_id=order.order_id,
            )
        return list(orders)

    def _compare_opening(
        self, positions: Sequence[PositionReport], holdings: Sequence[HoldingReport] | None
    ) -> list[DayMismatch]:
        differences = carry_differences(
            self.book.positions,
            (self.book.holdings or {}).values(),
            positions,
            holdings,  # None: the broker keeps no holdings, nothing to compare them with
            listed=self.instruments.listed,
        )
        return [DayMismatch(d.mismatch) for d in differences]

    async def _report_mismatches(self, rows: Sequence[DayMismatch]) -> None:
        if not rows:
            return
        now = self.clock.now()
        for row in rows:
            await self.recorder.desk_event(
                ReconciliationMismatch(at=now, kind="day_open", detail=row.detail)
            )
            await self.alerts.raise_(
                Severity.WARNING,
                "Opening positions differ",
                f"{row.detail}: the broker's carried books are taken as the day's opening state",
                key=f"day_open:{row.detail}",
            )

    # -- closing ---------------------------------------------------------------------------------

    def _unreadable(self, what: str, exc: Exception) -> bool:
        """The broker's books could not be read for ``what``: a refused session ends (the
        login brings the next attempt), anything else is tried again after a pause. True when
        it was the session: its end is alerted where the desk tells every session's end."""
        if isinstance(exc, BrokerAuthError):
            # Not a broker hiccup: the session is gone, and the login will open the day.
            self.session.refused(f"{what}: {exc}", self.clock.now())
            return True
        self._retry_at = self.clock.monotonic() + OPEN_RETRY_SECONDS
        return False

    async def _close(self, day: date, *, reconcile: bool) -> None:
        """Close ``day`` while the desk runs (at ``close_at``, or later the same run), marked at
        the broker's last prices when it can be read, else at the prices the desk saw. The
        desk's own may be stale: a laptop asleep through the afternoon woke to close at its
        15:00 tick (₹84.50 off the broker's close in an operator's walk)."""
        now = self.clock.now()
        lapsed: list[Order] = []
        if reconcile and self.session.usable:
            try:
                await self.reconciler.run()
                reports = await self.broker.orders()
            except StoreError:
                # The log, not the broker: alerted where it failed, and the close is tried
                # again at the next tick (it could not be recorded either).
                raise
            except Exception as exc:
                await self.alerts.raise_(
                    Severity.WARNING,
                    "Day close without the broker",
                    f"{day}: the broker's books could not be read ({type(exc).__name__}: "
                    f"{exc}); unfinished orders are settled when the next day opens",
                    key="day:close",
                )
            else:
                lapsed = await self._lapse_gone(reports, now)
                await self._mark_at_the_brokers_prices(day)
        await self._record_close(self._summary(day, now, lapsed, self._snapshots(day)))

    async def _mark_at_the_brokers_prices(self, day: date) -> None:
        """Mark the day's positions at the broker's last prices (its positions', else a
        quote's); what cannot be read keeps the desk's own mark, and says so in the log."""
        try:
            prices = await self._last_prices()
        except Exception as exc:
            log.warning(
                "closing %s at the desk's own last prices: the broker's could not be read: %s: %s",
                day,
                type(exc).__name__,
                exc,
            )
            return
        self._mark(prices)

    def _mark(self, prices: Mapping[InstrumentKey, Decimal]) -> None:
        """Mark the book's positions at ``prices`` (the book's own marks: they are the day's
        last prices)."""
        for instrument in self._instruments():
            if (price := prices.get(instrument)) is not None:
                self.book.mark(instrument, price)

    async def _lapse_gone(self, reports: Sequence[OrderStatusReport], now: datetime) -> list[Order]:
        """At a close the same evening: the open orders the broker's book shows no longer
        working lapse."""
        working = {r.broker_order_id for r in reports if not _final(r)}
        gone = [
            o
            for o in self.book.open_orders()
            if not o.is_unresolved and o.broker_order_id not in working
        ]
        return await self._lapse(gone, "the broker no longer shows it", now)

    async def _close_late(self, day: date, today: date) -> bool:
        """Close ``day``, whose close this desk missed, from the broker's books and prices;
        False (alerted once) while they cannot be read: the close waits, and records nothing
        it would have to guess at."""
        if self.clock.monotonic() < self._retry_at:
            return False
        if not self.session.usable:
            await self._close_waits(day, "there is no broker session: log in (`orderdesk login`)")
            return False
        same_evening = day == today
        try:
            books = await (self._books_of_the_day() if same_evening else self._books_after(day))
        except Exception as exc:
            if self._unreadable(f"closing {day}", exc):
                # Said as a session that is not there is: the broker's words are the CRITICAL's.
                why = "the broker refused the session: log in (`orderdesk login`)"
            else:
                why = f"the broker's books could not be read ({type(exc).__name__}: {exc})"
            await self._close_waits(day, why)
            return False
        if same_evening:
            closed = await self._close_same_evening(day, books)
        else:
            closed = await self._close_after_its_day(day, books)
        await self._record_close(closed)
        return True

    async def _close_waits(self, day: date, why: str) -> None:
        if self._first(day, "close:waits"):
            await self.alerts.raise_(
                Severity.WARNING,
                "Day close waits for the broker",
                f"{day} was not closed while the desk ran, and {why}. It is closed, marked at "
                "the broker's prices, as soon as the broker can be read; the next trading day "
                "opens after it.",
                key=f"day:close-waits:{day}",
            )

    async def _books_of_the_day(self) -> _LateBooks:
        """The broker's books while they are still the day's: reconciled first (its square-off
        and any fill the desk missed come in as news), then its last prices (its positions',
        else a quote's)."""
        await self.reconciler.run()
        reports = await self.broker.orders()
        positions = await self.broker.positions()
        return _LateBooks(reports, positions, await self._last_prices(positions))

    async def _last_prices(
        self, positions: Sequence[PositionReport] | None = None
    ) -> dict[InstrumentKey, Decimal]:
        """The broker's last prices of the book's instruments: its positions' (read now unless
        given), else a quote's."""
        if positions is None:
            positions = await self.broker.positions()
        prices = {p.instrument: p.last_price for p in positions if p.last_price}
        quotes = await self._quotes([i for i in self._instruments() if i not in prices])
        prices |= {key: q.last_price for key, q in quotes.items() if q.last_price}
        return prices

    async def _books_after(self, day: date) -> _LateBooks:
        """The broker's books on a later trading day (its holdings too: with its positions,
        what it carried out of ``day``), and ``day``'s closing prices: a quote's previous
        close, or a carried line's, when no session came between (else none)."""
        reports = await self.broker.orders()
        positions = await self.broker.positions()
        holdings = None
        if isinstance(self.broker, HoldingsSource):
            holdings = await self.broker.holdings()
        closes: dict[InstrumentKey, Decimal] = {}
        if self.calendar.previous_trading_day(self.today()) == day:
            closes = {p.instrument: p.close_price for p in positions if p.overnight_quantity}
            quotes = await self._quotes(self._instruments())
            closes |= {key: q.close for key, q in quotes.items() if q.close}
        prices = {k: v for k, v in closes.items() if v}
        return _LateBooks(reports, positions, prices, holdings)

    async def _close_same_evening(self, day: date, books: _LateBooks) -> DayClosed:
        """The day's books: lapse what no longer works, and mark the positions (the book's
        too: they are the day's last prices) at the broker's prices."""
        now = self.clock.now()
        lapsed = await self._lapse_gone(books.reports, now)
        self._mark(books.prices)
        return self._summary(day, now, lapsed, self._snapshots(day), late=True)

    async def _close_after_its_day(self, day: date, books: _LateBooks) -> DayClosed:
        """A later day's books: orders the broker no longer has lapse; the positions are marked
        at ``day``'s closing prices; an intraday position the broker no longer carries was
        squared off by it, at a price its books no longer show: counted at that close, and
        said to be an estimate. A carried line (NRML, CNC) the broker carries out of the day
        otherwise than the close has it changed by trades the desk never saw (a GTT that
        fired while it was stopped), unknowable by now: the line is said to be an estimate,
        and why (see :mod:`~orderdesk.engine.missed_trades`)."""
        now = self.clock.now()
        lapsed = await self._lapse_unknown(books.reports, now)
        carried = {(p.instrument, p.product) for p in books.positions if p.overnight_quantity}
        snapshots: list[PositionSnapshot] = []
        squared: list[str] = []
        for p in self.book.positions:
            close = books.prices.get(p.instrument)
            if p.quantity and p.product in INTRADAY and (p.instrument, p.product) not in carried:
                snapshots.append(PositionSnapshot.squared_off_at(p, close))
                at = f"at the close, {close}" if close else "at no price: none of the day is known"
                squared.append(f"{p.instrument} {p.product} {p.quantity} ({at})")
                continue
            expired = self.instruments.expires_on(p.instrument, day)
            snapshots.append(self._snapshot(p, close, settled=expired))
        if squared:
            await self.alerts.raise_(
                Severity.WARNING,
                "Square-off inferred",
                f"{day}: the broker no longer carries {', '.join(squared)}: it squared them "
                "off that day, at prices its books no longer show; the day's close counts them "
                "as shown, an estimate (the contract note has the prices)",
                key=f"day:squared:{day}",
            )
        snapshots = await self._missing_trades(day, books, snapshots)
        return self._summary(day, now, lapsed, snapshots, late=True)

    async def _missing_trades(
        self, day: date, books: _LateBooks, snapshots: list[PositionSnapshot]
    ) -> list[PositionSnapshot]:
        """``snapshots`` with the lines the broker carried out of ``day`` otherwise than the
        day's book has them said to be estimates, in words; alerted."""
        today = self.today()
        differences = carry_differences(
            self.book.positions,
            (self.book.holdings or {}).values(),
            books.positions,
            books.holdings,
            listed=self._listed_after(day, today),
        )
        if not differences:
            return snapshots
        at = "the next open"
        if self.calendar.previous_trading_day(today) != day:
            at = f"the open of {today}"
        await self.alerts.raise_(
            Severity.WARNING,
            "Closed day is missing trades",
            f"{day}: " + "; ".join(d.reason(at) for d in differences) + ". Its figures are "
            "marked estimated (the contract note has those trades).",
            key=f"day:missing-trades:{day}",
        )
        return mark_missing_trades(snapshots, differences, at=at, prices=books.prices)

    def _listed_after(self, day: date, today: date) -> Callable[[InstrumentKey], bool]:
        """Whether an instrument still trades on ``today``: the list is ``day``'s still (it is
        refreshed when ``today`` opens), so a contract that expired from ``day`` on is not."""
        between = [day + timedelta(days=n) for n in range((today - day).days)]

        def listed(instrument: InstrumentKey) -> bool:
            expired = any(self.instruments.expires_on(instrument, d) for d in between)
            return self.instruments.listed(instrument) and not expired

        return listed

    async def _quotes(self, instruments: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        """The broker's quotes of ``instruments``. Refused outright, there are none (asking
        again would not change it, and a close waiting on them would keep the next day
        shut): the close marks at what else it has. Anything a retry may mend is raised."""
        if not instruments:
            return {}
        try:
            return await self.broker.quotes(instruments)
        except BrokerRejected as exc:
            log.warning("no quotes for the close: %s: %s", type(exc).__name__, exc)
            return {}

    def _instruments(self) -> list[InstrumentKey]:
        """The instruments of the book's positions, each once."""
        return list(dict.fromkeys(p.instrument for p in self.book.positions))

    async def _record_close(self, closed: DayClosed) -> None:
        await self.recorder.desk_event(closed)
        self.state.closed, self.state.close = True, closed
        how = ""
        if closed.late:
            how = "; closed late, at the broker's prices" + (
                ", some estimated (see the positions)" if closed.estimated else ""
            )
        await self.alerts.raise_(
            Severity.INFO,
            "Trading day closed",
            # The event keeps the sum's own exponent (207.0000); a person reads paise.
            f"{closed.day}: P&L {to_paise(closed.pnl)} ({closed.orders} orders, "
            f"{closed.fills} fills"
            + (f", {len(closed.lapsed)} lapsed" if closed.lapsed else "")
            + (f", {len(closed.still_open)} still working" if closed.still_open else "")
            + how
            + ")",
            key=f"day:close:{closed.day}",
        )

    def day_positions(self) -> list[PositionSnapshot]:
        """The open day's positions as its figures read them. Once the day has closed, they
        are its close's as recorded: each at the price it closed at, a contract that expired
        with the day settled (its P&L realised); neither the evening's ticks nor a restart,
        after which the desk has seen no price of the day, changes them. Until then, each at
        its last mark, a contract that expired with the day (:meth:`settled`: on a day open
        again for an MCX evening, or closing after it) settled as the close has it; an open
        quantity the desk has no price for (a missed close waiting for the broker, a start
        before the first tick) says its P&L is an estimate rather than count it as 0."""
        state = self.state
        if state.closed and state.close is not None:
            return list(state.close.positions)
        settled = self.settled()
        return [
            self._snapshot(p, p.last_price, settled=p.instrument in settled)
            for p in self.book.positions
        ]

    def settled(self, now: datetime | None = None) -> frozenset[InstrumentKey]:
        """The contracts :meth:`day_positions` reads settled: those of the open day's positions
        that expired with it (a strategy's share of one reads the same), see
        :meth:`_expired_with_the_day`."""
        day = self.state.day
        if day is None:
            return frozenset()
        now = now or self.clock.now()
        return frozenset(
            p.instrument for p in self.book.positions if self._expired_with_the_day(p, day, now)
        )

    def _expired_with_the_day(self, position: Position, day: date, now: datetime) -> bool:
        """Whether ``position``'s contract expired with ``day`` by ``now``: its last trading day
        is ``day``, and the day is closed or the desk's close of its segment has passed (the
        close that settles it on a day of that segment alone). Not "whether the day is
        closed": a day reopened for an MCX evening would un-settle an option that expired at
        the afternoon's close, its quantity read as open and its P&L as unrealised until the
        close after midnight settled it again."""
        if not self.instruments.expires_on(position.instrument, day):
            return False
        segment = SEGMENT_OF[position.instrument.exchange]
        return self.state.closed or now >= self._segment_close(day, segment)

    def _close_due(self, now: datetime) -> date | None:
        """The open day, when its close is due (a later day has begun, or ``close_at`` has
        passed) and not made yet."""
        day = self.state.day
        if day is None or self.state.closed:
            return None
        if day != self.today(now):
            return day
        # Before the usual close no segment's is due: the book is not walked every second.
        return day if now >= self._usual_close(day) and now >= self.close_at(day) else None

    def close_waits(self, now: datetime | None = None) -> bool:
        """Whether the open day's close is due and was missed: it waits for the broker."""
        due = self._close_due(now or self.clock.now())
        return due is not None and self.missed_close(due)

    @staticmethod
    def _snapshot(
        position: Position, last: Decimal | None, *, settled: bool = False
    ) -> PositionSnapshot:
        """``position`` marked at ``last``, settled when its contract expired with the day; an
        open quantity without a price is said to be an estimate, never counted as a P&L of 0
        without a word."""
        estimated = bool(position.quantity) and last is None
        return PositionSnapshot.marked(position, last, settled=settled, estimated=estimated)

    def _snapshots(self, day: date) -> list[PositionSnapshot]:
        """The book's positions at their marks as ``day`` closes (at the broker's last prices
        where they could be read), a contract expiring with it settled."""
        return [
            self._snapshot(p, p.last_price, settled=self.instruments.expires_on(p.instrument, day))
            for p in self.book.positions
        ]

    def _summary(
        self,
        day: date,
        now: datetime,
        lapsed: Sequence[Order],
        positions: Sequence[PositionSnapshot],
        *,
        late: bool = False,
    ) -> DayClosed:
        orders = list(self.book.orders.values())
        return DayClosed(
            at=now,
            day=day,
            pnl=sum((p.pnl for p in positions), Decimal(0)),
            realised=sum((p.realised for p in positions), Decimal(0)),
            positions=tuple(positions),
            orders=len(orders),
            fills=sum(len(o.fills) for o in orders),
            lapsed=tuple(o.order_id for o in lapsed),
            # A sliced parent is not an order at the broker: its children are counted.
            still_open=tuple(
                o.order_id
                for o in orders
                if not o.is_terminal and o.order_id not in self.book.children
            ),
            late=late,
            estimated=any(p.estimated for p in positions),
        )

    def reopened(self) -> None:
        """Something happened after the day's close: it is closed again at the next look."""
        self.state.closed, self.state.close = False, None

    def _trades_on_after_its_close(self, today: date) -> bool:
        """Whether the open day, closed, has since taken orders in a segment that trades on
        after the close it had (an MCX order at 18:00, after a 16:15 close of a book of
        equities): it is closed again once that segment's session is over, so the evening's
        fills, its square-off and its marks are the day's, as the broker's positions count
        them, and not nobody's (the next morning opens at that close)."""
        state = self.state
        if not state.closed or state.close is None or state.day != today:
            return False
        return self.close_at(state.day) > state.close.at

    # -- the session and square-off clocks -------------------------------------------------------

    async def _square_off_clock(self, now: datetime) -> tuple[SquareOffDue, ...]:
        day = self.today(now)
        minutes = self.rules.own_square_off_minutes
        due: list[SquareOffDue] = []
        for segment in self.calendar.hours:
            cutoff = self.calendar.square_off_at(day, segment)
            own_due = minutes and now >= cutoff - timedelta(minutes=minutes)
            if own_due and self._first(day, f"own:{segment}"):
                action = self._own_square_off(day, segment, cutoff)
                if action is not None:
                    due.append(action)
            if now < cutoff:
                await self._warn_of_square_off(day, segment, cutoff, now)
            elif self._first(day, f"broker:{segment}"):
                await self._broker_square_off(day, segment, cutoff)
        return tuple(due)

    def _first(self, day: date, what: str) -> bool:
        """True the first time ``what`` is due on ``day``."""
        key = (day, what)
        if key in self._done_today:
            return False
        self._done_today.add(key)
        return True

    def _intraday(self, segment: Segment) -> list[tuple[InstrumentKey, Product, int]]:
        return [
            (p.instrument, p.product, p.quantity)
            for p in self.book.positions
            if p.quantity and p.product in INTRADAY and SEGMENT_OF[p.instrument.exchange] is segment
        ]

    def _own_square_off(self, day: date, segment: Segment, cutoff: datetime) -> SquareOffDue | None:
        working = tuple(
            o
            for o in self.book.open_orders()
            if o.signal.product in INTRADAY
            and SEGMENT_OF[o.signal.instrument.exchange] is segment
            and o.signal.strategy != SQUARE_OFF_STRATEGY
        )
        exits = tuple(
            Signal(
                instrument=instrument,
                side=Side.SELL if quantity > 0 else Side.BUY,
                quantity=abs(quantity),
                order_type=OrderType.MARKET,
                product=product,
                strategy=SQUARE_OFF_STRATEGY,
                signal_id=f"{day}-{instrument}-{product}",
            )
            for instrument, product, quantity in self._intraday(segment)
            # A cover order's position (product CO) takes no new order: cancelling its stop
            # leg, one of the working orders above, is what exits it at market.
            if product in ORDER_PRODUCTS
        )
        if not working and not exits:
            return None
        return SquareOffDue(segment, cutoff, working, exits)

    async def _warn_of_square_off(
        self, day: date, segment: Segment, cutoff: datetime, now: datetime
    ) -> None:
        """Say, ``square_off_warning`` ahead of the broker's square-off of ``segment``, which
        MIS/CO positions it will close, while they can still be converted or exited: once a
        day, when there are any (one opened later in the window is told then). With the desk's
        own square-off due by then, that one tells instead."""
        ahead = self.rules.square_off_warning
        own = timedelta(minutes=self.rules.own_square_off_minutes)
        if not ahead or now < cutoff - ahead or (own and own >= ahead):
            return
        told = (day, f"warned:{segment}")
        if told in self._done_today:
            return
        positions = self._intraday(segment)
        if not positions:
            return
        self._done_today.add(told)
        instrument, product, _ = positions[0]
        carry = Product.CNC if segment is Segment.EQUITY else Product.NRML
        first = (
            f"; the desk's own square-off exits them first, at {cutoff - own:%H:%M}" if own else ""
        )
        await self.alerts.raise_(
            Severity.WARNING,
            "Broker square-off soon",
            f"{segment}: at {cutoff:%H:%M} IST the broker squares off these open MIS/CO "
            f"positions with market orders (and charges for each){first}: {_listed(positions)}. "
            f"To carry one, convert it before then (`orderdesk convert {instrument} --from "
            f"{product} --to {carry}`); to close it yourself, exit it (`orderdesk exit "
            f"{instrument} --product {product}`)",
            key=f"square_off:warning:{day}:{segment}",
        )

    async def _broker_square_off(self, day: date, segment: Segment, cutoff: datetime) -> None:
        """Say that the broker's square-off of ``segment`` has come, with the MIS/CO positions
        open when the cutoff was crossed. Its fills race the clock's look at the cutoff (a
        clock that jumps past it, the broker's postbacks within the second): the positions are
        the book's with the broker's square-off fills already applied taken back, so the alert
        is raised, and lists them, whichever came first (a warning while any is still open). A
        desk started after the cutoff never saw it crossed: it says what is still open, if
        anything (the fills it replayed were told by the process that took them)."""
        crossed, still = self._intraday_around_cutoff(day, segment)
        since = self._watching_since
        if since is not None and since >= cutoff:
            if still:
                await self._square_off_alert(
                    Severity.WARNING,
                    segment,
                    cutoff,
                    "has passed with these MIS/CO positions still open: "
                    f"{_listed(still)}. The broker squares them off with market orders (and "
                    'charges for each), each fill alerted as "Squared off by the broker"',
                )
            return
        if not crossed:
            return
        now_open = _listed(still) if still else "none (their fills have come in)"
        # Once all are closed, each fill has been its own warning: this one only sums them up.
        await self._square_off_alert(
            Severity.WARNING if still else Severity.INFO,
            segment,
            cutoff,
            f"has come with these MIS/CO positions open: {_listed(crossed)}. The broker squares "
            "them off with market orders (and charges for each), each fill alerted as "
            f'"Squared off by the broker"; still open now: {now_open}',
        )

    async def _square_off_alert(
        self, severity: Severity, segment: Segment, cutoff: datetime, words: str
    ) -> None:
        await self.alerts.raise_(
            severity,
            "Broker square-off time",
            f"{segment}: {cutoff:%H:%M} IST, the broker's square-off time, {words}",
            key=f"square_off:{cutoff:%Y-%m-%d}:{segment}",
        )

    def _intraday_around_cutoff(self, day: date, segment: Segment) -> tuple[_Lines, _Lines]:
        """``segment``'s open MIS/CO positions as they stood at ``day``'s square-off time, and
        as they stand now.

        The broker's square-off orders move the book's positions by their recorded fills
        alone, and the broker's order report runs ahead of its trade book: an order reported
        filled may have no fill recorded yet. So the cutoff's lines are the book's with exactly
        those recorded fills taken back (taking back the reported ``filled_quantity`` counted a
        line the trades had not yet closed twice: SBIN 10 listed as 20), and now's are the
        book's with the rest of what the broker reports filled applied (a line it closed is not
        "still open" while its trades are being read)."""
        book = {
            (p.instrument, p.product): p.quantity
            for p in self.book.positions
            if p.product in INTRADAY and SEGMENT_OF[p.instrument.exchange] is segment
        }
        crossed, now = dict(book), dict(book)
        for order in self._broker_square_offs(day, segment):
            for fill in order.fills.values():
                line = (fill.instrument, fill.product)
                crossed[line] = crossed.get(line, 0) - fill.side.sign * fill.quantity
            unrecorded = order.filled_quantity - order.fill_quantity
            if unrecorded > 0:
                signal = order.signal
                line = (signal.instrument, signal.product)
                now[line] = now.get(line, 0) + signal.side.sign * unrecorded
        return _open(crossed), _open(now)

    def _broker_square_offs(self, day: date, segment: Segment) -> list[Order]:
        """The broker's own square-off orders of ``segment`` on ``day`` in the book."""
        return [
            order
            for order in self.book.orders.values()
            if SEGMENT_OF[order.signal.instrument.exchange] is segment
            and is_square_off(order, self.calendar)
            and self.today(order.created_at) == day
        ]


def _open(lines: Mapping[tuple[InstrumentKey, Product], int]) -> _Lines:
    """The lines with a quantity, as (instrument, product, quantity)."""
    return [(i, p, q) for (i, p), q in lines.items() if q]


def _listed(positions: Sequence[tuple[InstrumentKey, Product, int]]) -> str:
    """Intraday positions in words: ``NSE:INFY MIS 81, NSE:SBIN MIS 77``."""
    return ", ".join(f"{i} {p} {q}" for i, p, q in positions)


def _final(report: OrderStatusReport) -> bool:
    return report.status.value in ("COMPLETE", "CANCELLED", "REJECTED")


def _carried(report: PositionReport) -> CarriedPosition:
    return CarriedPosition(
        instrument=report.instrument,
        product=report.product,
        quantity=report.overnight_quantity,
        close_price=report.close_price or report.average_price,
        average_price=report.average_price,
        multiplier=report.multiplier or Decimal(1),
    )


def _carried_through(
    missed: tuple[date, ...],
    line: CarriedPosition,
    kept: Mapping[tuple[InstrumentKey, Product], PositionSnapshot],
) -> CarriedPosition:
    """``line`` carried through the ``missed`` days, with the price the last close the desk
    kept marked it at (``kept``, when it held the same quantity then at a price): its move over
    them is that close's to the broker's ``close_price``, in no day's P&L."""
    close = kept.get((line.instrument, line.product))
    kept_close = close.last_price if close is not None and close.quantity == line.quantity else None
    return replace(line, missed=missed, kept_close=kept_close)


def _move_words(line: CarriedPosition) -> str:
    """A line carried through missed days, and its move over them in words."""
    move = line.missed_pnl
    if move is None:
        why = "the desk's last close has no price of it at this quantity"
        return f"{line.instrument} {line.product} {line.quantity}: not known ({why})"
    return (
        f"{line.instrument} {line.product} {line.quantity}: {to_paise(move):,} "
        f"({line.kept_close} to {line.close_price})"
    )


def _holding(report: HoldingReport) -> Holding:
    return Holding(
        instrument=report.instrument,
        quantity=report.quantity,
        t1_quantity=report.t1_quantity,
        average_price=report.average_price,
        close_price=report.close_price,
    )


__all__ = [
    "SQUARE_OFF_STRATEGY",
    "DayRules",
    "DayState",
    "DayTick",
    "SquareOffDue",
    "TradingDays",
]
