"""What the trading-day benchmarks run on: a year of a desk's log, and one busy day.

**A year of history** (:class:`History`), written through the real store API. Each trading
day is what the desk writes for it: a :class:`DayOpened` checkpoint (the NRML futures carried
in at the previous close, the CNC holdings, no orders alive), the day's orders, each taken
through the domain as the engine takes it (``Order.create``, ``submit``, ``accepted``,
``on_report`` with the trades read alongside, every event applied before the next decision),
and a :class:`DayClosed` with the day's positions and P&L from a :class:`PositionBook` fed the
day's fills. The mix per day: most orders filled (market orders in one report, limit orders
resting first), about one in eight cancelled while resting, a few rejected by the broker's
RMS; MIS and CNC on NSE equities, NRML on the month's index futures (which expire with the
month). Generation is seeded, so the same days give the same events.

**A day of 5,000 orders** (Kite's daily cap) for a desk to close and open: the signals and
what becomes of each at the broker (:func:`day_signals`), the engine tests' broker stand-in
trading them (:func:`day_broker`), a full instrument list for the morning
(:func:`instrument_list`); the clock the benchmark sets is the tests' ``WallClock``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from orderdesk.domain import (
    BrokerStatus,
    Event,
    Exchange,
    Fill,
    InstrumentInfo,
    InstrumentKey,
    OrderType,
    Product,
    Side,
    Signal,
    client_order_id,
)
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.day import CarriedPosition, Holding, PositionSnapshot
from orderdesk.domain.events import DayClosed, DayOpened, OrderEvent
from orderdesk.domain.order import Order
from orderdesk.domain.position import PositionBook
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.values import Validity, Variety
from orderdesk.store import SqlEventStore
from tests.engine.fakes import INFY, NIFTY_FUT, FakeBroker

STRATEGY = "momentum"
BATCH_EVENTS = 20_000
"""Events per ``append`` (one transaction) while generating."""
TICK = Decimal("0.05")

EQUITIES: dict[str, Decimal] = {
    "INFY": Decimal("1500"),
    "TCS": Decimal("4000"),
    "RELIANCE": Decimal("2900"),
    "HDFCBANK": Decimal("1650"),
    "ICICIBANK": Decimal("1250"),
    "SBIN": Decimal("820"),
    "ITC": Decimal("470"),
    "LT": Decimal("3600"),
    "AXISBANK": Decimal("1150"),
    "KOTAKBANK": Decimal("1800"),
    "BHARTIARTL": Decimal("1500"),
    "HINDUNILVR": Decimal("2500"),
    "MARUTI": Decimal("12000"),
    "SUNPHARMA": Decimal("1700"),
    "TITAN": Decimal("3400"),
    "WIPRO": Decimal("520"),
}
"""The NSE equities a strategy trades, with a starting price each."""
INDEX_FUTURES: dict[str, tuple[Decimal, int]] = {
    "NIFTY": (Decimal("24000"), 75),
    "BANKNIFTY": (Decimal("52000"), 30),
}
"""Index futures traded NRML: (starting price, lot size)."""

DAY_ORDERS = 5000
MASS_CANCELLED = 450
VANISHED = 150
WORKING_AT_CLOSE = 50
AMO = 50
FILLED = DAY_ORDERS - MASS_CANCELLED - VANISHED - WORKING_AT_CLOSE - AMO
MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
INSTRUMENTS = 100_000
"""Rows in the broker's instrument list, which the desk reads again at every opening: of the
order of Kite's full daily dump, mostly index and stock derivatives."""
CRUDE = InstrumentKey(Exchange.MCX, "CRUDEOIL26DECFUT")
STOCKS = [InstrumentKey(Exchange.NSE, name) for name in EQUITIES]


def futures_key(underlying: str, day: date) -> InstrumentKey:
    """The month's contract of ``underlying`` (e.g. ``NFO:NIFTY26DECFUT``)."""
    month = day.strftime("%b").upper()
    return InstrumentKey(Exchange.NFO, f"{underlying}{day:%y}{month}FUT")


