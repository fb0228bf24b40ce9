"""An in-memory desk for the API tests: real domain orders, no broker, no event log.

It implements :class:`orderdesk.api.desk.DeskService` with the domain's own decisions
(``Order.submit``, ``on_report``, ``on_fill``…), so the API sees orders exactly as the engine
would shape them; the test drives the "broker" side with :meth:`FakeDesk.fill` and
:meth:`FakeDesk.tick`, the session with :meth:`FakeDesk.lose_session`, and the log's earlier
trading days with :meth:`FakeDesk.open_day` and :meth:`FakeDesk.close_day`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

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
from orderdesk.doctor import Check, Diagnosis, Facts, assess
from orderdesk.domain import (
    BrokerStatus,
    Event,
    Fill,
    InstrumentKey,
    KillSwitchChanged,
    Order,
    OrderEvent,
    OrderStatusReport,
    OrderType,
    Position,
    PositionBook,
    Product,
    Side,
    Signal,
    SignalDenied,
    ValidationError,
    client_order_id,
)
from orderdesk.domain.attribution import StrategyBook, attribute
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.day import Holding, PositionSnapshot
from orderdesk.domain.events import (
    DayClosed,
    DayOpened,
    OperatorCommandHandled,
    PositionConverted,
)
from orderdesk.domain.reports import Charges, MarginsReport, SegmentMargins
from orderdesk.engine.errors import DayNotOpen, SessionExpired
from orderdesk.engine.session import SessionInfo, SessionState
from orderdesk.errors import NotOffered, RiskDenied, StoreError
from orderdesk.ports.broker import ConnectionState, HoldingsAuthorisation
from orderdesk.ports.store import VerifyReport
from tests.api.fake_triggers import FakeTriggers

log = logging.getLogger(__name__)


class UnknownOrderError(LookupError):
    pass


class FakeDesk:
    """Orders open at once and fill when the test says so; the kill switch denies signals."""

    def __init__(self, *, max_quantity: int = 10_000) -> None:
        self._orders: dict[str, Order] = {}
        self.exits: list[dict[str, object]] = []
        self.conversions: list[PositionConversion] = []
        self.findings: list[ReconcileFinding] = []
        self._positions = PositionBook()
        self._kill = KillSwitchState(engaged=False)
        self.loss_limit: Decimal | None = None
        self.strategy_loss_limits: dict[str, Decimal] = {}
        self._queues: set[asyncio.Queue[Event | None]] = set()
        self._broker_ids = itertools.count(250101000000001)
        self._trade_ids = itertools.count(1)
        self._signals = itertools.count(1)
        self.max_quantity = max_quantity
        self.log_unwritable: str | None = None
        self.reject_with: str | None = None
        self.answers_before_checks = False
        """Placements stay ACCEPTED (Kite answers before its checks have run; the book's OPEN
        or REJECTED comes after)."""
        self.refuse_cancels_with: str | None = None
        """The broker's reason to refuse every cancel of ``cancel_all`` (None: it takes them)."""
        """The broker's reason to reject each order placed from now on (None: they rest)."""
        """Set to a reason: the event log cannot be written, as the engine's StoreError."""
        self.offset = timedelta()
        """The desk's clock minus the wall clock (a desk following the simulator's clock)."""
        self.connection: ConnectionState | None = ConnectionState.CONNECTED
        self.submitted: list[Signal] = []
        self.screened: list[Signal] = []
        """Every signal checked, by ``screen`` or on its way through ``submit``."""
        self.has_sessions = True
        """False: a broker without sessions (the paper broker), which refuses a renewal."""
        self.session_status = SessionStatus("valid", expires_at=None, since=self.now())
        self.renewals = 0
        self.triggers = FakeTriggers()
        self.today: date | None = None
        self.waiting_close = False
        self.day_open = True
        self.records: list[DayRecord] = []
        self.charges_offered = True
        self.charged: list[list[OrderStatusReport]] = []
        """What each call of the charge calculator was asked."""
        self.past_orders: dict[date, list[Order]] = {}
        self.opening_holdings: list[Holding] = []
        self.log: list[Event] = []
        """Every event published, as the engine's log would hold it."""
        self.reconciled: ReconcileRecord | None = None
        self.authorises = True
        """False: a broker without holdings authorisation (the paper broker)."""
        self.authorisations: list[dict[InstrumentKey, int | None]] = []
        self.settled: set[InstrumentKey] = set()
        """Contracts that expired with the day, which has closed: read settled (realised)."""

    # -- the DeskService protocol -------------------------------------------------------------

    async def screen(self, signal: Signal) -> None:
        self.screened.append(signal)
        # As the engine: refused before anything is recorded, so the signal id stays unused.
        if not self.session_status.usable:
            raise SessionExpired(self.session_status.reason)
        if not self.day_open:
            raise DayNotOpen("today's trading day is not open yet")
        if self._kill.engaged:
            self._deny(signal, "kill_switch", f"the kill switch is engaged ({self._kill.reason})")
        if signal.quantity > self.max_quantity:
            self._deny(signal, "max_quantity", f"quantity exceeds {self.max_quantity}")

    async def submit(self, signal: Signal) -> Order:
        await self.screen(signal)
        if self.log_unwritable is not None:  # the intent is not written, so nothing is sent
            raise StoreError(self.log_unwritable)
        self.submitted.append(signal)
        signal_id = signal.signal_id or f"s{next(self._signals)}"
        order_id = client_order_id(signal.strategy, signal_id)
        if order_id in self._orders:
            return self._orders[order_id]
        created = Order.create(order_id, signal, self.now())
        order = Order.from_events([created])
        self._orders[order_id] = order
        self._publish([created])
        self._record(order, order.submit(self.now()))
        self._record(order, order.accepted(str(next(self._broker_ids)), self.now()))
        if self.reject_with is not None:
            rejected = replace(
                self._report(order, BrokerStatus.REJECTED, 0), status_message=self.reject_with
            )
            self._record(order, order.on_report(rejected, self.now()))
            return order
        if self.answers_before_checks:
            return order
        self._record(order, order.on_report(self._report(order, BrokerStatus.OPEN, 0), self.now()))
        return order

    async def modify(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
    ) -> Order:
        order = self._get(order_id)
        self._record(
            order,
            order.request_modify(
                self.now(),
                quantity=quantity,
                price=price,
                trigger_price=trigger_price,
                order_type=order_type,
            ),
        )
        self._record(order, order.modify_accepted(self.now()))
        return order

    async def cancel(self, order_id: str) -> Order:
        order = self._get(order_id)
        self._record(order, order.request_cancel(self.now()))
        report = self._report(order, BrokerStatus.CANCELLED, order.filled_quantity)
        self._record(order, order.on_report(report, self.now()))
        return order

    async def cancel_all(self) -> Sequence[Order]:
        working = [order for order in self._orders.values() if order.is_working]
        if self.refuse_cancels_with is None:
            return [await self.cancel(order.order_id) for order in working]
        for order in working:  # as the engine does when the broker refuses: alerted, left
            self._record(order, order.request_cancel(self.now()))
            self._record(order, order.cancel_rejected(self.refuse_cancels_with, self.now()))
        return working

    async def exit_position(
        self,
        instrument: object,
        *,
        product: object,
        strategy: str,
        reprice_after: float | None = None,
        max_reprices: int | None = None,
        band_percent: Decimal | None = None,
        cancel_working: bool = True,
    ) -> PositionExit:
        """The fake holds no broker positions: there is never anything to exit (nor any order
        to cancel first). The call is kept (``exits``) so a test sees what the route asked
        for."""
        self.exits.append(
            {
                "instrument": str(instrument),
                "product": str(product),
                "strategy": strategy,
                "reprice_after": reprice_after,
                "max_reprices": max_reprices,
                "band_percent": band_percent,
                "cancel_working": cancel_working,
            }
        )
        return PositionExit(None)

    def orders(self) -> Sequence[Order]:
        return list(self._orders.values())

    def event_log_problem(self) -> str | None:
        return None

    def order(self, order_id: str) -> Order:
        for orders in self.past_orders.values():
            for order in orders:
                if order.order_id == order_id:
                    return order
        return self._get(order_id)

    def children(self, order_id: str) -> Sequence[Order]:
        return [order for order in self._orders.values() if order.parent_id == order_id]

    def positions(self) -> Sequence[Position]:
        return list(self._positions)

    def day_positions(self) -> Sequence[PositionSnapshot]:
        return [
            PositionSnapshot.of(p, settled=p.instrument in self.settled) for p in self._positions
        ]

    def settled_contracts(self) -> Collection[InstrumentKey]:
        return frozenset(self.settled)

    def strategies(self) -> Mapping[str, StrategyBook]:
        marks = {p.instrument: p.last_price for p in self._positions if p.last_price is not None}
        return attribute(self._orders.values(), marks, self.holdings())

    def kill_switch(self) -> KillSwitchState:
        return self._kill

    def loss_limits(self) -> LossLimits:
        return LossLimits(
            limit=self.loss_limit,
            day_pnl=self._positions.total_pnl(),
            strategies=self.strategy_loss_limits,
        )

    async def set_kill_switch(
        self, engaged: bool, reason: str, *, cancel_open: bool = False
    ) -> KillSwitchState:
        self._kill = KillSwitchState(engaged=engaged, reason=reason)
        self._publish([KillSwitchChanged(at=self.now(), engaged=engaged, reason=reason)])
        if engaged and cancel_open:
            cancelled = tuple(order.order_id for order in await self.cancel_all())
            return KillSwitchState(engaged=engaged, reason=reason, cancelled=cancelled)
        return self._kill

    def broker_connection(self) -> ConnectionState | None:
        return self.connection

    def subscribe(self) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._queues.add(queue)
        return self._drain(queue)

    async def reconcile(self) -> ReconcileSummary:
        """Reports what the test put in ``self.findings``; counts every order as checked."""
        self.reconciled = ReconcileRecord(
            at=self.now(),
            orders_checked=len(self._orders),
            trades_checked=0,
            mismatches=len(self.findings),
            findings=tuple(self.findings),
        )
        return ReconcileSummary(
            findings=tuple(self.findings),
            orders_checked=len(self._orders),
            trades_checked=0,
            positions_checked=0,
        )

    def session(self) -> SessionStatus:
        return self.session_status

    async def renew_session(self, access_token: str) -> SessionStatus:
        if not self.has_sessions:
            raise NoBrokerSession("the paper broker has no session to renew")
        # A careless adapter: only the API's registration of the token keeps it out of the log.
        log.info("renewing the broker session with %s", access_token)
        self.renewals += 1
        now = self.now()
        self.session_status = SessionStatus("valid", expires_at=now + timedelta(hours=8), since=now)
        return self.session_status

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def trading_day(self) -> date | None:
        return self.today

    def close_waits(self) -> bool:
        return self.waiting_close

    def days(self) -> Sequence[DayRecord]:
        return list(self.records)

    def day_orders(self, day: date) -> Sequence[Order]:
        if day == self.today:
            return self.orders()
        return list(self.past_orders.get(day, []))

    async def orders_of_days(self, days: Sequence[date]) -> list[Sequence[Order]]:
        return [self.day_orders(day) for day in days]

    def day_conversions(self, day: date | None) -> Sequence[PositionConverted]:
        """Every conversion in the log, whatever the day (the fake keeps no days' bounds)."""
        return [e for e in self.log if isinstance(e, PositionConverted)]

    def holdings(self) -> Sequence[Holding]:
        return list(self.opening_holdings) if self.today is not None else []

    async def authorise_holdings(
        self, quantities: Mapping[InstrumentKey, int | None]
    ) -> HoldingsAuthorisation:
        """As a broker that has it: the request is kept (``authorisations``) and answered."""
        if not self.authorises:
            raise NotOffered("paper", "holdings authorisation")
        self.authorisations.append(dict(quantities))
        request_id = f"req{len(self.authorisations)}"
        return HoldingsAuthorisation(request_id, f"https://kite.example/authorise/{request_id}")

    async def convert_position(
        self,
        instrument: InstrumentKey,
        old: Product,
        new: Product,
        *,
        quantity: int | None,
        overnight: bool,
    ) -> PositionConversion:
        """The fake holds no positions: a named quantity is converted (and kept in
        ``conversions``), as the broker would; none named finds nothing to convert."""
        if quantity is None:
            raise ValidationError("instrument", f"no {old} position in {instrument} to convert")
        conversion = PositionConversion(
            instrument=instrument,
            side=Side.BUY,
            quantity=quantity,
            old_product=old,
            new_product=new,
            overnight=overnight,
        )
        self.conversions.append(conversion)
        return conversion

    async def doctor(self, *, placed_today: int = 0) -> Diagnosis:
        status = self.session_status
        session = SessionInfo(
            SessionState(status.state), status.expires_at, status.since, status.reason
        )
        facts = Facts(
            broker="fake",
            preflight=None,
            session=session,
            stream_connected=self.connection is ConnectionState.CONNECTED,
            reconciled=None,
            kill_switch=None,
            now=datetime.now(UTC),
        )
        return assess(facts)

    def recent_events(self, limit: int) -> Sequence[Event]:
        return self.log[-limit:]

    async def order_events(self, order_id: str) -> Sequence[Event]:
        return [e for e in self.log if isinstance(e, OrderEvent) and e.order_id == order_id]

    async def margins(self) -> MarginsReport:
        return MarginsReport(equity=SegmentMargins.cash_only(Decimal(100_000)), commodity=None)

    async def order_charges(self, reports: Sequence[OrderStatusReport]) -> list[Charges]:
        """A calculator of round figures: 20 brokerage an order, 0.1% tax on its turnover."""
        if not self.charges_offered:
            raise NotOffered("fake", "charges")
        self.charged.append(list(reports))
        charged = []
        for report in reports:
            tax = report.filled_quantity * report.average_price / 1000
            charged.append(
                Charges(
                    broker_order_id=report.broker_order_id,
                    instrument=report.instrument,
                    transaction_tax=tax,
                    exchange_turnover_charge=Decimal(0),
                    sebi_turnover_charge=Decimal(0),
                    brokerage=Decimal(20),
                    stamp_duty=Decimal(0),
                    gst=Decimal(0),
                    total=tax + 20,
                )
            )
        return charged

    def last_reconciliation(self) -> ReconcileRecord | None:
        return self.reconciled

    def reconciliation_failing(self) -> Check | None:
        return None

    def verify_log(self) -> VerifyReport:
        return VerifyReport(ok=True, rows=len(self.log))

    async def record_command(
        self, operator: str, command: str, outcome: str, params: str = ""
    ) -> None:
        self._publish(
            [
                OperatorCommandHandled(
                    at=self.now(),
                    operator=operator,
                    command=command,
                    params=params,
                    outcome=outcome,
                )
            ]
        )

    # -- the broker side, driven by tests -------------------------------------------------------

    def lose_session(self, reason: str = "the session expired at 2026-12-04 06:00 IST") -> None:
        """The broker session ends, as at 06:00 IST."""
        self.session_status = SessionStatus(
            "expired", expires_at=self.session_status.expires_at, since=None, reason=reason
        )

    def open_day(self, day: date, *, holdings: Sequence[Holding] = ()) -> None:
        """Trading day ``day`` opens; the orders so far belong to the day before."""
        if self.today is not None:
            self.past_orders[self.today] = list(self._orders.values())
            self._orders.clear()
        self.today = day
        self.opening_holdings = list(holdings)
        for holding in holdings:
            self._positions.hold(holding.instrument, holding.total, holding.day_price)
        opened = DayOpened(at=self.now(), day=day, holdings=tuple(holdings))
        self.records.append(DayRecord(opened, closed=None))
        self._publish([opened])

    def close_day(self) -> DayClosed:
        """Today's day closes with its positions and P&L as they stand (as the engine does)."""
        assert self.today is not None
        positions = list(self._positions)
        orders = list(self._orders.values())
        closed = DayClosed(
            at=self.now(),
            day=self.today,
            pnl=sum((p.pnl() for p in positions), Decimal(0)),
            realised=sum((p.realised for p in positions), Decimal(0)),
            positions=tuple(PositionSnapshot.of(p) for p in positions),
            orders=len(orders),
            fills=sum(len(o.fills) for o in orders),
            still_open=tuple(o.order_id for o in orders if not o.is_terminal),
        )
        self.records[-1] = DayRecord(self.records[-1].opened, closed)
        return closed

    def next_day(self, day: date, *, holdings: Sequence[Holding] = ()) -> None:
        """The next trading day opens with no positions carried (they start flat)."""
        self._positions = PositionBook()
        self.open_day(day, holdings=holdings)

    def cancel_unanswered(self, order_id: str) -> Order:
        """A cancel is sent and the broker has not answered yet (``CANCEL_PENDING``)."""
        order = self._get(order_id)
        self._record(order, order.request_cancel(self.now()))
        return order

    def fill(self, order_id: str, price: Decimal) -> Order:
        """The whole order trades at ``price``."""
        order = self._get(order_id)
        assert order.broker_order_id is not None
        fill = Fill(
            trade_id=f"T{next(self._trade_ids)}",
            broker_order_id=order.broker_order_id,
            instrument=order.signal.instrument,
            side=order.signal.side,
            product=order.signal.product,
            quantity=order.quantity,
            price=price,
        )
        report = self._report(order, BrokerStatus.COMPLETE, order.quantity, average=price)
        self._record(order, order.on_report(report, self.now()))
        self._record(order, order.on_fill(fill, self.now()))
        self._positions.apply_fill(
            fill.instrument, fill.product, fill.side, fill.quantity, fill.price, fill.trade_id
        )
        return order

    def tick(self, instrument: InstrumentKey, price: Decimal) -> None:
        self._positions.mark(instrument, price)

    def close(self) -> None:
        """End every subscription, as the desk does when it stops."""
        for queue in self._queues:
            queue.put_nowait(None)

    # -- internals -----------------------------------------------------------------------------

    def _deny(self, signal: Signal, check: str, reason: str) -> None:
        self._publish([SignalDenied(at=self.now(), signal=signal, check=check, reason=reason)])
        raise RiskDenied(check, reason)

    def _get(self, order_id: str) -> Order:
        try:
            return self._orders[order_id]
        except KeyError:
            raise UnknownOrderError(order_id) from None

    def _record(self, order: Order, events: Sequence[OrderEvent]) -> None:
        for event in events:
            order.apply(event)
        self._publish(events)

    def _publish(self, events: Sequence[Event]) -> None:
        self.log.extend(events)
        for queue in self._queues:
            for event in events:
                queue.put_nowait(event)

    async def _drain(self, queue: asyncio.Queue[Event | None]) -> AsyncIterator[Event]:
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._queues.discard(queue)

    def _report(
        self,
        order: Order,
        status: BrokerStatus,
        filled: int,
        *,
        average: Decimal = Decimal(0),
    ) -> OrderStatusReport:
        signal = order.signal
        assert order.broker_order_id is not None
        return OrderStatusReport(
            broker_order_id=order.broker_order_id,
            status=status,
            broker_status_text=status.value,
            instrument=signal.instrument,
            side=signal.side,
            order_type=order.order_type,
            product=signal.product,
            variety=signal.variety,
            validity=signal.validity,
            quantity=order.quantity,
            filled_quantity=filled,
            pending_quantity=order.quantity - filled if status is BrokerStatus.OPEN else 0,
            price=order.price or Decimal(0),
            average_price=average,
            tag=order.order_id,
        )
