"""The simulated OMS and exchange: order book, matching, trades, and the updates they push.

Placement walks Kite's transient statuses (``PUT ORDER REQ RECEIVED → VALIDATION PENDING → OPEN
PENDING → OPEN``) synchronously, so each shows in ``GET /orders/{id}`` while the book reads the
latest. Matching runs at placement, after a modification and whenever prices change
(:meth:`Exchange.on_prices`):

- MARKET (and a triggered SL-M) fills at the last price; LIMIT when the last price crosses the
  limit, at the last price (never worse than the limit); SL/SL-M wait in ``TRIGGER PENDING`` until
  the last price reaches the trigger.
- IOC cancels what the first matching attempt left; TTL orders lapse on the simulated clock.
- An iceberg order is one order whose row shows its working leg (``quantity`` the leg's,
  ``meta.iceberg`` the total and what the later legs hold, as in Kite's sample book); at most one
  leg fills per matching pass, and the next is released when it has filled.
- A LIMIT or SL price outside the day's circuit limits (what the instrument's quote reports) is
  rejected by the RMS like a margin shortfall: the order id is returned, the row is REJECTED.
- A filled cover order spawns its stop leg (``parent_order_id``, ``TRIGGER PENDING``).
- The ``partial_fill`` fault fills only that fraction of what is open per pass.
- The ``slow_validation_ms`` fault keeps a new order in ``PUT ORDER REQ RECEIVED`` (in the book,
  blocking no margin yet) that long before validation goes on; :meth:`Exchange.place_later`
  creates an order after a delay (the ``ambiguous_timeout`` fault's late order). Both wait on
  :mod:`~orderdesk.sim.later`'s timers, which the sweep runs.

Pushes follow Kite (KITE_API.md §10): none for plain placement acceptance; one for every fill,
trigger, modification, cancellation and rejection.

With trading days on (``market_hours="nse"``) the day machine (:mod:`orderdesk.sim.days`) calls
the book's three day-end operations, each at its own time: :meth:`Exchange.square_off` (the
broker closes MIS/CO positions with market orders placed by ``ADMINSQF``; fresh MIS/CO orders
of that segment are refused from then until the next trading day), :meth:`Exchange.mass_cancel`
(the exchange cancels what is still working, "exchange mass cancel") and
:meth:`Exchange.start_day` (the morning's empty book; held AMOs stay). Every order they touch
is pushed like any other.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import structlog

from orderdesk.domain.calendar import IST, SEGMENT_OF, Segment
from orderdesk.domain.values import Exchange as ExchangeName
from orderdesk.sim.authorisation import HoldingsAuthorisation
from orderdesk.sim.blocked import BlockedMargin
from orderdesk.sim.book import RESTING, OrderBook, Trade
from orderdesk.sim.clock import SimClock, fmt
from orderdesk.sim.config import SimConfig
from orderdesk.sim.envelope import HoldingError, InputError, MarginError, OrderError, SimError
from orderdesk.sim.faults import Faults
from orderdesk.sim.ids import IdGenerator
from orderdesk.sim.later import SimTimers
from orderdesk.sim.margins import order_margin
from orderdesk.sim.order_params import ModifyRequest, PlaceRequest, require_market_protection
from orderdesk.sim.orders import (
    TERMINAL,
    WORKING,
    Order,
    OrderType,
    Product,
    Side,
    Status,
    Validity,
    Variety,
    money,
)
from orderdesk.sim.portfolio import Portfolio, Position
from orderdesk.sim.ports import InstrumentLike, InstrumentLookup, QuoteSource
from orderdesk.sim.trigger_range import check_co_trigger, check_stop_leg_trigger

log = structlog.get_logger(__name__)

ZERO = Decimal(0)
MAX_SLICES = 10
AUTO_PROTECTION = 2
"""Percent of the last price that automatic market protection allows: -1, and 0 on the orders
that carry none (an SL-M placed without the field, the orders Kite places itself). UNVERIFIED:
Kite does not publish its automatic bands; its sample book shows ``mktp:2.00`` on a protected
MARKET order."""
MARKET_CLOSED = "Markets are closed right now. Use GTT for placing long standing orders instead."

MASS_CANCEL_MESSAGE = "exchange mass cancel"
"""Kite's ``status_message`` for orders the exchange cancels after the close (KITE_API.md §14.1)."""
SQUARE_OFF_PLACER = "ADMINSQF"
"""``placed_by`` of the broker's square-off orders. UNVERIFIED: Zerodha's RMS places them from
its own system and the exact placer id it shows is not documented."""
INTRADAY = frozenset({Product.MIS, Product.CO})
UNVALIDATED = frozenset({Status.PUT_ORDER_REQ_RECEIVED, Status.VALIDATION_PENDING})
EXPIRED = "The instrument you are placing an order for has either expired or does not exist."
EQUITY_EXCHANGES = frozenset({"NSE", "BSE"})
"""Where ``disclosed_quantity`` may be used: equity only (KITE_API.md §4.3)."""
BELOW_CIRCUIT = (
    "Your order price is lower than the current lower circuit limit of {limit}. "
    "Place an order within the daily range."
)
"""Kite's words (``kite-mocks/gtt_get_order.json``'s ``rejection_reason``)."""
ABOVE_CIRCUIT = (
    "Your order price is higher than the current upper circuit limit of {limit}. "
    "Place an order within the daily range."
)
"""The upper twin of :data:`BELOW_CIRCUIT` (UNVERIFIED: no sample shows it)."""

