"""Tracking: the live stream's connection, and polling when it falls silent.

The tracker reads ``Broker.events()``: order updates (reports and fills) go straight on to
:class:`~.news.BrokerNews`, the one path by which broker news becomes events; ticks mark
positions (found by instrument token); connection changes raise alerts and switch polling on or
off. It keeps the connection's state and the polling schedule, nothing about orders.

What a look costs must not grow with the day. The first look after an acceptance reads the
few orders that await it one by one (each one's history, when the broker offers it) and the
whole book only when more than ``look_singly`` wait, so that one read serves them all: on the
simulator a read of the book cost 11 µs of CPU per order in it (57 ms at Kite's daily cap of
5,000) against 0.4 ms for one order's history. The orders that await a look are indexed by the
book, and the open orders are walked only when the quiet-order rule may fire, not on every tick.
An order is quiet when the broker has said nothing of it (``Order.heard_at``) for
``quiet_after``: the desk's own requests are no news of its fills, so an exit re-priced every few
seconds does not put off the read that finds the fills the stream missed.

An AMO waits at the broker (``AMO REQ RECEIVED``, so ``ACCEPTED`` here) until its segment's
market opens, and Kite pushes nothing when it is released and merely rests. So each segment's
open (:meth:`~orderdesk.domain.calendar.TradingCalendar.market_hours`, the desk's calendar or
the default one) opens a window of looks at the AMOs still waiting, as an acceptance does: a
few from their histories, many from one read of the book, about once a second until each is
seen or ``quiet_after`` has passed. Until its segment opens an AMO is not a quiet order: no
news is due for it, and reading the book every ``quiet_after`` all night would learn nothing.
Finding the next open is one comparison a tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from orderdesk.domain.calendar import IST, SEGMENT_OF, Segment, TradingCalendar, as_ist
from orderdesk.domain.order import Order
from orderdesk.domain.reports import Fill, OrderStatusReport
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.values import InstrumentKey, Variety
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.book import OrderBook
from orderdesk.engine.config import DeskConfig
from orderdesk.engine.news import BrokerNews
from orderdesk.engine.reconcile import Reconciler
from orderdesk.engine.retry import NotYet, retrying
from orderdesk.engine.session import SessionWatch
from orderdesk.errors import BrokerAuthError
from orderdesk.ports.broker import (
    Broker,
    BrokerEvent,
    ConnectionState,
    ConnectionStateChanged,
    OrderHistorySource,
    PriceTick,
)
from orderdesk.ports.notifier import Severity

log = logging.getLogger(__name__)

STREAM_RETRY_FIRST = 0.5
STREAM_RETRY_MAX = 10.0
"""Seconds between attempts to read a broker stream that keeps ending without news."""

OPENS_AHEAD = 31
"""Days searched for the next market open (a long holiday run is shorter than this)."""


@dataclass(frozen=True, slots=True)
class Due:
    """What the polling schedule asks for now: the whole book, or a few orders' histories."""

    book: bool = False
    orders: Sequence[Order] = ()


NOTHING_DUE = Due()


