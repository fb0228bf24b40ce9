"""``OrderDesk``: the engine's Python API for strategy code.

::

    async with OrderDesk(broker, store) as desk:
        handle = await desk.submit(signal)        # risk gate, log, place under the client id
        await handle.wait()                       # until filled, cancelled or rejected

Intake assigns a signal id when the caller gave none, derives the client order id from it and
the strategy (so the same signal twice is the same order), checks that a broker session and the
trading day are there, runs the risk gate, and writes the intent before the broker hears of it.
Start-up replays the log since the latest day checkpoint, resolves whatever was in flight when
the last process stopped, opens the trading day if it is new, and reconciles with the broker
before anything new is accepted. The session is replaceable while running
(:meth:`OrderDesk.renew_session`: the morning login).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Mapping,
    Sequence,
)
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from orderdesk.domain.attribution import StrategyBook, attribute
from orderdesk.domain.calendar import IST, SEGMENT_OF, check_delivery, check_product
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.day import Holding, PositionSnapshot
from orderdesk.domain.errors import InvalidTransition, OrderDeskError, ValidationError
from orderdesk.domain.events import (
    DayClosed,
    Event,
    KillSwitchChanged,
    LossLimitReached,
    OperatorCommandHandled,
    SessionLost,
    SessionRenewed,
    SignalDenied,
)
from orderdesk.domain.ids import client_order_id
from orderdesk.domain.money import to_paise
from orderdesk.domain.order import Order
from orderdesk.domain.parent import parent_status
from orderdesk.domain.position import Position
from orderdesk.domain.protection import KillSwitchCancel, is_desk_exit, protective_orders
from orderdesk.domain.signal import (
    ACCOUNT_EXIT_STRATEGY,
    DEFAULT_STRATEGY,
    STRATEGY_NAME,
    Signal,
    differing_terms,
    reserved_strategy,
)
from orderdesk.domain.status import TERMINAL, OrderStatus, Trigger
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side
from orderdesk.engine.adoption import recovered_terms_differing
from orderdesk.engine.alerts import Alerts, LoggingNotifier
from orderdesk.engine.algo_ids import AlgoIds
from orderdesk.engine.autoslice import BrokerSlicing
from orderdesk.engine.book import OrderBook
from orderdesk.engine.commands import Commands
from orderdesk.engine.config import DeskConfig, ExitPolicy, LossLimitAction, Slicing
from orderdesk.engine.context import DeskRiskContext
from orderdesk.engine.conversions import Conversions
from orderdesk.engine.days import DayTick, SquareOffDue, TradingDays
from orderdesk.engine.errors import (
    BasketAborted,
    CommandRefused,
    DayNotOpen,
    DeskClosed,
    OrderNotFound,
    PlacedBeforeUnlogged,
    SessionExpired,
    SignalIdReused,
)
from orderdesk.engine.exits import (
    EarlierExitPending,
    ExitEscalation,
    ExitPlaced,
    recorded_policy,
    resolution_bound,
)
from orderdesk.engine.handle import OrderHandle
from orderdesk.engine.history import DayHistory, PastDay
from orderdesk.engine.instruments import InstrumentMaster
from orderdesk.engine.journal import EventWriter, Journal, Subscribers
from orderdesk.engine.news import BrokerNews
from orderdesk.engine.placement import HELD_CANCELLED, HELD_NOT_SENT, Placement
from orderdesk.engine.prices import PriceWatch
from orderdesk.engine.reconcile import Reconciler, ReconciliationReport, ReconciliationRow
from orderdesk.engine.recorder import Recorder
from orderdesk.engine.recovery import Replayed, replay
from orderdesk.engine.risk import (
    KillSwitch,
    KillSwitchCheck,
    RiskCheck,
    RiskGate,
    RiskLimits,
    SquareOffCutoff,
    checks_for,
)
from orderdesk.engine.session import (
    LoginCall,
    LoginDue,
    SessionInfo,
    SessionWatch,
    login_morning,
)
from orderdesk.engine.slicer import Slicer
from orderdesk.engine.slicing import basket_order, needs_slicing
from orderdesk.engine.strategy_risk import StrategyRisk
from orderdesk.engine.tracker import Tracker
from orderdesk.engine.triggers import Triggers
from orderdesk.errors import AdapterFailed, BrokerAuthError, ExitBlocked, RiskDenied
from orderdesk.ports.broker import AutosliceControl, Broker, SessionControl
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.notifier import Notifier, Severity
from orderdesk.ports.store import EventStore

log = logging.getLogger(__name__)

DEFAULT_SESSION_WARNING = timedelta(minutes=30)


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
        algo_ids: AlgoIds | None = None,
    ) -> None:
        self.broker = broker
        config = config or DeskConfig()
        if algo_ids is not None:
            config = replace(config, algo_ids=algo_ids)
        self.config = config
        self.clock = clock = clock or SystemClock()
        self.book = OrderBook()
        self.alerts = Alerts(notifier or LoggingNotifier())
        self.subscribers = Subscribers()
        self.recorder = Recorder(
            Journal(store, writer), self.book, self.subscribers, clock, self.alerts
        )
        self.store = store
        self.kill_switch = KillSwitch()
        self._kill_changes = 0
        """How many times the kill switch changed state: its alerts' key (see engage)."""
        self.limits = limits or RiskLimits()
        self._strategy_limits = dict(strategy_limits or {})
        self._loss_alerted: set[tuple[object, str]] = set()
        chosen = (
            list(checks)
            if checks is not None
            else checks_for(limits or RiskLimits(), self.kill_switch)
        )
        if not any(isinstance(check, KillSwitchCheck) for check in chosen):
            chosen.insert(0, KillSwitchCheck(self.kill_switch))
        if config.days is not None:
            # The broker refuses fresh MIS/CO orders after its square-off; say so first.
            chosen.insert(1, SquareOffCutoff(config.days.calendar, clock))
        self.gate = RiskGate(chosen)
        self.session = SessionWatch(
            warning=config.days.session_warning if config.days else DEFAULT_SESSION_WARNING
        )
        self.risk_context = DeskRiskContext(self.book, broker, clock, self.session)
        self._session_end_told = False
        """The session's end was alerted: its renewal is told as far (a WARNING, not INFO)."""
        # A strategy's own limits apply on top of the desk's, scoped to its orders and P&L.
        self.strategy_risk = StrategyRisk(
            self.gate,
            strategy_limits or {},
            self.book,
            self.risk_context,
            config.days.calendar if config.days is not None else None,
        )
        self.news = BrokerNews(
            self.book,
            self.recorder,
            broker,
            config,
            self.alerts,
            config.days.calendar if config.days is not None else None,
        )
        """The one path by which broker news (stream, polls, placements, reconciliation)
        becomes events; tests feed it as the stream does (``await desk.news.put(report)``)."""
        self.commands = Commands(
            broker, self.recorder, config, self.alerts, self.news, self.session
        )
        self.placement = Placement(
            broker, self.news, self.recorder, config, self.alerts, self.session, self.commands
        )
        self.placement.held_refusal = self._refused_while_held
        self.conversions = Conversions(broker, self.recorder, self.book, self.alerts)
        self.reconciler = Reconciler(
            broker, self.news, self.recorder, self.book, self.alerts, self.conversions
        )
        self.reconciler.told_unresolved = lambda order: order.order_id in self.placement.settling
        self.master = InstrumentMaster(
            broker, config.freeze_quantities, self._session_of if config.days else None
        )
        self.instruments = self.master
        self.tracker = Tracker(
            broker,
            self.news,
            self.book,
            self.reconciler,
            self.alerts,
            config,
            self.session,
            self.master.by_token,
        )
        self.slicer = Slicer(
            self.book,
            self.recorder,
            self.placement,
            self.alerts,
            self.master.get,
            settle=self.news.idle,
        )
        self.autoslicer: BrokerSlicing | None = None
        """The broker's own slicing (Kite's autoslice), when configured and offered."""
        if config.slicing is Slicing.KITE and isinstance(broker, AutosliceControl):
            self.autoslicer = BrokerSlicing(
                broker, broker, self.news, self.recorder, config, self.alerts, self.session
            )
        self.exits = ExitEscalation(
            broker,
            self.recorder,
            self.alerts,
            self.master.get,
            self._reprice_exit,
            resolve_within=resolution_bound(config),
        )
        self.days: TradingDays | None = None
        if config.days is not None:
            self.days = TradingDays(
                config.days,
                broker=broker,
                recorder=self.recorder,
                book=self.book,
                alerts=self.alerts,
                session=self.session,
                kill_switch=self.kill_switch,
                reconciler=self.reconciler,
                instruments=self.master,
                news=self.news,
                strategy_books=self.strategy_books,
            )
        self.history = DayHistory(
            store, self.book, config.days.calendar if config.days is not None else None
        )
        self.triggers = Triggers(
            broker,
            self.recorder,
            store,
            self.alerts,
            clock,
            kill_switch=self.kill_switch,
            rules=self.master.rules_for,
            price_band=self.limits.price_band_percent,
        )
        """GTTs and price alerts placed for strategies; the orders they place are credited to
        those strategies by the news path (``news.claim``)."""
        self.news.claim = self.triggers.claim
        # An order modified outside orderdesk is held to the checks of an order's own terms.
        self.news.judge = lambda signal: self.strategy_risk.screen_terms(signal, self.risk_context)
        self.news.on_taken_back = lambda order: self._spawn(self._cancel_if_asked(order))
        self.news.watched_exit = self.exits.watches
        self.triggers.screen = self._screen_trigger_order
        self.prices = PriceWatch(broker, self.session)
        self.startup_report: ReconciliationReport | None = None
        self.replayed: Replayed | None = None
        """What start-up read back from the log (from the latest day checkpoint)."""
        self._intake: dict[str, asyncio.Future[None]] = {}
        self._admissions: defaultdict[InstrumentKey, asyncio.Lock] = defaultdict(asyncio.Lock)
        """Per instrument, held by a signal from its risk checks until its order is in the
        book (:meth:`_in_turn`), so the checks that count the orders working there see it."""
        self._target_locks: defaultdict[InstrumentKey, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._target_orders: dict[tuple[InstrumentKey, str | None], str] = {}
        """The latest target order per instrument: the account's (None) and each strategy's
        own exit of its share."""
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
        try:
            await self.broker.start()
        except OrderDeskError:
            raise
        except Exception as exc:  # the adapter's own bug, or a library's under it
            log.debug("the broker adapter %r failed to start", self.broker.name, exc_info=exc)
            raise AdapterFailed(self.broker.name, exc) from exc
        self._session_started()
        self.replayed = replayed = replay(self.store, self.book, self.kill_switch)
        self.triggers.replay()
        log.info("replayed %d events into %d orders", replayed.events, len(self.book.orders))
        if self.days is not None:
            self.days.restore(replayed.day)
        acted = replayed.loss_limit_acted_at
        if acted is not None:
            # The loss limit engaged the kill switch before this process: released since by an
            # operator, it stays released (the events since the checkpoint are the open day's).
            self._loss_alerted.add((self.trading_day or acted.astimezone(IST).date(), ""))
        self._loss_alerted.update(self._loss_told(replayed.checkpoint_seq))
        if self.config.load_instruments and self.session.usable:
            await self._load_instruments()
        self._spawn(self.tracker.run_stream())
        for order in list(self.book.orders.values()):
            if order.status is OrderStatus.SUBMITTING:
                # Sent or not, nobody knows after a restart: an unknown outcome, and the answer
                # that was lost may have been "the order may still appear" (Doubt.INTERRUPTED).
                # Said as the log knows it: the answer may have come, and been told to the
                # strategy, in the moment before its commit (it rides with the next one).
                # Alerted as any unknown outcome, so its settling is told too.
                await self.placement.interrupted(
                    order, "the desk stopped before the broker's answer was recorded"
                )
            elif order.status is OrderStatus.MODIFY_PENDING and self.session.usable:
                # Its modify was on its way when the last process stopped: no answer comes to
                # this one, so the order's row at the broker settles it (not applied: alerted).
                await self.commands.settle_interrupted(order)
            elif self.autoslicer is not None and self.autoslicer.interrupted(order):
                # Its answer was lost with the last process: never sent again; children the
                # broker placed carry its tag, and reconciliation (below) adopts them.
                await self.autoslicer.stopped_while_sending(order)
        if self.days is not None:
            await self.days.catch_up()
        if self.session.usable and self._day_is_open():
            try:
                self.startup_report = await self.reconcile()
            except Exception as exc:
                await self._api_error("start-up reconciliation", exc)
                self._resolve_all()
        for resumed in replayed.exits:
            # After reconciliation: an exit that filled or was cancelled meanwhile ends at once.
            if resumed.started.order_id in self.book.orders:
                self._spawn(
                    self.exits.escalate(
                        OrderHandle(self, resumed.started.order_id),
                        recorded_policy(resumed.started),
                        reprices=resumed.reprices,
                    )
                )
        # After the exits' tasks, which know their orders as exits first thing: a sliced exit
        # goes on with the kill switch engaged, any other parent's slicing stops.
        for order in list(self.book.orders.values()):
            if (
                self.slicer.is_parent(order)
                and not self.slicer.complete(order)
                and self._of_today(order)
            ):
                self._spawn(self.slicer.continue_(order))
        # Ticks for what is held or working, so positions show unrealised P&L from the start.
        self._watch_prices()
        self._spawn(self.tracker.run_polling())
        self._spawn(self._clock_loop())
        if self.config.reconcile_interval:
            self._spawn(self._reconcile_loop(self.config.reconcile_interval))
        if self.config.trigger_interval:
            self._spawn(self._trigger_loop(self.config.trigger_interval))
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
        await self.news.close()
        await self.prices.close()
        self.subscribers.close()
        await self.broker.close()

    # -- intake --------------------------------------------------------------------------------

    async def submit(self, signal: Signal, *, exiting: bool = False) -> OrderHandle:
        """Place one signal; the same (strategy, signal id) again returns the same order.

        Raises :class:`~orderdesk.errors.RiskDenied` if a check refuses it, and
        :class:`~orderdesk.domain.errors.ValidationError` if the instrument's tick or lot size
        rules it out. A broker rejection is not raised: the handle shows ``REJECTED``.
        ``exiting``: the desk's own exit of a position, held to the checks an exit passes
        (``risk.EXIT_EXEMPT``).
        """
        self._check_running()
        signal, order_id = self._identify(signal)
        while True:
            existing = self.book.orders.get(order_id)
            if existing is not None:
                _same_signal(existing, signal)
                # While its first sending is on the wire, the same signal waits for the
                # broker's answer as the first does: returned now, it would read SUBMITTING as
                # if the broker were holding it back (a 429 returns the first at once).
                if not existing.deferred and order_id not in self._intake:
                    return OrderHandle(self, order_id)
            pending = self._intake.get(order_id)
            if pending is None:
                break
            await asyncio.shield(pending)
            if order_id not in self.book.orders:
                raise DeskClosed(f"{order_id} was not placed (see the first submission)")
        if existing is None and (earlier := self.history.order(order_id)) is not None:
            _same_signal(earlier, signal)
            return OrderHandle(self, order_id)  # the same signal, on an earlier day
        if existing is None and (made := self.book.made_from_unlogged.get(order_id)):
            assert signal.signal_id is not None  # identified above
            raise PlacedBeforeUnlogged(order_id, signal.signal_id, made)
        self._check_ready()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._intake[order_id] = future
        try:
            self._check_instrument(signal)
            # Held from the risk checks until the order is in the book, never across the
            # broker's call: the checks count the orders working in the instrument, and the
            # order enters the book only once its intent is written (an await), so two
            # reducing signals at one instant were both admitted against one position.
            admission = self._admissions[signal.instrument]
            await admission.acquire()
            try:
                await self._admit(signal, exiting=exiting)
            except BaseException:
                admission.release()
                raise
            if existing is not None:
                admission.release()  # in the book already
                await self.slicer.send_again(existing)
            else:
                await self._place(
                    order_id, signal, admitted=_once(admission.release), exiting=exiting
                )
        finally:
            del self._intake[order_id]
            future.set_result(None)
        if self.book.orders[order_id].deferred:
            # The broker refused the session on this very placement: nothing was placed.
            raise SessionExpired(self.session.info(self.clock.now()).reason)
        return OrderHandle(self, order_id)

    async def screen(self, signal: Signal) -> None:
        """Refuse now what :meth:`submit` would refuse, without placing or counting anything.

        For a signal that is about to wait (for an operator's approval): the session, the
        trading day, the instrument's rules and the risk gate are checked as ``submit`` checks
        them, and a denial is recorded and alerted the same way (``SignalDenied``,
        :class:`~orderdesk.errors.RiskDenied`). Passing promises nothing: ``submit`` checks
        again against the desk as it is then. Nothing is counted (the order rate counts the
        signal when it is submitted), and a signal that is already an order passes: ``submit``
        answers with that order.
        """
        self._check_running()
        signal, order_id = self._identify(signal)
        existing = self.book.orders.get(order_id) or self.history.order(order_id)
        if existing is not None:
            _same_signal(existing, signal)
            if not existing.deferred:
                return
        self._check_ready()
        self._check_instrument(signal)
        await self._admit(signal, record=False)

    async def submit_basket(self, signals: Sequence[Signal]) -> list[OrderHandle]:
        """Place several legs; hedges (buys) first, and sells only once the hedges stand.

        Every new leg passes the risk gate before any is placed, so a denial places nothing.
        If a hedge leg is rejected, the legs after it are not placed (:class:`BasketAborted`).
        """
        self._check_running()
        self._check_ready()
        legs = [self._identify(signal) for signal in basket_order(signals)]
        for signal, order_id in legs:
            if (existing := self.book.orders.get(order_id)) is not None:
                _same_signal(existing, signal)
            else:
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
        return await self._trade_to(
            instrument,
            lambda _current: quantity,
            product=product,
            strategy=strategy,
            order_type=order_type,
            price=price,
            signal_id=signal_id,
        )

    async def exit_position(
        self,
        instrument: InstrumentKey,
        *,
        product: Product,
        strategy: str | None = None,
        policy: ExitPolicy | None = None,
        cancel_working: bool = True,
    ) -> OrderHandle | None:
        """Close a position in ``instrument`` (``product``) with a (protected) market order,
        watched until it fills: re-priced within the band when it does not, then alerted
        (:mod:`orderdesk.engine.exits`; ``policy`` overrides the config's ``[exit]``). None when
        there is nothing to exit.

        ``strategy`` names whose position: that strategy's own share (its net quantity in its
        book, :meth:`strategy_books`, as ``GET /api/strategies`` shows it), never more than the
        broker holds on that side once the desk's other exits still working there have filled;
        the order is the strategy's, and the other strategies' shares are left alone. None, or
        the default strategy (what an exit naming none has always been booked to): the
        broker's whole position, the account flattened, under
        :data:`~orderdesk.domain.signal.ACCOUNT_EXIT_STRATEGY`, whose fills the books credit to
        the strategies that held the position, each its share (``attribution.is_account_exit``).
        Another name the desk gives its own orders is refused (``ValidationError``).

        A CNC sale out of the day's holdings is no short to cover: the exit leaves it (buying
        it back would be new exposure, not an exit).

        ``cancel_working`` (the default): first cancel the orders still working in
        ``instrument`` and ``product``, and wait until the broker has ended each (one that
        filled meanwhile is as good: the position is read from the broker after), so that a
        stop-loss left working cannot fill after the exit and open the opposite position. The
        account's exit cancels all of them; a strategy's exit only that strategy's own (the
        other strategies' orders stay working, as their shares do). An order that cannot be
        cancelled (its cancel failed, or it has not ended within ``leg_timeout``) places
        nothing and raises :class:`~orderdesk.errors.ExitBlocked` naming it.
        :meth:`exit_position_result` tells which orders were cancelled as well."""
        placed = await self.exit_position_result(
            instrument,
            product=product,
            strategy=strategy,
            policy=policy,
            cancel_working=cancel_working,
        )
        return placed.handle

    async def exit_position_result(
        self,
        instrument: InstrumentKey,
        *,
        product: Product,
        strategy: str | None = None,
        policy: ExitPolicy | None = None,
        cancel_working: bool = True,
    ) -> ExitPlaced:
        """:meth:`exit_position`, answered with the ids of the orders it cancelled first too
        (what the HTTP API and the CLI show)."""
        if strategy is not None and (reason := reserved_strategy(strategy)) is not None:
            raise ValidationError("strategy", reason)
        if strategy is not None and not STRATEGY_NAME.fullmatch(strategy):
            # As a signal's: a name no strategy can have has no share to exit.
            raise ValidationError("strategy", "must be 1 to 32 ASCII letters, digits, _ or -")
        held = self.book.positions.held.get(instrument) if product is Product.CNC else None
        holdings = held[0] if held else 0
        account = strategy is None or strategy == DEFAULT_STRATEGY
        cancelled: list[str] = []

        async def cancel_first() -> None:
            # Run by _trade_to under the instrument's lock, once the earlier exits there are
            # retired and before the broker's position is read.
            owner = None if account else strategy
            cancelled.extend(await self._cancel_working(instrument, product, owner))

        before = cancel_first if cancel_working else None
        if account:
            handle = await self._trade_to(
                instrument,
                lambda current: -min(max(-current, 0), holdings),
                product=product,
                strategy=ACCOUNT_EXIT_STRATEGY,
                exiting=True,
                before=before,
            )
        else:
            assert strategy is not None
            name = strategy
            left: list[int] = []

            def share_left(current: int) -> int:
                # Read under the instrument's lock, once its own earlier exit is over.
                room = _exitable(current, holdings)
                left.append(current - self._share_to_exit(instrument, product, name, room))
                return left[-1]

            handle = await self._trade_to(
                instrument,
                share_left,
                product=product,
                strategy=strategy,
                exiting=True,
                own=True,
                before=before,
            )
        exposed: tuple[str, ...] = ()
        if handle is None:
            # Nothing held: a mistyped instrument is said so, not "nothing to exit" (an exit
            # of a held one never waits on the list, which may have dropped it).
            self.master.rules_for(instrument)
        else:
            policy = policy or self.config.exit
            await self.exits.started(handle, policy)
            self._spawn(self.exits.escalate(handle, policy))
            if not account and left:
                exposed = await self._exposed_by_exit(handle.order, left[-1])
        return ExitPlaced(handle, tuple(cancelled), exposed)

    async def _exposed_by_exit(self, exit_order: Order, after: int) -> tuple[str, ...]:
        """Other strategies' orders working in ``exit_order``'s line on its side, beyond what
        the account holds ``after`` it: a strategy's exit capped at the account's position
        (others' shares offset its own) leaves them nothing to reduce, so each would open a
        position if it filled. Said in the exit's answer and alerted."""
        signal = exit_order.signal
        backing = max(after * -signal.side.sign, 0)  # what the account still holds for them
        working = [
            order
            for order in self.book.open_orders()
            if order.order_id != exit_order.order_id
            and order.signal.instrument == signal.instrument
            and order.signal.product is signal.product
            and order.signal.side is signal.side
            and order.signal.strategy != signal.strategy
        ]
        if sum(o.remaining_quantity for o in working) <= backing:
            return ()
        side = "short" if signal.side is Side.SELL else "long"
        exposed = tuple(
            f"{o.order_id} ({o.signal.strategy}: {o.signal.order_type} {o.signal.side} "
            f"{o.remaining_quantity})"
            for o in working
        )
        await self.alerts.raise_(
            Severity.WARNING,
            "Exit leaves orders without a position",
            f"{exit_order.order_id} exits {signal.strategy}'s {signal.instrument} "
            f"{signal.product} and leaves the account holding {abs(after)} on that side; these "
            f"orders of other strategies would open a {side} position if they filled: "
            f"{', '.join(exposed)}. Cancel them (`orderdesk cancel ID`) or exit those "
            "strategies too",
            key=f"exposed:{exit_order.order_id}",
            order_id=exit_order.order_id,
        )
        return exposed

    async def _cancel_working(
        self, instrument: InstrumentKey, product: Product, strategy: str | None
    ) -> list[str]:
        """Cancel the orders working in ``instrument`` and ``product`` (only ``strategy``'s,
        when given) side by side, and wait until each has ended; returns their ids. Raises
        :class:`~orderdesk.errors.ExitBlocked` naming those still working once every one has
        been tried (without a usable session, :class:`SessionExpired` before any is)."""
        orders = [
            order
            for order in self.book.open_orders()
            if order.signal.instrument == instrument
            and order.signal.product is product
            and (strategy is None or order.signal.strategy == strategy)
        ]
        if not orders:
            return []
        if any(order.is_working for order in orders):
            self._check_session()
        await self._stop_slicing(orders)
        results = await asyncio.gather(
            *(self._cancel_ended(order) for order in orders), return_exceptions=True
        )
        blocking: list[tuple[str, str]] = []
        for order, result in zip(orders, results, strict=True):
            if isinstance(result, BaseException):
                raise result
            if result is not None:
                blocking.append((order.order_id, result))
        if blocking:
            raise ExitBlocked(f"{instrument} {product}", blocking)
        return [order.order_id for order in orders]

    async def _cancel_ended(self, order: Order) -> str | None:
        """Cancel ``order`` and wait until it has ended (a fill meanwhile ends it too): None
        then, or why it is still working."""
        try:
            await self._cancel_one(order)
        except CommandRefused:
            pass  # it ended, or is ending, by itself: the wait below settles which
        except Exception as exc:
            if not order.is_terminal:
                return f"is still working: its cancel failed ({type(exc).__name__}: {exc})"
        timeout = self.config.leg_timeout
        try:
            await OrderHandle(self, order.order_id).wait(timeout=timeout)
        except TimeoutError:
            return f"is still {order.status} {timeout:g} s after its cancel was asked"
        return None

    def _share_to_exit(
        self, instrument: InstrumentKey, product: Product, strategy: str, room: int
    ) -> int:
        """The signed quantity ``strategy``'s exit takes away: its own position in the line
        (beyond what it sold out of the day's holdings), at most ``room``, what the account
        holds on that side; 0 when the account holds nothing there."""
        book = self.strategy_books(strategy).get(strategy)
        position = book.positions.positions.get((instrument, product)) if book else None
        own = position.quantity + position.from_holdings if position is not None else 0
        if own * room <= 0:
            return 0
        take = min(abs(own), abs(room))
        return take if own > 0 else -take

    async def convert_position(
        self, conversion: PositionConversion, *, operator: str = "api"
    ) -> None:
        """Convert a position between products at the broker; the desk's books follow once
        the broker has made it (:mod:`orderdesk.engine.conversions`). ``operator`` names who
        asked, for the log."""
        self._check_running()
        self._check_ready()
        await self.conversions.convert(conversion, operator=operator)

    async def _trade_to(
        self,
        instrument: InstrumentKey,
        target: Callable[[int], int],
        *,
        product: Product,
        strategy: str,
        order_type: OrderType = OrderType.MARKET,
        price: Decimal | None = None,
        signal_id: str | None = None,
        exiting: bool = False,
        own: bool = False,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> OrderHandle | None:
        """Place the difference between ``target(live)`` and the broker's ``live`` position
        (``exiting``: as the desk's exit, see :meth:`submit`).

        The account's order (``own`` False) first retires every earlier target order in the
        instrument. A strategy's ``own`` order (its exit of its share) retires only its own
        earlier one; the others still working there are counted as done, so ``live`` is what
        the broker will hold once they have filled, and two strategies' exits never take more
        than the account holds. ``before`` runs under the instrument's lock once those are
        retired, before ``live`` is read (an exit's cancel of the orders working there)."""
        self._check_running()
        async with self._target_locks[instrument]:
            mine = (instrument, strategy if own else None)
            for key, previous in list(self._target_orders.items()):
                if key == mine or (not own and key[0] == instrument):
                    await self._retire(previous, exiting=exiting)
            if before is not None:
                await before()
            live = await self.broker.positions()
            current = sum(
                p.quantity for p in live if p.instrument == instrument and p.product == product
            )
            if own:
                current += self._working_targets(instrument, product, but=mine)
            delta = target(current) - current
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
            handle = await self.submit(signal, exiting=exiting)
            self._target_orders[mine] = handle.order_id
            return handle

    def _working_targets(
        self, instrument: InstrumentKey, product: Product, *, but: tuple[InstrumentKey, str | None]
    ) -> int:
        """The signed quantity the target orders still working in the line (all but ``but``'s)
        have yet to fill: what they will move the broker's position by."""
        moving = 0
        for key, order_id in self._target_orders.items():
            order = self.book.orders.get(order_id)
            if key[0] != instrument or key == but or order is None:
                continue
            handle = OrderHandle(self, order_id)
            if order.signal.product is not product or handle.is_done:
                continue
            remaining = max(order.quantity - handle.filled_quantity, 0)
            moving += order.signal.side.sign * remaining
        return moving

    async def _reprice_exit(self, order_id: str, price: Decimal) -> None:
        await self.modify(order_id, price=price, order_type=OrderType.LIMIT, exiting=True)

    # -- commands ------------------------------------------------------------------------------

    async def modify(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
        exiting: bool = False,
    ) -> OrderHandle:
        """New terms for a working order (at most ``max_modifications`` times).

        The new terms are held to the instrument's tick and lot sizes and its freeze quantity
        (a modify is one order at the exchange, never sliced), and to the risk checks a
        modify passes (``risk.MODIFY_TERMS``: the kill switch, the size and value limits, the
        day's loss limit, the price band), as a new signal is; a denial is recorded and alerted
        and raises :class:`~orderdesk.errors.RiskDenied`. ``exiting``: a re-price of the
        desk's own exit, which passes the checks an exit passes (``risk.EXIT_EXEMPT``).
        Without a usable broker session it raises :class:`SessionExpired` before any check
        (the price band has no prices before the login) and records nothing.
        """
        order = self.order(order_id)
        if self.slicer.is_parent(order):
            # Named, so that the refusal says which orders to modify (at most 10: Kite's
            # autoslice cuts no more; the desk's slicing may).
            working = [c.order_id for c in self.slicer.children(order_id) if c.is_working]
            more = f" and {len(working) - 10} more" if len(working) > 10 else ""
            raise CommandRefused(
                order_id,
                "a sliced order is modified through its children: "
                + (f"modify {', '.join(working[:10])}{more}" if working else "none is working"),
            )
        if order.is_working:  # else the command refuses it for its state, naming that
            self._check_session()
            proposed = order.proposed(
                quantity=quantity, price=price, trigger_price=trigger_price, order_type=order_type
            )
            self._check_instrument(proposed)
            self._check_unsliced(proposed)
            screen = self.strategy_risk.screen_exit if exiting else self.strategy_risk.screen_modify
            denial = await screen(proposed, self.risk_context)
            if denial is not None:
                await self._denied(proposed, denial, what="Modify of " + order_id)
                raise denial
        await self.commands.modify(
            order,
            quantity=quantity,
            price=price,
            trigger_price=trigger_price,
            order_type=order_type,
        )
        return OrderHandle(self, order_id)

    async def cancel(self, order_id: str) -> OrderHandle:
        """Cancel a working order (a sliced one: every child still working, and no more).

        A cancel that must reach the broker raises :class:`SessionExpired` without a usable
        broker session, and records nothing; an order the broker's 429s hold back is
        withdrawn unsent, one whose placement is on the wire or unresolved is cancelled once
        the broker shows it, and an ended one is refused for its state.
        """
        order = self.order(order_id)
        sliced = self.book.is_parent(order)
        parts = self.children(order_id) if sliced else [order]
        if sliced and parts and (ended := parent_status(order, parts)) in TERMINAL:
            # Stopped, or all placed, and its children ended since: an ended order, refused.
            refusal = InvalidTransition(ended.value, Trigger.REQUEST_CANCEL.value)
            raise CommandRefused.by_state(order_id, refusal)
        if any((self._working_leg(part) or part).is_working for part in parts):
            self._check_session()
        if sliced:
            await self.slicer.stop(order, "cancelled: its remaining slices are not placed")
            await asyncio.gather(
                *(self._cancel_one(child) for child in self.children(order_id)),
                return_exceptions=False,
            )
        elif order.deferred:
            # Held for a login, never sent: withdrawn here, nothing to ask the broker. One sent
            # again meanwhile is no longer held, and is cancelled as any order on its way.
            now = self.clock.now()
            reason = "cancelled while held for a login"
            outcome = await self.recorder.decide(
                order, lambda o: o.withdraw(reason, now) if o.deferred else []
            )
            if not outcome.events:
                return await self.cancel(order_id)
        elif order.is_unresolved:
            await self._cancel_one(order)
        elif (leg := self._working_leg(order)) is not None:
            # A filled cover order lives on as its stop leg: cancelling that exits at market.
            await self.commands.cancel(leg)
        else:
            await self.commands.cancel(order)  # a finished order is refused, not ignored
            if order.status is OrderStatus.FILLED:
                # The cancel lost the race to a fill: the caller hears it as if it came after.
                refusal = InvalidTransition(order.status.value, Trigger.REQUEST_CANCEL.value)
                raise CommandRefused.by_state(order_id, refusal)
        return OrderHandle(self, order_id)

    async def cancel_all(self, *, strategy: str | None = None) -> list[str]:
        """Cancel every open order (of one strategy); returns the ids asked to cancel.

        Every order: a cover order's stop leg too, which exits that position at market, and a
        protective stop. The kill switch's cancel leaves those (:meth:`engage_kill_switch`).
        Orders the broker's 429s hold back are withdrawn unsent; those whose placement is on
        the wire or unresolved are cancelled as soon as the broker shows them.
        A failure to cancel one order is alerted and does not stop the others. Without a
        usable broker session, when a cancel would reach the broker, it raises
        :class:`SessionExpired` and cancels nothing.
        """
        orders = [
            o for o in self.book.open_orders() if strategy is None or o.signal.strategy == strategy
        ]
        if any(order.is_working for order in orders):
            self._check_session()
        # A parent between two slices has no child open for the cancel to reach: stopped too.
        slicing = [
            o
            for o in self.book.orders.values()
            if self.slicer.is_parent(o)
            and not self.slicer.complete(o)
            and (strategy is None or o.signal.strategy == strategy)
        ]
        for parent in slicing:
            await self.slicer.stop(parent, "cancelled with every open order")
        return await self._cancel_many(orders)

    async def engage_kill_switch(
        self, reason: str, *, cancel_open: bool = False, by_loss_limit: bool = False
    ) -> KillSwitchCancel:
        """Refuse every new order from now on (survives restarts); optionally cancel what is
        open, but the orders that can only reduce a position.

        With ``cancel_open``, every open order is cancelled except the protective ones (a
        cover order's stop leg, whose cancel would exit at market; the desk's own exit in
        progress; a stop that can only reduce a position held:
        :mod:`orderdesk.domain.protection`), which stay working. Orders the broker's 429s hold
        back unsent are withdrawn either way (but exits and protective ones). Returns the ids
        withdrawn or sent a cancel, and the orders kept, each with its reason.
        """
        if not self.kill_switch.engaged:
            self._kill_changes += 1
        self.kill_switch.engaged, self.kill_switch.reason = True, reason
        self.kill_switch.cancel = KillSwitchCancel()
        # The switch refuses new orders from now on: those the broker's 429s hold back were
        # admitted but never sent, so it refuses them too (their own tasks check it as well).
        withdrawn = [order.order_id for order in await self.placement.withdraw_refused()]
        await self.recorder.desk_event(
            KillSwitchChanged(
                at=self.clock.now(),
                engaged=True,
                reason=reason,
                cancel_open=cancel_open,
                by_loss_limit=by_loss_limit,
            )
        )
        await self.alerts.raise_(
            Severity.CRITICAL,
            "Kill switch engaged",
            reason or "no reason given",
            # Each change of the switch is news: never throttled as a repeat of an earlier one.
            key=f"kill:{self._kill_changes}",
        )
        await self._withdrawn_by_switch(withdrawn)
        if not cancel_open:
            self.kill_switch.cancel = KillSwitchCancel(tuple(withdrawn))
            return self.kill_switch.cancel
        open_orders = self.book.open_orders()
        kept = protective_orders(open_orders, self.book.positions, exits=self.exits.watches)
        keep = {k.order_id for k in kept}
        cancelled = withdrawn + await self._cancel_many(
            [o for o in open_orders if o.order_id not in keep]
        )
        if kept:
            # The loss limit engages it with nobody reading the answer: say what stays working.
            await self.alerts.raise_(
                Severity.WARNING,
                "Kill switch kept protective orders",
                "; ".join(f"kept {k.order_id}: {k.reason}" for k in kept),
                key="kill:kept",
            )
        # Kept on the switch: `GET /api/kill-switch` tells what the loss limit's engagement did,
        # which no caller reads, as an operator's engage answers it.
        self.kill_switch.cancel = KillSwitchCancel(tuple(cancelled), kept)
        return self.kill_switch.cancel

    async def _withdrawn_by_switch(self, order_ids: list[str]) -> None:
        """Say, once, which orders held back by the broker's 429s the switch withdrew."""
        if not order_ids:
            return
        await self.alerts.raise_(
            Severity.WARNING,
            HELD_NOT_SENT,
            f"the kill switch withdrew {len(order_ids)} order{'' if len(order_ids) == 1 else 's'}"
            f" held back by the broker's rate limit (429), never sent: {', '.join(order_ids)}",
            key=f"kill:{self._kill_changes}:withheld",
        )

    def _refused_while_held(self, order: Order) -> str | None:
        """Why ``order``, held back by the broker's 429s, is no longer sent: the kill switch
        engaged since it was admitted refuses new orders. None: it goes, as does any order
        while the switch is released, an exit of the desk's (the way out, never stopped by
        the switch) and a protective order (the switch's cancel keeps it too)."""
        refusal = self.kill_switch.refusal()
        if refusal is None or self._is_exit(order):
            return None
        protective = protective_orders(
            self.book.open_orders(), self.book.positions, exits=self.exits.watches
        )
        if any(kept.order_id == order.order_id for kept in protective):
            return None
        return f"{refusal}, which refuses new orders"

    def _is_exit(self, order: Order) -> bool:
        """Whether ``order`` is the desk's own exit: the account's, the square-off's, or a
        strategy's exit watched by the escalation (or a slice of one)."""
        return is_desk_exit(order) or self.exits.watches(order)

    async def release_kill_switch(self, reason: str = "") -> None:
        if self.kill_switch.engaged:
            self._kill_changes += 1
        # The release's reason is kept, as a restart reads it back from the log: `kill-switch
        # status` says why the switch is off as it says why it is on.
        self.kill_switch.engaged, self.kill_switch.reason = False, reason
        self.kill_switch.cancel = KillSwitchCancel()
        await self.recorder.desk_event(
            KillSwitchChanged(at=self.clock.now(), engaged=False, reason=reason)
        )
        await self.alerts.raise_(
            Severity.WARNING,
            "Kill switch released",
            reason or "no reason given",
            key=f"kill:{self._kill_changes}",
        )

    async def record_command(
        self, operator: str, command: str, outcome: str, params: str = ""
    ) -> None:
        """Write what an operator asked of the desk from outside the HTTP API (the Telegram
        bot) and what came of it, so the audit log names who did what."""
        await self.recorder.desk_event(
            OperatorCommandHandled(
                at=self.clock.now(),
                operator=operator,
                command=command,
                params=params,
                outcome=outcome,
            )
        )

    async def reconcile(self) -> ReconciliationReport:
        """Reconcile with the broker now; unresolved orders left over get their resolvers."""
        try:
            report = await self.reconciler.run()
        finally:
            self._resolve_all()
        # GTTs and alerts live at the broker: one fired or deleted there is noticed here.
        findings = await self.triggers.reconcile()
        if not findings:
            return report
        rows = tuple(ReconciliationRow(f"trigger_{f.state}", None, f.detail) for f in findings)
        return replace(report, rows=report.rows + rows)

    # -- queries -------------------------------------------------------------------------------

    async def flushed(self) -> None:
        """Return once the log holds every event the desk has applied: broker news rides with
        the next commit (``orderdesk.store.writer``), so a reader of the log that must find it
        awaits this first."""
        await self.recorder.journal.flushed()

    def order(self, order_id: str) -> Order:
        """An order of today, or of an earlier day (read back from the log)."""
        order = self.book.orders.get(order_id) or self.history.order(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    def has_order(self, order_id: str) -> bool:
        """Whether the desk holds ``order_id``, of today or of an earlier day."""
        return order_id in self.book.orders or self.history.order(order_id) is not None

    def handle(self, order_id: str) -> OrderHandle:
        self.order(order_id)
        return OrderHandle(self, order_id)

    def orders(self, *, open_only: bool = False, strategy: str | None = None) -> list[Order]:
        """Orders in creation order, optionally only those alive at the broker."""
        source = self.book.open_orders() if open_only else list(self.book.orders.values())
        return [o for o in source if strategy is None or o.signal.strategy == strategy]

    def _working_leg(self, order: Order) -> Order | None:
        """The working stop leg of a cover order whose entry has filled."""
        leg_id = self.book.legs.get(order.order_id)
        leg = self.book.orders.get(leg_id) if leg_id is not None else None
        if order.status is OrderStatus.FILLED and leg is not None and leg.is_working:
            return leg
        return None

    def children(self, order_id: str) -> list[Order]:
        """A sliced order's children (empty for any other order); an earlier day's parent's
        are read back from its day in the log."""
        if order_id in self.book.children or order_id in self.book.orders:
            return self.book.children_of(order_id)
        parent = self.history.order(order_id)
        if parent is None or parent.parent_id is not None or parent.broker_order_id is not None:
            return []  # only a parent, never an order at the broker, has children to read
        # A child carried into today is today's book's, as it is now.
        return [self.book.orders.get(c.order_id, c) for c in self.history.children(parent)]

    def positions(self) -> list[Position]:
        return list(self.book.positions)

    def day_positions(self) -> list[PositionSnapshot]:
        """Today's positions as the day's figures read them (see ``TradingDays.day_positions``;
        without days, as they stand)."""
        if self.days is not None:
            return self.days.day_positions()
        return [PositionSnapshot.of(p) for p in self.book.positions]

    def position(self, instrument: InstrumentKey, product: Product) -> Position:
        return self.book.positions.get(instrument, product)

    def day_pnl(self) -> Decimal:
        """Today's P&L: today's trades, and carried positions from the previous close; once
        the day has closed, as its close recorded it (the evening's and the next morning's
        ticks, before the login opens the next day, do not move it)."""
        if self.days is not None:
            return sum((p.pnl for p in self.days.day_positions()), Decimal(0))
        return self.book.positions.total_pnl()

    def loss_limits(self) -> tuple[Decimal | None, dict[str, Decimal]]:
        """The desk's daily loss limit (None: off) and each strategy's own, where set."""
        own = {
            strategy: limits.daily_loss_limit
            for strategy, limits in self._strategy_limits.items()
            if limits.daily_loss_limit is not None
        }
        return self.limits.daily_loss_limit, own

    def holdings(self) -> list[Holding]:
        """Delivered stock as the broker showed it when the day opened."""
        return list((self.book.holdings or {}).values())

    def strategy_books(self, strategy: str | None = None) -> dict[str, StrategyBook]:
        """Each strategy's orders and P&L from its own fills and its share of the positions
        carried into the day, from the previous close (CNC sales drawing on the day's
        holdings, the broker's square-off closing its intraday positions), marked at the last
        prices seen, or once the day has closed at the prices its close recorded (the
        evening's and the next morning's ticks moved the strategies while the day's total
        stood still); only ``strategy``'s when given."""
        calendar = self.config.days.calendar if self.config.days is not None else None
        book = self.book
        prices = book.last_prices
        if self.days is not None and self.days.state.closed:
            recorded = self.days.day_positions()
            prices = {**prices, **{p.instrument: p.last_price for p in recorded if p.last_price}}
        return attribute(
            book.orders.values(),
            prices,
            self.holdings(),
            calendar,
            strategy=strategy,
            carried=book.carried,
            shares=book.shares,
            conversions=book.conversions,
            now=self.clock.now(),
        )

    @property
    def trading_day(self) -> date | None:
        """The trading day the desk has open (None without days, or before the first)."""
        return self.days.day if self.days is not None else None

    def close_waits(self) -> bool:
        """Whether the open day's close is due and was missed: it waits for the broker (the
        day's figures are estimates until then)."""
        return self.days is not None and self.days.close_waits()

    def session_info(self) -> SessionInfo:
        return self.session.info(self.clock.now())

    def past_days(self) -> list[PastDay]:
        """Every trading day in the log, oldest first (today's included, if opened). Today's
        reads as not closed while it is open again (traded on after its close, in a segment
        whose session ends later: ``TradingDays`` closes it again then)."""
        days = list(self.history.days())  # a copy: the history's own list is not changed
        trading = self.days
        if days and trading is not None and not trading.state.closed:
            latest = days[-1]
            if latest.day == trading.day and latest.closed is not None:
                days[-1] = replace(latest, closed=None, closed_seq=None)
        return days

    def last_closed_day(self) -> date | None:
        """The trading day of the log's latest close (None before the first)."""
        stored = self.store.latest(DayClosed.__name__)
        if stored is None:
            return None
        closed = stored.event()
        assert isinstance(closed, DayClosed)
        return closed.day

    def day_orders(self, day: date) -> list[Order]:
        """The orders of trading day ``day`` as the log has them (today's: the live ones)."""
        if self.trading_day == day:
            return self.orders()
        past = self.history.day(day)
        return [] if past is None else self.history.orders(past)

    def past_orders(self, days: Collection[date]) -> dict[date, list[Order]]:
        """The orders of these earlier trading days, as the log has them (a day the log does
        not hold is left out). Reads the store only, so it may run on a worker thread: a
        day of 400 orders takes some 30 ms to read back, a year of them seconds."""
        return {
            past.day: self.history.orders(past)
            for past in self.history.days()
            if past.day in days and past.day != self.trading_day
        }

    def events(self, only: tuple[type[Event], ...] | None = None) -> AsyncIterator[Event]:
        """Every event recorded from now on (or those of the kinds in ``only``), as an async
        iterator (ends when the desk closes)."""
        return self.subscribers.subscribe(only)

    def changed(self, order_id: str) -> asyncio.Event:
        """Set at the next change of the order (or of one of its children)."""
        return self.recorder.changed(order_id)

    async def idle(self) -> None:
        """Wait until the broker news received so far is recorded (tests, benchmarks)."""
        await self.tracker.idle()

    async def catch_up(self) -> bool:
        """Read the broker's order and trade books now and apply what they say, without
        calling any of it a mismatch (what the desk does while the stream is down); False (and
        an alert) if the books could not be read."""
        return await self.tracker.poll_once()

    @property
    def stream_connected(self) -> bool:
        return self.tracker.stream_up

    # -- the session and the day ---------------------------------------------------------------

    async def renew_session(self, credentials: str, *, source: str = "api") -> SessionInfo:
        """A fresh broker session (the morning login) reaches the running desk.

        REST and the live stream switch to it at once (the stream's reconnection runs the
        gap-fill), the instrument list is read again, today's trading day opens if it is new,
        and the broker's books are reconciled. Signals refused meanwhile may be sent again.
        News of the new day (the gap-fill's, a postback's before the login) waits for the day
        to open and is recorded in it (see :mod:`orderdesk.engine.news`).
        """
        self._check_running()
        broker = self.broker
        if not isinstance(broker, SessionControl):
            raise CommandRefused("-", f"the {broker.name} broker has no session to renew")
        await broker.renew_session(credentials)
        now = self.clock.now()
        expires_at = broker.session_expiry(now)
        await self.recorder.desk_event(SessionRenewed(at=now, expires_at=expires_at, source=source))
        day_before = self.trading_day
        # Usable from here; the day opens right after, under the day lock, before the clock
        # loop (which would open it too) gets a turn: one opening, in the same place in the log.
        self.session.started(now, expires_at)
        opened = self.days is not None and await self.days.catch_up()
        # Told where its end was told (to the alert URLs), so that is not the last word there.
        told, self._session_end_told = self._session_end_told, False
        await self.alerts.raise_(
            Severity.WARNING if told else Severity.INFO,
            "Broker session renewed",
            f"a new session from {source} is in use"
            + (f" until {expires_at:%Y-%m-%d %H:%M %Z}" if expires_at else ""),
            key=f"session:{self.session.generation}",
        )
        if opened:
            await self._after_open()
        elif self.trading_day == day_before and self._day_is_open():
            # The same day goes on (a session refused mid-day): catch up with the broker. Not
            # an earlier day still waiting for its close: today's books are not its books.
            if self.days is None:
                await self._load_instruments()
            try:
                await self.reconcile()
            except Exception as exc:
                await self._api_error("reconciliation after the login", exc)
        return self.session_info()

    def _session_started(self) -> None:
        broker = self.broker
        now = self.clock.now()
        if not isinstance(broker, SessionControl):
            self.session.started(now, None)
        elif broker.has_session():
            self.session.started(now, broker.session_expiry(now))
        else:
            self.session.missing("nobody has logged in yet")

    def _check_ready(self) -> None:
        """Refuse a signal before anything is written when it cannot be placed now."""
        now = self._check_session()
        if not self._day_is_open(now):
            raise DayNotOpen(
                "today's trading day is not open yet: the broker's books could not be read "
                "(see the alerts); send the signal again shortly"
            )

    def _check_session(self) -> datetime:
        """Refuse what must reach the broker while there is no usable session, before it is
        checked or written: the answer is the login, not a check that needs the broker (no
        prices stream before the login). Returns the time it looked."""
        now = self.clock.now()
        self.session.check(now)
        if not self.session.usable:
            raise SessionExpired(self.session.info(now).reason)
        return now

    def _of_today(self, order: Order) -> bool:
        """Whether ``order`` was made in the trading day the clock is in. An earlier day's
        unfinished slicing is not continued: its day opening (the morning login) lapses it."""
        return self.days is None or self.days.today(order.created_at) == self.days.today()

    def _day_is_open(self, now: datetime | None = None) -> bool:
        return self.days is None or self.days.is_open(now)

    async def _clock_loop(self) -> None:
        """The session's expiry and the trading day's milestones, looked at on a short timer."""
        while True:
            await asyncio.sleep(self.config.clock_interval)
            try:
                await self._watch_session()
                if self.days is not None:
                    await self._act(await self.days.tick())
                self._watch_prices()
                await self._watch_loss()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the desk's clock loop failed; trying again")

    async def _watch_session(self) -> None:
        """Tell the session's coming end, its end, and a trading day that finds no session.

        With trading days kept, the words know the calendar: an end that falls on a day that
        does not trade names the morning the login is needed (a login on a holiday ends at
        06:00 the next day and cannot open the trading day after it), and is a warning, not an
        alarm; that morning, without a usable session, the desk reminds before the market opens
        and alarms at the opening (:meth:`SessionWatch.login_due`)."""
        now = self.clock.now()
        rules = self.config.days
        expires = self.session.warning_due(now)
        if expires is not None:
            ending = expires.astimezone(IST)
            next_login = (
                "log in again after that (`orderdesk login`) so the desk can open the next "
                "trading day"
            )
            if rules is not None and not rules.calendar.is_trading_day(ending.date()):
                next_login = login_morning(rules.calendar, ending.date())
            await self.alerts.raise_(
                Severity.WARNING,
                "Broker session ends soon",
                f"the session ends at {ending:%Y-%m-%d %H:%M} IST; {next_login}",
                key="session:warning",
            )
        self.session.check(now)
        reason = self.session.take_lost()
        if reason is not None:
            await self.recorder.desk_event(SessionLost(at=now, reason=reason))
            await self._session_ended(now, reason)
        if rules is not None:
            due = self.session.login_due(now, rules.calendar, remind_before=rules.login_reminder)
            if due is not None:
                await self._login_due(due)

    async def _session_ended(self, now: datetime, reason: str) -> None:
        """The one alert of this session's end (its stream's stop is not alerted apart); the
        next session's end is news again, whatever its reason."""
        key = f"session:{self.session.generation}"
        self._session_end_told = True
        # The broker's words may end with their own stop ("… `access_token`.").
        reason = reason.rstrip(".")
        refused = (
            "signals are refused (HTTP 503: the same signal succeeds after the login; one the "
            "broker refused as the session ended is held, not sent, until its signal is sent "
            "again)"
        )
        rules = self.config.days
        today = now.astimezone(IST).date()
        if rules is not None and not rules.calendar.is_trading_day(today):
            # Nothing trades today: the login is due on the next trading day's morning, which
            # is reminded and alarmed then if it has not come.
            await self.alerts.raise_(
                Severity.WARNING,
                "Broker session ended",
                f"{reason}; {login_morning(rules.calendar, today)}. Until a login, {refused}",
                key=key,
            )
            return
        await self.alerts.raise_(
            Severity.CRITICAL,
            "Broker session ended",
            f"{reason}; {refused} and the desk cannot follow the broker's orders until someone "
            "logs in: `orderdesk login` (the running desk takes the new session without a "
            "restart)",
            key=key,
        )

    async def _login_due(self, due: LoginDue) -> None:
        """A trading day without a usable session: the reminder before its market opens, the
        alarm at the opening; once a day each, keyed by the day."""
        why = self.session.reason or "no broker session"
        opens = due.opens.astimezone(IST)
        if due.call is LoginCall.REMINDER:
            await self.alerts.raise_(
                Severity.WARNING,
                "Log in before the market opens",
                f"{due.day:%a %Y-%m-%d} is a trading day and the desk has no broker session "
                f"({why}); the market opens at {opens:%H:%M} IST: run `orderdesk login` (the "
                "running desk takes the new session without a restart)",
                key=f"session:login:{due.day}",
            )
            return
        await self.alerts.raise_(
            Severity.CRITICAL,
            "Market open without a broker session",
            f"the market is open ({due.day:%a %Y-%m-%d}, since {opens:%H:%M} IST) and the desk "
            f"has no broker session ({why}): signals are refused and the desk cannot follow the "
            "broker's orders; run `orderdesk login` (the running desk takes the new session "
            "without a restart)",
            key=f"session:open:{due.day}",
        )

    async def _watch_loss(self) -> None:
        """Tell the moment the day's loss reaches its limit (the desk's, or a strategy's), and
        act as ``on_loss_limit`` says for the desk's. Once per crossing: a day back above the
        limit (with no kill switch engaged) re-arms it, so that a new crossing is told, and
        acted on, again; an operator's release of the switch the limit engaged would otherwise
        disarm the limit for the rest of the day.

        Each telling is logged (``LossLimitReached``) and read back at start, so a desk
        restarted that day does not tell it again while the loss is still past the limit; the
        next trading day is told afresh. Only a day seen above its limit with every open
        position priced in this process re-arms it: a restarted desk counts nothing unrealised
        on a position until its first tick, and the loss would read as recovered.

        A closed day is watched on its close's figures, which no later price moves: a loss
        first seen in the close (the broker's closing prices, a close the desk made late) is
        told and acted on as any other; else the next day opened with the switch released."""
        day = self._loss_day()
        priced = self._positions_priced()
        limit = self.limits.daily_loss_limit
        if limit is not None:
            pnl = self.day_pnl()
            if pnl > -limit:
                if priced and not self.kill_switch.engaged:
                    self._loss_alerted.discard((day, ""))
            elif (day, "") not in self._loss_alerted:
                self._loss_alerted.add((day, ""))
                await self._loss_limit_reached(day, pnl, limit)
        for strategy, limits in self._strategy_limits.items():
            own = limits.daily_loss_limit
            if own is None:
                continue
            book = self.strategy_books(strategy).get(strategy)
            if book is None or book.pnl > -own:
                if priced:
                    self._loss_alerted.discard((day, strategy))
            elif (day, strategy) not in self._loss_alerted:
                self._loss_alerted.add((day, strategy))
                await self.alerts.raise_(
                    Severity.CRITICAL,
                    "Strategy loss limit reached",
                    f"strategy {strategy}: the day's P&L {to_paise(book.pnl)} is at its loss "
                    f"limit of {own}; its new risk is refused, its orders that reduce a "
                    "position go",
                    key=f"loss:{strategy}",
                )
                await self._loss_limit_told(day, strategy, book.pnl, own)

    def _loss_day(self) -> date:
        """The trading day whose loss the limits watch (the calendar day without days)."""
        return self.trading_day or self.clock.now().astimezone(IST).date()

    def _positions_priced(self) -> bool:
        """Whether every open position has had a price since this process started."""
        prices = self.book.last_prices
        return all(p.instrument in prices for p in self.book.positions if p.quantity)

    def _loss_told(self, checkpoint_seq: int) -> set[tuple[date, str]]:
        """The loss limits (``""`` the desk's, else a strategy's) told today, as the log holds
        them since the day's checkpoint: start-up does not tell them again."""
        today = self._loss_day()
        told = (
            row.event()
            for row in self.store.read(kind=LossLimitReached.__name__, after=checkpoint_seq)
        )
        return {
            (event.day, event.strategy)
            for event in told
            if isinstance(event, LossLimitReached) and event.day == today
        }

    async def _loss_limit_told(
        self, day: date, strategy: str, pnl: Decimal, limit: Decimal
    ) -> None:
        """Log that a loss limit's alert was said (after it was: a log that cannot be written
        does not silence it, nor keep the kill switch from engaging)."""
        await self.recorder.desk_event(
            LossLimitReached(at=self.clock.now(), day=day, strategy=strategy, pnl=pnl, limit=limit)
        )

    async def _loss_limit_reached(self, day: date, pnl: Decimal, limit: Decimal) -> None:
        action = self.config.on_loss_limit
        what = {
            LossLimitAction.ALERT: "new risk is refused; orders that reduce a position go",
            LossLimitAction.KILL_SWITCH: (
                "the kill switch is engaged: no new orders, not even a strategy's reducing "
                "one; the desk's own exit (`orderdesk exit`, the dashboard's Exit) stays possible"
            ),
            LossLimitAction.KILL_SWITCH_AND_CANCEL: (
                "the kill switch is engaged and every open order is being cancelled but the "
                "stops that can only reduce a position; the desk's own exit (`orderdesk exit`, "
                "the dashboard's Exit) stays possible"
            ),
        }[action]
        await self.alerts.raise_(
            Severity.CRITICAL,
            "Daily loss limit reached",
            f"the day's P&L {to_paise(pnl)} is at the loss limit of {limit}: {what}",
            key="loss:desk",
        )
        if action is not LossLimitAction.ALERT:
            await self.engage_kill_switch(
                # Dated: the switch stays engaged into later days until someone releases it.
                f"the day's loss reached the limit of {limit} on {day} (P&L {to_paise(pnl)})",
                cancel_open=action is LossLimitAction.KILL_SWITCH_AND_CANCEL,
                by_loss_limit=True,
            )
        await self._loss_limit_told(day, "", pnl, limit)

    def _watch_prices(self) -> None:
        """Stream prices of whatever is held or working (orders adopted from the broker too),
        so positions are marked to market."""
        self.prices.want(self.book.open_by_instrument)
        self.prices.want(p.instrument for p in self.book.positions if p.quantity)

    async def _act(self, tick: DayTick) -> None:
        if tick.opened:
            await self._after_open()
        for due in tick.square_offs:
            await self._square_off(due)

    async def _after_open(self) -> None:
        """A new day is open: reconcile with the broker's fresh books, stream what is held."""
        try:
            await self.reconcile()
        except Exception as exc:
            await self._api_error("reconciliation at the day's open", exc)
        self._watch_prices()

    async def _square_off(self, due: SquareOffDue) -> None:
        """The desk's own square-off: cancel the segment's MIS/CO orders, exit its positions."""
        results = await asyncio.gather(
            *(self._cancel_one(order) for order in due.orders), return_exceptions=True
        )
        failed = [str(r) for r in results if isinstance(r, Exception)]
        for signal in due.exits:
            try:
                # An exit like any: through a kill switch the day's loss may have engaged.
                await self.submit(signal, exiting=True)
            except Exception as exc:
                failed.append(f"{signal.instrument} {signal.product}: {type(exc).__name__}: {exc}")
        cutoff = due.cutoff.astimezone(IST)
        await self.alerts.raise_(
            Severity.CRITICAL if failed else Severity.WARNING,
            "Squared off intraday positions",
            f"{due.segment}: {len(due.exits)} MIS/CO positions exited, {len(due.orders)} "
            f"orders cancelled ahead of the broker's square-off at {cutoff:%H:%M} IST"
            + (f"; failed: {'; '.join(failed)}" if failed else ""),
            key=f"square_off:{due.segment}",
        )

    # -- internals: intake ---------------------------------------------------------------------

    def _check_running(self) -> None:
        if not self._running:
            raise DeskClosed("the desk is not running; use `async with OrderDesk(...)`")

    def _identify(self, signal: Signal) -> tuple[Signal, str]:
        if signal.signal_id is None:
            signal = replace(signal, signal_id=uuid.uuid4().hex)
        assert signal.signal_id is not None
        return signal, client_order_id(signal.strategy, signal.signal_id)

    def _session_of(self, instrument: InstrumentKey) -> date:
        """The trading day an order in ``instrument`` placed now is for (see
        :meth:`TradingCalendar.session_of`)."""
        assert self.config.days is not None
        segment = SEGMENT_OF[instrument.exchange]
        return self.config.days.calendar.session_of(self.clock.now(), segment)

    def _check_instrument(self, signal: Signal) -> None:
        # Delivery (CNC) of an option is refused before anything is written: a broker that
        # took it would book the option as stock held. So is any product its exchange has not
        # (NRML on NSE stock reached the broker, which is no place to learn it).
        check_delivery("product", signal.instrument, signal.product)
        check_product("product", signal.instrument, signal.product)
        signal.check_disclosed_quantity()
        info = self.master.rules_for(signal.instrument)
        if info is not None:
            signal.check_tick_size(info.tick_size)
            signal.check_lot_size(info.lot_size)
            if self.autoslicer is not None and needs_slicing(signal, info.freeze_quantity):
                self.autoslicer.check(signal, info)

    def _check_unsliced(self, terms: Signal) -> None:
        """A modify changes one order at the exchange, which nothing slices: new terms above
        the freeze quantity are refused before they reach the broker (an autoslice child
        raised past it was taken by the simulator, and filled)."""
        info = self.master.rules_for(terms.instrument)
        if info is not None and needs_slicing(terms, info.freeze_quantity):
            raise ValidationError(
                "quantity",
                f"{terms.quantity} is above the freeze quantity of {terms.instrument} "
                f"({info.freeze_quantity}), and a modify is one order at the exchange: place "
                "the rest as a new order",
            )

    async def _admit(self, signal: Signal, *, record: bool = True, exiting: bool = False) -> None:
        denial = (
            await self.strategy_risk.screen_exit(signal, self.risk_context)
            if exiting
            else await self.strategy_risk.evaluate(signal, self.risk_context, record=record)
        )
        if denial is None:
            return
        await self._denied(signal, denial)
        raise denial

    async def _screen_trigger_order(self, signal: Signal) -> None:
        """Hold an order a GTT or an ATO would place to the checks of its own terms; a denial
        is recorded and alerted as a signal's is (the signal id names the leg)."""
        denial = await self.strategy_risk.screen_terms(signal, self.risk_context)
        if denial is not None:
            await self._denied(signal, denial)
            # The answer names the leg too, as the alert does: a GTT has two.
            raise RiskDenied(denial.check, f"{signal.signal_id}: {denial.reason}") from None

    async def _denied(self, signal: Signal, denial: RiskDenied, *, what: str = "Signal") -> None:
        await self.recorder.desk_event(
            SignalDenied(
                at=self.clock.now(), signal=signal, check=denial.check, reason=denial.reason
            )
        )
        await self.alerts.raise_(
            Severity.WARNING,
            f"{what} denied by {denial.check}",
            f"{signal.strategy} {signal.signal_id}: {signal.instrument} {signal.side} "
            f"{signal.quantity}: {denial.reason}",
            key=f"denied:{denial.check}",
        )

    async def _place(
        self,
        order_id: str,
        signal: Signal,
        *,
        admitted: Callable[[], None] | None = None,
        exiting: bool = False,
    ) -> OrderHandle:
        """Create the order and send it; ``admitted`` is called once the order is in the book
        (before it is sent), and at the latest when this returns or raises. ``exiting``: the
        desk's exit, whose slices the kill switch does not stop."""
        try:
            self.prices.want([signal.instrument])
            info = self.instruments.get(signal.instrument)
            if info is not None and needs_slicing(signal, info.freeze_quantity):
                if self.autoslicer is not None:
                    # One placement; the broker cuts it and its children are adopted as
                    # reported.
                    await self.autoslicer.send(order_id, signal, info, created=admitted)
                else:
                    await self.slicer.create_parent(
                        order_id, signal, created=admitted, exiting=exiting
                    )
            else:
                await self.slicer.create_and_send(order_id, signal, created=admitted)
        finally:
            if admitted is not None:
                admitted()
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

    async def _retire(self, order_id: str, *, exiting: bool = False) -> None:
        """Make sure an earlier target order is over before the next is computed.

        One that does not settle within ``leg_timeout`` (its placement still unresolved, so
        it may yet appear at the broker and fill; or not ended after its cancel) refuses the
        next order, naming it: :class:`~orderdesk.engine.exits.EarlierExitPending` for an
        exit (``exiting``), else :class:`CommandRefused`. Nothing new is placed."""
        handle = OrderHandle(self, order_id)
        if handle.is_done:
            return
        timeout = self.config.leg_timeout
        if not handle.is_resolved:
            try:
                await handle.wait(lambda h: h.is_resolved, timeout=timeout)
            except TimeoutError:
                raise self._not_retired(
                    handle,
                    f"is still {handle.status} {timeout:g} s on: its placement is unresolved",
                    exiting=exiting,
                    unresolved=True,
                ) from None
        if not handle.is_done:
            # Refused means it ended (or is ending) by itself; the wait below settles it.
            with contextlib.suppress(CommandRefused):
                await self.cancel(order_id)
            try:
                await handle.wait(timeout=timeout)
            except TimeoutError:
                raise self._not_retired(
                    handle,
                    f"is still {handle.status} {timeout:g} s after its cancel was asked",
                    exiting=exiting,
                    unresolved=not handle.is_resolved,
                ) from None

    @staticmethod
    def _not_retired(
        handle: OrderHandle, reason: str, *, exiting: bool, unresolved: bool
    ) -> OrderDeskError:
        """The refusal of an order whose earlier one in the line (``handle``) did not settle."""
        signal = handle.order.signal
        line = f"{signal.instrument} {signal.product}"
        if exiting:
            return EarlierExitPending(line, handle.order_id, reason, unresolved=unresolved)
        detail = (
            f"target order for {line} not placed: the earlier order {handle.order_id} there "
            f"{reason}; nothing new was placed. Check it with `orderdesk orders` and send the "
            "target again once it has ended"
        )
        return CommandRefused(handle.order_id, reason, message=detail)

    # -- internals: cancel, resolve, background ------------------------------------------------

    async def _cancel_many(self, orders: list[Order]) -> list[str]:
        """Cancel ``orders`` side by side; returns their ids. A failure is logged (and
        alerted by the command) and does not stop the others."""
        await self._stop_slicing(orders)
        results = await asyncio.gather(
            *(self._cancel_one(order) for order in orders), return_exceptions=True
        )
        for order, result in zip(orders, results, strict=True):
            if isinstance(result, Exception):
                log.warning("cancel of %s failed: %s", order.order_id, result)
        return [order.order_id for order in orders]

    async def _stop_slicing(self, orders: list[Order]) -> None:
        """No more children are cut from the parents of ``orders``, which are being
        cancelled: at once, then recorded, so that no restart places the rest."""
        parents = {order.parent_id for order in orders if order.parent_id is not None}
        self.slicer.stopped.update(parents)
        for parent_id in parents:
            parent = self.book.orders.get(parent_id)
            if parent is not None:
                reason = "its slices were cancelled: the remaining ones are not placed"
                await self.slicer.stop(parent, reason)

    async def _cancel_one(self, order: Order) -> None:
        if order.is_terminal:
            return
        if await self.placement.withdraw(order, HELD_CANCELLED):
            return  # held back by the broker's 429s between sends: never sent now
        if order.is_unresolved or order.status is OrderStatus.INITIALIZED:
            # On the wire, or unknown: cancelled once the broker's answer or book shows it.
            self.placement.cancel_when_found.add(order.order_id)
            return
        await self.commands.cancel(order)

    def _resolve_all(self) -> None:
        for order in self.book.orders.values():
            if order.is_unresolved:
                self.placement.resolve_later(order)

    async def _reconcile_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if not self.session.usable:
                continue  # nothing to read until a login: the session's alert said so
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._api_error("reconciliation", exc)

    async def _trigger_loop(self, interval: float) -> None:
        """Read the broker's GTTs and alerts while one of the desk's is live (one request a
        kind, each ``interval``), so what fired is told in seconds, not at reconciliation."""
        while True:
            await asyncio.sleep(interval)
            if not self.triggers.listing(active_only=True) or not self.session.usable:
                continue
            try:
                await self.triggers.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._api_error("reading GTTs and alerts", exc)

    async def _load_instruments(self) -> None:
        try:
            await self.master.refresh()
        except Exception as exc:
            await self._api_error("loading instruments (no freeze-quantity slicing)", exc)

    async def _api_error(self, what: str, exc: BaseException) -> None:
        if isinstance(exc, BrokerAuthError):
            # The refusal ends the session; the clock loop tells it once ("Broker session
            # ended", with what to do). A session already known to be over is told already.
            self.session.refused(f"{what}: {exc}", self.clock.now())
            return
        await self.alerts.raise_(
            Severity.WARNING,
            "Broker API error",
            f"{what} failed: {type(exc).__name__}: {exc}",
            key=f"api:{what}",
        )

    async def _cancel_if_asked(self, order: Order) -> None:
        """An order given up as not placed and taken back (the broker had it after all) is
        cancelled now if its cancel was asked while its placement was unresolved, as it is for
        an order found in time (``Placement.cancel_when_found``), or if the kill switch is
        engaged: given up, it was no open order for the switch to cancel, and it is one the
        switch would refuse now. A protective one stays, as the switch's own cancel keeps it."""
        if not order.is_working:
            return
        asked = order.order_id in self.placement.cancel_when_found
        self.placement.cancel_when_found.discard(order.order_id)
        if asked:
            why = "its cancel, asked while its placement was unresolved,"
        elif self.kill_switch.engaged and not protective_orders(
            [order], self.book.positions, exits=self.exits.watches
        ):
            why = "the kill switch being engaged, its cancel"
        else:
            return
        try:
            await self.commands.cancel(order)
        except OrderDeskError as error:  # refused (ended meanwhile) or the session is gone
            await self.alerts.raise_(
                Severity.CRITICAL,
                "Cancel not carried out",
                f"{order.order_id} was taken back live at the broker; {why} could not be sent "
                f"({error}): cancel it now",
                key=f"taken_back_cancel:{order.order_id}",
                order_id=order.order_id,
            )
            return
        if not asked:
            await self.alerts.raise_(
                Severity.WARNING,
                "Order taken back cancelled",
                f"{order.order_id} was taken back live at the broker while the kill switch is "
                "engaged: its cancel is sent",
                key=f"taken_back_cancel:{order.order_id}",
                order_id=order.order_id,
            )

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _exitable(current: int, holdings: int) -> int:
    """What an exit may take from the account's ``current`` position in a line: all of a
    long, and of a short what the day's ``holdings`` (CNC) do not cover."""
    return current if current > 0 else -max(-current - holdings, 0)


def _same_signal(order: Order, signal: Signal) -> None:
    """Refuse ``signal`` if the order its id already made was another signal
    (:class:`SignalIdReused`): answering it with that order would drop it silently."""
    if order.signal == signal:
        return
    # One of the desk's adopted under its tag (a log restored from an older backup) is held to
    # the terms an adoption keeps: the signal proves its (strategy, signal id) by the tag.
    differing = recovered_terms_differing(order, signal)
    if differing == []:
        return
    if differing is None:
        differing = differing_terms(order.signal, signal)
    assert signal.signal_id is not None  # identified before it is looked up
    raise SignalIdReused(order.order_id, signal.signal_id, differing)


def _once(action: Callable[[], None]) -> Callable[[], None]:
    """``action`` to be called at most once, however often the result is called."""
    done = False

    def call() -> None:
        nonlocal done
        if not done:
            done = True
            action()

    return call


__all__ = ["OrderDesk"]