def ist(day: date, at: time) -> datetime:
    """``at`` IST on ``day`` as a UTC-aware instant (what the desk records)."""
    return datetime.combine(day, at, tzinfo=IST).astimezone(UTC)


@dataclass(slots=True)
class Books:
    """What carries from one day into the next: NRML futures, CNC holdings, last prices."""

    prices: dict[InstrumentKey, Decimal] = field(default_factory=dict)
    carried: dict[InstrumentKey, int] = field(default_factory=dict)
    held: dict[InstrumentKey, int] = field(default_factory=dict)
    """Settled CNC quantity."""
    t1: dict[InstrumentKey, int] = field(default_factory=dict)
    """CNC bought the day before, still settling."""
    cost: dict[InstrumentKey, Decimal] = field(default_factory=dict)


@dataclass(slots=True)
class DayCounts:
    orders: int = 0
    events: int = 0
    fills: int = 0
    cancelled: int = 0
    rejected: int = 0


class History:
    """Writes trading days of orders into a store, day after day, carrying the books."""

    def __init__(self, orders_per_day: int, seed: int = 2026) -> None:
        self.orders_per_day = orders_per_day
        self.seed = seed
        self.books = Books()
        self.counts = DayCounts()
        self._trade_ids = 0

    # -- one day ---------------------------------------------------------------------------------

    def day(self, day: date, *, close: bool, end: datetime | None = None) -> list[Event]:
        """The events of ``day``: checkpoint, orders, and the close when ``close``. The orders
        of a day without its close (today's) fall between its opening and ``end``."""
        rng = random.Random(f"{self.seed}-{day}")
        books = self.books
        self._roll(day, rng)
        opened_at = ist(day, time(8, 45))
        if end is not None:
            # Today's day began at 06:00 IST and the run may be early in it: stay before ``end``.
            start = ist(day, time(6, 0))
            opened_at = min(opened_at, start + (end - start) / 4)
        opened = DayOpened(
            at=opened_at,
            day=day,
            positions=tuple(
                CarriedPosition(
                    instrument=key,
                    product=Product.NRML,
                    quantity=quantity,
                    close_price=books.prices[key],
                    average_price=books.cost.get(key, books.prices[key]),
                )
                for key, quantity in sorted(books.carried.items())
                if quantity
            ),
            holdings=tuple(
                Holding(
                    instrument=key,
                    quantity=books.held.get(key, 0),
                    t1_quantity=books.t1.get(key, 0),
                    average_price=books.cost.get(key, books.prices[key]),
                    close_price=books.prices[key],
                )
                for key in sorted(books.held.keys() | books.t1.keys())
            ),
        )
        positions = PositionBook.opening(p.position() for p in opened.positions)
        events: list[Event] = [opened]
        first = ist(day, time(9, 15))
        span = timedelta(hours=6, minutes=14)
        if end is not None:
            first = opened_at + (end - opened_at) / 100
            span = end - first
        step = span / self.orders_per_day
        bought_cnc: dict[InstrumentKey, int] = {}
        fills = 0
        for i in range(self.orders_per_day):
            order_events, fill = self._order(day, i, first + step * i, rng, end)
            events += order_events
            if fill is not None:
                fills += 1
                positions.apply_fill(
                    fill.instrument, fill.product, fill.side, fill.quantity, fill.price
                )
                books.prices[fill.instrument] = fill.price
                if fill.product is Product.CNC:
                    bought_cnc[fill.instrument] = bought_cnc.get(fill.instrument, 0) + fill.quantity
                elif fill.product is Product.NRML:
                    books.carried[fill.instrument] = (
                        books.carried.get(fill.instrument, 0) + fill.side.sign * fill.quantity
                    )
                    books.cost.setdefault(fill.instrument, fill.price)
        if close:
            for position in positions:
                position.mark(books.prices[position.instrument])
            snapshots = [PositionSnapshot.of(p) for p in positions]
            events.append(
                DayClosed(
                    at=ist(day, time(16, 15)),
                    day=day,
                    pnl=sum((s.pnl for s in snapshots), Decimal(0)),
                    realised=sum((s.realised for s in snapshots), Decimal(0)),
                    positions=tuple(snapshots),
                    orders=self.orders_per_day,
                    fills=fills,
                )
            )
        # The broker delivers the day's CNC buys into holdings: T1 tomorrow, settled after.
        for key, quantity in books.t1.items():
            books.held[key] = books.held.get(key, 0) + quantity
        books.t1 = bought_cnc
        for key in bought_cnc:
            books.cost.setdefault(key, books.prices[key])
        self.counts.events += len(events)
        self.counts.fills += fills
        return events

    def _roll(self, day: date, rng: random.Random) -> None:
        """Prices drift overnight; futures of an earlier month have expired and settled."""
        books = self.books
        for name, base in EQUITIES.items():
            key = InstrumentKey(Exchange.NSE, name)
            last = books.prices.get(key, base)
            books.prices[key] = to_tick(last * Decimal(1 + rng.uniform(-0.01, 0.01)))
        for name, (base, _lot) in INDEX_FUTURES.items():
            key = futures_key(name, day)
            last = books.prices.get(key, base)
            books.prices[key] = to_tick(last * Decimal(1 + rng.uniform(-0.01, 0.01)))
        live = {futures_key(name, day) for name in INDEX_FUTURES}
        books.carried = {k: q for k, q in books.carried.items() if k in live and q}

    # -- one order -------------------------------------------------------------------------------

    def _order(
        self, day: date, i: int, at: datetime, rng: random.Random, end: datetime | None = None
    ) -> tuple[list[Event], Fill | None]:
        """One order's events as the engine records them, and its fill (if it filled)."""
        books = self.books
        roll = rng.random()
        if roll < 0.15:
            name = rng.choice(list(INDEX_FUTURES))
            instrument = futures_key(name, day)
            product, quantity = Product.NRML, INDEX_FUTURES[name][1] * rng.randint(1, 4)
        else:
            instrument = InstrumentKey(Exchange.NSE, rng.choice(list(EQUITIES)))
            product = Product.CNC if roll < 0.45 else Product.MIS
            quantity = rng.randint(1, 100)
        side = Side.BUY if product is Product.CNC or rng.random() < 0.5 else Side.SELL
        last = books.prices[instrument]
        fate = rng.random()
        limit = fate >= 0.55  # market orders fill at once; limits rest first
        price = to_tick(last * Decimal(0.999 if side is Side.BUY else 1.001)) if limit else None
        signal_id = f"{day:%Y%m%d}-{i:04d}"
        signal = Signal(
            instrument=instrument,
            side=side,
            quantity=quantity,
            order_type=OrderType.LIMIT if limit else OrderType.MARKET,
            product=product,
            price=price,
            strategy=STRATEGY,
            signal_id=signal_id,
        )
        order_id = client_order_id(STRATEGY, signal_id)
        broker_id = f"{day:%y%m%d}{i + 1:09d}"
        created = Order.create(order_id, signal, at)
        order = Order.from_events([created])
        events: list[Event] = [created]

        def record(decided: list[OrderEvent]) -> None:
            for event in decided:
                order.apply(event)
            events.extend(decided)

        ms = timedelta(milliseconds=1)
        record(order.submit(at + ms))
        record(order.accepted(broker_id, at + 40 * ms))
        report = OrderStatusReport(
            broker_order_id=broker_id,
            status=BrokerStatus.OPEN,
            broker_status_text="OPEN",
            instrument=instrument,
            side=side,
            order_type=signal.order_type,
            product=product,
            variety=Variety.REGULAR,
            validity=Validity.DAY,
            quantity=quantity,
            filled_quantity=0,
            pending_quantity=quantity,
            price=price or Decimal(0),
            tag=order_id,
            tags=(order_id,),
            order_timestamp=at,
        )
        self.counts.orders += 1
        if fate >= 0.97:
            self.counts.rejected += 1
            rejected = replace(
                report,
                status=BrokerStatus.REJECTED,
                broker_status_text="REJECTED",
                pending_quantity=0,
                status_message="RMS:Margin Exceeds, Required:1234.50, Available:1000.00",
            )
            record(order.on_report(rejected, at + 60 * ms))
            return events, None
        if limit:
            record(order.on_report(report, at + 60 * ms))
        if 0.85 <= fate < 0.97:
            self.counts.cancelled += 1
            cancelled = replace(
                report,
                status=BrokerStatus.CANCELLED,
                broker_status_text="CANCELLED",
                pending_quantity=0,
                cancelled_quantity=quantity,
            )
            cancelled_at = at + timedelta(minutes=rng.randint(1, 30))
            record(order.on_report(cancelled, min(cancelled_at, end or cancelled_at)))
            return events, None
        filled_at = at + (timedelta(seconds=rng.randint(1, 600)) if limit else 80 * ms)
        filled_at = min(filled_at, end or filled_at)  # today's orders ended before now
        fill_price = price or to_tick(last * Decimal(1 + rng.uniform(-0.0005, 0.0005)))
        self._trade_ids += 1
        fill = Fill(
            trade_id=f"{self._trade_ids:08d}",
            broker_order_id=broker_id,
            instrument=instrument,
            side=side,
            product=product,
            quantity=quantity,
            price=fill_price,
            filled_at=filled_at,
        )
        complete = replace(
            report,
            status=BrokerStatus.COMPLETE,
            broker_status_text="COMPLETE",
            filled_quantity=quantity,
            pending_quantity=0,
            average_price=fill_price,
        )
        record(order.on_report(complete, filled_at, [fill]))
        assert order.fill_quantity == quantity
        return events, fill