class Tracker:
    """Consumes ``Broker.events()`` and polls the order book while the stream is down."""

    def __init__(
        self,
        broker: Broker,
        news: BrokerNews,
        book: OrderBook,
        reconciler: Reconciler,
        alerts: Alerts,
        config: DeskConfig,
        session: SessionWatch,
        instruments_by_token: dict[int, InstrumentKey],
    ) -> None:
        self.broker = broker
        self.news = news
        self.session = session
        self.book = book
        self.reconciler = reconciler
        self.alerts = alerts
        self.config = config
        self.clock = news.clock
        self.stream_up = False
        self.instruments_by_token = instruments_by_token
        """Today's instrument list by token (updated in place when a day opens)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_poll = 0.0
        self._down_since: float | None = self.clock.monotonic()
        """Monotonic time the stream went down, or the tracker began waiting for it (None
        while it is up)."""
        self._down_alerts = 0
        self._loss_told = False
        """The stream's loss (or stop) reached the operator: its return is told at the same
        reach, so a WARNING is not their last word on it."""
        self.calendar = config.days.calendar if config.days is not None else TradingCalendar()
        """Whose market hours say when held AMOs are released (NSE's without days kept)."""
        self._clock_seen = self.clock.now()
        self._next_open = self._open_after(self._clock_seen)
        """The next segment open the clock has not yet reached: crossed whenever the clock is
        next read, however late (an AMO waits from before it)."""
        self._opened: tuple[datetime, frozenset[Segment | None]] | None = None
        """Since when, and for which segments, the AMOs released at an open are looked at."""

    # -- the stream ----------------------------------------------------------------------------

    async def run_stream(self) -> None:
        """Consume the broker's stream for as long as the desk runs.

        A stream that ends or fails is opened again, the waits growing while it keeps failing
        without delivering anything, and starting afresh once it has delivered.
        """
        while True:
            async for attempt in retrying(
                NotYet, first=STREAM_RETRY_FIRST, ceiling=STREAM_RETRY_MAX, attempts=None
            ):
                with attempt:
                    if await self._consume():
                        break
                    raise NotYet
            # It had delivered: open it again after the shortest pause, waits starting afresh.
            await asyncio.sleep(STREAM_RETRY_FIRST)

    async def _consume(self) -> bool:
        """Read the stream until it ends or fails; True if it delivered anything."""
        delivered = False
        try:
            async for event in self.broker.events():
                delivered = True
                await self.dispatch(event)
            reason = "the broker's event stream ended"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("broker event stream failed")
            reason = f"the broker's event stream failed: {type(exc).__name__}: {exc}"
        await self._stream_down(reason)
        return delivered

    async def dispatch(self, event: BrokerEvent) -> None:
        """Apply ``event``: order news through :class:`BrokerNews`, prices at once, connection
        changes in a task of their own."""
        if isinstance(event, OrderStatusReport | Fill):
            await self.news.put(event)
        elif isinstance(event, PriceTick):
            self.on_tick(event)
        else:
            self.spawn(self.on_connection(event))

    async def idle(self) -> None:
        """Wait until every dispatched event has been recorded."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.news.idle()

    def on_tick(self, tick: PriceTick) -> None:
        instrument = tick.instrument or self.instruments_by_token.get(tick.instrument_token)
        if instrument is not None:
            self.book.mark(instrument, Decimal(tick.last_price))

    async def on_connection(self, change: ConnectionStateChanged) -> None:
        if change.state is ConnectionState.CONNECTED:
            was_down = not self.stream_up
            self.stream_up = True
            self._down_since, self._down_alerts = None, 0
            told, self._loss_told = self._loss_told, False
            if was_down:
                await self.alerts.raise_(
                    Severity.WARNING if told else Severity.INFO,
                    "Broker stream connected",
                    change.detail or "live order updates resumed",
                    key="stream",
                )
                # Whatever happened while we were away is in the books, not on the stream.
                self.spawn(self._catch_up())
        elif change.state is ConnectionState.STOPPED:
            self._went_down()
            self.stream_up = False
            if change.token_refused:
                self.session.refused(
                    change.detail or "the stream's session was refused", self.clock.now()
                )
            if self.session.ended(self.clock.now()):
                # A consequence of the session's end, which is alerted once, saying to log in.
                log.info("stream stopped with the session: %s", change.detail)
                return
            advice = (
                "log in with `orderdesk login`: the running desk takes the new session without "
                "a restart"
                if change.token_refused
                else "is the access token expired? Polling the order book meanwhile"
            )
            self._loss_told = True
            await self.alerts.raise_(
                Severity.CRITICAL,
                "Broker stream stopped",
                f"{change.detail or 'the stream gave up'}; {advice}.",
                key="stream",
            )
        elif change.state is ConnectionState.DISCONNECTED:
            await self._stream_down(change.detail or "the live stream disconnected")

    async def _stream_down(self, reason: str) -> None:
        if not self.stream_up:
            return
        self._went_down()
        self.stream_up = False
        if self.session.ended(self.clock.now()):
            log.info("stream lost with the session: %s", reason)  # the session's end is told
            return
        self._loss_told = True
        await self.alerts.raise_(
            Severity.WARNING,
            "Broker stream lost",
            f"{reason}; polling the order book until it is back",
            key="stream",
        )

    # -- polling -------------------------------------------------------------------------------

    async def run_polling(self) -> None:
        """Poll while the stream is down, soon after an acceptance, or when an open order has
        been quiet too long."""
        config = self.config
        # Deciding is cheap; polling is not. Tick often enough for the first look, poll only
        # as often as the rules below say.
        tick = min(config.poll_interval, config.first_look)
        while True:
            await asyncio.sleep(tick)
            await self._still_down()
            due = self.due()
            if due.book:
                await self.poll_once()
            elif due.orders:
                await self.look_once(due.orders)

    def _went_down(self) -> None:
        if self.stream_up or self._down_since is None:
            self._down_since, self._down_alerts = self.clock.monotonic(), 0

    async def _still_down(self) -> None:
        """Escalate a stream that stays down: polling stands in, but ticks and prompt fills
        are gone, and a person should look (unless the session is gone: that is alerted)."""
        if self.stream_up or self._down_since is None or not self.session.usable:
            return
        steps = self.config.stream_down_alerts
        if self._down_alerts >= len(steps):
            return
        down = self.clock.monotonic() - self._down_since
        if down < steps[self._down_alerts]:
            return
        self._down_alerts += 1
        self._loss_told = True
        await self.alerts.raise_(
            Severity.WARNING if self._down_alerts == 1 else Severity.CRITICAL,
            "Broker stream still down",
            f"the live stream has been down for {down / 60:.0f} min; the order book is polled "
            "every few seconds meanwhile, prices are not streamed. Check the network and the "
            "broker's status.",
            key=f"stream:down:{self._down_alerts}",
        )

    def due(self) -> Due:
        """What to read now: the whole book (the stream is down, an open order has been quiet
        for ``quiet_after``, or many orders await a look), the histories of the few orders that
        await one (just accepted, or AMOs their segment's open has just released), or
        nothing."""
        if not self.session.usable:
            return NOTHING_DUE  # every read would be refused; the login brings a catch-up
        now = self.clock.now()
        self._watch_opens(now)
        since_poll = self.clock.monotonic() - self._last_poll
        config = self.config
        if not self.stream_up:
            return Due(book=since_poll >= config.poll_interval)
        if since_poll < min(config.first_look, config.quiet_after):
            return NOTHING_DUE
        quiet_since = now - timedelta(seconds=config.quiet_after)
        if since_poll >= config.quiet_after:
            open_now = self._segments_open(now)
            if any(
                order.is_working and order.heard_at < quiet_since and not _held_amo(order, open_now)
                for order in self.book.open_orders()
            ):
                return Due(book=True)
        looked = now - timedelta(seconds=config.first_look)
        # Kite pushes nothing when an order starts resting: look soon, not only once it has
        # been quiet for long (bounded: the window closes at quiet_after, where the quiet rule
        # takes over on the same clock; a modify of the desk's opens no second window).
        waiting = {
            order.order_id: order
            for order in self.book.accepted.values()
            if quiet_since <= order.heard_at < looked
        }
        waiting.update((order.order_id, order) for order in self._released(now))
        if not waiting:
            return NOTHING_DUE
        if len(waiting) <= config.look_singly and isinstance(self.broker, OrderHistorySource):
            return Due(orders=list(waiting.values()))
        return Due(book=True)

    # -- AMOs at the open ----------------------------------------------------------------------

    def _watch_opens(self, now: datetime) -> None:
        """Open a window of looks when the clock reaches a segment's open (one comparison a
        tick; a clock set back, as the simulator's can be, finds its next open afresh)."""
        if now < self._clock_seen:
            self._next_open, self._opened = self._open_after(now), None
        self._clock_seen = now
        if now < self._next_open:
            return
        self._opened = (now, self._segments_open(now))
        self._next_open = self._open_after(now)

    def _released(self, now: datetime) -> list[Order]:
        """The AMOs still waiting in the segments whose market opened less than
        ``quiet_after`` ago (the broker releases them at the open, pushing nothing)."""
        if self._opened is None:
            return []
        opened_at, segments = self._opened
        if now - opened_at >= timedelta(seconds=self.config.quiet_after):
            self._opened = None
            return []
        return [
            order
            for order in self.book.accepted.values()
            if order.signal.variety is Variety.AMO and _segment(order) in segments
        ]

    def _open_after(self, after: datetime) -> datetime:
        """The first instant after ``after`` at which some segment's market opens."""
        calendar = self.calendar
        day = as_ist(after).date()
        for _ in range(OPENS_AHEAD):
            if calendar.is_trading_day(day):
                later = [opens for opens in _opens(calendar, day) if opens > after]
                if later:
                    return min(later)
            day += timedelta(days=1)
        return after + timedelta(days=OPENS_AHEAD)

    def _segments_open(self, now: datetime) -> frozenset[Segment | None]:
        """The segments whose market is open at ``now`` (None: an exchange of no segment,
        which keeps NSE's hours)."""
        calendar = self.calendar
        segments: set[Segment | None] = {
            s for s in calendar.hours if calendar.in_market_hours(now, s)
        }
        if calendar.in_market_hours(now):
            segments.add(None)
        return frozenset(segments)

    async def poll_once(self) -> bool:
        """One catch-up from the books; False (and an alert) if the books could not be read."""
        return await self._read(self.reconciler.poll, "polling the order book")

    async def look_once(self, orders: Sequence[Order]) -> bool:
        """A catch-up on ``orders`` from their histories; False (and an alert) on failure."""
        return await self._read(lambda: self.reconciler.look(orders), "reading order history")

    async def _read(self, read: Callable[[], Awaitable[None]], what: str) -> bool:
        self._last_poll = self.clock.monotonic()
        try:
            await read()
        except asyncio.CancelledError:
            raise
        except BrokerAuthError as exc:
            # The refusal ends the session: the desk's clock loop alerts that once ("Broker
            # session ended", saying to log in); each refused poll after it is not news.
            self.session.refused(f"{what}: {exc}", self.clock.now())
            return False
        except Exception as exc:
            await self.alerts.raise_(
                Severity.WARNING,
                "Broker API error",
                f"{what} failed: {type(exc).__name__}: {exc}",
                key="poll",
            )
            return False
        return True

    async def _catch_up(self) -> None:
        await self.poll_once()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a follow-up in the background, kept referenced until it ends."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _segment(order: Order) -> Segment | None:
    return SEGMENT_OF.get(order.signal.instrument.exchange)


def _held_amo(order: Order, open_now: frozenset[Segment | None]) -> bool:
    """An AMO the broker holds for its segment's open, which has not come yet."""
    return (
        order.status is OrderStatus.ACCEPTED
        and order.signal.variety is Variety.AMO
        and _segment(order) not in open_now
    )


def _opens(calendar: TradingCalendar, day: date) -> list[datetime]:
    return [
        datetime.combine(day, calendar.market_hours(day, segment)[0], tzinfo=IST)
        for segment in calendar.hours
    ]


__all__ = ["Tracker"]
