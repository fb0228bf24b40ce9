"""Broker news into order events: the one path for everything a broker says about orders.

The live stream (and postbacks, which the adapter merges into it), the poller that stands in
for the stream, the placement's reply and its resolution, and reconciliation all hand what
they learned to :class:`BrokerNews`; nothing else turns broker news into events. It owns:

- **lanes and batching**: each order's news waits in its own lane and is decided against the
  state its previous news left; the next news of every order that has some is decided together
  and written in one append (:meth:`Recorder.decide_many`). One task per update, thousands of
  them suspended on their commits, cost more than deciding and writing (``make bench
  ARGS=engine``); the lanes are why the stream keeps up;
- **reading trades**: Kite's reports carry filled quantities, not trades, and positions are made
  of trades. A report showing more filled than the fills recorded (and not brought along) has
  its order's trades read first, while the order's lane waits, and the report and the new fills
  are one event: whoever sees FILLED also sees the position. A read that fails or finds the
  trade book behind is followed up a few times in the background, through the same lanes;
- **the refused report's trades**: a report that contradicts the order (refused and alerted)
  does not take its trades down with it: trades are facts;
- **binding**: the placement's reply (:meth:`BrokerNews.placed`) and the first report bind an
  order to the
  broker's id; fills that arrive before their order is bound wait here (a bounded number) and
  join its lane once it is;
- **rejections after acceptance** (the broker's RMS or the exchange) are alerted with the
  broker's reason;
- **modifications outside orderdesk**: new terms the broker shows for one of the desk's orders
  (changed on Kite web or by another API client) are recorded as the order's and alerted, term
  by term; CRITICAL when the risk checks of an order's own terms would refuse them, however
  much has filled; taken before the trades the same news brings (a quantity raised and filled
  while the desk was away fills the raised quantity); a cover order's stop leg shown as MARKET
  is its exit, not new terms;
- **cancellations outside orderdesk**: a working order of the desk's cancelled when the desk
  had not asked (nor asked for its cover order or sliced parent) is said so in its status
  change and alerted WARNING, unless it is the broker's or the exchange's ordinary end of an
  order (IOC, TTL, their words, the square-off and mass-cancel times); unknown words are
  alerted with the doubt said;
- **taking back an order given up as not placed**: the broker's report of an order the desk
  gave up (it answered that it could not tell, and its book did not show the order within the
  late-order window) binds it and brings it to the broker's state (``Order.taken_back``),
  recorded as a finding and alerted CRITICAL: whoever read "not placed" may have sent it again.
  Nothing is placed by it;
- **adoption**: a report nobody's order matches is an order placed outside orderdesk (or the
  broker's own square-off, told apart by the trading calendar); it is adopted, recorded as a
  finding and alerted, in the same lane discipline.

- **durability**: news is written without waiting for the disk (``durable=False``, synced
  within a second by the writer, or by the next durable commit): the broker keeps what it told
  and start-up reconciliation reads it back after a power cut, while the intents the desk acts
  on are durable before they go out. On a strategy's path this takes the second of a signal's
  two fsyncs (the placement's reply) off its latency (see :mod:`orderdesk.store.writer`).

- **the trading day**: news is recorded within the trading day the desk has open
  (:meth:`BrokerNews.day_open_until`). Once the clock has passed the start of the next trading
  day, news waits in its lanes, in order, until that day is opened, and is then recorded after
  its ``DayOpened``: an evening AMO that fills at the open before the morning login (its fill
  comes by postback, by a stream still connected, by the login's gap-fill or a poll while the
  day is being opened) is the new day's order, with its fill and position, and not a fill in
  the stretch of the day before that the new day's book never sees. The check is one look at
  the clock a batch, none an update.

Entry: :meth:`BrokerNews.put` queues one update of the stream and returns (the stream must not
wait for commits); :meth:`BrokerNews.apply` queues a batch (a book read, the placement's reply
or lookup, a reconciliation) and returns what it recorded. Both go through the same lanes and
the same decision. Each order's news is decided under the order's lock (a command holding it
makes that order's news wait, alone, for it).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, defaultdict, deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from orderdesk.domain.calendar import SEGMENT_OF, TradingCalendar
from orderdesk.domain.day import INTRADAY, is_broker_square_off
from orderdesk.domain.errors import InvalidTransition, ValidationError
from orderdesk.domain.events import (
    BrokerSquaredOff,
    OrderAccepted,
    OrderEvent,
    OrderModified,
    OrderStatusChanged,
    ReconciliationMismatch,
)
from orderdesk.domain.ids import leg_order_id, slice_order_id
from orderdesk.domain.money import price_text
from orderdesk.domain.order import Order, Terms
from orderdesk.domain.refusals import describe_refusal
from orderdesk.domain.reports import Fill, OrderStatusReport
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.values import Validity
from orderdesk.engine.adoption import (
    adopted_at,
    adopted_order_id,
    adoption_finding,
    is_recovered,
    leg_signal,
    signal_from_report,
    slice_signal,
)
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.book import OrderBook
from orderdesk.engine.config import DeskConfig
from orderdesk.engine.recorder import Decide, Recorder
from orderdesk.engine.retry import NotYet, retrying
from orderdesk.errors import RiskDenied
from orderdesk.ports.broker import Broker
from orderdesk.ports.notifier import Severity

log = logging.getLogger(__name__)

MAX_BATCH = 2_000
"""Orders decided together and written in one append."""
MAX_UNBOUND = 10_000
"""Fills held for orders not bound yet; beyond this the oldest are left to reconciliation."""

Update = OrderStatusReport | Fill
REFUSED_UPDATE = "Order update refused"
REFUSED_FILL = "Fill refused"
CANCELLED_OUTSIDE_TITLE = "Order cancelled outside orderdesk"
TAKEN_BACK_TITLE = "Order given up as not placed is at the broker after all"
NOT_PLACED_FOUND = "not_placed_at_broker"
"""The finding (``ReconciliationMismatch.kind``) of an order given up as not placed that the
broker shows after all, and which the desk took back."""

_BROKER_OWN_WORDS = (
    "exchange",
    "rms",
    "square",
    "expir",
    "ioc",
    "ttl",
    "lpp",
    "protection",
    "circuit",
    "mass cancel",
    "validity",
    "margin",
    "freeze",
    "surveillance",
    "auction",
)
"""Words in a cancellation's ``status_message`` that put it down to the broker or the exchange
(Kite: "cancelled by the exchange", "exchange mass cancel", RMS, market protection and LPP,
the auto square-off, an expiry): not someone's outside orderdesk."""


