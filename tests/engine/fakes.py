"""A scripted in-process broker, a memory event store and a recording notifier for engine tests.

``FakeBroker`` implements the ``Broker`` port over a tiny matching model: market orders fill at
once at the instrument's price, limit orders rest until ``fill()``. Faults are switched per
call (``script``: what the next placements do) or per book read (``orders_fail``), so each test
states exactly the misfortune it is about.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from orderdesk.domain.calendar import next_token_expiry
from orderdesk.domain.day import PositionSnapshot
from orderdesk.domain.events import Event
from orderdesk.domain.position import Position
from orderdesk.domain.reports import (
    Fill,
    HoldingReport,
    InstrumentInfo,
    MarginsReport,
    OrderMargin,
    OrderStatusReport,
    PositionReport,
    Quote,
    SegmentMargins,
)
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import Exchange, InstrumentKey, OrderType, Product, Side, Variety
from orderdesk.errors import (
    BrokerAuthError,
    BrokerRateLimited,
    BrokerTransportError,
    BrokerUnavailable,
    InputRejected,
    OrderRejected,
    UnknownOutcome,
)
from orderdesk.ports.broker import (
    BrokerEvent,
    ConnectionState,
    ConnectionStateChanged,
    OrderChanges,
    PlaceOrder,
    PriceTick,
)
from orderdesk.ports.notifier import Alert, Severity
from orderdesk.ports.store import StoredEvent, VerifyReport
from orderdesk.store.codec import from_record, to_record

INFY = InstrumentKey.parse("NSE:INFY")
NIFTY_FUT = InstrumentKey.parse("NFO:NIFTY26DECFUT")
NIFTY_CE = InstrumentKey.parse("NFO:NIFTY26DEC24000CE")
NIFTY_PE = InstrumentKey.parse("NFO:NIFTY26DEC23000PE")

OK = "ok"
UNKNOWN_AFTER = "unknown_after"
"""Place the order, then lose the reply (UnknownOutcome)."""
UNKNOWN_BEFORE = "unknown_before"
"""Lose the request before the broker acted (UnknownOutcome, nothing placed)."""
UNAVAILABLE = "unavailable"
"""Answer 503 without acting."""
REJECT = "reject"
RATE_LIMITED = "rate_limited"
AUTH = "auth"
LOST_BEFORE = "lost-before"
LOST_AFTER = "lost-after"


def signal(**overrides: Any) -> Signal:
    """A valid market buy of 10 INFY unless told otherwise."""
    fields: dict[str, Any] = {
        "instrument": INFY,
        "side": Side.BUY,
        "quantity": 10,
        "order_type": OrderType.MARKET,
        "product": Product.MIS,
    }
    fields.update(overrides)
    return Signal(**fields)


class MemoryStore:
    """The ``EventStore`` port in a list, every event through the real codec and back."""

    def __init__(self) -> None:
        self.rows: list[StoredEvent] = []
        self.fail_appends = False

    def append(self, events: Sequence[Event]) -> list[StoredEvent]:
        if self.fail_appends:
            raise OSError("disk full")
        rows = []
        for event in events:
            kind, payload = to_record(event)
            seq = len(self.rows) + 1
            row = StoredEvent(seq, event.stream, kind, event.at, payload, "", "")
            self.rows.append(row)
            rows.append(row)
        return rows

    def read(
        self,
        *,
        stream: str | None = None,
        kind: str | None = None,
        after: int = 0,
        before: int | None = None,
    ) -> Iterator[StoredEvent]:
        for row in list(self.rows):
            if (
                row.seq > after
                and (before is None or row.seq < before)
                and (stream is None or row.stream == stream)
                and (kind is None or row.type == kind)
            ):
                yield row

    def latest(self, kind: str) -> StoredEvent | None:
        return next((row for row in reversed(self.rows) if row.type == kind), None)

    def verify(self) -> VerifyReport:
        return VerifyReport(ok=True, rows=len(self.rows))

    def close(self) -> None:
        pass

    def events(self) -> list[Event]:
        return [from_record(row.type, row.payload) for row in self.rows]

    def types(self, stream: str | None = None) -> list[str]:
        return [row.type for row in self.rows if stream is None or row.stream == stream]


class RecordingNotifier:
    """Keeps every alert for the test to inspect."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    async def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def titles(self, severity: Severity | None = None) -> list[str]:
        return [a.title for a in self.alerts if severity is None or a.severity is severity]


@dataclass(slots=True)
class FakeOrder:
    report: OrderStatusReport
    modifications: int = 0


