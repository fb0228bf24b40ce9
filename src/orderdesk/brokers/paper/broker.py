"""``PaperBroker``: the broker interface over an in-memory book that fills at the last price.

MARKET orders fill at once at the last price; LIMIT orders when the last price reaches them; SL
and SL-M orders wait for their trigger, then behave as LIMIT or MARKET. Orders are taken as Kite
takes them (KITE_API.md §14): a regular order only while its segment's market is open, an AMO
outside it (held until the next session's open, then sent to the market), a TTL order cancelled
once its minutes have run, a stop only on the right side of the last price; a cover, iceberg or
auction order is refused (not modelled). A buy is taken only within the spendable cash: the cash
less what open buy orders hold and the proceeds of open short positions. Every change is pushed to
:meth:`events` as an :class:`OrderStatusReport` (and a :class:`Fill` per execution), the way a
real broker's stream would deliver it; the stream says it is connected when it opens, and
a subscribed instrument's price is pushed as a tick at subscription and at every change.

Given a ``state_file`` (``create_broker`` gives it ``paper-broker.json`` in the desk's data
directory) the book — orders, trades, cash, prices — is kept there after every change and read
back at the next start, as a real broker keeps its books while the desk is down
(:mod:`orderdesk.brokers.paper.state`).

Given the desk's calendar it ends its trading days as Kite does
(:mod:`orderdesk.brokers.paper.days`).

Its cash pays each trading day's charges at the next rollover, as the simulator's does (Zerodha's
ledger posts the day's contract note overnight): the day's executed orders charged as
:meth:`PaperBroker.order_charges` charges them (delivery bought and sold in the day as intraday,
and the DP charge of a scrip sold from holdings: :meth:`PaperBroker._pay_day_charges`), the sum
rounded to the paisa. ``opening_balance``
in :meth:`PaperBroker.margins` is the cash the day began with, after that; the cash itself moves
with every trade.

Of the optional capabilities (:mod:`orderdesk.ports.broker`) it offers only
:class:`~orderdesk.ports.broker.OrderHistorySource`,
:class:`~orderdesk.ports.broker.PositionConverter` and
:class:`~orderdesk.ports.broker.ChargesSource` (by the desk's schedule of Zerodha's charges,
:mod:`orderdesk.domain.charge_schedule`, as the simulator charges): it keeps no delivered stock
(a CNC buy stays a position, carried from day to day as an NRML one is) and has no GTT
triggers, so it has none of their methods.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import structlog

from orderdesk.brokers.paper import days, state
from orderdesk.domain.calendar import SEGMENT_OF, Segment, TradingCalendar
from orderdesk.domain.charge_schedule import (
    PAISA,
    ContractKind,
    ScheduledCharges,
    contract_kind_by_symbol,
    dp_charges,
    scheduled_charges,
    sold_from_holdings,
    squared_off,
)
from orderdesk.domain.contracts import multiplier_of
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.day import DELIVERY, INTRADAY
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.position import Position, PositionBook
from orderdesk.domain.reports import (
    Charges,
    Fill,
    InstrumentInfo,
    MarginsReport,
    OrderMargin,
    OrderStatusReport,
    PositionReport,
    Quote,
    SegmentMargins,
)
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import (
    Exchange,
    InstrumentKey,
    OrderType,
    Product,
    Side,
    Validity,
    Variety,
)
from orderdesk.errors import InputRejected, MarginRejected, NotFound, OrderRejected
from orderdesk.ports.broker import (
    BrokerEvent,
    ConnectionState,
    ConnectionStateChanged,
    OrderChanges,
    PlaceOrder,
    PriceTick,
)
from orderdesk.ports.clock import Clock, SystemClock

log = structlog.get_logger(__name__)

ZERO = Decimal(0)
MARKET_CLOSED = "Markets are closed right now. Use GTT for placing long standing orders instead."
"""Kite's answer to a regular order while its exchange is shut (the simulator's words, kept here
rather than imported: the paper broker does not depend on the simulator)."""
BUY_STOP_TRIGGER = (
    "Trigger price for stoploss buy orders should be higher than the last traded price."
)
SELL_STOP_TRIGGER = (
    "Trigger price for stoploss sell orders should be lower than the last traded price."
)
"""Kite's answers to a stop already crossed: it would fire at once (the simulator's words)."""
AMO_HELD = "AMO REQ RECEIVED"
"""Kite's status text of an after-market order waiting for its session."""
NOT_OFFERED: dict[Variety, str] = {
    Variety.CO: "cover orders",
    Variety.ICEBERG: "iceberg orders",
    Variety.AUCTION: "auction orders",
}
"""The varieties the paper broker does not model: refused, not taken as regular orders (a
cover order taken so had no stop-loss leg)."""
NEWS_WAIT_SECONDS = 1.0
"""How long a read that crossed a milestone waits for the stream to take what it changed."""


