"""The simulated OMS and exchange: every user's orders and trades, matched against the market's
last prices, and the updates they push. :class:`Exchange` is the one face the routes, GTT,
alerts, funds and the day machine see; each of its concerns lives in a module of its own:

- :mod:`~orderdesk.sim.placement`: an order taken in through Kite's transient statuses
  (``PUT ORDER REQ RECEIVED → VALIDATION PENDING → OPEN PENDING → OPEN``), refused or rejected
  as Kite would, held as an AMO while its exchange is shut; autoslice; the late order of an
  ambiguous reply;
- :mod:`~orderdesk.sim.order_checks`: what its terms must meet against the instrument (lot, tick,
  freeze limit, disclosed quantity) and the day's circuit limits;
- :mod:`~orderdesk.sim.rms`: the margin it needs, what the book blocks, CNC sales covered by
  stock;
- :mod:`~orderdesk.sim.matching`: matching at placement, after a modification and whenever
  prices change (:meth:`Exchange.on_prices`): fills and trades, market protection, IOC, iceberg
  legs, the ``partial_fill`` fault, a cover order's stop leg;
- :mod:`~orderdesk.sim.amendments`: modify and cancel (a cover order's exit);
- :mod:`~orderdesk.sim.exchange_day`: the sweep (AMOs released at their own exchange's open, TTL
  orders lapsed, timers due) and, with trading days on, the square-off, the mass cancel and the
  next day's book the day machine (:mod:`orderdesk.sim.days`) calls;
- :mod:`~orderdesk.sim.market_hours`: whether an exchange trades now, by its segment's hours;
- :mod:`~orderdesk.sim.recorder`: the book and the one place every change ends (history row,
  revision, indexes, blocked margin) and is pushed.

Pushes follow Kite (KITE_API.md §10): none for plain placement acceptance; one for every fill,
trigger, modification, cancellation and rejection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from orderdesk.domain.calendar import Segment
from orderdesk.sim.amendments import Amendments
from orderdesk.sim.authorisation import HoldingsAuthorisation
from orderdesk.sim.book import Trade
from orderdesk.sim.clock import SimClock
from orderdesk.sim.config import SimConfig
from orderdesk.sim.exchange_day import MASS_CANCEL_MESSAGE, SQUARE_OFF_PLACER, ExchangeDay
from orderdesk.sim.faults import Faults
from orderdesk.sim.ids import IdGenerator
from orderdesk.sim.later import SimTimers
from orderdesk.sim.market_hours import MARKET_CLOSED, MarketHours, segment_of
from orderdesk.sim.matching import Matcher
from orderdesk.sim.order_checks import instrument_of
from orderdesk.sim.order_params import ModifyRequest, PlaceRequest
from orderdesk.sim.orders import WORKING, Order
from orderdesk.sim.placement import Placement
from orderdesk.sim.portfolio import Portfolio
from orderdesk.sim.ports import InstrumentLike, InstrumentLookup, QuoteSource
from orderdesk.sim.recorder import OrderListener, Recorder
from orderdesk.sim.rms import RiskChecks


class Exchange:
    """Every user's orders and trades, matched against the market's last prices."""

    def __init__(
        self,
        *,
        config: SimConfig,
        clock: SimClock,
        ids: IdGenerator,
        instruments: InstrumentLookup,
        prices: QuoteSource,
        portfolio: Portfolio,
        faults: Faults,
        authorisation: HoldingsAuthorisation | None = None,
    ) -> None:
        self._instruments = instruments
        self._hours = MarketHours(config, clock)
        self._risk = RiskChecks(
            instruments=instruments,
            prices=prices,
            portfolio=portfolio,
            authorisation=authorisation,
        )
        self._recorder = Recorder(clock, self._risk.blocked)
        self.timers = SimTimers(clock)
        """Work due later on the simulated clock (late orders, slow validation)."""
        self._matcher = Matcher(
            recorder=self._recorder,
            clock=clock,
            ids=ids,
            instruments=instruments,
            prices=prices,
            portfolio=portfolio,
            faults=faults,
        )
        self._placement = Placement(
            recorder=self._recorder,
            matcher=self._matcher,
            risk=self._risk,
            hours=self._hours,
            clock=clock,
            ids=ids,
            instruments=instruments,
            quotes=prices,
            faults=faults,
            timers=self.timers,
        )
        self._amendments = Amendments(
            recorder=self._recorder,
            matcher=self._matcher,
            risk=self._risk,
            clock=clock,
            instruments=instruments,
            quotes=prices,
            max_modifications=config.max_modifications,
        )
        self._day = ExchangeDay(
            recorder=self._recorder,
            matcher=self._matcher,
            hours=self._hours,
            clock=clock,
            ids=ids,
            instruments=instruments,
            portfolio=portfolio,
            timers=self.timers,
            api_key=config.api_key,
        )

    def __repr__(self) -> str:
        return f"Exchange({self._recorder!r})"

    @property
    def revision(self) -> int:
        """Bumped on every recorded change (and on reset): equal revisions, equal books."""
        return self._recorder.revision

    # -- wiring -------------------------------------------------------------------------------

    def add_listener(self, listener: OrderListener) -> None:
        """Call ``listener(order)`` on every status change Kite pushes."""
        self._recorder.add_listener(listener)

    def bind_funds(self, available: Callable[[str], Decimal]) -> None:
        """Let the funds model answer "what can this user still block?" (it reads the book)."""
        self._risk.bind_funds(available)

    # -- reading ------------------------------------------------------------------------------

    def orders_of(self, user_id: str) -> list[Order]:
        """A user's order book, oldest first."""
        return self._recorder.book.of_user(user_id)

    def all_orders(self) -> Iterator[Order]:
        """Every order of every user (control and funds)."""
        return iter(self._recorder.book)

    def get(self, user_id: str, order_id: str) -> Order:
        """One of the user's orders, or ``OrderException``."""
        return self._recorder.get(user_id, order_id)

    def trades_of(self, user_id: str, order_id: str | None = None) -> list[dict[str, Any]]:
        """A user's trades (optionally one order's), oldest first."""
        return self._recorder.book.trades_of(user_id, order_id)

    def last_price(self, token: int) -> Decimal:
        """The market's last price as a Decimal."""
        return self._matcher.last_price(token)

    def instrument(self, exchange: str, tradingsymbol: str) -> InstrumentLike:
        """The instrument or ``InputException``, as Kite answers an unknown symbol."""
        return instrument_of(self._instruments, exchange, tradingsymbol)

    # -- market hours -------------------------------------------------------------------------

    def market_open(self, exchange: str | None = None) -> bool:
        """Whether orders can reach ``exchange`` now (always, unless ``--market-hours nse``);
        without an exchange, NSE's market (:meth:`MarketHours.market_open`)."""
        return self._hours.market_open(exchange)

    def markets_open(self) -> dict[str, bool]:
        """:meth:`market_open` of every exchange the trading calendar keeps hours for."""
        return self._hours.markets_open()

    def intraday_closed(self, exchange: str) -> str | None:
        """Why a fresh MIS/CO order on ``exchange`` is refused now (its segment's square-off
        has passed), or ``None`` if it is not."""
        return self._hours.intraday_closed(exchange)

    # -- margins ------------------------------------------------------------------------------

    def required_margin(
        self,
        user_id: str,
        inst: InstrumentLike,
        *,
        buy: bool,
        product: str,
        quantity: int,
        price: Decimal,
    ) -> Decimal:
        """Margin an order of ``quantity`` needs beyond what merely closes positions."""
        return self._risk.required_margin(
            user_id, inst, buy=buy, product=product, quantity=quantity, price=price
        )

    def blocked_margin(self, user_id: str) -> Decimal:
        """Margin held by the user's working orders (kept up to date, not summed per call)."""
        return self._risk.blocked_margin(user_id)

    def sellable_cnc(self, user_id: str, exchange: str, tradingsymbol: str) -> int:
        """What a new CNC sale may still sell (:meth:`RiskChecks.sellable_cnc`)."""
        return self._risk.sellable_cnc(user_id, exchange, tradingsymbol)

    # -- orders -------------------------------------------------------------------------------

    def place(
        self,
        user_id: str,
        api_key: str | None,
        req: PlaceRequest,
        *,
        extra_tags: tuple[str, ...] = (),
        check_freeze: bool = True,
    ) -> Order:
        """Accept an order (or reject it as Kite would) and match it at once if it can fill."""
        return self._placement.place(
            user_id, api_key, req, extra_tags=extra_tags, check_freeze=check_freeze
        )

    def place_later(
        self, seconds: float, user_id: str, api_key: str | None, req: PlaceRequest
    ) -> None:
        """Create the order ``seconds`` from now, as Kite does after an ambiguous reply."""
        self._placement.place_later(seconds, user_id, api_key, req)

    def place_autoslice(
        self, user_id: str, api_key: str | None, req: PlaceRequest
    ) -> dict[str, Any]:
        """Split a quantity above the freeze limit into ≤ 10 orders (Kite's v2 reply shape)."""
        return self._placement.place_autoslice(user_id, api_key, req)

    def modify(self, user_id: str, variety: str, order_id: str, req: ModifyRequest) -> Order:
        """Change a working order; walks Kite's MODIFY statuses back to OPEN."""
        return self._amendments.modify(user_id, variety, order_id, req)

    def cancel(
        self, user_id: str, variety: str, order_id: str, parent_order_id: str | None = None
    ) -> Order:
        """Cancel a working order; a CO stop leg named with its parent exits at market."""
        return self._amendments.cancel(user_id, variety, order_id, parent_order_id)

    # -- prices and time ----------------------------------------------------------------------

    def on_prices(self, tokens: list[int]) -> None:
        """Price listener: match every working order on the changed instruments."""
        self._risk.blocked.prices_changed(tokens)
        for order in self._recorder.book.resting_on(tokens):
            if order.status in WORKING:
                self._matcher.match(order)
        self.sweep()

    def sweep(self) -> None:
        """Run the timers due, lapse TTL orders and release AMOs once their exchange's session
        opens (simulated clock)."""
        self._day.sweep()

    def square_off(self, segment: Segment) -> list[Order]:
        """The broker's auto square-off of ``segment``; returns the orders it placed."""
        return self._day.square_off(segment)

    def mass_cancel(self, segment: Segment) -> list[Order]:
        """The exchange's mass cancel after ``segment``'s close; returns the orders cancelled."""
        return self._day.mass_cancel(segment)

    def start_day(self) -> None:
        """The next trading day's book: empty, but for the AMOs held for this session."""
        self._day.start_day()

    def reset(self) -> None:
        """Empty book (``/_sim/reset``)."""
        self.timers.clear()
        self._recorder.clear()


__all__ = [
    "MARKET_CLOSED",
    "MASS_CANCEL_MESSAGE",
    "SQUARE_OFF_PLACER",
    "Exchange",
    "Trade",
    "segment_of",
]