class Source(StrEnum):
    """Where a piece of news came from: it decides whether trades are read and how fills are
    recorded."""

    STREAM = "stream"
    """The live stream and postbacks: reports read their trades when they show more filled."""
    POLL = "poll"
    """A catch-up read of the order book and the trade book (the stream is down or quiet)."""
    LOOK = "look"
    """A look at a few orders' own histories (the first look after acceptance): reports
    without their trades, which are read as the stream's are."""
    PLACEMENT = "placement"
    """The placement's reply, or the order book read that resolves an unknown outcome."""
    RECONCILE = "reconcile"
    """Reconciliation: a fill found in the trade book was missed by the stream (inferred)."""


@dataclass(slots=True)
class Decided:
    """What one order's piece of news recorded."""

    order: Order
    events: list[OrderEvent]
    filled_before: int
    """The order's filled quantity just before (reconciliation tells a missed fill by it)."""
    adopted: bool = False
    square_off: bool = False
    terms_before: Terms | None = None
    """The order's terms just before (what a modification outside orderdesk changed)."""
    taken_back: bool = False
    """The order had been given up as not placed, and this news found it at the broker."""

    def modified_outside(self) -> list[tuple[Terms, Terms]]:
        """(before, after) of each modification made outside orderdesk this news recorded."""
        found = []
        before = self.terms_before
        for event in self.events:
            if isinstance(event, OrderModified) and event.external:
                after = Terms(event.quantity, event.order_type, event.price, event.trigger_price)
                found.append((before or after, after))
                before = after
        return found


@dataclass(slots=True)
class NewsResult:
    """What a batch of news recorded, and what it could not place on an order."""

    decided: list[Decided] = field(default_factory=list)
    duplicates: list[tuple[Order, list[str]]] = field(default_factory=list)
    """Orders whose tag the broker shows on several of its orders (broker ids)."""
    orphans: list[Fill] = field(default_factory=list)
    """Trades of broker orders nobody knows and the batch did not describe."""
    refused: list[tuple[str, InvalidTransition]] = field(default_factory=list)
    """Trades an order refused (they would overfill it): (order id, objection)."""


@dataclass(slots=True, eq=False)
class _Item:
    """One order's piece of news, waiting in the order's lane."""

    key: str
    order: Order | None
    """None for a report to adopt (its order is created when the news is decided)."""
    report: OrderStatusReport | None = None
    fills: list[Fill] = field(default_factory=list)
    placed: str | None = None
    source: Source = Source.STREAM
    done: asyncio.Future[Decided | None] | None = None
    problems: list[tuple[str, InvalidTransition]] = field(default_factory=list)
    """(alert title, objection) of what the order refused."""
    filled_before: int = 0
    terms_before: Terms | None = None
    taken_back: bool = False
    """Its report took back an order given up as not placed."""
    read: bool = False
    """Its trades were read already (it may not read twice)."""

    @property
    def inferred(self) -> bool:
        return self.source is Source.RECONCILE

    @property
    def may_read(self) -> bool:
        # Book reads bring the trade book along; the stream and placements bring no trades.
        return not self.read and self.source in (Source.STREAM, Source.PLACEMENT, Source.LOOK)


