"""The engine's :class:`~orderdesk.engine.OrderDesk` fitted to the API's :class:`DeskService`.

The engine answers commands with live ``OrderHandle`` views and ids; the API renders orders.
This is the one place that knows both shapes, so either side can change its own freely.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Protocol, TypeVar, runtime_checkable

from orderdesk.api.desk import (
    DayRecord,
    KillSwitchState,
    LossLimits,
    PositionExit,
    ReconcileFinding,
    ReconcileRecord,
    ReconcileSummary,
    SessionStatus,
)
from orderdesk.api.errors import NoBrokerSession
from orderdesk.doctor import Check, Diagnosis, Facts, Market, Storage, assess, reconciliation
from orderdesk.domain.attribution import StrategyBook
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.day import Holding, PositionSnapshot
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.events import (
    Event,
    PositionConverted,
    ReconciliationCompleted,
    ReconciliationMismatch,
)
from orderdesk.domain.order import Order
from orderdesk.domain.position import Position
from orderdesk.domain.reports import Charges, MarginsReport, OrderStatusReport
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side
from orderdesk.engine import OrderDesk
from orderdesk.engine.config import ExitPolicy
from orderdesk.engine.errors import CommandRefused
from orderdesk.engine.session import SessionInfo
from orderdesk.errors import BrokerAuthError, BrokerError, NotOffered, StoreError
from orderdesk.ports.broker import (
    ChargesSource,
    ConnectionState,
    HoldingsAuthorisation,
    HoldingsAuthoriser,
    HoldingsSource,
)
from orderdesk.ports.preflight import AnyHourSource, PreflightSource, Verdict
from orderdesk.ports.store import VerifyReport

_T = TypeVar("_T")

MAX_FINDINGS = 20
"""The differences of the latest reconciliation the dashboard is shown (the log has all)."""

PREFLIGHT_SECONDS = 15.0
"""How long the doctor waits for the broker's pre-flight: well within the CLI's 60 s, so a
broker that does not answer is reported as the broker's, not as a desk that did not answer."""


@runtime_checkable
class _Sequenced(Protocol):
    """Both stores know their newest seq; reading the latest events starts just before it."""

    def last_seq(self) -> int: ...