def to_tick(price: Decimal) -> Decimal:
    """``price`` rounded to the exchange's tick of 0.05."""
    return (price / TICK).quantize(Decimal(1)) * TICK


def trading_days(calendar: TradingCalendar, last: date, count: int) -> list[date]:
    """The ``count`` trading days ending with ``last``, oldest first."""
    days = [last]
    while len(days) < count:
        days.append(calendar.previous_trading_day(days[-1]))
    return days[::-1]


def batches(events: Iterator[Event], size: int = BATCH_EVENTS) -> Iterator[list[Event]]:
    batch: list[Event] = []
    for event in events:
        batch.append(event)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def write(store: SqlEventStore, events: Iterator[Event]) -> int:
    """Append ``events`` in large transactions; the number written."""
    written = 0
    for batch in batches(events):
        store.append(batch)
        written += len(batch)
    return written


def compact(path: Path) -> None:
    """Fold the write-ahead log back into the database file, so each copy starts clean."""
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


# -- a day of 5,000 orders -------------------------------------------------------------------------


def day_signals() -> list[tuple[str, Signal]]:
    """The day's 5,000 signals, each with what becomes of it at the broker."""
    plan: list[tuple[str, Signal]] = []
    for i in range(FILLED):
        product = (Product.MIS, Product.MIS, Product.CNC, Product.NRML)[i % 4]
        nrml = product is Product.NRML
        plan.append(
            (
                "filled",
                Signal(
                    instrument=NIFTY_FUT if nrml else STOCKS[i % len(STOCKS)],
                    side=Side.BUY if product is Product.CNC or i % 3 else Side.SELL,
                    quantity=75 if nrml else 1 + i % 20,
                    order_type=OrderType.MARKET,
                    product=product,
                    signal_id=f"f{i}",
                ),
            )
        )

    def resting(kind: str, count: int, **fields: Any) -> None:
        for i in range(count):
            stock = STOCKS[i % len(STOCKS)]
            values: dict[str, Any] = {
                "instrument": stock,
                "side": Side.BUY,
                "quantity": 1 + i % 20,
                "order_type": OrderType.LIMIT,
                "price": to_tick(EQUITIES[stock.tradingsymbol] * Decimal("0.98")),
                "product": Product.MIS,
                "signal_id": f"{kind}{i}",
            }
            values.update(fields)
            plan.append((kind, Signal(**values)))

    resting("cancelled", MASS_CANCELLED)
    resting("vanished", VANISHED, product=Product.CNC)
    resting(
        "working", WORKING_AT_CLOSE, instrument=CRUDE, price=Decimal("5900"), product=Product.NRML
    )
    resting("amo", AMO, variety=Variety.AMO, product=Product.CNC)
    return plan


