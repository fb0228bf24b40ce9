"""``OrderDesk``: the engine's Python API for strategy code.

::

    async with OrderDesk(broker, store) as desk:
        handle = await desk.submit(signal)        # risk gate, log, place under the client id
        await handle.wait()                       # until filled, cancelled or rejected

Intake assigns a signal id when the caller gave none, derives the client order id from it and
the strategy (so the same signal twice is the same order), runs the risk gate, and writes the
intent before the broker hears of it. Start-up replays the log, resolves whatever was in flight
when the last process stopped, and reconciles with the broker before anything new is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from orderdesk.domain.events import Event, KillSwitchChanged, SignalDenied
from orderdesk.domain.ids import client_order_id
from orderdesk.domain.order import Order
from orderdesk.domain.position import Position
from orderdesk.domain.reports import InstrumentInfo
from orderdesk.domain.signal import DEFAULT_STRATEGY, Signal
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side
from orderdesk.engine.alerts import Alerts, LoggingNotifier
from orderdesk.engine.book import OrderBook
from orderdesk.engine.commands import Commands
from orderdesk.engine.config import DeskConfig
from orderdesk.engine.context import DeskRiskContext
from orderdesk.engine.errors import BasketAborted, CommandRefused, DeskClosed, OrderNotFound
from orderdesk.engine.handle import OrderHandle
from orderdesk.engine.journal import EventWriter, Journal, Subscribers
from orderdesk.engine.placement import Placement
from orderdesk.engine.prices import PriceWatch
from orderdesk.engine.reconcile import Reconciler, ReconciliationReport
from orderdesk.engine.recorder import Recorder
from orderdesk.engine.recovery import replay
from orderdesk.engine.risk import (
    KillSwitch,
    KillSwitchCheck,
    RiskCheck,
    RiskGate,
    RiskLimits,
    checks_for,
)
from orderdesk.engine.slicer import Slicer
from orderdesk.engine.slicing import basket_order, needs_slicing
from orderdesk.engine.strategy_risk import StrategyRisk
from orderdesk.engine.tracker import Tracker
from orderdesk.engine.trades import TradeReader
from orderdesk.errors import BrokerAuthError, RiskDenied
from orderdesk.ports.broker import Broker
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.notifier import Notifier, Severity
from orderdesk.ports.store import EventStore

log = logging.getLogger(__name__)

_DERIVATIVES = frozenset({"FUT", "CE", "PE"})


class OrderDesk:
    """Submit, track, modify and cancel orders; positions, P&L, reconciliation, kill switch."""

    def __init__(
        self,
        broker: Broker,
        store: EventStore,
        *,
        writer: EventWriter | None = None,
        notifier: Notifier | None = None,
        clock: Clock | None = None,
        limits: RiskLimits | None = None,
        checks: Sequence[RiskCheck] | None = None,
        strategy_limits: Mapping[str, RiskLimits] | None = None,
        config: DeskConfig | None = None,
    ) -> None:
        self.broker = broker
        self.config = config = config or DeskConfig()
        self.clock = clock = clock or SystemClock()
        self.book = OrderBook()
        self.alerts = Alerts(notifier or LoggingNotifier())
        self.subscribers = Subscribers()
        self.recorder = Recorder(
            Journal(store, writer), self.book, self.subscribers, clock, self.alerts
        )
        self.store = store
        self.kill_switch = KillSwitch()
        chosen = (
            list(checks)
            if checks is not None
            else checks_for(limits or RiskLimits(), self.kill_switch)
        )
        if not any(isinstance(check, KillSwitchCheck) for check in chosen):
            chosen.insert(0, KillSwitchCheck(self.kill_switch))
        self.gate = RiskGate(chosen)
        self.risk_context = DeskRiskContext(self.book, broker, clock)
        # A strategy's own limits apply on top of the desk's, scoped to its orders and P&L.
        self.strategy_risk = StrategyRisk(
            self.gate, strategy_limits or {}, self.book, self.risk_context
        )
        self.trades = TradeReader(broker, self.recorder, config, self.alerts)
        self.placement = Placement(broker, self.recorder, config, self.alerts, self.trades)
        self.placement.on_resolved = self._on_resolved
        self.commands = Commands(broker, self.recorder, config, self.alerts)
        self.reconciler = Reconciler(broker, self.recorder, self.book, self.alerts, self.trades)
        self.tracker = Tracker(
            broker, self.recorder, self.book, self.reconciler, self.alerts, config, self.trades
        )
        self.instruments: dict[InstrumentKey, InstrumentInfo] = {}
        self.slicer = Slicer(
            self.book, self.recorder, self.placement, self.alerts, self.instruments.get
        )
        self.prices = PriceWatch(broker)
        self.recorder.on_created.append(lambda order: self.prices.want([order.signal.instrument]))
        self.startup_report: ReconciliationReport | None = None
        self._intake: dict[str, asyncio.Future[None]] = {}
        self._cancel_on_resolve: set[str] = set()
        self._target_locks: defaultdict[InstrumentKey, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._target_orders: dict[InstrumentKey, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._running = False
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Replay the log, resolve what was in flight, reconcile, then track live."""
        if self._running:
            return
        if self._closed:
            raise DeskClosed("a closed desk is not restarted; make a new one")
        await self.broker.start()
        events = replay(self.store, self.book, self.kill_switch)
        log.info("replayed %d events into %d orders", events, len(self.book.orders))
        if self.config.load_instruments:
            await self._load_instruments()
        self._spawn(self.tracker.run_stream())
        now = self.clock.now()
        for order in list(self.book.orders.values()):
            if order.status is OrderStatus.SUBMITTING:
                # Sent or not, nobody knows after a restart: exactly like an unknown outcome.
                await self.recorder.decide(
                    order, lambda o: o.submit_unknown("the desk stopped while sending", now)
                )
        try:
            self.startup_report = await self.reconcile()
        except Exception as exc:
            await self._api_error("start-up reconciliation", exc)
            self._resolve_all()
        for order in list(self.book.orders.values()):
            if self.slicer.is_parent(order) and not self.slicer.complete(order):
                self._spawn(self.slicer.continue_(order))
        # Ticks for what is held or working, so positions show unrealised P&L from the start.
        self.prices.want(order.signal.instrument for order in self.book.open_orders())
        self.prices.want(p.instrument for p in self.book.positions if p.quantity)
        self._spawn(self.tracker.run_polling())
        if self.config.reconcile_interval:
            self._spawn(self._reconcile_loop(self.config.reconcile_interval))
        self._running = True

    async def close(self) -> None:
        """Stop tracking and resolving; the log keeps everything for the next start."""
        if self._closed:
            return
        self._closed = True
        self._running = False
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.placement.close()
        await self.tracker.close()
        await self.trades.close()
        await self.prices.close()
        self.subscribers.close()
        await self.broker.close()

    # -- intake --------------------------------------------------------------------------------

    async def submit(self, signal: Signal) -> OrderHandle:
        """Place one signal; the same (strategy, signal id) again returns the same order.

        Raises :class:`~orderdesk.errors.RiskDenied` if a check refuses it, and
        :class:`~orderdesk.domain.errors.ValidationError` if the instrument's tick or lot size
        rules it out. A broker rejection is not raised: the handle shows ``REJECTED``.
        """
        self._check_running()
        signal, order_id = self._identify(signal)
        while True:
            if order_id in self.book.orders:
                return OrderHandle(self, order_id)
            pending = self._intake.get(order_id)
            if pending is None:
                break
            await asyncio.shield(pending)
            if order_id not in self.book.orders:
                raise DeskClosed(f"{order_id} was not placed (see the first submission)")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._intake[order_id] = future
        try:
            self._check_instrument(signal)
            await self._admit(signal)
            return await self._place(order_id, signal)
        finally:
            del self._intake[order_id]
            future.set_result(None)

    async def submit_basket(self, signals: Sequence[Signal]) -> list[OrderHandle]:
        """Place several legs; hedges (buys) first, and sells only once the hedges stand.

        Every new leg passes the risk gate before any is placed, so a denial places nothing.
        If a hedge leg is rejected, the legs after it are not placed (:class:`BasketAborted`).
        """
        self._check_running()
        legs = [self._identify(signal) for signal in basket_order(signals)]
        for signal, order_id in legs:
            if order_id not in self.book.orders:
                self._check_instrument(signal)
                await self._admit(signal)
        handles: list[OrderHandle] = []
        for signal, order_id in legs:
            if signal.side is Side.SELL:
                await self._wait_for_hedges(handles)
            if order_id in self.book.orders:
                handles.append(OrderHandle(self, order_id))
            else:
                handles.append(await self._place(order_id, signal))
        return handles

    async def target_position(
        self,
        instrument: InstrumentKey,
        quantity: int,
        *,
        product: Product,
        strategy: str = DEFAULT_STRATEGY,
        order_type: OrderType = OrderType.MARKET,
        price: Decimal | None = None,
        signal_id: str | None = None,
    ) -> OrderHandle | None:
        """Trade to a net position of ``quantity``: place the difference from the broker's
        live position (None when there is none). One target order per instrument at a time:
        a still-working earlier one is cancelled and waited for first."""
        self._check_running()
        async with self._target_locks[instrument]:
            previous = self._target_orders.get(instrument)
            if previous is not None:
                await self._retire(previous)
            live = await self.broker.positions()
            current = sum(
                p.quantity for p in live if p.instrument == instrument and p.product == product
            )
            delta = quantity - current
            if delta == 0:
                return None
            signal = Signal(
                instrument=instrument,
                side=Side.BUY if delta > 0 else Side.SELL,
                quantity=abs(delta),
                order_type=order_type,
                product=product,
                price=price,
                strategy=strategy,
                signal_id=signal_id,
            )
            handle = await self.submit(signal)
            self._target_orders[instrument] = handle.order_id
            return handle

    async def exit_position(
        self, instrument: InstrumentKey, *, product: Product, strategy: str = DEFAULT_STRATEGY
    ) -> OrderHandle | None:
        """Flatten the broker's position in ``instrument`` with a market order."""
        return await self.target_position(instrument, 0, product=product, strategy=strategy)

    # -- commands ------------------------------------------------------------------------------

    async def modify(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
    ) -> OrderHandle:
        """New terms for a working order (at most ``max_modifications`` times)."""
        order = self.order(order_id)
        if self.slicer.is_parent(order):
            raise CommandRefused(order_id, "a sliced order is modified through its children")
        await self.commands.modify(
            order,
            quantity=quantity,
            price=price,
            trigger_price=trigger_price,
            order_type=order_type,
        )
        return OrderHandle(self, order_id)

    async def cancel(self, order_id: str) -> OrderHandle:
        """Cancel a working order (a sliced one: every child still working, and no more)."""
        order = self.order(order_id)
        if self.slicer.is_parent(order):
            self.slicer.stopped.add(order_id)
            await asyncio.gather(
                *(self._cancel_one(child) for child in self.children(order_id)),
                return_exceptions=False,
            )
        elif order.is_unresolved:
            self._cancel_on_resolve.add(order_id)
        else:
            await self.commands.cancel(order)  # a finished order is refused, not ignored
        return OrderHandle(self, order_id)

    async def cancel_all(self, *, strategy: str | None = None) -> list[str]:
        """Cancel every open order (of one strategy); returns the ids asked to cancel.

        Orders whose placement is still unresolved are cancelled as soon as they are found.
        A failure to cancel one order is alerted and does not stop the others.
        """
        orders = [
            o for o in self.book.open_orders() if strategy is None or o.signal.strategy == strategy
        ]
        for order in orders:
            if order.parent_id is not None:
                self.slicer.stopped.add(order.parent_id)
        results = await asyncio.gather(
            *(self._cancel_one(order) for order in orders), return_exceptions=True
        )
        for order, result in zip(orders, results, strict=True):
            if isinstance(result, Exception):
                log.warning("cancel of %s failed: %s", order.order_id, result)
        return [order.order_id for order in orders]

    async def engage_kill_switch(self, reason: str, *, cancel_open: bool = False) -> None:
        """Refuse every new order from now on (survives restarts); optionally cancel all."""
        self.kill_switch.engaged, self.kill_switch.reason = True, reason
        await self.recorder.desk_event(
            KillSwitchChanged(
                at=self.clock.now(), engaged=True, reason=reason, cancel_open=cancel_open
            )
        )
        await self.alerts.raise_(
            Severity.CRITICAL, "Kill switch engaged", reason or "no reason given", key="kill"
        )
        if cancel_open:
            await self.cancel_all()

    async def release_kill_switch(self, reason: str = "") -> None:
        self.kill_switch.engaged, self.kill_switch.reason = False, ""
        await self.recorder.desk_event(
            KillSwitchChanged(at=self.clock.now(), engaged=False, reason=reason)
        )
        await self.alerts.raise_(
            Severity.WARNING, "Kill switch released", reason or "no reason given", key="kill"
        )

    async def reconcile(self) -> ReconciliationReport:
        """Reconcile with the broker now; unresolved orders left over get their resolvers."""
        try:
            return await self.reconciler.run()
        finally:
            self._resolve_all()

    # -- queries -------------------------------------------------------------------------------

    def order(self, order_id: str) -> Order:
        order = self.book.orders.get(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    def handle(self, order_id: str) -> OrderHandle:
        self.order(order_id)
        return OrderHandle(self, order_id)

    def orders(self, *, open_only: bool = False, strategy: str | None = None) -> list[Order]:
        """Orders in creation order, optionally only those alive at the broker."""
        source = self.book.open_orders() if open_only else list(self.book.orders.values())
        return [o for o in source if strategy is None or o.signal.strategy == strategy]

    def children(self, order_id: str) -> list[Order]:
        return [self.book.orders[child] for child in self.book.children.get(order_id, ())]

    def positions(self) -> list[Position]:
        return list(self.book.positions)

    def position(self, instrument: InstrumentKey, product: Product) -> Position:
        return self.book.positions.get(instrument, product)

    def day_pnl(self) -> Decimal:
        return self.book.positions.total_pnl()

    def events(self) -> AsyncIterator[Event]:
        """Every event recorded from now on, as an async iterator (ends when the desk closes)."""
        return self.subscribers.subscribe()

    def changed(self, order_id: str) -> asyncio.Event:
        """Set at the next change of the order (or of one of its children)."""
        return self.recorder.changed(order_id)

    @property
    def stream_connected(self) -> bool:
        return self.tracker.stream_up

    # -- internals: intake ---------------------------------------------------------------------

    def _check_running(self) -> None:
        if not self._running:
            raise DeskClosed("the desk is not running; use `async with OrderDesk(...)`")

    def _identify(self, signal: Signal) -> tuple[Signal, str]:
        if signal.signal_id is None:
            signal = replace(signal, signal_id=uuid.uuid4().hex)
        assert signal.signal_id is not None
        return signal, client_order_id(signal.strategy, signal.signal_id)

    def _check_instrument(self, signal: Signal) -> None:
        info = self.instruments.get(signal.instrument)
        if info is not None:
            signal.check_tick_size(info.tick_size)
            signal.check_lot_size(info.lot_size)

    async def _admit(self, signal: Signal) -> None:
        denial = await self.strategy_risk.evaluate(signal, self.risk_context)
        if denial is None:
            return
        await self._denied(signal, denial)
        raise denial

    async def _denied(self, signal: Signal, denial: RiskDenied) -> None:
        await self.recorder.desk_event(
            SignalDenied(
                at=self.clock.now(), signal=signal, check=denial.check, reason=denial.reason
            )
        )
        await self.alerts.raise_(
            Severity.WARNING,
            f"Signal denied by {denial.check}",
            f"{signal.strategy} {signal.signal_id}: {signal.instrument} {signal.side} "
            f"{signal.quantity}: {denial.reason}",
            key=f"denied:{denial.check}",
        )

    async def _place(self, order_id: str, signal: Signal) -> OrderHandle:
        info = self.instruments.get(signal.instrument)
        if needs_slicing(signal, info.freeze_quantity if info else None):
            await self.slicer.create_parent(order_id, signal)
        else:
            await self.slicer.create_and_send(order_id, signal)
        return OrderHandle(self, order_id)

    # -- internals: baskets, targets ---------------------------------------------------------

    async def _wait_for_hedges(self, handles: list[OrderHandle]) -> None:
        hedges = [h for h in handles if h.order.signal.side is Side.BUY]
        for hedge in hedges:
            try:
                await hedge.wait(lambda h: h.is_resolved, timeout=self.config.leg_timeout)
            except TimeoutError:
                raise BasketAborted(
                    f"hedge {hedge.order_id} still unresolved", [h.order_id for h in handles]
                ) from None
            if hedge.status is OrderStatus.REJECTED:
                raise BasketAborted(
                    f"hedge {hedge.order_id} was rejected ({hedge.order.reason})",
                    [h.order_id for h in handles],
                )

    async def _retire(self, order_id: str) -> None:
        """Make sure an earlier target order is over before the next is computed."""
        handle = OrderHandle(self, order_id)
        if handle.is_done:
            return
        if not handle.is_resolved:
            await handle.wait(lambda h: h.is_resolved, timeout=self.config.leg_timeout)
        if not handle.is_done:
            # Refused means it ended (or is ending) by itself; the wait below settles it.
            with contextlib.suppress(CommandRefused):
                await self.cancel(order_id)
            await handle.wait(timeout=self.config.leg_timeout)

    # -- internals: cancel, resolve, background ------------------------------------------------

    async def _cancel_one(self, order: Order) -> None:
        if order.is_terminal:
            return
        if order.is_unresolved or order.status is OrderStatus.INITIALIZED:
            self._cancel_on_resolve.add(order.order_id)
            return
        await self.commands.cancel(order)

    async def _on_resolved(self, order: Order) -> None:
        if order.order_id in self._cancel_on_resolve and order.is_working:
            self._cancel_on_resolve.discard(order.order_id)
            await self.commands.cancel(order)

    def _resolve_all(self) -> None:
        for order in self.book.orders.values():
            if order.is_unresolved:
                self.placement.resolve_later(order)

    async def _reconcile_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._api_error("reconciliation", exc)

    async def _load_instruments(self) -> None:
        try:
            infos = await self.broker.instruments()
        except Exception as exc:
            await self._api_error("loading instruments (no freeze-quantity slicing)", exc)
            return
        self.instruments.clear()
        self.instruments.update((info.instrument, self._with_freeze(info)) for info in infos)
        self.tracker.instruments_by_token = {
            info.instrument_token: info.instrument for info in infos
        }

    def _with_freeze(self, info: InstrumentInfo) -> InstrumentInfo:
        if info.freeze_quantity is not None or info.instrument_type not in _DERIVATIVES:
            return info
        freeze = self.config.freeze_quantities.get(info.name)
        return info if freeze is None else replace(info, freeze_quantity=freeze)

    async def _api_error(self, what: str, exc: BaseException) -> None:
        auth = isinstance(exc, BrokerAuthError)
        await self.alerts.raise_(
            Severity.CRITICAL if auth else Severity.WARNING,
            "Broker session refused" if auth else "Broker API error",
            f"{what} failed: {type(exc).__name__}: {exc}",
            key="auth" if auth else f"api:{what}",
        )

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


__all__ = ["OrderDesk"]