class EngineDesk:
    """A :class:`~orderdesk.api.desk.DeskService` over a running ``OrderDesk``."""

    def __init__(
        self, desk: OrderDesk, *, storage: Callable[[date | None], Storage | None] | None = None
    ) -> None:
        self._desk = desk
        self._storage = storage
        """Told the last closed day, says where the log lives and how it is backed up (the
        doctor's disk and backup checks); None: not known here."""
        self._reconciled: tuple[int, ReconcileRecord] | None = None
        """The latest reconciliation read back, by its seq (the health panel asks often)."""
        self.triggers = desk.triggers
        """The desk's GTTs and price alerts (the ``/api/gtt`` and ``/api/price-alerts``
        routes use them as they are)."""

    async def submit(self, signal: Signal) -> Order:
        return (await self._desk.submit(signal)).order

    async def screen(self, signal: Signal) -> None:
        await self._desk.screen(signal)

    async def modify(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
    ) -> Order:
        handle = await self._desk.modify(
            order_id,
            quantity=quantity,
            price=price,
            trigger_price=trigger_price,
            order_type=order_type,
        )
        return handle.order

    async def cancel(self, order_id: str) -> Order:
        return (await self._desk.cancel(order_id)).order

    async def cancel_all(self) -> Sequence[Order]:
        return [self._desk.order(order_id) for order_id in await self._desk.cancel_all()]

    async def exit_position(
        self,
        instrument: InstrumentKey,
        *,
        product: Product,
        strategy: str,
        reprice_after: float | None = None,
        max_reprices: int | None = None,
        band_percent: Decimal | None = None,
        cancel_working: bool = True,
    ) -> PositionExit:
        base = self._desk.config.exit
        policy = ExitPolicy(
            reprice_after=base.reprice_after if reprice_after is None else reprice_after,
            max_reprices=base.max_reprices if max_reprices is None else max_reprices,
            band_percent=base.band_percent if band_percent is None else band_percent,
        )
        placed = await self._desk.exit_position_result(
            instrument,
            product=product,
            strategy=strategy,
            policy=policy,
            cancel_working=cancel_working,
        )
        handle = placed.handle
        order = None if handle is None else handle.order
        return PositionExit(order, placed.cancelled, placed.exposed)

    def orders(self) -> Sequence[Order]:
        return self._desk.orders()

    def order(self, order_id: str) -> Order:
        return self._desk.order(order_id)  # OrderNotFound is a LookupError

    def children(self, order_id: str) -> Sequence[Order]:
        return self._desk.children(order_id)

    def positions(self) -> Sequence[Position]:
        return self._desk.positions()

    def day_positions(self) -> Sequence[PositionSnapshot]:
        return self._desk.day_positions()

    def settled_contracts(self) -> Collection[InstrumentKey]:
        days = self._desk.days
        return days.settled() if days is not None else frozenset()

    def strategies(self) -> Mapping[str, StrategyBook]:
        return self._desk.strategy_books()

    def loss_limits(self) -> LossLimits:
        limit, strategies = self._desk.loss_limits()
        return LossLimits(limit=limit, day_pnl=self._desk.day_pnl(), strategies=strategies)

    def kill_switch(self) -> KillSwitchState:
        switch = self._desk.kill_switch
        return KillSwitchState(
            engaged=switch.engaged,
            reason=switch.reason,
            cancelled=switch.cancel.cancelled,
            kept=switch.cancel.kept,
        )

    async def set_kill_switch(
        self, engaged: bool, reason: str, *, cancel_open: bool = False
    ) -> KillSwitchState:
        if not engaged:
            await self._desk.release_kill_switch(reason)
        else:
            await self._desk.engage_kill_switch(reason, cancel_open=cancel_open)
        return self.kill_switch()

    def broker_connection(self) -> ConnectionState | None:
        # The engine tracks only up/down; the finer states stay inside the adapter.
        return (
            ConnectionState.CONNECTED
            if self._desk.stream_connected
            else ConnectionState.DISCONNECTED
        )

    def subscribe(self) -> AsyncIterator[Event]:
        return self._desk.events()

    async def reconcile(self) -> ReconcileSummary:
        report = await self._desk.reconcile()
        return ReconcileSummary(
            findings=tuple(ReconcileFinding(r.kind, r.order_id, r.detail) for r in report.rows),
            orders_checked=report.orders_checked,
            trades_checked=report.trades_checked,
            positions_checked=report.positions_checked,
        )

    def session(self) -> SessionStatus:
        return _status(self._desk.session_info())

    async def renew_session(self, access_token: str) -> SessionStatus:
        try:
            info = await self._desk.renew_session(access_token, source="api")
        except CommandRefused as exc:
            # The engine refuses it as a command on no order ("order -: ..."); say it plainly.
            raise NoBrokerSession(exc.detail) from None
        return _status(info)

    def now(self) -> datetime:
        return self._desk.clock.now()

    def _market(self) -> Market | None:
        """NSE's market now, by the desk's calendar (None without trading days); open with no
        end to a broker taking orders at any hour."""
        days = self._desk.days
        if days is None:
            return None
        broker = self._desk.broker
        if isinstance(broker, AnyHourSource) and broker.takes_orders_at_any_hour():
            return Market(open=True, until=None)
        is_open, until = days.calendar.market_until(self.now())
        return Market(open=is_open, until=until)

    def trading_day(self) -> date | None:
        return self._desk.trading_day

    def close_waits(self) -> bool:
        return self._desk.close_waits()

    def days(self) -> Sequence[DayRecord]:
        history, today = self._desk.history, self._desk.trading_day
        # The open day's orders are the desk's own: counted as they are, never from the log.
        return [
            DayRecord(
                past.opened,
                past.closed,
                None if past.day == today else history.order_count(past),
            )
            for past in self._desk.past_days()
        ]

    def day_orders(self, day: date) -> Sequence[Order]:
        return self._desk.day_orders(day)

    async def orders_of_days(self, days: Sequence[date]) -> list[Sequence[Order]]:
        today = self._desk.trading_day
        earlier = {day for day in days if day != today}
        # A worker thread: reading a day back costs some 30 ms per 400 orders, a year seconds,
        # and the loop carries every strategy's signals meanwhile (the GIL is shared, but the
        # loop gets its turn every switch interval instead of waiting for the whole read).
        past = await asyncio.to_thread(self._desk.past_orders, earlier) if earlier else {}
        return [self._desk.orders() if day == today else past.get(day, []) for day in days]

    def day_conversions(self, day: date | None) -> Sequence[PositionConverted]:
        after, before = 0, None
        if day is not None:
            past = self._desk.history.day(day)
            if past is None:
                return []
            after, before = past.first_seq, past.end_seq
        # Found by the (type, seq) index: a day's few rows, not the day read back.
        rows = self._desk.store.read(kind=PositionConverted.__name__, after=after, before=before)
        return [event for row in rows if isinstance(event := row.event(), PositionConverted)]

    def holdings(self) -> Sequence[Holding]:
        broker = self._desk.broker
        if not isinstance(broker, HoldingsSource):
            # An empty list would read as "holds nothing"; the truth is "cannot know".
            raise NotOffered(broker.name, "holdings")
        return self._desk.holdings()

    async def authorise_holdings(
        self, quantities: Mapping[InstrumentKey, int | None]
    ) -> HoldingsAuthorisation:
        broker = self._desk.broker
        if not isinstance(broker, HoldingsAuthoriser):
            raise NotOffered(broker.name, "holdings authorisation")
        opening = {h.instrument: h.total for h in self._desk.holdings()}
        wanted: dict[InstrumentKey, int] = {}
        for instrument, quantity in quantities.items():
            # A mistyped symbol is the desk's to refuse, naming it, as a signal's is: the
            # broker was asked, and answered in its own words.
            try:
                self._desk.master.rules_for(instrument)
            except ValidationError as exc:
                raise ValidationError("holdings", exc.reason) from None
            if quantity is None and not opening.get(instrument):
                raise ValidationError("holdings", f"{instrument} is not in today's holdings")
            wanted[instrument] = quantity if quantity is not None else opening[instrument]
        return await self._asking("authorising holdings", broker.authorise_holdings(wanted))

    async def convert_position(
        self,
        instrument: InstrumentKey,
        old: Product,
        new: Product,
        *,
        quantity: int | None,
        overnight: bool,
    ) -> PositionConversion:
        position = next(
            (p for p in self._desk.positions() if p.instrument == instrument and p.product is old),
            None,
        )
        if position is None or not position.quantity:
            raise ValidationError("instrument", f"no {old} position in {instrument} to convert")
        side = Side.BUY if position.quantity > 0 else Side.SELL
        if quantity is None:
            quantity = position.convertible(side=side, overnight=overnight)
            if not quantity:
                kind = "carried" if overnight else "today's"
                hint = position.overnight_hint(side, overnight)
                raise ValidationError(
                    "quantity", f"the {old} position in {instrument} has no {kind} quantity{hint}"
                )
        conversion = PositionConversion(
            instrument=instrument,
            side=side,
            quantity=quantity,
            old_product=old,
            new_product=new,
            overnight=overnight,
        )
        await self._desk.convert_position(conversion, operator="api")
        return conversion

    async def doctor(self, *, placed_today: int = 0) -> Diagnosis:
        desk = self._desk
        broker = desk.broker
        preflight, unanswered = None, None
        if isinstance(broker, PreflightSource):
            try:
                async with asyncio.timeout(PREFLIGHT_SECONDS):
                    preflight = await broker.preflight()
            except TimeoutError:
                unanswered = (
                    f"the broker did not answer the doctor's checks within {PREFLIGHT_SECONDS:g} s"
                )
            else:
                counted = preflight.rate.today
                if counted is not None and placed_today > counted:
                    # Refused placements count at the broker but are in no book it lists.
                    rate = replace(preflight.rate, today=placed_today)
                    preflight = replace(preflight, rate=rate)
                if preflight.verdict is Verdict.SESSION_REFUSED:
                    # As a refusal of the desk's own calls does: the session line says so now.
                    desk.session.refused(f"doctor: {preflight.answer}", desk.clock.now())
        last = desk.reconciler.last
        switch = desk.kill_switch
        storage, event_log = None, self.event_log_problem()
        if self._storage is not None:
            try:
                storage = self._storage(desk.last_closed_day())
            except StoreError as exc:  # the log cannot be read: a failing check, not an error
                event_log = event_log or str(exc)
        return assess(
            Facts(
                broker=broker.name,
                preflight=preflight,
                session=desk.session_info(),
                stream_connected=desk.stream_connected,
                reconciled=None if last is None else (last[0], len(last[1].rows)),
                kill_switch=switch.reason if switch.engaged else None,
                now=self.now(),
                storage=storage,
                event_log=event_log,
                holidays_missing=desk.days.holidays_missing() if desk.days is not None else None,
                broker_unanswered=unanswered,
                market=self._market(),
                loss_limit=desk.limits.daily_loss_limit,
                day_pnl=desk.day_pnl(),
                reconcile_failure=desk.reconciler.failure,
                reconcile_interval=desk.config.reconcile_interval,
            )
        )

    def reconciliation_failing(self) -> Check | None:
        reconciler = self._desk.reconciler
        if reconciler.failure is None:
            return None
        last = reconciler.last
        return reconciliation(
            None if last is None else (last[0], len(last[1].rows)),
            reconciler.failure,
            self._desk.config.reconcile_interval,
            session_usable=self._desk.session_info().usable,
            now=self.now(),
        )

    def recent_events(self, limit: int) -> Sequence[Event]:
        store = self._desk.store
        after = max(0, store.last_seq() - limit) if isinstance(store, _Sequenced) else 0
        rows = store.read(after=after)
        if after == 0:
            # A store that cannot say where it ends is read through; only the tail is kept.
            return [row.event() for row in _tail(rows, limit)]
        return [row.event() for row in islice(rows, limit)]

    async def order_events(self, order_id: str) -> Sequence[Event]:
        await self._desk.flushed()
        return [row.event() for row in self._desk.store.read(stream=order_id)]

    async def margins(self) -> MarginsReport:
        return await self._asking("reading funds", self._desk.broker.margins())

    async def order_charges(self, reports: Sequence[OrderStatusReport]) -> list[Charges]:
        broker = self._desk.broker
        if not isinstance(broker, ChargesSource):
            raise NotOffered(broker.name, "charges")
        if not reports:
            return []
        charges = await self._asking("reading charges", broker.order_charges(reports))
        if len(charges) != len(reports):
            raise BrokerError(
                f"the broker's calculator answered {len(charges)} charges for {len(reports)} orders"
            )
        return charges

    async def _asking(self, what: str, call: Awaitable[_T]) -> _T:
        """``call`` to the broker for a request; its refusal of the session ends the desk's
        session, as a refusal of the desk's own calls does (the first refusal ends it), so
        `orderdesk session` and the health panel say so at once, not at the next poll."""
        try:
            return await call
        except BrokerAuthError as exc:
            self._desk.session.refused(f"{what}: {exc}", self._desk.clock.now())
            raise

    def last_reconciliation(self) -> ReconcileRecord | None:
        store = self._desk.store
        stored = store.latest(ReconciliationCompleted.__name__)
        if stored is None:
            return None
        if self._reconciled is not None and self._reconciled[0] == stored.seq:
            return self._reconciled[1]
        completed = stored.event()
        assert isinstance(completed, ReconciliationCompleted)
        ran = self._desk.reconciler.last
        if ran is not None and len(ran[1].rows) == completed.mismatches and ran[0] >= completed.at:
            # This process's run: its own rows. An adoption the news path records as it
            # happens may land in the log after the run's completion, so the log's tail
            # before it would show an older run's finding in its place.
            findings = [ReconcileFinding(r.kind, r.order_id, r.detail) for r in ran[1].rows]
            del findings[MAX_FINDINGS:]
        else:
            findings = self._logged_findings(stored.seq, completed.mismatches)
        record = ReconcileRecord(
            at=completed.at,
            orders_checked=completed.orders_checked,
            trades_checked=completed.trades_checked,
            mismatches=completed.mismatches,
            findings=tuple(findings),
        )
        self._reconciled = (stored.seq, record)
        return record

    def _logged_findings(self, seq: int, mismatches: int) -> list[ReconcileFinding]:
        """A run's differences as the log holds them: recorded just before its completion
        (``seq``), older runs' further back, so the last ``mismatches`` before it."""
        wanted = min(mismatches, MAX_FINDINGS)
        rows = self._desk.store.read(kind=ReconciliationMismatch.__name__, before=seq)
        findings = []
        for row in _tail(rows, wanted) if wanted else ():
            event = row.event()
            assert isinstance(event, ReconciliationMismatch)
            findings.append(ReconcileFinding(event.kind, event.order_id, event.detail))
        return findings

    def event_log_problem(self) -> str | None:
        # The SQL store keeps its last failed append (or read) until one succeeds; a store
        # that cannot fail so (in memory) has no such attribute.
        failure = getattr(self._desk.store, "failure", None)
        return failure if isinstance(failure, str) else None

    def verify_log(self) -> VerifyReport:
        return self._desk.store.verify()

    async def record_command(
        self, operator: str, command: str, outcome: str, params: str = ""
    ) -> None:
        await self._desk.record_command(operator, command, outcome, params)


def _tail(items: Iterable[_T], count: int) -> list[_T]:
    return list(deque(items, maxlen=count))


def _status(info: SessionInfo) -> SessionStatus:
    return SessionStatus(
        state=info.state.value,
        expires_at=info.expires_at,
        since=info.since,
        reason=info.reason,
    )


__all__ = ["EngineDesk"]
