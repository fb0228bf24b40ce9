"""The desk's answers to the risk checks' questions (the :class:`RiskContext` they see)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from orderdesk.domain.order import Order
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import Exchange, InstrumentKey, Product
from orderdesk.engine.book import OrderBook
from orderdesk.engine.errors import SessionExpired
from orderdesk.engine.risk import PriceUnreadable
from orderdesk.engine.session import SessionWatch
from orderdesk.errors import BrokerAuthError
from orderdesk.ports.broker import Broker, PlaceOrder
from orderdesk.ports.clock import Clock

T = TypeVar("T")

MARGIN_PROBE_TAG = "marginprobe"
"""Tag of the hypothetical order whose margin is asked for; nothing is placed under it."""

BROKER_READ_SECONDS = 3.0
"""How long a risk check waits for the broker's answer (a quote, margins) before it fails
closed: the signal's sender is waiting, and a broker holding reads back under a rate limit
(Kite's 429 backoff, up to 30 s a hold) would otherwise keep it waiting past its timeout."""


class BrokerUnanswered(Exception):
    """A risk check's read that the broker did not answer within the bound: the check fails
    closed with this as its reason (refused now, nothing placed later), and the same signal
    sent again once the broker answers goes as any other."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the broker did not answer within {seconds:g} s (it is slow, or holding requests "
            "back under its rate limit: HTTP 429); send it again shortly"
        )


def working_with(
    signal: Signal, book: OrderBook, counts: Callable[[Order], bool] = lambda _order: True
) -> int:
    """What would be working on ``signal``'s side of its instrument and product once it is
    sent: its own unfilled quantity plus the unfilled remainder of the orders in ``book`` that
    ``counts`` (all, for the desk) already working there.

    The signal's own order (a modify's, or one deferred and sent again) is not counted twice:
    the signal carries its new quantity, and what that order has filled is in the position
    already. Walks the day's book, so it is asked only when an order claims to reduce a
    position (past a loss limit, through the kill switch), never on the usual path."""
    working = signal.quantity
    for order in book.orders.values():
        theirs = order.signal
        if (theirs.instrument, theirs.product, theirs.side) != (
            signal.instrument,
            signal.product,
            signal.side,
        ):
            continue
        if (theirs.strategy, theirs.signal_id) == (signal.strategy, signal.signal_id):
            working -= order.filled_quantity
        elif counts(order):
            working += _unfilled(order, book)
    return working


def _unfilled(order: Order, book: OrderBook) -> int:
    """What ``order`` may still fill at the broker: an open order's remainder; for a sliced
    order's parent (never at the broker itself) the part not cut into children yet, as the
    children are counted on their own."""
    if book.is_parent(order):
        if order.is_terminal:
            return 0
        cut = sum(child.signal.quantity for child in book.children_of(order.order_id))
        return max(order.signal.quantity - cut, 0)
    return order.remaining_quantity if order.is_open else 0


def sent_since(book: OrderBook, strategy: str, since: datetime) -> list[datetime]:
    """When the orders ``strategy`` sent through the risk gate at or after ``since`` were
    created (what the order rate counted of them; see :func:`_through_the_gate`).

    Those orders enter the book in the order they are made, each stamped with the desk's clock
    then, so the walk goes back from the newest and stops at the first (of any strategy) made
    before ``since``: it reads the last minute's orders, not the day's 5,000. The orders the
    broker made are passed over, as their times are the broker's and may be earlier."""
    times: list[datetime] = []
    for order in reversed(book.orders.values()):
        if not _through_the_gate(order, book):
            continue
        if order.created_at < since:
            break
        if order.signal.strategy == strategy:
            times.append(order.created_at)
    return times


def _through_the_gate(order: Order, book: OrderBook) -> bool:
    """Whether ``order`` is one the desk made and sent (or holds for want of a session) as
    itself, the order rate's kind: not a slice (its parent was counted), a cover order's stop
    leg, an order a GTT placed or one placed outside, which the broker made and the desk
    adopted. The desk's exits of a strategy's share are its kind too (nothing tells them
    apart here): a restart in the minute after one counts it against the strategy's rate."""
    if order.parent_id is not None or order.leg_of is not None or order.external:
        return False
    # A GTT's order was never sent by the desk; a sliced order's parent never is itself.
    sent = order.submit_attempts > 0 or order.deferred or order.autoslice
    return sent or book.is_parent(order)


