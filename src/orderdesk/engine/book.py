"""The desk's in-memory projection of the log: orders, their indexes, positions and prices.

Everything here is derived from applied events (plus ticks for prices), so it can always be
rebuilt by replaying the log. The indexes exist for the hot path: a broker update names a
broker order id or a tag, and must find its order in O(1).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.day import CarriedPosition, Holding, StrategyCarry
from orderdesk.domain.events import AutosliceAnswered, OrderEvent, recorded_fills
from orderdesk.domain.order import Order
from orderdesk.domain.position import PositionBook
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine.adoption import made_from_unlogged


@dataclass(slots=True)
class OrderBook:
    """Orders by client id, by broker id and by parent; positions from fills; last prices;
    the day's holdings."""

    orders: dict[str, Order] = field(default_factory=dict)
    by_broker_id: dict[str, Order] = field(default_factory=dict)
    children: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    positions: PositionBook = field(default_factory=PositionBook)
    last_prices: dict[InstrumentKey, Decimal] = field(default_factory=dict)
    legs: dict[str, str] = field(default_factory=dict)
    """A cover order's id → the id of its stop leg (once the broker has placed it)."""
    slice_parents: dict[str, str] = field(default_factory=dict)
    """The broker's id of an autoslice placement → the id of the desk's order it carries."""
    holdings: dict[InstrumentKey, Holding] | None = None
    """Delivered stock as the day opened with it (None: the desk keeps no days)."""
    carried: tuple[CarriedPosition, ...] = ()
    """The positions the broker carried into the day, at the previous close (the day's
    ``DayOpened.positions``): what the strategies' shares are booked at."""
    shares: tuple[StrategyCarry, ...] = ()
    """Each strategy's share of them (the day's ``DayOpened.strategy_positions``)."""
    conversions: list[tuple[datetime, PositionConversion]] = field(default_factory=list)
    """The day's conversions the broker made, when: the strategies' books move with them."""
    accepted: dict[str, Order] = field(default_factory=dict)
    """Orders the broker took and has said nothing more of (``ACCEPTED``): they await the
    desk's first look, and the tracker finds them here without walking the day's book."""
    open_ids: set[str] = field(default_factory=set)
    """The orders :meth:`open_orders` lists, kept in step so the risk gate counts them
    without walking the day's book on every signal (1.1 ms at 6,000 open orders)."""
    open_by_strategy: Counter[str] = field(default_factory=Counter)
    """How many of them each strategy has."""
    open_by_instrument: Counter[InstrumentKey] = field(default_factory=Counter)
    """How many of them each instrument has (only instruments with some): what the desk
    streams prices for, read each second without walking the book (5,000 open orders took
    the clock loop 8 ms a second)."""
    made_from_unlogged: dict[str, list[str]] = field(default_factory=dict)
    """One of the desk's ids the log does not hold → the orders the broker made from it that
    the desk adopted (an autoslice's children carry their parent's id as their tag): a signal
    sent again under that id was placed before (``engine/adoption.py``)."""
    days_started: int = 0
    """How many times :meth:`start_day` has dropped the orders of a day: an order id the log
    had no order for stays without one until the book has held that order and dropped it."""

    def add(self, order: Order, *, with_fills: bool = True) -> None:
        """Index a newly created (or replayed) order; its recorded fills move the positions
        unless they belong to an earlier day (an order carried into today)."""
        self.orders[order.order_id] = order
        if order.parent_id is not None:
            self.children[order.parent_id].append(order.order_id)
        if order.broker_order_id is not None:
            self.by_broker_id[order.broker_order_id] = order
        if order.leg_of is not None:
            self.legs[order.leg_of] = order.order_id
        if order.broker_parent_id is not None:
            self.slice_parents[order.broker_parent_id] = order.order_id
        self._index_status(order)
        if made_from_unlogged(order):
            tag = order.signal.tag
            assert tag is not None
            self.made_from_unlogged.setdefault(tag, []).append(order.order_id)
        if not with_fills:
            return
        for fill in order.fills.values():
            self.positions.apply_fill(
                fill.instrument, fill.product, fill.side, fill.quantity, fill.price, fill.trade_id
            )

    def start_day(
        self,
        positions: PositionBook,
        holdings: Iterable[Holding],
        carried: set[str],
        *,
        opening: Iterable[CarriedPosition] = (),
        shares: Iterable[StrategyCarry] = (),
    ) -> None:
        """Hold today only: the orders carried into the day, and positions as they opened
        (``opening``, the carried positions ``positions`` was made from, and the strategies'
        ``shares`` of them, for each strategy's book).

        Earlier days' orders stay in the event log (the desk reads them from there when asked),
        so memory does not grow with the months the desk has run.
        """
        self.days_started += 1
        self.carried, self.shares = tuple(opening), tuple(shares)
        self.conversions = []
        self.orders = {oid: order for oid, order in self.orders.items() if oid in carried}
        self.by_broker_id = {
            bid: order for bid, order in self.by_broker_id.items() if order.order_id in carried
        }
        children: defaultdict[str, list[str]] = defaultdict(list)
        for parent, kids in self.children.items():
            if parent in carried:
                children[parent] = [kid for kid in kids if kid in carried]
        self.children = children
        self.legs = {p: leg for p, leg in self.legs.items() if leg in carried}
        self.slice_parents = {b: p for b, p in self.slice_parents.items() if p in carried}
        self.made_from_unlogged = {
            tag: kept
            for tag, made in self.made_from_unlogged.items()
            if (kept := [order_id for order_id in made if order_id in carried])
        }
        self.accepted = {oid: order for oid, order in self.accepted.items() if oid in carried}
        self.open_ids, self.open_by_strategy, self.open_by_instrument = set(), Counter(), Counter()
        for order in self.orders.values():
            self._index_status(order)
        self.positions = positions
        self.holdings = {holding.instrument: holding for holding in holdings}
        for holding in self.holdings.values():
            positions.hold(holding.instrument, holding.total, holding.day_price)
        for (instrument, _product), position in positions.positions.items():
            last = self.last_prices.get(instrument)
            if last is not None:
                position.mark(last)

    def applied(self, order: Order, event: OrderEvent, bound_before: str | None) -> None:
        """Keep indexes and positions in step after ``event`` was applied to ``order``."""
        if order.broker_order_id is not None and order.broker_order_id != bound_before:
            self.by_broker_id[order.broker_order_id] = order
        if isinstance(event, AutosliceAnswered):
            self.slice_parents[event.broker_parent_id] = order.order_id
        self._index_status(order)
        for fill in recorded_fills(event):
            self.positions.apply_fill(
                fill.instrument, fill.product, fill.side, fill.quantity, fill.price, fill.trade_id
            )
            last = self.last_prices.get(fill.instrument)
            if last is not None:
                # A position opened between ticks is marked now, not at the next tick.
                self.positions.get(fill.instrument, fill.product).mark(last)

    def _index_status(self, order: Order) -> None:
        if order.status is OrderStatus.ACCEPTED:
            self.accepted[order.order_id] = order
        else:
            self.accepted.pop(order.order_id, None)
        order_id = order.order_id
        if _is_open(order):
            if order_id not in self.open_ids:
                self.open_ids.add(order_id)
                self.open_by_strategy[order.signal.strategy] += 1
                self.open_by_instrument[order.signal.instrument] += 1
        elif order_id in self.open_ids:
            self.open_ids.discard(order_id)
            self.open_by_strategy[order.signal.strategy] -= 1
            instrument = order.signal.instrument
            self.open_by_instrument[instrument] -= 1
            if not self.open_by_instrument[instrument]:
                del self.open_by_instrument[instrument]

    def find(self, report: OrderStatusReport) -> Order | None:
        """The local order a broker report is about: by broker id, else by our tag.

        A cover order's second leg carries its parent's tag, and so does a child the broker cut
        from an autoslice placement, so a report with a parent is never matched by tag: it is
        the leg's or the slice's, or nobody's yet.
        """
        order = self.by_broker_id.get(report.broker_order_id)
        if order is not None:
            return order
        if report.parent_order_id is not None or report.slice_of is not None:
            return None
        if report.tag is not None and (order := self.orders.get(report.tag)) is not None:
            return order
        for tag in report.tags:
            if (order := self.orders.get(tag)) is not None:
                return order
        return None

    def slice_parent(self, report: OrderStatusReport) -> Order | None:
        """The desk's order whose autoslice placement ``report``'s order was cut from: by the
        placement's id once the broker answered, else by the desk's tag the child carries."""
        if report.slice_of is None:
            return None
        parent_id = self.slice_parents.get(report.slice_of)
        if parent_id is None:
            parent_id = next((t for t in (report.tag, *report.tags) if t in self.orders), None)
        parent = self.orders.get(parent_id) if parent_id is not None else None
        return parent if parent is not None and parent.autoslice else None

    def mark(self, instrument: InstrumentKey, price: Decimal) -> None:
        self.last_prices[instrument] = price
        self.positions.mark(instrument, price)

    def children_of(self, parent_id: str) -> list[Order]:
        """A sliced order's children in today's book, in the order they were made."""
        return [self.orders[child] for child in self.children.get(parent_id, ())]

    def is_parent(self, order: Order) -> bool:
        """A sliced order's parent: it holds the intent, its children go to the broker."""
        return order.order_id in self.children or (
            order.status is OrderStatus.INITIALIZED
            and order.parent_id is None
            and not order.deferred
        )

    def open_orders(self) -> list[Order]:
        """Orders that are (or may be) alive at the broker; parents are not orders there."""
        return [order for order in self.orders.values() if _is_open(order)]


def _is_open(order: Order) -> bool:
    return order.is_open


__all__ = ["OrderBook"]
