"""Tracking: the broker's live stream into order decisions, and polling when it falls silent.

Order updates (reports and fills) go to the :class:`~.applier.StreamApplier`, which decides
them in batches, each order's in arrival order; ticks mark positions (found by instrument
token); connection changes raise alerts and switch polling on or off. An update the applier
cannot batch comes back here one by one (:meth:`Tracker.handle`): a report that matches no order
(by broker id or by our tag) is an order placed outside orderdesk and is adopted, and a fill can
overtake the report that binds its order to a broker id, so it waits here until the binding
arrives.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Coroutine
from datetime import timedelta
from decimal import Decimal
from typing import Any

from orderdesk.domain.order import Order
from orderdesk.domain.reports import Fill, OrderStatusReport
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.applier import StreamApplier
from orderdesk.engine.backoff import Backoff
from orderdesk.engine.book import OrderBook
from orderdesk.engine.config import DeskConfig
from orderdesk.engine.reconcile import Reconciler
from orderdesk.engine.recorder import Recorder
from orderdesk.engine.session import SessionWatch
from orderdesk.engine.trades import TradeReader
from orderdesk.errors import BrokerAuthError
from orderdesk.ports.broker import (
    Broker,
    BrokerEvent,
    ConnectionState,
    ConnectionStateChanged,
    PriceTick,
)
from orderdesk.ports.notifier import Severity

log = logging.getLogger(__name__)

MAX_EARLY_FILLS = 10_000
"""Fills held for orders not yet bound; beyond this the oldest are left to reconciliation."""


class Tracker:
    """Consumes ``Broker.events()`` and polls the order book while the stream is down."""

    def __init__(
        self,
        broker: Broker,
        recorder: Recorder,
        book: OrderBook,
        reconciler: Reconciler,
        alerts: Alerts,
        config: DeskConfig,
        trades: TradeReader,
        session: SessionWatch,
    ) -> None:
        self.broker = broker
        self.session = session
        self.recorder = recorder
        self.book = book
        self.reconciler = reconciler
        self.trades = trades
        self.alerts = alerts
        self.config = config
        self.clock = recorder.clock
        self.stream_up = False
        self.instruments_by_token: dict[int, InstrumentKey] = {}
        self._early_fills: defaultdict[str, list[Fill]] = defaultdict(list)
        self._early_count = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.applier = StreamApplier(book, recorder, trades, self.handle, self.spawn)
        self._last_poll = 0.0
        recorder.on_bound.append(self._bound)

    # -- the stream ----------------------------------------------------------------------------

    async def run_stream(self) -> None:
        """Consume the broker's stream for as long as the desk runs."""
        backoff = Backoff(0.5, 10.0)
        while True:
            try:
                async for event in self.broker.events():
                    backoff.reset()
                    await self.dispatch(event)
                reason = "the broker's event stream ended"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("broker event stream failed")
                reason = f"the broker's event stream failed: {type(exc).__name__}: {exc}"
            await self._stream_down(reason)
            await asyncio.sleep(backoff.next())

    async def dispatch(self, event: BrokerEvent) -> None:
        """Apply ``event``: order updates through the batching applier (see :mod:`.applier`),
        prices at once, connection changes in a task of their own."""
        if isinstance(event, OrderStatusReport | Fill):
            await self.applier.put(event)
        elif isinstance(event, PriceTick):
            self.on_tick(event)
        else:
            self.spawn(self.handle(event))

    async def idle(self) -> None:
        """Wait until every dispatched event has been recorded."""
        while self.applier.running or self._tasks:
            await self.applier.idle()
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def handle(self, event: BrokerEvent) -> None:
        """Apply one event of the broker's stream."""
        try:
            if isinstance(event, OrderStatusReport):
                await self.on_report(event)
            elif isinstance(event, Fill):
                await self.on_fill(event)
            elif isinstance(event, PriceTick):
                self.on_tick(event)
            else:
                await self.on_connection(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            # One bad update must not stop the stream for every other order.
            log.exception("could not apply broker event %r", event)

    async def on_report(self, report: OrderStatusReport) -> None:
        order = self.book.find(report)
        if order is None:
            await self.reconciler.adopt(report)
            return
        await self.trades.apply_report(order, report)

    async def on_fill(self, fill: Fill) -> None:
        order = self.book.by_broker_id.get(fill.broker_order_id)
        if order is None:
            if self._early_count < MAX_EARLY_FILLS:
                self._early_fills[fill.broker_order_id].append(fill)
                self._early_count += 1
            return
        await self._record_fill(order, fill)

    async def _record_fill(self, order: Order, fill: Fill) -> None:
        now = self.clock.now()
        await self.recorder.decide(order, lambda o: o.on_fill(fill, now))

    def _bound(self, order: Order) -> None:
        assert order.broker_order_id is not None
        fills = self._early_fills.pop(order.broker_order_id, None)
        if not fills:
            return
        self._early_count -= len(fills)
        self.spawn(self._record_fills(order, fills))

    async def _record_fills(self, order: Order, fills: list[Fill]) -> None:
        for fill in fills:
            await self._record_fill(order, fill)

    def on_tick(self, tick: PriceTick) -> None:
        instrument = tick.instrument or self.instruments_by_token.get(tick.instrument_token)
        if instrument is not None:
            self.book.mark(instrument, Decimal(tick.last_price))

    async def on_connection(self, change: ConnectionStateChanged) -> None:
        if change.state is ConnectionState.CONNECTED:
            was_down = not self.stream_up
            self.stream_up = True
            if was_down:
                await self.alerts.raise_(
                    Severity.INFO,
                    "Broker stream connected",
                    change.detail or "live order updates resumed",
                    key="stream",
                )
                # Whatever happened while we were away is in the books, not on the stream.
                self.spawn(self._catch_up())
        elif change.state is ConnectionState.STOPPED:
            self.stream_up = False
            if change.token_refused:
                self.session.refused(
                    change.detail or "the stream's session was refused", self.clock.now()
                )
            await self.alerts.raise_(
                Severity.CRITICAL,
                "Broker stream stopped",
                f"{change.detail or 'the stream gave up'}; is the access token expired? "
                "Polling the order book meanwhile.",
                key="stream",
            )
        elif change.state is ConnectionState.DISCONNECTED:
            await self._stream_down(change.detail or "the live stream disconnected")

    async def _stream_down(self, reason: str) -> None:
        if not self.stream_up:
            return
        self.stream_up = False
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
            if self._should_poll():
                await self.poll_once()

    def _should_poll(self) -> bool:
        if not self.session.usable:
            return False  # every read would be refused; the login brings a catch-up
        since_poll = self.clock.monotonic() - self._last_poll
        config = self.config
        if not self.stream_up:
            return since_poll >= config.poll_interval
        if since_poll < min(config.first_look, config.quiet_after):
            return False
        now = self.clock.now()
        looked = now - timedelta(seconds=config.first_look)
        quiet_since = now - timedelta(seconds=config.quiet_after)
        quiet_due = since_poll >= config.quiet_after
        for order in self.book.open_orders():
            if not order.is_working:
                continue
            if order.status is OrderStatus.ACCEPTED and quiet_since <= order.updated_at < looked:
                # Kite pushes nothing when an order starts resting: look soon, not only once
                # it has been quiet for long (bounded: the window closes at quiet_after).
                return True
            if quiet_due and order.updated_at < quiet_since:
                return True
        return False

    async def poll_once(self) -> bool:
        """One catch-up from the books; False (and an alert) if the books could not be read."""
        self._last_poll = self.clock.monotonic()
        try:
            await self.reconciler.poll()
        except asyncio.CancelledError:
            raise
        except BrokerAuthError as exc:
            self.session.refused(f"polling the order book: {exc}", self.clock.now())
            await self.alerts.raise_(
                Severity.CRITICAL,
                "Broker session refused",
                f"polling the order book failed: {exc}; log in again",
                key="auth",
            )
            return False
        except Exception as exc:
            await self.alerts.raise_(
                Severity.WARNING,
                "Broker API error",
                f"polling the order book failed: {type(exc).__name__}: {exc}",
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
        await self.applier.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["Tracker"]
