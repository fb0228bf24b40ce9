"""What the clock does to the exchange's book: the sweep through the day and the day's end.

The sweep (:meth:`ExchangeDay.sweep`; after every price change, clock move and housekeeping
tick) runs the timers that are due (late orders, slow validation), releases each AMO once its
own exchange's session opens and lapses TTL orders whose minutes have run out.

With trading days on (``market_hours="nse"``) the day machine (:mod:`orderdesk.sim.days`) calls
the book's three day-end operations, each at its own time: :meth:`ExchangeDay.square_off` (the
broker closes MIS/CO positions with market orders placed by :data:`SQUARE_OFF_PLACER`; fresh
MIS/CO orders of that segment are refused from then until the next trading day),
:meth:`ExchangeDay.mass_cancel` (the exchange cancels what is still working, "exchange mass
cancel") and :meth:`ExchangeDay.start_day` (the morning's empty book; held AMOs stay). Every
order they touch is pushed like any other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from orderdesk.domain.calendar import Segment
from orderdesk.sim.book import RESTING
from orderdesk.sim.clock import SimClock
from orderdesk.sim.ids import IdGenerator
from orderdesk.sim.later import SimTimers
from orderdesk.sim.market_hours import INTRADAY, MarketHours, segment_of
from orderdesk.sim.matching import Matcher
from orderdesk.sim.order_checks import EXPIRED
from orderdesk.sim.orders import Order, OrderType, Product, Side, Status, Validity, Variety
from orderdesk.sim.portfolio import Portfolio, Position
from orderdesk.sim.ports import InstrumentLookup
from orderdesk.sim.recorder import Recorder

ZERO = Decimal(0)
MASS_CANCEL_MESSAGE = "exchange mass cancel"
"""Kite's ``status_message`` for orders the exchange cancels after the close (KITE_API.md §14.1)."""
SQUARE_OFF_PLACER = "ADMINSQF"
"""``placed_by`` of the broker's square-off orders. UNVERIFIED: Zerodha's RMS places them from
its own system and the exact placer id it shows is not documented."""


def _in_segment(order: Order, segment: Segment) -> bool:
    return segment_of(order.exchange) is segment


class ExchangeDay:
    """The book's timed work: the sweep, the square-off, the mass cancel and the new day."""

    def __init__(
        self,
        *,
        recorder: Recorder,
        matcher: Matcher,
        hours: MarketHours,
        clock: SimClock,
        ids: IdGenerator,
        instruments: InstrumentLookup,
        portfolio: Portfolio,
        timers: SimTimers,
        api_key: str,
    ) -> None:
        self._recorder = recorder
        self._matcher = matcher
        self._hours = hours
        self._clock = clock
        self._ids = ids
        self._instruments = instruments
        self._portfolio = portfolio
        self._timers = timers
        self._api_key = api_key

    def __repr__(self) -> str:
        return f"ExchangeDay({self._recorder!r})"

    def sweep(self) -> None:
        """Lapse TTL orders and release AMOs once their exchange's session opens (simulated
        clock)."""
        self._timers.run_due()
        now = self._clock.now()
        open_now: dict[str, bool] = {}
        for order in self._recorder.book.timed():
            if order.status is Status.AMO_REQ_RECEIVED:
                exchange = order.exchange
                if exchange not in open_now:
                    open_now[exchange] = self._hours.market_open(exchange)
                if open_now[exchange]:
                    # The rows of the release carry the open's time, not the placement's.
                    order.order_timestamp = now.replace(microsecond=0)
                    self._recorder.transition(order, Status.VALIDATION_PENDING)
                    self._matcher.release(order)
                continue
            if (
                order.validity is Validity.TTL
                and order.status in (Status.OPEN, Status.TRIGGER_PENDING)
                and now >= order.placed_at + timedelta(minutes=order.validity_ttl)
            ):
                self._matcher.cancel_rest(order)

    # -- the day's end -------------------------------------------------------------------------

    def square_off(self, segment: Segment) -> list[Order]:
        """The broker's auto square-off of ``segment``: working MIS/CO orders go, then every
        open MIS/CO position is closed by a MARKET order; returns the orders it placed.

        A cover order's stop leg exits at market, as cancelling it with its parent does; other
        working orders are cancelled (UNVERIFIED: the text Kite shows on them).
        """
        at = self._clock.now().replace(microsecond=0)
        cancelled = f"Cancelled by the broker's auto square-off at {at:%H:%M}"
        for order in list(self._recorder.book):
            if order.status not in RESTING or order.product not in INTRADAY:
                continue
            if not _in_segment(order, segment):
                continue
            if order.parent_order_id is not None:
                self._matcher.exit_stop_leg(order)
            else:
                self._recorder.transition(order, Status.CANCEL_PENDING)
                self._matcher.cancel_rest(order, cancelled)
        placed = []
        for pos in self._portfolio.all_positions():
            if pos.product not in INTRADAY or pos.quantity == 0:
                continue
            if segment_of(pos.exchange) is not segment:
                continue
            placed.append(self._place_square_off(pos, at))
        return placed

    def _place_square_off(self, pos: Position, at: datetime) -> Order:
        order = Order(
            order_id=self._ids.order_id(),
            user_id=pos.user_id,
            # UNVERIFIED whether Kite posts back the broker's own orders; here they reach the
            # app's postback URL like any order of the account.
            api_key=self._api_key,
            variety=Variety.REGULAR,
            exchange=pos.exchange,
            tradingsymbol=pos.tradingsymbol,
            instrument_token=pos.instrument_token,
            transaction_type=Side.SELL if pos.quantity > 0 else Side.BUY,
            order_type=OrderType.MARKET,
            product=Product(pos.product),
            validity=Validity.DAY,
            quantity=abs(pos.quantity),
            price=ZERO,
            trigger_price=ZERO,
            placed_at=at,
            order_timestamp=at,
            placed_by=SQUARE_OFF_PLACER,
            status_message=f"Auto square-off by the broker at {at:%H:%M}",
        )
        self._recorder.record(order)
        self._recorder.book.add(order)
        self._recorder.transition(order, Status.VALIDATION_PENDING)
        self._matcher.release(order)
        return order

    def mass_cancel(self, segment: Segment) -> list[Order]:
        """The exchange's mass cancel after ``segment``'s close: every order still working there
        is cancelled ("exchange mass cancel"), fills kept; AMOs held for the next session stay."""
        cancelled = []
        for order in list(self._recorder.book):
            if order.status in RESTING and _in_segment(order, segment):
                self._matcher.cancel_rest(order, MASS_CANCEL_MESSAGE)
                cancelled.append(order)
        return cancelled

    def start_day(self) -> None:
        """The next trading day's book: empty order and trade books, except the AMOs held for
        this session (released at the open). One held for a contract that has since expired
        is rejected as placement on it would be, and stays in the book to show why."""
        recorder = self._recorder
        held = [o for o in recorder.book if o.status is Status.AMO_REQ_RECEIVED]
        recorder.clear()
        for order in held:
            if self._instruments.by_token(order.instrument_token) is None:
                recorder.book.add(order)
                order.status_message = EXPIRED
                recorder.stamp(order)
                recorder.transition(order, Status.REJECTED)
                recorder.push(order)
            else:
                recorder.readmit(order)


__all__ = ["MASS_CANCEL_MESSAGE", "SQUARE_OFF_PLACER", "ExchangeDay"]