class DeskRiskContext:
    """Open orders, working orders, P&L and the orders sent of late from the desk's book; the
    time from the desk's clock; prices from ticks or a quote; margins from the broker.

    A check's question that the broker answers by refusing the session is the session's end,
    as it is for a placement: the watch is told (the clock loop alerts it once), and a price
    asked for raises :class:`SessionExpired`, so the signal is refused as any without a usable
    session is, nothing recorded, rather than denied by the check that asked.

    A question the broker does not answer within ``read_seconds`` (wall time: the read is
    network I/O, whatever the desk's clock) is given up, and :class:`BrokerUnanswered` fails
    the check closed: a signal is answered at once, never held until the broker is ready."""

    def __init__(
        self,
        book: OrderBook,
        broker: Broker,
        clock: Clock,
        session: SessionWatch,
        *,
        read_seconds: float = BROKER_READ_SECONDS,
    ) -> None:
        self._book = book
        self._broker = broker
        self._clock = clock
        self._session = session
        self.read_seconds = read_seconds

    def open_order_count(self) -> int:
        return len(self._book.open_ids)

    def day_pnl(self) -> Decimal:
        return self._book.positions.total_pnl()

    def net_position(self, instrument: InstrumentKey, product: Product) -> int:
        positions = self._book.positions
        position = positions.positions.get((instrument, product))
        quantity = position.quantity if position is not None else 0
        if product is Product.CNC:
            # A CNC sale draws on the day's delivered stock first: that stock is held too
            # (as the kill switch's cancel and the exit count it).
            delivered, _price = positions.held.get(instrument, (0, None))
            quantity += delivered
        return quantity

    def working_with(self, signal: Signal) -> int:
        return working_with(signal, self._book)

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def now(self) -> datetime:
        return self._clock.now()

    def sent_since(self, strategy: str, since: datetime) -> list[datetime]:
        return sent_since(self._book, strategy, since)

    async def last_price(self, instrument: InstrumentKey) -> Decimal | None:
        price = self._book.last_prices.get(instrument)
        if price is not None:
            return price
        try:
            quotes = await self._asked("reading the last price", self._broker.quotes([instrument]))
        except SessionExpired:
            raise
        except BrokerUnanswered as exc:
            raise PriceUnreadable(str(exc)) from exc
        except Exception as exc:
            # The checks fail closed, saying why the price is missing.
            raise PriceUnreadable(f"{type(exc).__name__}: {exc}") from exc
        quote = quotes.get(instrument)
        return None if quote is None else quote.last_price

    async def required_margin(self, signal: Signal) -> Decimal:
        margins = await self._asked(
            "reading margins", self._broker.order_margins([PlaceOrder(MARGIN_PROBE_TAG, signal)])
        )
        return sum((m.total for m in margins), Decimal(0))

    async def available_funds(self, signal: Signal) -> Decimal:
        report = await self._asked("reading funds", self._broker.margins())
        commodity = signal.instrument.exchange is Exchange.MCX
        segment = report.commodity if commodity else report.equity
        return Decimal(0) if segment is None or not segment.enabled else segment.net

    async def _asked(self, what: str, call: Awaitable[T]) -> T:
        """``call``'s answer; a refused session ends the session (as a placement's refusal
        does) and raises :class:`SessionExpired`; no answer within ``read_seconds`` raises
        :class:`BrokerUnanswered` (the call is cancelled: the broker's client gives up its
        place in the rate limiter's queue and drops a connection caught mid-exchange)."""
        bound = asyncio.timeout(self.read_seconds)
        try:
            async with bound:
                return await call
        except TimeoutError as exc:
            if not bound.expired():
                raise  # the broker's own timeout, a failure like any other
            raise BrokerUnanswered(self.read_seconds) from exc
        except BrokerAuthError as exc:
            now = self._clock.now()
            self._session.refused(f"{what}: the broker refused the session: {exc}", now)
            raise SessionExpired(self._session.info(now).reason) from exc


__all__ = [
    "BROKER_READ_SECONDS",
    "MARGIN_PROBE_TAG",
    "BrokerUnanswered",
    "DeskRiskContext",
    "sent_since",
    "working_with",
]