OrderListener = Callable[[Order], None]


def segment_of(exchange: str) -> Segment | None:
    """The day's-clock segment an exchange belongs to; ``None`` for one the calendar lacks."""
    try:
        return SEGMENT_OF.get(ExchangeName(exchange))
    except ValueError:
        return None


def _slice_error(code: int, error_type: str, message: str) -> dict[str, Any]:
    """One refused slice of an autoslice reply, in Kite's shape."""
    return {"code": code, "error_type": error_type, "message": message, "data": None}


def _decimal(value: float) -> Decimal:
    # str() first: Decimal(1502.1) would carry the binary float's tail into the arithmetic.
    return Decimal(str(value))


def _limit_text(limit: Decimal) -> str:
    """A circuit limit as Kite writes it: two decimals (``70.65``), more for finer ticks."""
    return f"{limit:.2f}" if limit == round(limit, 2) else str(limit)


def _check_disclosed(inst: InstrumentLike, disclosed_quantity: int | None) -> None:
    """Refuse a disclosed quantity outside equity (KITE_API.md §4.3: "equity only")."""
    if disclosed_quantity and inst.exchange not in EQUITY_EXCHANGES:
        raise InputError(
            f"Invalid `disclosed_quantity`: it applies to equity orders (NSE, BSE) only, "
            f"not to {inst.exchange}."
        )