@dataclass
class FakeBroker:
    """The ``Broker`` port with switchable faults (see the module docstring), plus the
    ``HoldingsSource`` and ``SessionControl`` capabilities the day and session tests need."""

    name: str = "fake"
    prices: dict[InstrumentKey, Decimal] = field(
        default_factory=lambda: {
            INFY: Decimal("1500"),
            NIFTY_FUT: Decimal("24000"),
            NIFTY_CE: Decimal("100"),
            NIFTY_PE: Decimal("80"),
        }
    )
    infos: list[InstrumentInfo] = field(default_factory=list)
    script: list[str] = field(default_factory=list)
    """What the next placements do, first first; empty means OK."""
    orders_fail: int = 0
    """The next this many order-book reads fail with a 503; -1 means all of them."""
    stream_muted: bool = False
    """Updates happen at the broker but are not pushed (a dead socket)."""
    drop_fills: bool = False
    """Fill messages (not status reports) are lost on the stream."""
    drop_reports: bool = False
    """Status reports (not fills) are lost on the stream."""
    fill_market: bool = True
    trades_fail: int = 0
    """The next this many reads of one order's trades fail with a 503."""
    positions_fail: int = 0
    """The next this many reads of the positions fail with a 503."""
    available_funds: Decimal = Decimal("1000000")
    margin_rate: Decimal = Decimal("0.2")
    before_place: list[Any] = field(default_factory=list)
    """Callables run at the start of every placement (to observe what was logged first)."""

    def __post_init__(self) -> None:
        self.book: dict[str, FakeOrder] = {}
        self.trade_book: list[Fill] = []
        self.placements: list[PlaceOrder] = []
        self.modify_calls = 0
        self.trade_reads = 0
        self.subscriptions: list[list[InstrumentKey]] = []
        self.cancel_calls = 0
        self.started = False
        self.renewed: list[str] = []
        self.command_faults: list[str] = []
        """What the next modifications do: LOST_BEFORE / LOST_AFTER the broker acts."""
        self.token_dead = False
        """Reads are refused as with yesterday's token, until a session is renewed."""
        self.carried: dict[tuple[InstrumentKey, Product], int] = {}
        self.held: dict[InstrumentKey, int] = {}
        self.closes: dict[InstrumentKey, Decimal] = {}
        """The previous session's closing prices (a quote's ``close``), set by ``next_day``."""
        self._ids = itertools.count(250_000_000_000_001)
        self._trade_ids = itertools.count(90_000_001)
        self._queue: asyncio.Queue[BrokerEvent] = asyncio.Queue()
        if not self.infos:
            self.infos = [
                _info(INFY, 1, 408065, None),
                _info(NIFTY_FUT, 75, 1001, 1800),
                _info(NIFTY_CE, 75, 1002, 1800),
                _info(NIFTY_PE, 75, 1003, 1800),
            ]

    # -- the session (Kite's SessionControl capability) ----------------------------------------

    def has_session(self) -> bool:
        return True

    def session_expiry(self, started: datetime) -> datetime | None:
        return None

    async def renew_session(self, credentials: str) -> None:
        self.renewed.append(credentials)
        self.token_dead = False

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self.started = True
        self.push(ConnectionStateChanged(state=ConnectionState.CONNECTED, detail="fake"))

    async def close(self) -> None:
        self.started = False

    def events(self) -> AsyncIterator[BrokerEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[BrokerEvent]:
        while True:
            yield await self._queue.get()

    def push(self, event: BrokerEvent) -> None:
        self._queue.put_nowait(event)

    # -- orders --------------------------------------------------------------------------------

    async def place_order(self, command: PlaceOrder) -> str:
        for hook in self.before_place:
            hook(command)
        self.placements.append(command)
        action = self.script.pop(0) if self.script else OK
        if action == REJECT:
            raise OrderRejected("RMS: blocked", http_status=400, error_type="OrderException")
        if action == RATE_LIMITED:
            raise BrokerRateLimited("Too many requests", http_status=429)
        if action == AUTH:
            raise BrokerAuthError("Token expired", http_status=403)
        if action == UNAVAILABLE:
            raise BrokerUnavailable("Service unavailable", http_status=503)
        if action == UNKNOWN_BEFORE:
            raise UnknownOutcome("connection reset", tag=command.client_order_id)
        broker_order_id = self.create(command.signal, tag=command.client_order_id)
        if action == UNKNOWN_AFTER:
            raise UnknownOutcome("reply lost", tag=command.client_order_id)
        return broker_order_id

    def create(self, signal: Signal, *, tag: str | None, placed_at: datetime | None = None) -> str:
        """Put an order in the book (placement, or an order made outside orderdesk)."""
        broker_order_id = str(next(self._ids))
        report = OrderStatusReport(
            broker_order_id=broker_order_id,
            status=BrokerStatus.RECEIVED,
            broker_status_text="PUT ORDER REQ RECEIVED",
            instrument=signal.instrument,
            side=signal.side,
            order_type=signal.order_type,
            product=signal.product,
            variety=signal.variety,
            validity=signal.validity,
            quantity=signal.quantity,
            filled_quantity=0,
            pending_quantity=signal.quantity,
            price=signal.price or Decimal(0),
            trigger_price=signal.trigger_price or Decimal(0),
            tag=tag,
            tags=(tag,) if tag else (),
            order_timestamp=placed_at,
        )
        self.book[broker_order_id] = FakeOrder(report)
        self._update(broker_order_id, status=BrokerStatus.OPEN, broker_status_text="OPEN")
        if self.fill_market and signal.order_type is OrderType.MARKET:
            self.fill(broker_order_id)
        return broker_order_id

    def fill(self, broker_order_id: str, quantity: int | None = None) -> Fill:
        """Execute (part of) a resting order at the instrument's price."""
        report = self.book[broker_order_id].report
        quantity = quantity or report.pending_quantity
        price = report.price or self.prices[report.instrument]
        fill = Fill(
            trade_id=str(next(self._trade_ids)),
            broker_order_id=broker_order_id,
            instrument=report.instrument,
            side=report.side,
            product=report.product,
            quantity=quantity,
            price=price,
            filled_at=datetime.now(UTC),
        )
        self.trade_book.append(fill)
        filled = report.filled_quantity + quantity
        done = filled == report.quantity
        self._update(
            broker_order_id,
            status=BrokerStatus.COMPLETE if done else BrokerStatus.OPEN,
            broker_status_text="COMPLETE" if done else "OPEN",
            filled_quantity=filled,
            pending_quantity=report.quantity - filled,
            average_price=price,
        )
        if not self.drop_fills:
            self.emit(fill)
        return fill

    def _update(self, broker_order_id: str, **changes: Any) -> OrderStatusReport:
        entry = self.book[broker_order_id]
        entry.report = replace(entry.report, **changes)
        if not self.drop_reports:
            self.emit(entry.report)
        return entry.report

    def emit(self, event: BrokerEvent) -> None:
        if not self.stream_muted:
            self.push(event)

    async def modify_order(
        self,
        broker_order_id: str,
        variety: Any,
        changes: OrderChanges,
        *,
        parent_order_id: str | None = None,
    ) -> None:
        self.modify_calls += 1
        fault = self.command_faults.pop(0) if self.command_faults else None
        if fault == LOST_BEFORE:
            # A modify has no tag to resolve it by: a transport error, as the Kite adapter's.
            raise BrokerTransportError("connection reset before the broker acted")
        entry = self.book[broker_order_id]
        if entry.report.status in (BrokerStatus.COMPLETE, BrokerStatus.CANCELLED):
            raise OrderRejected("Order is already complete", http_status=400)
        if entry.modifications >= 25:
            raise InputRejected("Maximum allowed order modifications exceeded", http_status=400)
        entry.modifications += 1
        report = entry.report
        quantity = changes.quantity or report.quantity
        self._update(
            broker_order_id,
            quantity=quantity,
            pending_quantity=quantity - report.filled_quantity,
            price=changes.price or report.price,
            trigger_price=changes.trigger_price or report.trigger_price,
            modified=True,
        )
        if fault == LOST_AFTER:
            raise BrokerTransportError("reply lost after the broker acted")

    async def cancel_order(
        self, broker_order_id: str, variety: Any, *, parent_order_id: str | None = None
    ) -> None:
        self.cancel_calls += 1
        if self.token_dead:
            raise BrokerAuthError("Token expired", http_status=403)
        report = self.book[broker_order_id].report
        if report.status in (BrokerStatus.COMPLETE, BrokerStatus.CANCELLED):
            raise OrderRejected("Order cannot be cancelled", http_status=400)
        self._update(
            broker_order_id,
            status=BrokerStatus.CANCELLED,
            broker_status_text="CANCELLED",
            cancelled_quantity=report.pending_quantity,
            pending_quantity=0,
        )

    async def orders(self) -> list[OrderStatusReport]:
        if self.token_dead:
            raise BrokerAuthError("Token expired", http_status=403)
        if self.orders_fail:
            if self.orders_fail > 0:
                self.orders_fail -= 1
            raise BrokerUnavailable("Service unavailable", http_status=503)
        return [entry.report for entry in self.book.values()]

    async def trades(self) -> list[Fill]:
        return list(self.trade_book)

    async def order_trades(self, broker_order_id: str) -> list[Fill]:
        self.trade_reads += 1
        if self.trades_fail:
            self.trades_fail -= 1
            raise BrokerUnavailable("Service unavailable", http_status=503)
        return [f for f in self.trade_book if f.broker_order_id == broker_order_id]

    # -- portfolio, funds, market --------------------------------------------------------------

    def expiring(self, instrument: InstrumentKey, day: date) -> FakeBroker:
        """This broker with ``instrument``'s last trading day set to ``day``."""
        self.infos = [
            replace(info, expiry=day.isoformat()) if info.instrument == instrument else info
            for info in self.infos
        ]
        return self

    def next_day(self) -> None:
        """The broker's morning: books empty, NRML positions carried at the last price (the
        close, which quotes give as their ``close`` from now on), CNC bought into holdings, MIS
        gone (squared off)."""
        net: dict[tuple[InstrumentKey, Product], int] = {}
        for fill in self.trade_book:
            key = (fill.instrument, fill.product)
            net[key] = net.get(key, 0) + fill.side.sign * fill.quantity
        for (instrument, product), quantity in net.items():
            if product is Product.CNC:
                self.held[instrument] = self.held.get(instrument, 0) + quantity
            elif product is Product.NRML:
                carried = self.carried.get((instrument, product), 0) + quantity
                self.carried[(instrument, product)] = carried
        self.carried = {key: qty for key, qty in self.carried.items() if qty}
        self.closes = dict(self.prices)
        self.book.clear()
        self.trade_book.clear()

    async def positions(self) -> list[PositionReport]:
        if self.positions_fail:
            self.positions_fail -= 1
            raise BrokerUnavailable("Service unavailable", http_status=503)
        net: dict[tuple[InstrumentKey, Product], int] = dict.fromkeys(self.carried, 0)
        for fill in self.trade_book:
            key = (fill.instrument, fill.product)
            net[key] = net.get(key, 0) + fill.side.sign * fill.quantity
        zero = Decimal(0)
        return [
            PositionReport(
                instrument=instrument,
                product=product,
                quantity=quantity + self.carried.get((instrument, product), 0),
                overnight_quantity=self.carried.get((instrument, product), 0),
                multiplier=Decimal(1),
                average_price=zero,
                last_price=self.prices[instrument],
                close_price=self.closes.get(instrument, self.prices[instrument]),
                pnl=zero,
                realised=zero,
                unrealised=zero,
                m2m=zero,
                buy_quantity=0,
                buy_value=zero,
                sell_quantity=0,
                sell_value=zero,
            )
            for (instrument, product), quantity in net.items()
        ]

    def net(self, instrument: InstrumentKey, product: Product = Product.MIS) -> int:
        return sum(
            f.side.sign * f.quantity
            for f in self.trade_book
            if f.instrument == instrument and f.product == product
        )

    async def holdings(self) -> list[HoldingReport]:
        zero = Decimal(0)
        return [
            HoldingReport(
                instrument=instrument,
                isin="",
                quantity=0,
                t1_quantity=quantity,
                average_price=zero,
                last_price=self.prices[instrument],
                close_price=self.prices[instrument],
                pnl=zero,
            )
            for instrument, quantity in self.held.items()
        ]

    async def margins(self) -> MarginsReport:
        if self.token_dead:
            raise BrokerAuthError("Token expired", http_status=403)
        return MarginsReport(equity=SegmentMargins.cash_only(self.available_funds), commodity=None)

    async def quotes(self, instruments: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        if self.token_dead:
            raise BrokerAuthError("Token expired", http_status=403)
        return {
            i: Quote(
                instrument=i,
                instrument_token=0,
                last_price=self.prices[i],
                close=self.closes.get(i, Decimal(0)),
            )
            for i in instruments
            if i in self.prices
        }

    async def instruments(self, exchange: Exchange | None = None) -> list[InstrumentInfo]:
        return list(self.infos)

    async def order_margins(self, commands: Sequence[PlaceOrder]) -> list[OrderMargin]:
        margins = []
        for command in commands:
            s = command.signal
            price = s.price or self.prices[s.instrument]
            margins.append(
                OrderMargin(instrument=s.instrument, total=price * s.quantity * self.margin_rate)
            )
        return margins

    async def subscribe_prices(self, instruments: Sequence[InstrumentKey]) -> None:
        known = {info.instrument for info in self.infos}
        unknown = [i for i in instruments if i not in known]
        if unknown:
            raise ValueError(f"{unknown[0]} is not in today's instrument list")
        self.subscriptions.append(list(instruments))

    def subscribed(self) -> set[InstrumentKey]:
        return {i for batch in self.subscriptions for i in batch}

    # -- test conveniences ---------------------------------------------------------------------

    def tick(self, instrument: InstrumentKey, price: Decimal, *, by_token: bool = False) -> None:
        """Push a price; ``by_token`` sends only the token, as Kite's binary ticks do."""
        self.prices[instrument] = price
        if by_token:
            (token,) = [i.instrument_token for i in self.infos if i.instrument == instrument]
            self.push(PriceTick(instrument_token=token, last_price=price))
        else:
            self.push(PriceTick(instrument_token=0, last_price=price, instrument=instrument))

    def disconnect(self) -> None:
        self.push(ConnectionStateChanged(state=ConnectionState.DISCONNECTED, detail="dropped"))

    def reconnect(self) -> None:
        self.push(ConnectionStateChanged(state=ConnectionState.CONNECTED, detail="back"))

    def tags(self) -> list[str | None]:
        return [entry.report.tag for entry in self.book.values()]

    def report(self, broker_order_id: str) -> OrderStatusReport:
        return self.book[broker_order_id].report

    def reject(self, broker_order_id: str, message: str) -> OrderStatusReport:
        """The broker's RMS or the exchange rejects an order it had taken."""
        return self._update(
            broker_order_id,
            status=BrokerStatus.REJECTED,
            broker_status_text="REJECTED",
            pending_quantity=0,
            status_message=message,
        )


def _info(instrument: InstrumentKey, lot: int, token: int, freeze: int | None) -> InstrumentInfo:
    return InstrumentInfo(
        instrument=instrument,
        instrument_token=token,
        name=instrument.tradingsymbol,
        instrument_type="EQ" if lot == 1 else "FUT",
        segment=instrument.exchange.value,
        tick_size=Decimal("0.05"),
        lot_size=lot,
        freeze_quantity=freeze,
    )


class ExpiringBroker(FakeBroker):
    """A broker whose sessions end at the next 06:00 IST, as Kite's do."""

    def session_expiry(self, started: datetime) -> datetime | None:
        return next_token_expiry(started)


class QueuedBroker(FakeBroker):
    """Placements wait for ``gate`` before they leave, as in the desk's own rate limiter."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = asyncio.Event()
        self.waiting = 0

    async def place_order(self, command: PlaceOrder) -> str:
        self.waiting += 1
        await self.gate.wait()
        self.waiting -= 1
        return await super().place_order(command)


class AmoHoldingBroker(FakeBroker):
    """A broker that holds an AMO as Kite does until its market opens: ``AMO REQ RECEIVED``
    (``ACCEPTED`` at the desk), nothing pushed when it is taken."""

    def create(self, signal: Signal, *, tag: str | None, placed_at: datetime | None = None) -> str:
        if signal.variety is not Variety.AMO:
            return super().create(signal, tag=tag, placed_at=placed_at)
        held, self.drop_reports = self.drop_reports, True
        try:
            broker_order_id = super().create(signal, tag=tag, placed_at=placed_at)
        finally:
            self.drop_reports = held
        entry = self.book[broker_order_id]
        entry.report = replace(
            entry.report, status=BrokerStatus.RECEIVED, broker_status_text="AMO REQ RECEIVED"
        )
        return broker_order_id


class ClosedDay:
    """The figures of a desk whose day closed with 5 INFY NRML (bought at 1500) at 1452, -240,
    while an evening tick has marked its raw book at 1700: a surface that reads the raw book
    shows +1,000 where the day closed at -240."""

    def __init__(self) -> None:
        position = Position(INFY, Product.NRML)
        position.apply_fill(Side.BUY, 5, Decimal(1500))
        position.mark(Decimal(1452))
        self.closed = PositionSnapshot.of(position)
        position.mark(Decimal(1700))
        self.book = position

    def positions(self) -> Sequence[Position]:
        return [self.book]

    def day_positions(self) -> Sequence[PositionSnapshot]:
        return [self.closed]

    def strategies(self) -> dict[str, Any]:
        return {}


class FailingBroker(FakeBroker):
    """Fails the next placement with ``error`` (after the send, or before it)."""

    error: Exception | None = None

    async def place_order(self, command: PlaceOrder) -> str:
        if self.error is not None:
            error, self.error = self.error, None
            self.placements.append(command)
            raise error
        return await super().place_order(command)