@dataclass(slots=True)
class _PaperOrder:
    report: OrderStatusReport
    history: list[OrderStatusReport] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    triggered: bool = False
    held: bool = False
    """An AMO waiting for its segment's next open (:meth:`PaperBroker._open`)."""
    ttl_minutes: int | None = None
    """A TTL order's minutes: it is cancelled when they have run from its placement."""

    def lapses_at(self) -> datetime | None:
        """When a working TTL order's minutes run out; None for any other order."""
        placed = self.report.order_timestamp
        if self.ttl_minutes is None or placed is None or self.report.status in _ENDED:
            return None
        return placed + timedelta(minutes=self.ttl_minutes)

    def update(self, **changes: object) -> OrderStatusReport:
        self.report = replace(self.report, **changes)  # type: ignore[arg-type]
        self.history.append(self.report)
        return self.report


class PaperBroker:
    """An in-process broker for paper trading and for the broker contract tests."""

    name = "paper"

    def __init__(
        self,
        *,
        prices: dict[InstrumentKey, Decimal] | None = None,
        cash: Decimal = Decimal(1_000_000),
        clock: Clock | None = None,
        state_file: Path | None = None,
        calendar: TradingCalendar | None = None,
        cash_configured: bool = False,
        always_open: bool = False,
    ) -> None:
        self._prices: dict[InstrumentKey, Decimal] = dict(prices or {})
        self._cash = cash
        self._opening_cash: Decimal | None = cash
        """The cash the book was started with (None: a book kept before it was recorded)."""
        self._day_cash = cash
        """The cash the trading day began with: after the last rollover's charges, before any
        of the day's trades (Kite's ``opening_balance``)."""
        self._clock = clock or SystemClock()
        self._orders: dict[str, _PaperOrder] = {}
        self._carried: list[state.CarriedPosition] = []
        self._conversions: list[state.SavedConversion] = []
        self._positions = PositionBook()
        self._events: asyncio.Queue[BrokerEvent] = asyncio.Queue()
        self._next_order = 1
        self._next_trade = 1
        self._closed = False
        self._streaming = False
        """Someone reads :meth:`events` (the desk's stream)."""
        self._untold = False
        """Milestones changed the book and the stream may not have taken all of it yet."""
        self._state_file = state_file
        self._calendar = calendar
        """The trading days the book keeps (None: none, the book runs on across days)."""
        self._always_open = always_open
        """Regular orders are taken at any hour (``[paper] market_hours = "always"``)."""
        self._seen = self._clock.now()
        """The instant up to which the days' milestones have been applied."""
        self._closes: dict[InstrumentKey, Decimal] = {}
        """The last prices of the previous trading day (Kite's ``close``), taken at a rollover."""
        self._configured: dict[InstrumentKey, Decimal] = {}
        """Configured prices still to take effect: after the catch-up of a restored book."""
        self._subscribed: set[InstrumentKey] = set()
        """The instruments whose price changes are pushed as ticks (:meth:`subscribe_prices`)."""
        self._hushed = False
        """A past day's news is being made: it is kept in the book, not pushed (see
        :meth:`_catch_up`)."""
        self.kept_cash_notice: str | None = None
        """Why the configured ``[paper] cash`` is not the book's (see :meth:`_restore`)."""
        if state_file is not None:
            self._restore(state_file, cash_configured=cash_configured)

    def _restore(self, path: Path, *, cash_configured: bool = False) -> None:
        """Take up the book kept in ``path`` (if any) at the prices last seen. The configured
        prices wait for the first look at the clock: the days missed meanwhile end at the
        prices they last had, and the configured ones are the new day's (:meth:`_catch_up`)."""
        book = state.load(path)
        if book is None:
            return
        self._configured = self._prices
        self._prices = {InstrumentKey.parse(k): v for k, v in book.prices.items()}
        self._closes = {InstrumentKey.parse(k): v for k, v in book.closes.items()}
        if cash_configured and book.opening_cash != self._cash:
            self.kept_cash_notice = _kept_cash_notice(path, self._cash, book)
            log.warning(self.kept_cash_notice)
        self._cash = book.cash
        self._opening_cash = book.opening_cash
        for saved in book.orders:
            order = _PaperOrder(saved.history[-1], list(saved.history), list(saved.fills))
            order.triggered = saved.triggered
            order.held = saved.held
            order.ttl_minutes = saved.ttl_minutes
            self._orders[order.report.broker_order_id] = order
        self._carried = list(book.carried)
        self._positions = PositionBook.opening(map(_opening, self._carried))
        self._conversions = list(book.conversions)
        fills = sorted((f for o in self._orders.values() for f in o.fills), key=_trade_number)
        pending = deque(self._conversions)
        for fill in fills:
            while pending and pending[0].before_trade <= _trade_number(fill):
                self._positions.convert(pending.popleft().conversion())
            self._positions.apply_fill(
                fill.instrument, fill.product, fill.side, fill.quantity, fill.price, fill.trade_id
            )
        for conversion in pending:
            self._positions.convert(conversion.conversion())
        for instrument, price in self._prices.items():
            self._positions.mark(instrument, price)
        # A book kept before the day's cash was: its cash moved by its trades alone since the
        # rollover that emptied the book, so undoing them gives it back.
        self._day_cash = (
            book.day_cash
            if book.day_cash is not None
            else book.cash + sum((f.side.sign * f.price * f.quantity for f in fills), ZERO)
        )
        self._next_order = max(book.next_order, state.next_number(list(self._orders), "P"))
        self._next_trade = max(book.next_trade, state.next_number([f.trade_id for f in fills], "T"))
        placed = [o.report.order_timestamp for o in self._orders.values()]
        self._seen = book.seen or max((t for t in placed if t is not None), default=self._seen)

    def _save(self) -> None:
        if self._state_file is None:
            return
        state.save(
            self._state_file,
            state.SavedBook(
                cash=self._cash,
                prices={str(k): v for k, v in self._prices.items()},
                closes={str(k): v for k, v in self._closes.items()},
                orders=[
                    state.SavedOrder(
                        history=o.history,
                        fills=o.fills,
                        triggered=o.triggered,
                        held=o.held,
                        ttl_minutes=o.ttl_minutes,
                    )
                    for o in self._orders.values()
                ],
                opening_cash=self._opening_cash,
                day_cash=self._day_cash,
                seen=self._seen,
                carried=self._carried,
                conversions=self._conversions,
                next_order=self._next_order,
                next_trade=self._next_trade,
            ),
        )

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("a closed PaperBroker is not reused")
        await self._day()  # the days missed while the desk was down, then the configured prices

    async def close(self) -> None:
        if not self._closed:
            self._save()  # the last prices, which move without an order changing
        self._closed = True

    # -- prices --------------------------------------------------------------------------------

    def set_price(self, instrument: InstrumentKey, price: Decimal) -> None:
        """Move the last price and match every resting order of that instrument."""
        if self._catch_up():
            self._untold = True  # the next read waits for the stream (see _day)
        self._move_price(instrument, price, tick=True)

    def _move_price(self, instrument: InstrumentKey, price: Decimal, *, tick: bool) -> None:
        """The last price of ``instrument`` is now ``price``: positions marked, a tick pushed
        when ``tick`` or the instrument is subscribed, its resting orders matched."""
        self._prices[instrument] = price
        self._positions.mark(instrument, price)
        if tick or instrument in self._subscribed:
            self._tell(PriceTick(instrument_token=0, last_price=price, instrument=instrument))
        for order in list(self._orders.values()):
            if order.report.instrument == instrument:
                self._match(order)

    def _take_configured_prices(self) -> bool:
        """The configured prices take effect (once, after a restored book's catch-up): the
        new day's prices, against which the orders still resting are matched as they would
        be at any price change. True when there were any."""
        configured, self._configured = self._configured, {}
        for instrument, price in configured.items():
            self._move_price(instrument, price, tick=False)
        return bool(configured)

    def _last(self, instrument: InstrumentKey) -> Decimal:
        price = self._prices.get(instrument)
        if price is None:
            raise InputRejected(f"no price for {instrument}; set one in [paper] prices")
        return price

    # -- trading days --------------------------------------------------------------------------

    async def _day(self) -> None:
        """Bring the book to the clock's trading day before it is read or changed.

        What the milestones changed is pushed to :meth:`events` first, and the read waits (a
        moment at most) for the stream's reader to take it: an answer that showed the mass
        cancel before the stream had told it read as an update the stream had missed
        (reconciliation's "the update was missed", every day at the close)."""
        if self._catch_up():
            self._untold = True
        if self._untold and not self._streaming:
            # A stream reader just spawned (the desk's, at start-up, before it reconciles)
            # gets its turn to open first: answered ahead of it, a restart whose configured
            # prices filled a resting order read as "the fill update was missed".
            await asyncio.sleep(0)
        if self._untold and self._streaming:
            # Every read waits, not only the one that crossed: a read beside it must not answer
            # ahead of the stream either.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._events.join(), NEWS_WAIT_SECONDS)
            self._untold = False

    def _catch_up(self) -> bool:
        """Apply the trading-day milestones the clock has crossed since the last look, at the
        prices last seen, then the configured prices of a restored book; True when either
        changed the book."""
        crossed = self._apply_milestones()
        priced = self._take_configured_prices()
        if crossed or priced:
            self._save()
        return crossed or priced

    def _apply_milestones(self) -> bool:
        """The milestones crossed since the last look (the calendar's, and the lapses of TTL
        orders), each at its own instant.

        What those of a trading day already over did (a missed day's square-off, its mass
        cancel) is kept in the book and not pushed: Kite's stream tells nothing of a time the
        desk was away, and the desk, finding that day's books gone, closes it from what it
        knows (a position the broker no longer carries taken as squared off at the close). A
        square-off pushed afterwards was booked into the next day as a fresh trade. What the
        clock's own trading day did is pushed, as a live stream would have told it."""
        now = self._clock.now()
        crossed = self._lapses(now)
        if self._calendar is not None:
            crossed = sorted(crossed + days.milestones(self._calendar, self._seen, now))
        for milestone in crossed:
            self._hushed = self._calendar is not None and self._calendar.trading_day_of(
                milestone.at
            ) < self._calendar.trading_day_of(now)
            try:
                self._apply(milestone)
            finally:
                self._hushed = False
        if now > self._seen:
            self._seen = now
        return bool(crossed)

    def _lapses(self, now: datetime) -> list[days.Milestone]:
        """The TTL orders whose minutes have run out by ``now``, as milestones of their own."""
        return [
            days.Milestone(at, days.Step.LAPSE, order_id=order.report.broker_order_id)
            for order in self._orders.values()
            if not order.held and (at := order.lapses_at()) is not None and at <= now
        ]

    def _apply(self, milestone: days.Milestone) -> None:
        match milestone.step:
            case days.Step.ROLLOVER:
                self._roll_over()
            case days.Step.OPEN:
                self._open(milestone)
            case days.Step.LAPSE:
                self._lapse(milestone)
            case days.Step.SQUARE_OFF:
                self._square_off(milestone)
            case days.Step.MASS_CANCEL:
                self._mass_cancel(milestone)

    def _open(self, milestone: days.Milestone) -> None:
        """The segment's market opens: the AMOs held for it go to the market, as placed now."""
        for order in self._working_orders():
            if order.held and _in_segment(order.report.instrument, milestone.segment):
                order.held = False
                # Sent on at the open: its TTL minutes, if any, run from there.
                order.report = replace(order.report, order_timestamp=milestone.at)
                self._rest(order)
                self._match(order, milestone.at)

    def _lapse(self, milestone: days.Milestone) -> None:
        """A TTL order's minutes have run out: what is left of it is cancelled."""
        order = self._orders.get(milestone.order_id or "")
        if order is not None and order.report.status not in _ENDED:
            self._cancel(order, f"Cancelled: its validity of {order.ttl_minutes} minutes ran out")

    def _square_off(self, milestone: days.Milestone) -> None:
        """The broker's square-off: working MIS/CO orders cancelled, open MIS/CO positions
        closed with market orders at the last price (they are outside orderdesk: no tag)."""
        at, segment = milestone.at, milestone.segment
        for order in self._working_orders(held=False):
            report = order.report
            if report.product in INTRADAY and _in_segment(report.instrument, segment):
                self._cancel(order, f"Cancelled by the broker's square-off at {at:%H:%M}")
        for position in list(self._positions):
            if not position.quantity or position.product not in INTRADAY:
                continue
            if not _in_segment(position.instrument, segment):
                continue
            quantity = abs(position.quantity)
            order = self._enter(
                instrument=position.instrument,
                side=Side.SELL if position.quantity > 0 else Side.BUY,
                order_type=OrderType.MARKET,
                product=position.product,
                variety=Variety.REGULAR,
                validity=Validity.DAY,
                quantity=quantity,
                price=ZERO,
                trigger_price=ZERO,
                tag=None,
                at=at,
                status_message=f"Auto square-off by the broker at {at:%H:%M}",
            )
            last = self._prices.get(position.instrument, position.average_price)
            self._execute(order, quantity, last, at)

    def _mass_cancel(self, milestone: days.Milestone) -> None:
        """The exchange cancels what is still working in the segment after its close."""
        for order in self._working_orders(held=False):
            if _in_segment(order.report.instrument, milestone.segment):
                self._cancel(order, "Exchange mass cancel")

    def _roll_over(self) -> None:
        """A new trading day: the old day's charges paid, empty books; carry products brought
        forward at the close."""
        for order in self._working_orders(held=False):  # placed after its segment's mass cancel
            self._cancel(order, "Expired at the end of the trading day")
        self._pay_day_charges()
        self._closes = dict(self._prices)
        carried = [
            state.CarriedPosition(
                instrument=str(p.instrument),
                product=p.product,
                quantity=p.quantity,
                price=self._prices.get(p.instrument, p.average_price),
                multiplier=p.multiplier,
                carry_price=p.average_price,
            )
            for p in self._positions
            if p.quantity and p.product not in INTRADAY
        ]
        self._orders = {k: o for k, o in self._orders.items() if o.held}  # AMOs wait for the open
        self._carried = carried
        self._conversions = []
        self._positions = PositionBook.opening(map(_opening, carried))
        for instrument, price in self._prices.items():
            self._positions.mark(instrument, price)

    def _pay_day_charges(self) -> None:
        """Take the day's charges off the cash, as the simulator's rollover does: each executed
        order as the desk's ``charges`` is told them (:meth:`order_charges`), so the paper P&L
        after charges is the desk's; the ledger posts the day's sum in paise.

        As the desk asks for them, a scrip's CNC quantity both bought and sold in the day is
        charged as MIS (:func:`~orderdesk.domain.charge_schedule.squared_off`, the earliest
        orders first, an order matched in part in two lines at its average price), and a scrip
        whose CNC sales exceed its CNC buys pays the DP charge once: the paper book keeps no
        holdings, so a CNC position carried from an earlier day stands for them."""
        due = ZERO
        delivered: dict[InstrumentKey, list[OrderStatusReport]] = {}
        for order in sorted(self._orders.values(), key=_traded_at):
            report = order.report
            if not report.filled_quantity:
                continue
            if report.product is Product.CNC:
                delivered.setdefault(report.instrument, []).append(report)
                continue
            due += _charges(report).total
        for reports in delivered.values():
            lines = [(r.side is Side.BUY, r.filled_quantity) for r in reports]
            for report, matched in zip(reports, squared_off(lines), strict=True):
                if matched:
                    due += _charges(
                        replace(report, product=Product.MIS, filled_quantity=matched)
                    ).total
                if matched < report.filled_quantity:
                    rest = report.filled_quantity - matched
                    due += _charges(replace(report, filled_quantity=rest)).total
            if sold_from_holdings(lines):
                due += dp_charges().total
        self._cash -= due.quantize(PAISA, ROUND_HALF_UP)
        self._day_cash = self._cash

    def _working_orders(self, *, held: bool | None = None) -> list[_PaperOrder]:
        """The orders not ended; only those held (True) or not held (False) as AMOs if said."""
        return [
            o
            for o in self._orders.values()
            if o.report.status not in _ENDED and (held is None or o.held is held)
        ]

    # -- orders --------------------------------------------------------------------------------

    def takes_orders_at_any_hour(self) -> bool:
        return self._always_open

    async def place_order(self, command: PlaceOrder) -> str:
        await self._day()
        signal = command.signal
        if signal.variety in NOT_OFFERED:
            raise InputRejected(f"the paper broker does not offer {NOT_OFFERED[signal.variety]}")
        held = self._held_for_the_open(signal.instrument, signal.variety)
        last = self._last(signal.instrument)
        _check_stop(signal.order_type, signal.side, signal.trigger_price, last)
        reference = signal.price or signal.trigger_price or last
        if signal.side is Side.BUY and reference * signal.quantity > self._spendable():
            raise MarginRejected(
                f"insufficient funds for the paper account: {reference * signal.quantity} "
                f"needed, {self._spendable()} available (cash less what open buy orders hold "
                "and the proceeds of open short positions)"
            )
        if signal.side is Side.SELL and signal.product is Product.CNC:
            self._check_cnc_sale(signal.instrument, signal.quantity)
        order = self._enter(
            instrument=signal.instrument,
            side=signal.side,
            order_type=signal.order_type,
            product=signal.product,
            variety=signal.variety,
            validity=signal.validity,
            quantity=signal.quantity,
            price=signal.price or ZERO,
            trigger_price=signal.trigger_price or ZERO,
            tag=command.client_order_id,
            at=self._clock.now(),
            held=held,
            ttl_minutes=signal.validity_ttl if signal.validity is Validity.TTL else None,
        )
        self._match(order)
        return order.report.broker_order_id

    def _held_for_the_open(self, instrument: InstrumentKey, variety: Variety) -> bool:
        """Whether an order is an AMO to hold for its segment's next open; refuses a regular
        order while the segment's market is shut, as Kite does (without a calendar, or with
        ``always_open``, every market is open). An AMO placed while the market is open goes to
        it at once, as the simulator takes it."""
        if self._calendar is None or self._always_open:
            return False
        segment = SEGMENT_OF[instrument.exchange]
        if self._calendar.in_market_hours(self._clock.now(), segment):
            return False
        if variety is not Variety.AMO:
            raise InputRejected(MARKET_CLOSED)
        return True

    def _reference(self, report: OrderStatusReport) -> Decimal:
        """The price an order is costed at: its limit, else its trigger, else the last price."""
        return report.price or report.trigger_price or self._prices.get(report.instrument, ZERO)

    def _spendable(self) -> Decimal:
        """The cash a new buy may use: less what open buy orders hold (at their price, their
        trigger or the last price) and the proceeds of open short positions (an MIS short's
        sale money is not the account's to spend)."""
        held = sum(
            (
                self._reference(o.report) * o.report.pending_quantity
                for o in self._working_orders()
                if o.report.side is Side.BUY
            ),
            ZERO,
        )
        shorts = sum(
            (-p.quantity * p.average_price for p in self._positions if p.quantity < 0), ZERO
        )
        return self._cash - held - shorts

    def _check_cnc_sale(self, instrument: InstrumentKey, quantity: int) -> None:
        """Refuse a CNC sale of stock the account does not have, as Kite (HoldingException)
        and the simulator do: no delivery short selling. The paper broker keeps no holdings,
        so what it may sell is its CNC position (carried in and bought today), less what its
        working CNC sell orders already hold."""
        position = self._positions.positions.get((instrument, Product.CNC))
        held = position.quantity if position is not None else 0
        sellable = held - sum(
            o.report.pending_quantity
            for o in self._working_orders()
            if o.report.instrument == instrument
            and o.report.product is Product.CNC
            and o.report.side is Side.SELL
        )
        if quantity > sellable:
            raise MarginRejected(
                f"Insufficient holdings to sell {quantity} {instrument.tradingsymbol}: "
                f"{max(sellable, 0)} can be sold (CNC positions carried in and today's CNC "
                "buys, less what open CNC sell orders hold)."
            )

    def _enter(
        self,
        *,
        instrument: InstrumentKey,
        side: Side,
        order_type: OrderType,
        product: Product,
        variety: Variety,
        validity: Validity,
        quantity: int,
        price: Decimal,
        trigger_price: Decimal,
        tag: str | None,
        at: datetime,
        status_message: str | None = None,
        held: bool = False,
        ttl_minutes: int | None = None,
    ) -> _PaperOrder:
        """Put a new order in the book, RECEIVED, and rest it (OPEN, or waiting for its
        trigger), or hold it for the open when ``held`` (an AMO): a placement, or the broker's
        own square-off."""
        report = OrderStatusReport(
            broker_order_id=self._new_order_id(),
            status=BrokerStatus.RECEIVED,
            broker_status_text="RECEIVED",
            instrument=instrument,
            side=side,
            order_type=order_type,
            product=product,
            variety=variety,
            validity=validity,
            quantity=quantity,
            filled_quantity=0,
            pending_quantity=quantity,
            price=price,
            trigger_price=trigger_price,
            tag=tag,
            order_timestamp=at,
            status_message=status_message,
        )
        order = _PaperOrder(report, [report], held=held, ttl_minutes=ttl_minutes)
        self._orders[report.broker_order_id] = order
        if held:
            self._publish(order.update(broker_status_text=AMO_HELD))
        else:
            self._rest(order)
        return order

    def _rest(self, order: _PaperOrder) -> None:
        """The order works: OPEN, or TRIGGER_PENDING while its stop waits (an AMO stays
        RECEIVED, as Kite's "AMO REQ RECEIVED", until the open)."""
        if order.held:
            status, text = BrokerStatus.RECEIVED, AMO_HELD
        elif order.report.trigger_price and not order.triggered:
            status, text = BrokerStatus.TRIGGER_PENDING, BrokerStatus.TRIGGER_PENDING.value
        else:
            status, text = BrokerStatus.OPEN, BrokerStatus.OPEN.value
        self._publish(order.update(status=status, broker_status_text=text))

    def _new_order_id(self) -> str:
        number, self._next_order = self._next_order, self._next_order + 1
        return f"P{number:015d}"

    def _new_trade_id(self) -> str:
        number, self._next_trade = self._next_trade, self._next_trade + 1
        return f"T{number:012d}"

    async def modify_order(
        self,
        broker_order_id: str,
        variety: Variety,
        changes: OrderChanges,
        *,
        parent_order_id: str | None = None,
    ) -> None:
        await self._day()
        order = self._working(broker_order_id)
        current = order.report
        quantity = changes.quantity if changes.quantity is not None else current.quantity
        if quantity <= current.filled_quantity:
            raise InputRejected("quantity must exceed the filled quantity")
        if not order.triggered:  # a stop that has fired has no trigger left to check
            _check_stop(
                changes.order_type or current.order_type,
                current.side,
                changes.trigger_price or current.trigger_price,
                self._last(current.instrument),
            )
        self._publish(
            order.update(
                status=BrokerStatus.MODIFIED,
                broker_status_text="MODIFIED",
                quantity=quantity,
                pending_quantity=quantity - current.filled_quantity,
                price=changes.price if changes.price is not None else current.price,
                trigger_price=(
                    changes.trigger_price
                    if changes.trigger_price is not None
                    else current.trigger_price
                ),
                order_type=changes.order_type or current.order_type,
                modified=True,
            )
        )
        self._rest(order)
        self._match(order)

    async def cancel_order(
        self, broker_order_id: str, variety: Variety, *, parent_order_id: str | None = None
    ) -> None:
        await self._day()
        self._cancel(self._working(broker_order_id))

    def _cancel(self, order: _PaperOrder, why: str | None = None) -> None:
        report = order.report
        self._publish(
            order.update(
                status=BrokerStatus.CANCELLED,
                broker_status_text="CANCELLED",
                status_message=why,
                pending_quantity=0,
                cancelled_quantity=report.quantity - report.filled_quantity,
            )
        )

    def _working(self, broker_order_id: str) -> _PaperOrder:
        order = self._orders.get(broker_order_id)
        if order is None:
            raise NotFound(f"no paper order {broker_order_id}")
        if order.report.status in _ENDED:
            raise OrderRejected(f"order {broker_order_id} is {order.report.status.value}")
        return order

    def _match(self, order: _PaperOrder, at: datetime | None = None) -> None:
        """Fill ``order`` if the last price allows (a held AMO waits for the open)."""
        report = order.report
        if order.held or report.status not in (BrokerStatus.OPEN, BrokerStatus.TRIGGER_PENDING):
            return
        last = self._prices.get(report.instrument)
        if last is None:
            return
        buy = report.side is Side.BUY
        if report.status is BrokerStatus.TRIGGER_PENDING:
            hit = last >= report.trigger_price if buy else last <= report.trigger_price
            if not hit:
                return
            order.triggered = True
            self._publish(order.update(status=BrokerStatus.OPEN, broker_status_text="OPEN"))
        if report.order_type in (OrderType.MARKET, OrderType.SL_M):
            price = last
        else:
            limit = report.price
            if (buy and last > limit) or (not buy and last < limit):
                if report.validity is Validity.IOC:
                    self._publish(
                        order.update(
                            status=BrokerStatus.CANCELLED,
                            broker_status_text="CANCELLED",
                            pending_quantity=0,
                            cancelled_quantity=report.quantity - report.filled_quantity,
                        )
                    )
                return
            price = last
        self._execute(order, order.report.quantity - order.report.filled_quantity, price, at)

    def _execute(
        self, order: _PaperOrder, quantity: int, price: Decimal, at: datetime | None = None
    ) -> None:
        report = order.report
        fill = Fill(
            trade_id=self._new_trade_id(),
            broker_order_id=report.broker_order_id,
            instrument=report.instrument,
            side=report.side,
            product=report.product,
            quantity=quantity,
            price=price,
            filled_at=at or self._clock.now(),
        )
        order.fills.append(fill)
        self._cash -= report.side.sign * price * quantity
        self._positions.apply_fill(
            report.instrument, report.product, report.side, quantity, price, fill.trade_id
        )
        filled = report.filled_quantity + quantity
        value = sum((f.price * f.quantity for f in order.fills), ZERO)
        self._publish(
            order.update(
                status=BrokerStatus.COMPLETE,
                broker_status_text="COMPLETE",
                filled_quantity=filled,
                pending_quantity=report.quantity - filled,
                average_price=value / filled,
            )
        )
        self._tell(fill)

    def _publish(self, report: OrderStatusReport) -> None:
        self._save()  # before the desk hears of it: what the desk saw, the file holds
        self._tell(report)

    def _tell(self, event: BrokerEvent) -> None:
        """Push ``event`` to the stream, unless it is a past day's news (see _catch_up)."""
        if not self._hushed:
            self._events.put_nowait(event)

    # -- reads ---------------------------------------------------------------------------------

    async def orders(self) -> list[OrderStatusReport]:
        await self._day()
        return [o.report for o in self._orders.values()]

    async def order_history(self, broker_order_id: str) -> list[OrderStatusReport]:
        await self._day()
        order = self._orders.get(broker_order_id)
        if order is None:
            raise NotFound(f"no paper order {broker_order_id}")
        return list(order.history)

    async def trades(self) -> list[Fill]:
        await self._day()
        return [f for o in self._orders.values() for f in o.fills]

    async def order_trades(self, broker_order_id: str) -> list[Fill]:
        await self._day()
        order = self._orders.get(broker_order_id)
        return list(order.fills) if order else []

    async def positions(self) -> list[PositionReport]:
        await self._day()
        reports = []
        for position in self._positions:
            last = self._prices.get(position.instrument, position.average_price)
            close = self._closes.get(position.instrument, last)
            reports.append(
                PositionReport(
                    instrument=position.instrument,
                    product=position.product,
                    quantity=position.quantity,
                    overnight_quantity=position.overnight_quantity,
                    multiplier=position.multiplier,
                    average_price=position.average_price,
                    last_price=last,
                    close_price=close,
                    pnl=position.pnl(last),
                    realised=position.realised,
                    unrealised=position.unrealised(last),
                    m2m=position.pnl(last),
                    buy_quantity=position.buy_quantity,
                    buy_value=position.buy_value,
                    sell_quantity=position.sell_quantity,
                    sell_value=position.sell_value,
                    day_buy_quantity=position.day_buy_quantity,
                    day_sell_quantity=position.day_sell_quantity,
                )
            )
        return reports

    async def convert_position(self, conversion: PositionConversion) -> None:
        """Kite's conversion on the paper book: the quantity moves at its cost. Refused as
        Kite refuses it: more than the position has, or to MIS or CO once its segment's
        square-off has passed (nothing would square it off)."""
        await self._day()
        if conversion.new_product in INTRADAY and self._calendar is not None:
            exchange = conversion.instrument.exchange
            cutoff = self._calendar.square_off_passed(exchange, self._clock.now())
            if cutoff is not None:
                raise InputRejected(
                    f"No conversion to {conversion.new_product} after the square-off "
                    f"({cutoff:%H:%M} IST) until the next trading day."
                )
        try:
            self._positions.convert(conversion)
        except ValidationError as exc:
            raise InputRejected(f"Insufficient quantity to convert: {exc.reason}.") from None
        self._conversions.append(state.SavedConversion.of(conversion, self._next_trade))
        self._save()

    async def margins(self) -> MarginsReport:
        """The cash, and as ``net`` what a new buy may spend (:meth:`_spendable`);
        ``opening_balance`` is the cash the day began with, as Kite's is."""
        await self._day()
        used = self._cash - self._spendable()
        equity = replace(
            SegmentMargins.cash_only(self._cash),
            net=self._cash - used,
            opening_balance=self._day_cash,
            utilised_debits=used,
        )
        return MarginsReport(equity=equity, commodity=None)

    async def quotes(self, instruments: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        await self._day()
        return {
            key: Quote(
                instrument=key,
                instrument_token=0,
                last_price=self._prices[key],
                close=self._closes.get(key, ZERO),
            )
            for key in instruments
            if key in self._prices
        }

    async def instruments(self, exchange: Exchange | None = None) -> list[InstrumentInfo]:
        await self._day()
        return [
            InstrumentInfo(
                instrument=key,
                instrument_token=0,
                name=key.tradingsymbol,
                instrument_type="EQ",
                segment=key.exchange.value,
                tick_size=Decimal("0.05"),
                lot_size=1,
            )
            for key in self._prices
            if exchange is None or key.exchange is exchange
        ]

    async def order_charges(self, reports: Sequence[OrderStatusReport]) -> list[Charges]:
        return [
            _charges(report).of_order(report.broker_order_id, report.instrument)
            for report in reports
        ]

    async def order_margins(self, commands: Sequence[PlaceOrder]) -> list[OrderMargin]:
        await self._day()
        margins = []
        for command in commands:
            signal = command.signal
            price = signal.price or signal.trigger_price or self._last(signal.instrument)
            margins.append(OrderMargin(instrument=signal.instrument, total=price * signal.quantity))
        return margins

    async def subscribe_prices(self, instruments: Sequence[InstrumentKey]) -> None:
        """Push the known price of each instrument now, and again whenever it changes (the
        desk's positions show unrealised P&L from it, as from Kite's ticks)."""
        await self._day()
        self._subscribed.update(instruments)
        for instrument in dict.fromkeys(instruments):
            price = self._prices.get(instrument)
            if price is not None:
                self._tell(PriceTick(instrument_token=0, last_price=price, instrument=instrument))

    async def events(self) -> AsyncIterator[BrokerEvent]:
        """The stream: connected at once (nothing to dial), then the book's news in order."""
        self._streaming = True
        try:
            yield ConnectionStateChanged(state=ConnectionState.CONNECTED, at=self._clock.now())
            while not self._closed:
                yield await self._events.get()
                self._events.task_done()  # the reader asked for more: it has handled the last
        finally:
            self._streaming = False


_ENDED = frozenset({BrokerStatus.COMPLETE, BrokerStatus.CANCELLED, BrokerStatus.REJECTED})


def _contract_kind(instrument: InstrumentKey) -> ContractKind:
    """The paper broker keeps no instrument list: a derivative is told by its Kite-style
    symbol (``NIFTY26DEC25000CE``, ``NIFTY26DECFUT``), its charges by its exchange."""
    return contract_kind_by_symbol(instrument.exchange.value, instrument.tradingsymbol)


def _charges(report: OrderStatusReport) -> ScheduledCharges:
    """What an order costs by the desk's schedule, on its filled quantity (its quantity when
    none is filled) at its average price."""
    return scheduled_charges(
        _contract_kind(report.instrument),
        buy=report.side is Side.BUY,
        delivery=report.product in DELIVERY,
        quantity=report.filled_quantity or report.quantity,
        # An MCX quantity is in lots: a unit's value is the price times its multiplier.
        price=report.average_price * multiplier_of(report.instrument),
    )


def _traded_at(order: _PaperOrder) -> datetime:
    """When ``order`` first filled (its placement when its fills are not kept): the desk takes
    the day's earliest fills as squared off first."""
    if order.fills and order.fills[0].filled_at is not None:
        return order.fills[0].filled_at
    return order.report.order_timestamp or datetime.min.replace(tzinfo=UTC)


def _check_stop(order_type: OrderType, side: Side, trigger: Decimal | None, last: Decimal) -> None:
    """Refuse an SL/SL-M order whose trigger the last price has already crossed (it would fire
    at once), in Kite's words: a buy stop must be above the last price, a sell stop below."""
    if order_type not in (OrderType.SL, OrderType.SL_M) or trigger is None:
        return
    if side is Side.BUY and trigger <= last:
        raise InputRejected(BUY_STOP_TRIGGER)
    if side is Side.SELL and trigger >= last:
        raise InputRejected(SELL_STOP_TRIGGER)


def _kept_cash_notice(path: Path, configured: Decimal, book: state.SavedBook) -> str:
    """The warning for a ``[paper] cash`` that a kept book does not take."""
    return (
        f"paper broker: [paper] cash = {configured} is not applied: the book kept in {path} "
        f"goes on with its cash of {book.cash}. To start afresh with the configured cash, "
        f"stop the desk and delete {path.name} and the desk's event log (or use a fresh data "
        "directory)."
    )


def _in_segment(instrument: InstrumentKey, segment: Segment | None) -> bool:
    return SEGMENT_OF[instrument.exchange] is segment


def _opening(carried: state.CarriedPosition) -> Position:
    return Position.carried(
        InstrumentKey.parse(carried.instrument),
        carried.product,
        carried.quantity,
        carried.price,
        carried.multiplier,
        carry_price=carried.carry_price,
    )


def _trade_number(fill: Fill) -> int:
    return int(fill.trade_id[1:]) if fill.trade_id[1:].isdigit() else 0


__all__ = ["PaperBroker"]