def _info(instrument: InstrumentKey, token: int, lot: int = 1) -> InstrumentInfo:
    return InstrumentInfo(
        instrument=instrument,
        instrument_token=token,
        name=instrument.tradingsymbol,
        instrument_type="EQ" if instrument.exchange is Exchange.NSE else "FUT",
        segment=instrument.exchange.value,
        tick_size=Decimal("0.05"),
        lot_size=lot,
    )


def instrument_list() -> list[InstrumentInfo]:
    """A full day's instrument list of :data:`INSTRUMENTS` rows: index options and futures (on
    the underlyings with configured freeze limits, which the desk stamps onto each row),
    stock derivatives, equities, commodities; built once, handed out every morning."""
    infos: list[InstrumentInfo] = []
    token = 1_000_000
    indices = [("NIFTY", Exchange.NFO, 75), ("BANKNIFTY", Exchange.NFO, 30)]
    indices += [("FINNIFTY", Exchange.NFO, 65), ("MIDCPNIFTY", Exchange.NFO, 120)]
    indices += [("SENSEX", Exchange.BFO, 20), ("BANKEX", Exchange.BFO, 30)]
    while len(infos) < INSTRUMENTS:
        token += 1
        n = len(infos)
        kind = n % 10
        if kind < 5:  # index options and futures
            name, exchange, lot = indices[n % len(indices)]
            suffix = "FUT" if n % 50 == 0 else ("CE" if n % 2 else "PE")
            symbol = f"{name}{n:06d}{suffix}"
            kind_name = suffix
        elif kind < 8:  # stock options and futures
            name, exchange, lot = f"STOCK{n % 200:03d}", Exchange.NFO, 500
            suffix = "FUT" if n % 40 == 0 else ("CE" if n % 2 else "PE")
            symbol, kind_name = f"{name}{n:06d}{suffix}", suffix
        elif kind == 8:
            name, exchange, lot = f"EQ{n:06d}", (Exchange.NSE, Exchange.BSE)[n % 2], 1
            symbol, kind_name = name, "EQ"
        else:
            name, exchange, lot = f"COM{n % 40:02d}", (Exchange.MCX, Exchange.CDS)[n % 2], 1
            symbol, kind_name = f"{name}{n:06d}FUT", "FUT"
        infos.append(
            InstrumentInfo(
                instrument=InstrumentKey(exchange, symbol),
                instrument_token=token,
                name=name,
                instrument_type=kind_name,
                segment=exchange.value,
                tick_size=Decimal("0.05"),
                lot_size=lot,
            )
        )
    return infos


def day_broker(listed: list[InstrumentInfo]) -> FakeBroker:
    """The engine tests' broker stand-in, trading the history's stocks and a commodity, with
    ``listed`` (the day's full list) after the instruments traded."""
    broker = FakeBroker(stream_muted=False, fill_market=True)
    broker.prices[CRUDE] = Decimal("6000")
    broker.infos.append(_info(CRUDE, 60001))
    for token, stock in enumerate(STOCKS, start=70001):
        broker.prices[stock] = EQUITIES[stock.tradingsymbol]
        if stock != INFY:
            broker.infos.append(_info(stock, token))
    broker.infos += listed
    return broker