def _stop_leg_changes(order: Order, req: ModifyRequest) -> list[str]:
    """The terms a modify would change on a cover order's stop leg beside its prices.

    ``market_protection`` is not among them: it goes with an SL-M order's type (the desk's
    adapter sends it beside ``order_type``), and the leg ignores it.
    """
    asked = (
        ("quantity", req.quantity, order.quantity),
        ("order_type", req.order_type, order.order_type),
        ("validity", req.validity, order.validity),
        ("disclosed_quantity", req.disclosed_quantity, order.disclosed_quantity),
    )
    return [name for name, new, old in asked if new is not None and new != old]


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
        self._config = config
        self._authorisation = authorisation
        self._clock = clock
        self._ids = ids
        self._instruments = instruments
        self._prices = prices
        self._portfolio = portfolio
        self._faults = faults
        self._calendar = config.calendar
        self._book = OrderBook()
        self._blocked = BlockedMargin(self._order_margin, self._reducible_of)
        portfolio.add_listener(self._blocked.position_changed)
        self._listeners: list[OrderListener] = []
        self._available: Callable[[str], Decimal] = lambda _user: Decimal("Infinity")
        self.timers = SimTimers(clock)
        """Work due later on the simulated clock (late orders, slow validation)."""
        self.revision = 0
        """Bumped on every recorded change (and on reset): equal revisions, equal books."""

    # -- wiring -------------------------------------------------------------------------------

    def add_listener(self, listener: OrderListener) -> None:
        """Call ``listener(order)`` on every status change Kite pushes."""
        self._listeners.append(listener)

    def _push(self, order: Order) -> None:
        for listener in self._listeners:
            listener(order)

    # -- reading ------------------------------------------------------------------------------

    def orders_of(self, user_id: str) -> list[Order]:
        """A user's order book, oldest first."""
        return self._book.of_user(user_id)

    def all_orders(self) -> Iterator[Order]:
        """Every order of every user (control and funds)."""
        return iter(self._book)

    def get(self, user_id: str, order_id: str) -> Order:
        """One of the user's orders, or ``OrderException``."""
        order = self._book.get(order_id)
        if order is None or order.user_id != user_id:
            raise OrderError("Couldn't find that `order_id`.", http_status=404)
        return order

    def trades_of(self, user_id: str, order_id: str | None = None) -> list[dict[str, Any]]:
        """A user's trades (optionally one order's), oldest first."""
        return self._book.trades_of(user_id, order_id)

    # -- helpers ------------------------------------------------------------------------------

    def last_price(self, token: int) -> Decimal:
        """The market's last price as a Decimal."""
        return _decimal(self._prices.last_price(token))

    _ltp = last_price

    def market_open(self, exchange: str | None = None) -> bool:
        """Whether orders can reach ``exchange`` now (always, unless ``--market-hours nse``):
        the market hours of its segment on a trading day (weekends and the configured holidays
        closed, the special sessions open, in their own hours if they have them). Without an
        exchange, or for one the calendar has no segment for, NSE's hours."""
        if not self._config.trading_days:
            return True
        segment = None if exchange is None else segment_of(exchange)
        return self._calendar.in_market_hours(self._clock.now(), segment)

    def intraday_closed(self, exchange: str) -> str | None:
        """Why a fresh MIS/CO order on ``exchange`` is refused now, or ``None`` if it is not.

        From the segment's square-off time until the next trading day begins (06:00), the
        broker takes no new intraday orders there (KITE_API.md §14.1).
        """
        if not self._config.trading_days:
            return None
        segment = segment_of(exchange)
        if segment is None:
            return None
        now = self._clock.now()
        day = self._calendar.trading_day_of(now)
        square_off = self._calendar.square_off_at(day, segment)
        if now.replace(tzinfo=IST) < square_off:
            return None
        return (
            f"MIS/CO orders are blocked after the auto square-off time ({square_off:%H:%M}) for "
            f"the {segment} segment; place CNC/NRML orders or wait for the next trading day."
        )

    def instrument(self, exchange: str, tradingsymbol: str) -> InstrumentLike:
        """The instrument or ``InputException``, as Kite answers an unknown symbol."""
        inst = self._instruments.by_symbol(exchange, tradingsymbol)
        if inst is None:
            raise InputError(EXPIRED)
        return inst

    def _reducible_of(
        self, user_id: str, exchange: str, tradingsymbol: str, product: str, buy: bool
    ) -> int:
        """How much of an order only closes an existing position or sells held stock."""
        reducible = 0
        pos = self._portfolio.find(user_id, exchange, tradingsymbol, product)
        if pos is not None and (pos.quantity < 0 if buy else pos.quantity > 0):
            reducible += abs(pos.quantity)
        if not buy and product == Product.CNC:
            held = self._portfolio.holding(user_id, exchange, tradingsymbol)
            if held is not None:
                reducible += held.total_quantity  # T1 stock may be sold (BTST)
        return reducible

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
        reducible = self._reducible_of(user_id, inst.exchange, inst.tradingsymbol, product, buy)
        chargeable = max(0, quantity - reducible)
        if not chargeable:
            return ZERO
        margin = order_margin(inst, buy=buy, product=product, quantity=chargeable, price=price)
        return margin.total

    def _reference_price(self, order: Order | PlaceRequest, token: int) -> Decimal:
        if order.order_type in (OrderType.LIMIT, OrderType.SL):
            return order.price
        if order.order_type is OrderType.SLM:
            return order.trigger_price
        return self._ltp(token)

    def blocked_margin(self, user_id: str) -> Decimal:
        """Margin held by the user's working orders (kept up to date, not summed per call)."""
        return self._blocked.total(user_id)

    def _order_margin(self, order: Order) -> Decimal:
        """What one working order of the book blocks now."""
        if order.status in TERMINAL or order.parent_order_id is not None:
            return ZERO  # a CO stop leg is covered by its parent's margin
        if order.status in UNVALIDATED:
            return ZERO  # the RMS blocks margin when it passes the order, not before
        inst = self._instruments.by_token(order.instrument_token)
        if inst is None:
            return ZERO
        return self.required_margin(
            order.user_id,
            inst,
            buy=order.is_buy,
            product=order.product,
            quantity=order.pending_quantity,
            price=self._reference_price(order, order.instrument_token),
        )

    def bind_funds(self, available: Callable[[str], Decimal]) -> None:
        """Let the funds model answer "what can this user still block?" (it reads the book)."""
        self._available = available

    def _now_stamp(self, order: Order) -> None:
        order.exchange_update_timestamp = self._clock.now().replace(microsecond=0)

    # -- placement ----------------------------------------------------------------------------

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
        inst = self.instrument(req.exchange, req.tradingsymbol)
        self._validate_against(inst, req, check_freeze=check_freeze)
        open_now = self.market_open(inst.exchange)
        if not open_now and req.variety is not Variety.AMO:
            raise InputError(MARKET_CLOSED)
        if req.variety is Variety.CO:
            price = self.last_price(inst.instrument_token)
            check_co_trigger(req.transaction_type, req.trigger_price, price)
        amo_held = req.variety is Variety.AMO and not open_now
        self._check_holdings_sale(user_id, inst, req)
        if req.product in INTRADAY and not amo_held:
            # An AMO held for the next session trades on a day whose square-off is ahead.
            refusal = self.intraday_closed(inst.exchange)
            if refusal is not None:
                raise InputError(refusal)
        now = self._clock.now().replace(microsecond=0)
        tags = ([req.tag] if req.tag else []) + list(extra_tags)
        order = Order(
            order_id=self._ids.order_id(),
            user_id=user_id,
            api_key=api_key,
            variety=req.variety,
            exchange=inst.exchange,
            tradingsymbol=inst.tradingsymbol,
            instrument_token=inst.instrument_token,
            transaction_type=req.transaction_type,
            order_type=req.order_type,
            product=req.product,
            validity=req.validity,
            quantity=req.quantity,
            price=req.price,
            trigger_price=ZERO if req.variety is Variety.CO else req.trigger_price,
            co_trigger_price=req.trigger_price if req.variety is Variety.CO else ZERO,
            placed_at=now,
            validity_ttl=req.validity_ttl,
            disclosed_quantity=req.disclosed_quantity,
            market_protection=req.market_protection,
            tag=req.tag,
            tags=tags,
            algo_id=req.algo_id,
            auction_number=req.auction_number,
            iceberg_legs=req.iceberg_legs,
            iceberg_quantity=req.iceberg_quantity,
            order_timestamp=now,
        )
        order.status = Status.AMO_REQ_RECEIVED if amo_held else Status.PUT_ORDER_REQ_RECEIVED
        self._record(order)
        linger = self._faults.slow_validation_ms
        if linger > 0 and not amo_held:
            # Kite's OMS has the order but its RMS has not looked yet: the book shows it.
            self._book.add(order)
            self.timers.after(linger / 1000, lambda: self._validate_lingering(order, inst))
            return order
        return self._validate(order, inst, amo_held=amo_held)

    def sellable_cnc(self, user_id: str, exchange: str, tradingsymbol: str) -> int:
        """What a new CNC sale may still sell: the holding (settled and T1 quantity) and the
        day's CNC buys, less the day's CNC sales and what working CNC sell orders hold."""
        holding = self._portfolio.holding(user_id, exchange, tradingsymbol)
        held = holding.total_quantity if holding is not None else 0
        pos = self._portfolio.find(user_id, exchange, tradingsymbol, Product.CNC)
        net_today = pos.quantity if pos is not None else 0
        selling = (user_id, exchange, tradingsymbol, Product.CNC, False)
        return held + net_today - self._blocked.working_quantity(selling)

    def _check_cnc_sale(self, user_id: str, inst: InstrumentLike, quantity: int) -> None:
        """Refuse a CNC sale of stock the account does not have: Kite allows no delivery short
        selling, and answers ``HoldingException`` (KITE_API.md §2)."""
        sellable = self.sellable_cnc(user_id, inst.exchange, inst.tradingsymbol)
        if quantity > sellable:
            raise HoldingError(
                f"Insufficient holdings to sell {quantity} {inst.tradingsymbol}: "
                f"{max(sellable, 0)} can be sold (holdings not sold today and today's CNC "
                "buys, less what open CNC sell orders hold)."
            )

    def _check_holdings_sale(self, user_id: str, inst: InstrumentLike, req: PlaceRequest) -> None:
        """A CNC sale must be covered by stock the account has; the part beyond the day's
        delivery buys comes out of holdings, which an account without DDPI must have authorised
        today (HTTP 428 otherwise)."""
        if req.product != Product.CNC or req.transaction_type is Side.BUY:
            return
        self._check_cnc_sale(user_id, inst, req.quantity)
        if self._authorisation is None:
            return
        holding = self._portfolio.holding(user_id, inst.exchange, inst.tradingsymbol)
        if holding is None:
            return
        pos = self._portfolio.find(user_id, inst.exchange, inst.tradingsymbol, Product.CNC)
        bought_today = max(pos.quantity, 0) if pos is not None else 0
        from_holdings = min(max(req.quantity - bought_today, 0), holding.total_quantity)
        self._authorisation.check_sale(holding, from_holdings)

    def _validate_lingering(self, order: Order, inst: InstrumentLike) -> None:
        if order.status is Status.PUT_ORDER_REQ_RECEIVED and order.order_id in self._book:
            self._validate(order, inst, amo_held=False)

    def _validate(self, order: Order, inst: InstrumentLike, *, amo_held: bool) -> Order:
        """The RMS's look at a received order: reject it for its price or margin, hold it or
        release it."""
        user_id = order.user_id
        self._transition(order, Status.VALIDATION_PENDING)
        breach = self._circuit_breach(inst, order.order_type, order.price)
        if breach is not None:
            return self._reject(order, breach)
        required = self.required_margin(
            user_id,
            inst,
            buy=order.is_buy,
            product=order.product,
            quantity=order.quantity,
            price=self._reference_price(order, inst.instrument_token),
        )
        available = self._available(user_id)
        if required > available:
            message = (
                f"Insufficient funds. Required margin is {required:.2f} but available margin "
                f"is {available:.2f}. Check the orderbook for open orders."
            )
            if self._faults.margin_exception and order.order_id not in self._book:
                raise MarginError(message)
            raw = (
                f"RMS:Margin Exceeds,Required:{required:.2f}, Available:{available:.2f} for "
                f"entity account-{user_id} across exchange across segment across product "
            )
            return self._reject(order, message, raw)
        if order.order_id not in self._book:
            self._book.add(order)
        if amo_held:
            self._transition(order, Status.AMO_REQ_RECEIVED)
            return order
        self._release(order)
        return order

    def _reject(self, order: Order, message: str, raw: str | None = None) -> Order:
        """The RMS rejects a received order: it stays in the book, REJECTED, saying why."""
        if order.order_id not in self._book:
            self._book.add(order)
        order.status_message = message
        order.status_message_raw = raw
        self._transition(order, Status.REJECTED)
        self._push(order)
        return order

    def _circuit_breach(
        self, inst: InstrumentLike, order_type: OrderType, price: Decimal
    ) -> str | None:
        """Why a LIMIT or SL price lies outside the day's circuit limits, or ``None``.

        The limits are the instrument's quote's, so a client that reads them there can always
        place within them. An index quotes no band (0 and 0); it is not tradable anyway.
        """
        if order_type not in (OrderType.LIMIT, OrderType.SL):
            return None
        key = f"{inst.exchange}:{inst.tradingsymbol}"
        quote = self._prices.quote([key]).get(key)
        if quote is None:
            return None
        lower = _decimal(quote["lower_circuit_limit"])
        upper = _decimal(quote["upper_circuit_limit"])
        if upper <= 0:
            return None
        if price < lower:
            return BELOW_CIRCUIT.format(limit=_limit_text(lower))
        if price > upper:
            return ABOVE_CIRCUIT.format(limit=_limit_text(upper))
        return None

    def place_later(
        self, seconds: float, user_id: str, api_key: str | None, req: PlaceRequest
    ) -> None:
        """Create the order ``seconds`` from now, as Kite does after an ambiguous reply; if it
        cannot be placed by then (the market closed, say) it never appears."""

        def create() -> None:
            try:
                if req.autoslice:
                    self.place_autoslice(user_id, api_key, req)
                else:
                    self.place(user_id, api_key, req)
            except SimError as exc:
                log.info("sim.late_order_refused", tag=req.tag, reason=exc.message)

        self.timers.after(seconds, create)

    def _validate_against(
        self, inst: InstrumentLike, req: PlaceRequest, *, check_freeze: bool
    ) -> None:
        """Checks that need the instrument: tradability, lot and tick size, disclosed quantity,
        the freeze limit."""
        if inst.segment == "INDICES":
            # An index has a price but no order book; Kite refuses orders on it.
            raise InputError(f"{inst.tradingsymbol} is an index and cannot be traded.")
        _check_disclosed(inst, req.disclosed_quantity)
        if inst.lot_size > 1 and req.quantity % inst.lot_size:
            raise InputError(f"Quantity should be a multiple of lot size ({inst.lot_size}).")
        tick = _decimal(inst.tick_size)
        for name, value in (("price", req.price), ("trigger_price", req.trigger_price)):
            if tick > 0 and value % tick:
                raise InputError(f"Invalid `{name}`: must be a multiple of the tick size {tick}.")
        freeze = inst.freeze_quantity
        if check_freeze and freeze is not None and req.quantity > freeze:
            raise InputError(
                f"Quantity exceeds the freeze limit of {freeze} for {inst.tradingsymbol}; "
                "use autoslice or split the order."
            )

    def place_autoslice(
        self, user_id: str, api_key: str | None, req: PlaceRequest
    ) -> dict[str, Any]:
        """Split a quantity above the freeze limit into ≤ 10 orders (Kite's v2 reply shape).

        Kite errors when the quantity does not need slicing (KITE_API.md §14.2) and refuses
        more than 10 slices. Each slice is a whole number of lots no larger than the freeze
        limit, tagged ``autoslice`` and ``autoslice:<parent>`` beside the caller's tag. A slice
        the RMS refuses for margin is an ``error`` entry of the reply and no order of the book,
        as in Kite's sample (``kite-mocks/autoslice_response.json``: an error has no order id).
        The parent id names the placement only: no order of the book carries it.
        """
        inst = self.instrument(req.exchange, req.tradingsymbol)
        freeze = inst.freeze_quantity
        if freeze is None or req.quantity <= freeze:
            # UNVERIFIED wording; the fact that Kite refuses it is forum comment/51301, 53057.
            raise InputError(
                f"Autoslice is not applicable: the quantity {req.quantity} is within the freeze "
                f"limit{'' if freeze is None else f' of {freeze}'} for {inst.tradingsymbol}."
            )
        lot = max(inst.lot_size, 1)
        size = freeze // lot * lot
        if size <= 0 or math.ceil(req.quantity / size) > MAX_SLICES:
            raise InputError(
                f"Quantity exceeds {MAX_SLICES} times the freeze limit of {freeze}; "
                "autoslice cannot split it."
            )
        parent = self._ids.order_id()
        children: list[dict[str, Any]] = []
        left = req.quantity
        while left > 0:
            quantity = min(size, left)
            left -= quantity
            child = replace(req, quantity=quantity, autoslice=False)
            try:
                self._check_slice_price(inst, child)
                self._check_slice_margin(user_id, inst, child)
                order = self.place(
                    user_id, api_key, child, extra_tags=("autoslice", f"autoslice:{parent}")
                )
            except (InputError, MarginError, HoldingError) as exc:
                children.append(
                    {"error": _slice_error(exc.http_status, exc.error_type, exc.message)}
                )
                continue
            if order.status is Status.REJECTED:
                message = order.status_message or "Order rejected."
                children.append({"error": _slice_error(400, "MarginException", message)})
            else:
                children.append({"order_id": order.order_id})
        return {"order_id": parent, "children": children}

    def _check_slice_price(self, inst: InstrumentLike, req: PlaceRequest) -> None:
        """Refuse a slice priced outside the circuit limits before it becomes an order, as a
        slice short of margin is (UNVERIFIED how Kite's reply shows it)."""
        breach = self._circuit_breach(inst, req.order_type, req.price)
        if breach is not None:
            raise InputError(breach)

    def _check_slice_margin(self, user_id: str, inst: InstrumentLike, req: PlaceRequest) -> None:
        """Refuse a slice the funds cannot carry before it becomes an order (Kite's reply then
        names the error instead of an order id)."""
        required = self.required_margin(
            user_id,
            inst,
            buy=req.transaction_type is Side.BUY,
            product=req.product,
            quantity=req.quantity,
            price=self._reference_price(req, inst.instrument_token),
        )
        available = self._available(user_id)
        if required > available:
            raise MarginError(
                f"Insufficient funds. Required margin is {required:.2f} but available margin "
                f"is {available:.2f}."
            )

    def _transition(self, order: Order, status: Status) -> None:
        order.status = status
        self._record(order)

    def _record(self, order: Order) -> None:
        order.record()
        self.revision += 1
        if order.order_id in self._book:
            self._book.reindex(order)
            self._blocked.update(order)

    def _resting_status(self, order: Order) -> Status:
        if order.order_type in (OrderType.SL, OrderType.SLM) and not order.triggered:
            return Status.TRIGGER_PENDING
        return Status.OPEN

    def _release(self, order: Order) -> None:
        """Hand a validated order to the exchange and match it once."""
        self._transition(order, Status.OPEN_PENDING)
        order.exchange_order_id = self._ids.exchange_order_id()
        order.exchange_timestamp = self._clock.now().replace(microsecond=0)
        self._now_stamp(order)
        self._transition(order, self._resting_status(order))
        self._protect(order)
        self._match(order)
        if order.validity is Validity.IOC and order.status is Status.OPEN:
            self._cancel_rest(order)

    def _protect(self, order: Order) -> None:
        """Bound a MARKET order by its market protection, from the last price now.

        Kite turns a protected MARKET order into a LIMIT at the protected price (KITE_API.md
        §4.3, §14.2), so what the book cannot fill within the band rests. The book row keeps
        showing MARKET here (Kite "may" show LIMIT); matching honours the bound, which is what
        a trader meets when the market runs away from an exit.
        """
        if order.order_type is not OrderType.MARKET:
            order.protected_price = None
            return
        percent = Decimal(
            order.market_protection if order.market_protection > 0 else AUTO_PROTECTION
        )
        ltp = self._ltp(order.instrument_token)
        inst = self._instruments.by_token(order.instrument_token)
        tick = _decimal(inst.tick_size) if inst is not None else ZERO
        band = ltp * percent / 100
        bound = ltp + band if order.is_buy else ltp - band
        if tick > 0:
            # Rounded towards the last price: the bound never exceeds the band.
            steps = (bound / tick).to_integral_value(
                rounding=ROUND_FLOOR if order.is_buy else ROUND_CEILING
            )
            bound = steps * tick
        order.protected_price = max(bound, tick)

    # -- matching -----------------------------------------------------------------------------

    def on_prices(self, tokens: list[int]) -> None:
        """Price listener: match every working order on the changed instruments."""
        self._blocked.prices_changed(tokens)
        for order in self._book.resting_on(tokens):
            if order.status in WORKING:
                self._match(order)
        self.sweep()

    def _match(self, order: Order) -> None:
        if order.status not in (Status.OPEN, Status.TRIGGER_PENDING):
            return
        ltp = self._ltp(order.instrument_token)
        if order.status is Status.TRIGGER_PENDING:
            reached = ltp >= order.trigger_price if order.is_buy else ltp <= order.trigger_price
            if not reached:
                return
            order.triggered = True
            self._now_stamp(order)
            self._transition(order, Status.OPEN)
            self._push(order)
        limit = order.price if order.order_type in (OrderType.LIMIT, OrderType.SL) else None
        if order.order_type is OrderType.MARKET:
            limit = order.protected_price
        if limit is not None:
            crossed = ltp <= limit if order.is_buy else ltp >= limit
            if not crossed:
                return
        self._fill(order, self._fill_quantity(order), ltp)

    def _fill_quantity(self, order: Order) -> int:
        quantity = order.pending_quantity
        if order.is_iceberg:
            _leg, released_before, size = order.iceberg_leg()
            quantity = min(quantity, released_before + size - order.filled_quantity)
        fraction = self._faults.partial_fill
        # The broker's own square-off orders close the whole position: no partial-fill fault.
        if 0 < fraction < 1 and order.placed_by is None:
            quantity = max(1, math.floor(quantity * fraction))
        return quantity

    def _fill(self, order: Order, quantity: int, price: Decimal) -> None:
        now = self._clock.now().replace(microsecond=0)
        order.filled_quantity += quantity
        order.fill_value += quantity * price
        order.exchange_update_timestamp = now
        trade_id = self._ids.trade_id()
        wire = {
            "trade_id": trade_id,
            "order_id": order.order_id,
            "exchange": order.exchange,
            "tradingsymbol": order.tradingsymbol,
            "instrument_token": order.instrument_token,
            "product": str(order.product),
            "average_price": money(price),
            "quantity": quantity,
            "exchange_order_id": order.exchange_order_id,
            "transaction_type": str(order.transaction_type),
            "fill_timestamp": fmt(now),
            # Kite's trade rows carry the order time without the date.
            "order_timestamp": now.strftime("%H:%M:%S"),
            "exchange_timestamp": fmt(now),
        }
        self._book.add_trade(Trade(trade_id, order, quantity, price, wire))
        self._portfolio.apply_fill(
            order.user_id,
            order.exchange,
            order.tradingsymbol,
            order.product,
            order.instrument_token,
            buy=order.is_buy,
            quantity=quantity,
            price=price,
        )
        self._prices.record_trade(order.instrument_token, quantity, float(price))
        if order.pending_quantity == 0:
            self._transition(order, Status.COMPLETE)
        else:
            self._record(order)
        self._push(order)
        first_co_leg = order.variety is Variety.CO and order.parent_order_id is None
        if order.status is Status.COMPLETE and first_co_leg:
            self._spawn_stop_leg(order)

    def _spawn_stop_leg(self, parent: Order) -> None:
        now = self._clock.now().replace(microsecond=0)
        leg = Order(
            order_id=self._ids.order_id(),
            user_id=parent.user_id,
            api_key=parent.api_key,
            variety=Variety.CO,
            exchange=parent.exchange,
            tradingsymbol=parent.tradingsymbol,
            instrument_token=parent.instrument_token,
            transaction_type=Side.SELL if parent.is_buy else Side.BUY,
            order_type=OrderType.SLM,
            product=Product.CO,
            validity=Validity.DAY,
            quantity=parent.quantity,
            price=ZERO,
            trigger_price=parent.co_trigger_price,
            placed_at=now,
            parent_order_id=parent.order_id,
            tag=parent.tag,
            tags=list(parent.tags),
            order_timestamp=now,
            exchange_order_id=self._ids.exchange_order_id(),
            exchange_timestamp=now,
        )
        self._book.add(leg)
        self._transition(leg, Status.TRIGGER_PENDING)
        self._push(leg)
        self._match(leg)

    def _cancel_rest(self, order: Order, message: str | None = None) -> None:
        order.cancelled_quantity = order.quantity - order.filled_quantity
        order.status_message = message
        self._now_stamp(order)
        self._transition(order, Status.CANCELLED)
        self._push(order)

    # -- time ---------------------------------------------------------------------------------

    def sweep(self) -> None:
        """Lapse TTL orders and release AMOs once their exchange's session opens (simulated
        clock)."""
        self.timers.run_due()
        now = self._clock.now()
        open_now: dict[str, bool] = {}
        for order in self._book.timed():
            if order.status is Status.AMO_REQ_RECEIVED:
                exchange = order.exchange
                if exchange not in open_now:
                    open_now[exchange] = self.market_open(exchange)
                if open_now[exchange]:
                    self._transition(order, Status.VALIDATION_PENDING)
                    self._release(order)
                continue
            if (
                order.validity is Validity.TTL
                and order.status in (Status.OPEN, Status.TRIGGER_PENDING)
                and now >= order.placed_at + timedelta(minutes=order.validity_ttl)
            ):
                self._cancel_rest(order)

    # -- the trading day ----------------------------------------------------------------------

    def _in_segment(self, order: Order, segment: Segment) -> bool:
        return segment_of(order.exchange) is segment

    def square_off(self, segment: Segment) -> list[Order]:
        """The broker's auto square-off of ``segment``: working MIS/CO orders go, then every
        open MIS/CO position is closed by a MARKET order; returns the orders it placed.

        A cover order's stop leg exits at market, as cancelling it with its parent does; other
        working orders are cancelled (UNVERIFIED: the text Kite shows on them).
        """
        at = self._clock.now().replace(microsecond=0)
        cancelled = f"Cancelled by the broker's auto square-off at {at:%H:%M}"
        for order in list(self._book):
            if order.status not in RESTING or order.product not in INTRADAY:
                continue
            if not self._in_segment(order, segment):
                continue
            if order.parent_order_id is not None:
                self._exit_stop_leg(order)
            else:
                self._transition(order, Status.CANCEL_PENDING)
                self._cancel_rest(order, cancelled)
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
            api_key=self._config.api_key,
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
        self._record(order)
        self._book.add(order)
        self._transition(order, Status.VALIDATION_PENDING)
        self._release(order)
        return order

    def mass_cancel(self, segment: Segment) -> list[Order]:
        """The exchange's mass cancel after ``segment``'s close: every order still working there
        is cancelled ("exchange mass cancel"), fills kept; AMOs held for the next session stay."""
        cancelled = []
        for order in list(self._book):
            if order.status in RESTING and self._in_segment(order, segment):
                self._cancel_rest(order, MASS_CANCEL_MESSAGE)
                cancelled.append(order)
        return cancelled

    def start_day(self) -> None:
        """The next trading day's book: empty order and trade books, except the AMOs held for
        this session (released at the open). One held for a contract that has since expired
        is rejected as placement on it would be, and stays in the book to show why."""
        held = [o for o in self._book if o.status is Status.AMO_REQ_RECEIVED]
        self._book.clear()
        self._blocked.clear()
        self.revision += 1
        for order in held:
            self._book.add(order)
            if self._instruments.by_token(order.instrument_token) is None:
                order.status_message = EXPIRED
                self._now_stamp(order)
                self._transition(order, Status.REJECTED)
                self._push(order)
            else:
                self._blocked.update(order)

    # -- modify and cancel --------------------------------------------------------------------

    def _own(self, user_id: str, variety: str, order_id: str) -> Order:
        order = self.get(user_id, order_id)
        if str(order.variety) != variety:
            raise InputError(f"Invalid `variety`: this order is `{order.variety}`.")
        return order

    def modify(self, user_id: str, variety: str, order_id: str, req: ModifyRequest) -> Order:
        """Change a working order; walks Kite's MODIFY statuses back to OPEN."""
        order = self._own(user_id, variety, order_id)
        if order.status not in WORKING:
            raise OrderError(f"Order cannot be modified as it is {order.status.lower()}.")
        if order.modifications >= self._config.max_modifications:
            raise OrderError(
                "Maximum allowed order modifications exceeded. Cancel and place a new order."
            )
        if order.parent_order_id is not None:
            changes = _stop_leg_changes(order, req)
            if changes:
                # Kite's CO second-leg modify takes price and trigger_price only (§4.4).
                raise InputError(
                    "A cover order's stop leg takes only `price` and `trigger_price` on modify; "
                    f"not {', '.join(f'`{name}`' for name in changes)}."
                )
            req = replace(req, market_protection=None)
        new_type = req.order_type or order.order_type
        new_price = req.price if req.price is not None else order.price
        new_trigger = req.trigger_price if req.trigger_price is not None else order.trigger_price
        new_quantity = req.quantity if req.quantity is not None else order.quantity
        if order.variety is Variety.CO and req.order_type not in (None, order.order_type):
            raise InputError("A cover order's type cannot be modified.")
        if new_type is not order.order_type:
            require_market_protection(new_type, req.market_protection)
        if new_quantity <= order.filled_quantity:
            raise InputError("Invalid `quantity`: not above the filled quantity.")
        if new_type in (OrderType.LIMIT, OrderType.SL) and new_price <= 0:
            raise InputError("Invalid `price`.")
        if new_type in (OrderType.SL, OrderType.SLM) and new_trigger <= 0:
            raise InputError("Invalid `trigger_price`.")
        inst = self._instruments.by_token(order.instrument_token)
        tick = _decimal(inst.tick_size) if inst is not None else ZERO
        for name, value in (("price", new_price), ("trigger_price", new_trigger)):
            if tick > 0 and value % tick:
                raise InputError(f"Invalid `{name}`: must be a multiple of the tick size {tick}.")
        if order.parent_order_id is not None and req.trigger_price is not None:
            # Placement held the stop to the trigger range; a new trigger meets the same rule.
            ltp = self.last_price(order.instrument_token)
            check_stop_leg_trigger(order.transaction_type, req.trigger_price, ltp)
        if inst is not None:
            self._check_modified_terms(order, inst, req, new_type, new_price, new_quantity)
        resting = order.status
        self._transition(order, Status.MODIFY_VALIDATION_PENDING)
        self._transition(order, Status.MODIFY_PENDING)
        order.order_type = new_type
        order.price = ZERO if new_type is OrderType.MARKET else new_price
        order.trigger_price = new_trigger if new_type in (OrderType.SL, OrderType.SLM) else ZERO
        order.quantity = new_quantity
        if req.validity is not None:
            order.validity = req.validity
        if req.disclosed_quantity is not None:
            order.disclosed_quantity = req.disclosed_quantity
        if req.market_protection is not None:
            order.market_protection = req.market_protection
        order.modified = True
        order.modifications += 1
        now = self._clock.now().replace(microsecond=0)
        order.order_timestamp = now
        order.exchange_update_timestamp = now
        self._transition(order, Status.MODIFIED)
        back = Status.AMO_REQ_RECEIVED if resting is Status.AMO_REQ_RECEIVED else None
        self._transition(order, back or self._resting_status(order))
        self._protect(order)
        self._push(order)
        self._match(order)
        return order

    def _check_modified_terms(
        self,
        order: Order,
        inst: InstrumentLike,
        req: ModifyRequest,
        new_type: OrderType,
        new_price: Decimal,
        new_quantity: int,
    ) -> None:
        """What a placement with the new terms would be refused for: a disclosed quantity
        outside equity, a price outside the circuit limits, a CNC sale beyond the stock held,
        an iceberg total its legs cannot carry."""
        _check_disclosed(inst, req.disclosed_quantity)
        breach = self._circuit_breach(inst, new_type, new_price)
        if breach is not None:
            # UNVERIFIED how Kite refuses such a modification; the order keeps its terms.
            raise InputError(breach)
        more = new_quantity - order.quantity
        if order.product == Product.CNC and not order.is_buy and more > 0:
            self._check_cnc_sale(order.user_id, inst, more)
        if order.is_iceberg and new_quantity > order.iceberg_legs * order.iceberg_quantity:
            raise InputError(
                f"Invalid `quantity`: {order.iceberg_legs} legs of {order.iceberg_quantity} "
                f"cannot carry {new_quantity}."
            )

    def cancel(
        self, user_id: str, variety: str, order_id: str, parent_order_id: str | None = None
    ) -> Order:
        """Cancel a working order; a CO stop leg named with its parent exits at market."""
        order = self._own(user_id, variety, order_id)
        if order.status not in WORKING:
            raise OrderError(f"Order cannot be cancelled as it is {order.status.lower()}.")
        if order.parent_order_id is not None and parent_order_id == order.parent_order_id:
            self._exit_stop_leg(order)
            return order
        self._transition(order, Status.CANCEL_PENDING)
        self._cancel_rest(order)
        return order

    def _exit_stop_leg(self, order: Order) -> None:
        """Exit a cover order: its stop leg becomes a market order and fills now."""
        order.order_type = OrderType.MARKET
        order.trigger_price = ZERO
        order.triggered = True
        self._transition(order, Status.OPEN)
        self._fill(order, order.pending_quantity, self._ltp(order.instrument_token))

    def reset(self) -> None:
        """Empty book (``/_sim/reset``)."""
        self.timers.clear()
        self._book.clear()
        self._blocked.clear()
        self.revision += 1


__all__ = [
    "MASS_CANCEL_MESSAGE",
    "SQUARE_OFF_PLACER",
    "Exchange",
    "Trade",
    "segment_of",
]