class BrokerNews:
    """See the module docstring."""

    def __init__(
        self,
        book: OrderBook,
        recorder: Recorder,
        broker: Broker,
        config: DeskConfig,
        alerts: Alerts,
        calendar: TradingCalendar | None = None,
    ) -> None:
        self.book = book
        self.recorder = recorder
        self.broker = broker
        self.config = config
        self.alerts = alerts
        self.calendar = calendar
        self.clock = recorder.clock
        self._lanes: dict[str, deque[_Item]] = {}
        self._queued = 0
        self._runnable: deque[str] = deque()
        """Lanes whose next item can be taken now, in the order they got one."""
        self._out: set[str] = set()
        """Lanes with an item taken and not yet recorded (they wait)."""
        self._ready: list[_Item] = []
        """Items whose trades were read, to be decided in the next batch."""
        self._room = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._days = False
        """Trading days are kept: news is recorded only within the open one."""
        self._day_ends: datetime | None = None
        """When the open trading day ends (the next one begins); None: none is open."""
        self._held = False
        """News waits for the next trading day to open (the lanes are not taken)."""
        self._side: set[asyncio.Task[None]] = set()
        self._following: dict[str, asyncio.Task[None]] = {}
        self._unbound: OrderedDict[str, list[Fill]] = OrderedDict()
        self._unbound_count = 0
        self.claim: Callable[[OrderStatusReport], Awaitable[Signal | None]] | None = None
        """Whose order a report nobody's order matches is, when one of the desk's GTTs or
        alerts placed it (its signal, for the trigger's strategy), else None (external). Set
        by the desk; a look-up that fails raises, and the order waits for the next read."""
        self.judge: Callable[[Signal], Awaitable[RiskDenied | None]] | None = None
        """The risk checks of an order's own terms (the desk's and its strategy's size and
        value limits, the kill switch): an order modified outside orderdesk to terms they
        refuse is alerted CRITICAL. Set by the desk; None: such orders are only warned of."""
        self.watched_exit: Callable[[Order], bool] = lambda order: False
        """Whether ``order`` is (a slice of) an exit the desk watches, whose own alert tells of
        its cancellation, outside orderdesk or not (``ExitEscalation``). Set by the desk."""
        self.on_taken_back: Callable[[Order], None] | None = None
        """Told each order given up as not placed that the news took back, once recorded and
        alerted (the desk carries out a cancel asked while its placement was unresolved). Set
        by the desk; it must not wait on the broker here, in the news task."""

    # -- entry ---------------------------------------------------------------------------------

    async def put(self, update: Update) -> None:
        """Queue one update of the live stream; waits only while ``max_queued_news`` are queued
        (the config's)."""
        while self._queued >= self.config.max_queued_news:
            self._room.clear()
            await self._room.wait()
        if isinstance(update, Fill):
            order = self.book.by_broker_id.get(update.broker_order_id)
            if order is None:
                self._hold(update)
            else:
                self._enqueue(_Item(order.order_id, order, fills=[update]))
            return
        key, order = self._route(update)
        self._enqueue(_Item(key, order, report=update))

    async def placed(self, order: Order, broker_order_id: str) -> None:
        """The placement's reply: bind ``order`` to the broker's id (returns once recorded)."""
        done: asyncio.Future[Decided | None] = asyncio.get_running_loop().create_future()
        self._enqueue(
            _Item(
                order.order_id,
                order,
                placed=broker_order_id,
                source=Source.PLACEMENT,
                done=done,
            )
        )
        await done

    async def apply(
        self,
        reports: Sequence[OrderStatusReport] = (),
        fills: Sequence[Fill] = (),
        *,
        source: Source,
    ) -> NewsResult:
        """Queue a batch of news about many orders and return once it is all recorded.

        Each order gets its report (the broker's own id first when its tag shows twice) and the
        trades of it the batch carries; a report nobody's order matches is adopted with its
        trades.
        """
        result = NewsResult()
        matched: dict[str, list[OrderStatusReport]] = defaultdict(list)
        orders: dict[str, Order] = {}
        unknown: dict[str, OrderStatusReport] = {}
        # Broker ids this batch's reports tie to the desk's orders, which the book may not have
        # bound yet. A fill's owner is looked up in the book first, then here: copying the
        # book's ids instead took 0.3 ms at 5,000 orders, on every batch of news (timeit).
        named: dict[str, str] = {}
        for report in reports:
            key, order = self._route(report)
            if order is None:
                unknown[report.broker_order_id] = report
                continue
            matched[order.order_id].append(report)
            orders[order.order_id] = order
            named.setdefault(report.broker_order_id, order.order_id)
        trades: defaultdict[str, list[Fill]] = defaultdict(list)
        by_broker_id = self.book.by_broker_id
        for fill in fills:
            bound = by_broker_id.get(fill.broker_order_id)
            owner = bound.order_id if bound is not None else named.get(fill.broker_order_id)
            if owner is not None:
                trades[owner].append(fill)
                orders.setdefault(owner, self.book.orders[owner])
            elif fill.broker_order_id in unknown:
                trades[self._route(unknown[fill.broker_order_id])[0]].append(fill)
            elif source is Source.RECONCILE:
                result.orphans.append(fill)
            else:
                self._hold(fill)
        loop = asyncio.get_running_loop()
        items: list[_Item] = []
        for order_id, order in orders.items():  # book order: the same books, the same log
            found = matched.get(order_id, [])
            if len(found) > 1:
                result.duplicates.append((order, sorted(r.broker_order_id for r in found)))
                own = [r for r in found if r.broker_order_id == order.broker_order_id]
                found = own or sorted(found, key=lambda r: r.broker_order_id)
            items.append(
                _Item(
                    order_id,
                    order,
                    report=found[0] if found else None,
                    fills=trades.get(order_id, []),
                    source=source,
                    done=loop.create_future(),
                )
            )
        for report in unknown.values():
            key = self._route(report)[0]
            items.append(
                _Item(
                    key,
                    self.book.orders.get(key),
                    report=report,
                    fills=trades.get(key, []),
                    source=source,
                    done=loop.create_future(),
                )
            )
        for item in items:
            self._enqueue(item)
        for item in items:
            assert item.done is not None
            decided = await item.done
            if decided is not None:
                result.decided.append(decided)
            result.refused += [(item.key, p) for title, p in item.problems if title == REFUSED_FILL]
        return result

    def _route(self, report: OrderStatusReport) -> tuple[str, Order | None]:
        """The lane of a report and its order (None: to be created: a cover order's stop leg
        the broker placed, a child the broker cut from the desk's autoslice placement, or an
        order placed outside orderdesk, to adopt)."""
        order = self.book.find(report)
        if order is not None:
            return order.order_id, order
        parent = self._cover_order(report)
        sliced = self.book.slice_parent(report) if parent is None else None
        if parent is not None:
            key = leg_order_id(parent.order_id)
        elif sliced is not None:
            key = slice_order_id(sliced.order_id, report.broker_order_id)
        else:
            key = adopted_order_id(report)
        return key, self.book.orders.get(key)

    def _cover_order(self, report: OrderStatusReport) -> Order | None:
        """The desk's cover order whose second leg ``report`` describes, if it is one."""
        if report.parent_order_id is None:
            return None
        return self.book.by_broker_id.get(report.parent_order_id)

    # -- the trading day -----------------------------------------------------------------------

    def day_open_until(self, ends: datetime | None) -> None:
        """Record news only within the open trading day, which ends at ``ends`` (when the next
        one begins; None: no day is open yet). Said by the trading days at start and at each
        opening; news that waited for the day is recorded from now on, in the order it came."""
        self._days, self._day_ends = True, ends
        if self._held and self._admits():
            self._held = False
            self._wake()

    def _admits(self) -> bool:
        """Whether news may be recorded now: no days are kept, or the clock is within the
        open one. A new day's news waits for its opening, which reads the broker's books and
        carries into the day the orders it still holds (an AMO released at the open)."""
        if not self._days:
            return True
        ends = self._day_ends
        return ends is not None and self.clock.now() < ends

    @property
    def held(self) -> int:
        """Pieces of news waiting for the next trading day to open (0 while news flows)."""
        return self._queued + len(self._ready) if self._held else 0

    # -- waiting -------------------------------------------------------------------------------

    def chasing(self) -> frozenset[str]:
        """The orders whose trades the news path is still reading again (a follow-up: the
        broker showed more filled than the trades it had listed yet)."""
        return frozenset(o for o, task in self._following.items() if not task.done())

    def lagging(self, order: Order) -> bool:
        """The broker says more is filled than the fills recorded for ``order`` cover."""
        return order.filled_quantity > order.fill_quantity

    async def idle(self) -> None:
        """Wait until every queued piece of news is recorded (or waits for the next trading
        day to open) and every follow-up has ended."""
        while True:
            tasks = [t for t in (self._task, *self._side, *self._following.values()) if t]
            if self._held:
                # A follow-up's reading waits for the day like the rest: not for idle.
                tasks = [t for t in (self._task, *self._side) if t]
            if not tasks:
                return
            await asyncio.wait(tasks)

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._side, *self._following.values()) if t]
        self._task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the lanes -----------------------------------------------------------------------------

    def _enqueue(self, item: _Item) -> None:
        lane = self._lanes.get(item.key)
        if lane is None:
            lane = self._lanes[item.key] = deque()
            if item.key not in self._out:
                self._runnable.append(item.key)
                self._wake()
        lane.append(item)
        self._queued += 1

    def _wake(self) -> None:
        if self._task is None and (self._runnable or self._ready):
            if self._held and not self._admits():
                return  # the next day's news waits for its opening
            self._held = False
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="orderdesk-broker-news"
            )

    async def _run(self) -> None:
        try:
            while self._runnable or self._ready:
                if not self._admits():
                    self._held = True  # until the next day opens (day_open_until)
                    break
                ready, self._ready = self._ready, []
                batch = [*ready, *self._take(MAX_BATCH - len(ready))]
                if self._queued < self.config.max_queued_news:
                    self._room.set()
                if batch:
                    await self._record(batch)
        finally:
            if self._task is asyncio.current_task():
                self._task = None

    def _take(self, room: int) -> list[_Item]:
        batch: list[_Item] = []
        runnable, lanes = self._runnable, self._lanes
        while runnable and len(batch) < room:
            key = runnable.popleft()
            lane = lanes[key]
            item = lane.popleft()
            if not lane:
                del lanes[key]
            self._queued -= 1
            self._out.add(key)
            if item.order is None:
                item.order = self.book.orders.get(key)  # adopted by an earlier item
            order = item.order
            if order is not None and self.recorder.lock(key).locked():
                self._aside(self._alone(item))
            elif order is not None and self._needs_trades(order, item):
                self._aside(self._read(item))
            else:
                batch.append(item)
        return batch

    def _needs_trades(self, order: Order, item: _Item) -> bool:
        report = item.report
        if report is None or not item.may_read:
            return False
        brought = sum(f.quantity for f in item.fills if f.trade_id not in order.fills)
        return report.filled_quantity > order.fill_quantity + brought

    def _aside(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    def _release(self, key: str) -> None:
        """``key``'s taken item is recorded: its lane may go on."""
        self._out.discard(key)
        if key in self._lanes:
            self._runnable.append(key)
            self._wake()

    async def _read(self, item: _Item) -> None:
        """Read the trades the item's report implies; the lane waits until they are recorded."""
        assert item.report is not None
        try:
            item.fills = [*item.fills, *await self._trades(item.report.broker_order_id)]
        except BaseException:
            self._finish(item, None)
            raise
        item.read = True
        self._ready.append(item)
        self._wake()

    async def _alone(self, item: _Item) -> None:
        """The order's lock is held (a command, say): wait for it like any other decision."""
        order = item.order
        assert order is not None
        decided: Decided | None = None
        try:
            if item.report is not None and self._needs_trades(order, item):
                item.fills = [*item.fills, *await self._trades(item.report.broker_order_id)]
                item.read = True
            outcome = await self.recorder.decide(
                order, self._decision(item, self.clock.now()), durable=False
            )
            decided = Decided(
                order,
                outcome.events,
                item.filled_before,
                terms_before=item.terms_before,
                taken_back=item.taken_back,
            )
        finally:
            self._finish(item, decided)
        await self._after([(item, decided)])

    async def _record(self, batch: list[_Item]) -> None:
        now = self.clock.now()
        existing = [item for item in batch if item.order is not None]
        adopting = [item for item in batch if item.order is None]
        results: list[tuple[_Item, Decided | None]] = []
        try:
            outcomes = await self.recorder.decide_many(
                [(item.order, self._decision(item, now)) for item in existing if item.order],
                durable=False,
            )
            for item, outcome in zip(existing, outcomes, strict=True):
                results.append(
                    (
                        item,
                        Decided(
                            outcome.order,
                            outcome.events,
                            item.filled_before,
                            terms_before=item.terms_before,
                            taken_back=item.taken_back,
                        ),
                    )
                )
            if adopting:
                results += await self._adopt(adopting, now)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Lost here, not at the broker: polling and reconciliation read them again.
            log.exception("could not record %d pieces of broker news", len(batch))
            results = [(item, None) for item in batch]
        for item, decided in results:
            self._finish(item, decided)
        await self._after(results)

    async def _adopt(self, items: list[_Item], now: datetime) -> list[tuple[_Item, Decided]]:
        """Orders the broker holds and the desk does not yet: cover orders' stop legs and the
        children of autoslice placements (the desk's own), and orders placed outside
        orderdesk (external)."""
        created = []
        for item in items:
            report = item.report
            assert report is not None
            parent = self._cover_order(report)
            sliced = self.book.slice_parent(report) if parent is None else None
            at = adopted_at(report, now, self.calendar)
            if sliced is not None:
                order = Order.create(
                    item.key,
                    slice_signal(report, sliced),
                    at,
                    parent_id=sliced.order_id,
                    broker_order_id=report.broker_order_id,
                )
            elif parent is not None:
                order = Order.create(
                    item.key,
                    leg_signal(report, parent),
                    at,
                    broker_order_id=report.broker_order_id,
                    leg_of=parent.order_id,
                )
            elif self.claim is not None and (claimed := await self.claim(report)) is not None:
                # Placed by one of the desk's GTTs or alerts: the trigger's strategy's order.
                order = Order.create(item.key, claimed, at, broker_order_id=report.broker_order_id)
            else:
                order = Order.create(
                    item.key,
                    signal_from_report(report),
                    at,
                    external=True,
                    broker_order_id=report.broker_order_id,
                )
            created.append((order, self._decision(item, now)))
        outcomes = await self.recorder.create_many(created, durable=False)
        results = []
        for item, outcome in zip(items, outcomes, strict=True):
            assert item.report is not None
            item.order = outcome.order
            external = outcome.order.external
            square_off = (
                external
                and not is_recovered(outcome.order)
                and self.calendar is not None
                and is_broker_square_off(item.report, self.calendar)
            )
            results.append(
                (
                    item,
                    Decided(
                        outcome.order, outcome.events, 0, adopted=external, square_off=square_off
                    ),
                )
            )
        return results

    def _finish(self, item: _Item, decided: Decided | None) -> None:
        if item.done is not None and not item.done.done():
            item.done.set_result(decided)
        self._release(item.key)

    async def _after(self, results: Sequence[tuple[_Item, Decided | None]]) -> None:
        """Bookkeeping once news is recorded: held fills of orders now bound, findings and
        refusals alerted, follow-up reads of trades still behind."""
        for item, decided in results:
            if decided is None:
                continue
            order = decided.order
            bound = order.broker_order_id
            if bound is not None and bound in self._unbound:
                fills = self._unbound.pop(bound)
                self._unbound_count -= len(fills)
                self._enqueue(_Item(order.order_id, order, fills=fills))
            if decided.adopted:
                await self._adopted(decided)
            else:
                if decided.taken_back:
                    await self._taken_back(decided)
                await self._rejections(decided)
                await self._modified_outside(decided)
                await self._cancelled_outside(decided)
            for title, problem in item.problems:
                await self.alerts.raise_(
                    Severity.WARNING,
                    title,
                    f"order {order.order_id} {describe_refusal(problem)}",
                    key=f"refused:{order.order_id}",
                    order_id=order.order_id,
                )
            if self.lagging(order) and not item.inferred:
                self._follow_up(order)

    async def _adopted(self, decided: Decided) -> None:
        order = decided.order
        signal = order.signal
        now = self.clock.now()
        if decided.square_off:
            detail = (
                f"broker order {order.broker_order_id}: {signal.instrument} {signal.product} "
                f"{signal.side} {signal.quantity} at market"
            )
            await self.recorder.desk_event(
                BrokerSquaredOff(at=now, order_id=order.order_id, detail=detail)
            )
            await self.alerts.raise_(
                Severity.WARNING,
                "Squared off by the broker",
                f"{detail}: the broker closed an intraday position at its square-off time",
                key=f"square_off:{order.order_id}",
                order_id=order.order_id,
            )
            return
        kind, detail = adoption_finding(order)
        await self.recorder.desk_event(
            ReconciliationMismatch(at=now, kind=kind, detail=detail, order_id=order.order_id)
        )
        await self.alerts.raise_(
            Severity.WARNING,
            f"Reconciliation: {kind}",
            f"{order.order_id}: {detail}",
            key=f"reconcile:{kind}:{order.order_id}",
            order_id=order.order_id,
        )

    async def _taken_back(self, decided: Decided) -> None:
        """An order given up as not placed is at the broker after all, and the desk holds it
        again as the broker does: a finding, and CRITICAL, since a strategy that read "not
        placed" may have sent it again. Nothing is placed by this."""
        order = decided.order
        signal = order.signal
        filled = (
            f"{order.filled_quantity} of {order.quantity} filled at "
            f"{price_text(order.average_price)}"
            if order.filled_quantity
            else f"nothing of {order.quantity} filled"
        )
        state = f"{order.base_status}, {filled}"
        detail = (
            f"given up as not placed, but the broker holds it as broker order "
            f"{order.broker_order_id} ({state}); the desk holds it again as the broker does"
        )
        await self.recorder.desk_event(
            ReconciliationMismatch(
                at=self.clock.now(), kind=NOT_PLACED_FOUND, detail=detail, order_id=order.order_id
            )
        )
        body = (
            f"{order.order_id} ({signal.strategy}: {signal.instrument} {signal.side} "
            f"{order.terms} {signal.product}) is at the broker after all, broker order "
            f"{order.broker_order_id}: {state}. The desk holds it again as the broker does"
        )
        if order.is_terminal and not order.filled_quantity:
            # Rejected or cancelled with nothing filled: it moved nothing, said all the same.
            severity = Severity.WARNING
            body += "; it ended with nothing filled, so it holds nothing."
        else:
            severity = Severity.CRITICAL
            if not order.is_terminal:
                body += " (it can be cancelled or modified through the desk)"
            body += "; if you sent it again, you now hold two."
        await self.alerts.raise_(
            severity,
            TAKEN_BACK_TITLE,
            body,
            key=f"taken_back:{order.order_id}",
            order_id=order.order_id,
        )
        if self.on_taken_back is not None:
            self.on_taken_back(order)

    async def _rejections(self, decided: Decided) -> None:
        """A rejection after the broker took the order (its RMS or the exchange: margin,
        circuit limits, a stop rejected when it triggers) is the failure a trader meets most:
        say it with the broker's reason."""
        for event in decided.events:
            if isinstance(event, OrderStatusChanged) and event.base_status is OrderStatus.REJECTED:
                order = decided.order
                signal = order.signal
                await self.alerts.raise_(
                    Severity.WARNING,
                    "Order rejected by the broker",
                    f"{order.order_id} ({signal.strategy}: {signal.instrument} {signal.side} "
                    f"{signal.quantity} {signal.product}) was rejected after the broker took it: "
                    f"{event.message or event.broker_status_text}",
                    key=f"rejected:{order.order_id}",
                    order_id=order.order_id,
                )

    async def _cancelled_outside(self, decided: Decided) -> None:
        """A working order of the desk's cancelled by someone else (Kite web or mobile, another
        API client) leaves its strategy short of what it asked for: say whose it was and what
        had filled. Told apart from the desk's own cancels and the broker's or exchange's by
        :meth:`_cancelled_by_someone`, which marked its status change. An exit's own alert
        ("Exit cancelled") says it instead, with what it means for the position."""
        order = decided.order
        if self.watched_exit(order):
            return
        for event in decided.events:
            if not (isinstance(event, OrderStatusChanged) and event.cancelled_outside):
                continue
            signal = order.signal
            filled = (
                f"{event.filled_quantity} of {order.quantity} filled at "
                f"{price_text(event.average_price)}"
                if event.filled_quantity
                else f"nothing of {order.quantity} filled"
            )
            body = (
                f"{order.order_id} ({signal.strategy}: {signal.instrument} {signal.side} "
                f"{order.terms} {signal.product}, broker order {order.broker_order_id}) was "
                f"cancelled at the broker without the desk asking: {filled}"
            )
            if event.message:
                body += (
                    f"; the broker's words, '{event.message}', are none the desk knows as the "
                    "broker's "
                    "or the exchange's own cancellation: someone outside orderdesk (Kite web or "
                    "mobile, an API client), or the broker or the exchange, cancelled it"
                )
            else:
                body += (
                    "; someone cancelled it outside orderdesk (Kite web or mobile, an API client)"
                )
            await self.alerts.raise_(
                Severity.WARNING,
                CANCELLED_OUTSIDE_TITLE,
                body,
                key=f"cancelled_outside:{order.order_id}",
                order_id=order.order_id,
            )

    async def _modified_outside(self, decided: Decided) -> None:
        """An order of the desk's given new terms outside orderdesk (Kite web, another API
        client) carries the desk's risk all the same: say what changed, from what to what, and
        say it CRITICAL when the new terms are beyond the risk limits."""
        order = decided.order
        signal = order.signal
        for before, after in decided.modified_outside():
            severity, title = Severity.WARNING, "Order modified outside orderdesk"
            body = (
                f"{order.order_id} ({signal.strategy}: {signal.instrument} {signal.side} "
                f"{signal.product}, broker order {order.broker_order_id}): "
                f"{after.changes_from(before)}; the desk now holds {after}"
            )
            denial = await self._judged(order, after)
            if denial is not None:
                severity = Severity.CRITICAL
                title = "Order modified outside orderdesk beyond the risk limits"
                body += f"; beyond the risk limits: {denial}"
            await self.alerts.raise_(
                severity,
                title,
                body,
                key=f"modified_outside:{order.order_id}:{after}",
                order_id=order.order_id,
            )

    async def _judged(self, order: Order, terms: Terms) -> str | None:
        """Why the risk checks of an order's own terms would refuse ``terms``, or None."""
        if self.judge is None:
            return None
        try:
            signal = _with_terms(order.signal, terms)
        except ValidationError as exc:
            log.warning("the new terms of %s cannot be judged: %s", order.order_id, exc)
            return None
        try:
            denial = await self.judge(signal)
        except Exception as exc:  # a check that cannot run must not hide the alert
            log.warning("judging the new terms of %s failed: %r", order.order_id, exc)
            return None
        return None if denial is None else str(denial)

    # -- the decision --------------------------------------------------------------------------

    def _decision(self, item: _Item, at: datetime) -> Decide:
        """The one decision of a piece of news: binding, the report, the trades with it."""

        def decide(order: Order) -> list[OrderEvent]:
            item.filled_before = order.filled_quantity
            item.terms_before = order.terms
            item.taken_back = False
            events: list[OrderEvent] = []
            if item.placed is not None:
                try:
                    events += order.accepted(item.placed, at)
                except InvalidTransition as error:
                    item.problems.append((REFUSED_UPDATE, error))
                    return [order.refused(error, at)]
            report = item.report
            # New terms the report shows (modified outside orderdesk) come before its trades:
            # a quantity raised and filled while the desk was away fills the raised quantity.
            held = _held_to(order, report, at)

            def fresh_fills(against: Order) -> list[Fill]:
                try:
                    return _new_fills(against, item)
                except InvalidTransition as error:
                    # A bad trade is refused without taking the report down with it.
                    item.problems.append((REFUSED_FILL, error))
                    events.append(order.refused(error, at))
                    return []

            fresh = fresh_fills(held)
            carried = False
            if report is not None:
                try:
                    back = order.taken_back(report)
                    said = order.on_report(report, at, [] if item.inferred else fresh)
                    item.taken_back = back and any(isinstance(e, OrderAccepted) for e in said)
                    events += self._said_outside(order, report, said, at)
                    carried = any(isinstance(e, OrderStatusChanged) and e.fills for e in events)
                except InvalidTransition as error:
                    # The report contradicts what we hold; its trades are facts all the same.
                    item.problems.append((REFUSED_UPDATE, error))
                    events.append(order.refused(error, at))
            if held is not order and not _takes_outside_terms(events):
                # The report's new terms were not taken (it was refused, or stale): the trades
                # answer to the order's own.
                held = order
                fresh = fresh_fills(order)
            if not carried:
                for fill in fresh:
                    events += held.on_fill(fill, at, inferred=item.inferred)
            return events

        return decide

    def _said_outside(
        self,
        order: Order,
        report: OrderStatusReport,
        events: list[OrderEvent],
        at: datetime,
    ) -> list[OrderEvent]:
        """``events`` with a cancellation the desk did not ask for marked as made outside
        orderdesk (``cancelled_outside``), for the timeline, the order's reason and the alert;
        ``order`` is as the news found it."""
        if not any(
            isinstance(e, OrderStatusChanged) and e.base_status is OrderStatus.CANCELLED
            for e in events
        ):
            return events
        if not self._cancelled_by_someone(order, report, at):
            return events
        return [
            replace(e, cancelled_outside=True)
            if isinstance(e, OrderStatusChanged) and e.base_status is OrderStatus.CANCELLED
            else e
            for e in events
        ]

    def _cancelled_by_someone(self, order: Order, report: OrderStatusReport, at: datetime) -> bool:
        """Whether a cancellation of ``order`` is someone's outside orderdesk, rather than the
        desk's own or the broker's or exchange's normal end of an order.

        Not: an order the desk does not own (adopted as external); one the desk asked to cancel
        (any cancel of its own: exits, cancel-all, the kill switch, its own square-off), or
        whose cover order or sliced parent it asked to cancel; an IOC order's remainder; a TTL
        order past its minutes; one the broker's words put down to the broker or exchange
        (RMS, the exchange, square-off, expiry, market protection, LPP, a mass cancel); an
        intraday order from its segment's square-off time, or any order from the exchange's
        mass cancel (the desk alerts those times itself). Words the broker gave that say none
        of this leave it someone's, said with the broker's words, rather than unalerted."""
        if order.external or order.cancel_requested:
            return False
        for related in (order.leg_of, order.parent_id):
            owner = self.book.orders.get(related) if related is not None else None
            if owner is not None and owner.cancel_requested:
                return False
        signal = order.signal
        if signal.validity is Validity.IOC:
            return False
        ttl = signal.validity_ttl if signal.validity is Validity.TTL else None
        if ttl is not None and at >= order.created_at + timedelta(minutes=ttl):
            return False
        words = (report.status_message or "").lower()
        if any(mark in words for mark in _BROKER_OWN_WORDS):
            return False
        calendar = self.calendar
        if calendar is not None:
            day = calendar.trading_day_of(at)
            segment = SEGMENT_OF[signal.instrument.exchange]
            if signal.product in INTRADAY and at >= calendar.square_off_at(day, segment):
                return False
            if at >= calendar.mass_cancel_at(day, segment):
                return False
        return True

    # -- trades --------------------------------------------------------------------------------

    async def _trades(self, broker_order_id: str) -> list[Fill]:
        """The order's trades, or none if they could not be read in ``trades_timeout``."""
        try:
            async with asyncio.timeout(self.config.trades_timeout):
                return list(await self.broker.order_trades(broker_order_id))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Not fatal: the report is recorded anyway and the trades are read again later.
            log.warning("reading the trades of %s failed: %r", broker_order_id, exc)
            return []

    def _follow_up(self, order: Order) -> None:
        """Read ``order``'s trades again in the background until its fills catch up (bounded)."""
        running = self._following.get(order.order_id)
        if running is not None and not running.done():
            return
        task = asyncio.get_running_loop().create_task(
            self._follow(order), name=f"trades-{order.order_id}"
        )
        self._following[order.order_id] = task
        task.add_done_callback(lambda done: self._followed(order.order_id, done))

    def _followed(self, order_id: str, task: asyncio.Task[None]) -> None:
        if self._following.get(order_id) is task:
            del self._following[order_id]

    async def _follow(self, order: Order) -> None:
        backoff = self.config.trades_backoff
        await asyncio.sleep(backoff)  # the trade book trails the order book by a moment
        try:
            async for attempt in retrying(
                NotYet, first=backoff, ceiling=backoff * 8, attempts=self.config.trades_attempts
            ):
                with attempt:
                    if not self.lagging(order) or order.broker_order_id is None:
                        return
                    fills = await self._trades(order.broker_order_id)
                    if fills:
                        result = await self.apply(fills=fills, source=Source.STREAM)
                        if result.refused:
                            return  # alerted; more reads would only repeat it
                    if self.lagging(order):
                        raise NotYet
        except NotYet:
            pass
        if self.lagging(order):
            log.info(
                "%s: %d filled, fills for %d; left to reconciliation",
                order.order_id,
                order.filled_quantity,
                order.fill_quantity,
            )

    def _hold(self, fill: Fill) -> None:
        """A fill for an order not bound yet: it joins the order's lane once it is."""
        if self._unbound_count >= MAX_UNBOUND:
            _, dropped = self._unbound.popitem(last=False)
            self._unbound_count -= len(dropped)
        self._unbound.setdefault(fill.broker_order_id, []).append(fill)
        self._unbound_count += 1


def _with_terms(signal: Signal, terms: Terms) -> Signal:
    """``signal`` asking for ``terms``: what the risk checks of an order's own terms judge.

    Not :meth:`Order.proposed`, which holds a modify of the desk's to more than has filled:
    terms found made outside are the order's however much has filled since. A quantity raised
    past ``max_quantity`` and filled before the desk heard of it is beyond the limits all the
    same (it was said "cannot be judged" and only warned of). Raises :class:`ValidationError`
    for terms no signal could have."""
    return replace(
        signal,
        quantity=terms.quantity,
        price=terms.price,
        trigger_price=terms.trigger_price,
        order_type=terms.order_type,
        market_protection=None,
    )


def _held_to(order: Order, report: OrderStatusReport | None, at: datetime) -> Order:
    """``order`` as its trades are checked against: holding the new terms ``report`` shows,
    when it shows the order modified outside orderdesk (a copy; the order itself takes them
    when the news is recorded, the modification before the trades), else ``order`` itself.

    Checked against the terms from before, a quantity raised outside and filled while the desk
    was away (10 raised to 40, 40 filled) is an overfill: refused and alerted, its position
    missing until the trades are read again."""
    if report is None or not order.changed_at_broker(report):
        return order
    held = replace(order, fills=dict(order.fills))
    held.apply(order.external_modification(report, at))
    return held


def _takes_outside_terms(events: Sequence[OrderEvent]) -> bool:
    """Whether ``events`` give the order terms found made outside orderdesk."""
    return any(isinstance(event, OrderModified) and event.external for event in events)


def _new_fills(order: Order, item: _Item) -> list[Fill]:
    """The item's fills the order has not recorded yet; raises if they would overfill it.

    Fills of another broker order are skipped (a trade-book read returns them all).
    """
    bound = item.placed or order.broker_order_id
    if item.report is not None:
        bound = item.report.broker_order_id
    fresh: list[Fill] = []
    seen: set[str] = set()
    extra = 0
    for fill in item.fills:
        if fill.trade_id in order.fills or fill.trade_id in seen:
            continue
        if bound is not None and fill.broker_order_id != bound:
            continue
        if order.fill_quantity + extra + fill.quantity > order.quantity:
            raise InvalidTransition(
                order.status.value,
                "FILL",
                f"trade {fill.trade_id} of {fill.quantity} overfills "
                f"{order.fill_quantity + extra} of {order.quantity}",
            )
        seen.add(fill.trade_id)
        extra += fill.quantity
        fresh.append(fill)
    return fresh


__all__ = [
    "CANCELLED_OUTSIDE_TITLE",
    "MAX_BATCH",
    "MAX_UNBOUND",
    "NOT_PLACED_FOUND",
    "TAKEN_BACK_TITLE",
    "BrokerNews",
    "Decided",
    "NewsResult",
    "Source",
    "Update",
]
