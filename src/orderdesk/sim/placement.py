"""Placement: an order taken in, checked as Kite checks it, validated by the RMS and released.

Placement walks Kite's transient statuses (``PUT ORDER REQ RECEIVED → VALIDATION PENDING → OPEN
PENDING → OPEN``) synchronously, so each shows in ``GET /orders/{id}`` while the book reads the
latest. Before an order exists it is refused (an error reply, no order id) for its instrument's
terms (:mod:`orderdesk.sim.order_checks`), a shut market (an AMO is held instead), a cover
order's stop outside the trigger range, a CNC sale of stock the account lacks, or a fresh MIS/CO
order after its segment's square-off. The RMS then rejects it (the order id is returned, the row
is REJECTED, saying why) for a price outside the circuit limits, a stop (SL, SL-M) whose trigger
is not beyond the last price (a buy's above it, a sell's below it: it would trigger at once) or
a margin shortfall (the ``margin_exception`` fault makes the latter an error reply instead).

The ``slow_validation_ms`` fault keeps a new order in ``PUT ORDER REQ RECEIVED`` (in the book,
blocking no margin yet) that long before validation goes on; :meth:`Placement.place_later`
creates an order after a delay (the ``ambiguous_timeout`` fault's late order). Both wait on
:mod:`~orderdesk.sim.later`'s timers, which the sweep runs.

Autoslice (:meth:`Placement.place_autoslice`) splits a quantity above the freeze limit into at
most 10 orders, in Kite's v2 reply shape.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal
from typing import Any

import structlog

from orderdesk.sim.clock import SimClock
from orderdesk.sim.envelope import HoldingError, InputError, MarginError, SimError
from orderdesk.sim.faults import Faults
from orderdesk.sim.ids import IdGenerator
from orderdesk.sim.later import SimTimers
from orderdesk.sim.market_hours import INTRADAY, MARKET_CLOSED, MarketHours
from orderdesk.sim.matching import Matcher
from orderdesk.sim.order_checks import (
    check_instrument_terms,
    circuit_breach,
    instrument_of,
    stop_trigger_refusal,
)
from orderdesk.sim.order_params import PlaceRequest
from orderdesk.sim.orders import Order, OrderType, Side, Status, Variety
from orderdesk.sim.ports import InstrumentLike, InstrumentLookup, QuoteSource
from orderdesk.sim.recorder import Recorder
from orderdesk.sim.rms import RiskChecks, short_of_margin
from orderdesk.sim.trigger_range import check_co_trigger

log = structlog.get_logger(__name__)

ZERO = Decimal(0)
MAX_SLICES = 10


def _slice_error(code: int, error_type: str, message: str) -> dict[str, Any]:
    """One refused slice of an autoslice reply, in Kite's shape."""
    return {"code": code, "error_type": error_type, "message": message, "data": None}


class Placement:
    """Takes orders into the book: refused, rejected, held as AMOs or released to matching."""

    def __init__(
        self,
        *,
        recorder: Recorder,
        matcher: Matcher,
        risk: RiskChecks,
        hours: MarketHours,
        clock: SimClock,
        ids: IdGenerator,
        instruments: InstrumentLookup,
        quotes: QuoteSource,
        faults: Faults,
        timers: SimTimers,
    ) -> None:
        self._recorder = recorder
        self._matcher = matcher
        self._risk = risk
        self._hours = hours
        self._clock = clock
        self._ids = ids
        self._instruments = instruments
        self._quotes = quotes
        self._faults = faults
        self._timers = timers

    def __repr__(self) -> str:
        return f"Placement({self._recorder!r})"

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
        inst = instrument_of(self._instruments, req.exchange, req.tradingsymbol)
        check_instrument_terms(inst, req, check_freeze=check_freeze)
        open_now = self._hours.market_open(inst.exchange)
        if not open_now and req.variety is not Variety.AMO:
            raise InputError(MARKET_CLOSED)
        if req.variety is Variety.CO:
            price = self._matcher.last_price(inst.instrument_token)
            check_co_trigger(req.transaction_type, req.trigger_price, price)
        amo_held = req.variety is Variety.AMO and not open_now
        self._risk.check_holdings_sale(user_id, inst, req)
        if req.product in INTRADAY and not amo_held:
            # An AMO held for the next session trades on a day whose square-off is ahead.
            refusal = self._hours.intraday_closed(inst.exchange)
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
            # A cover order keeps its stop for the leg its fill spawns.
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
        self._recorder.record(order)
        linger = self._faults.slow_validation_ms
        if linger > 0 and not amo_held:
            # Kite's OMS has the order but its RMS has not looked yet: the book shows it.
            self._recorder.book.add(order)
            self._timers.after(linger / 1000, lambda: self._validate_lingering(order, inst))
            return order
        return self._validate(order, inst, amo_held=amo_held)

    def _validate_lingering(self, order: Order, inst: InstrumentLike) -> None:
        if order.status is Status.PUT_ORDER_REQ_RECEIVED and order.order_id in self._recorder.book:
            self._validate(order, inst, amo_held=False)

    def _validate(self, order: Order, inst: InstrumentLike, *, amo_held: bool) -> Order:
        """The RMS's look at a received order: reject it for its price or margin, hold it or
        release it."""
        user_id = order.user_id
        book = self._recorder.book
        order.order_timestamp = self._clock.now().replace(microsecond=0)
        self._recorder.transition(order, Status.VALIDATION_PENDING)
        breach = circuit_breach(self._quotes, inst, order.order_type, order.price)
        if breach is not None:
            return self._reject(order, breach)
        wrong_side = self._stop_refusal(
            order.order_type, order.transaction_type, order.trigger_price, inst
        )
        if wrong_side is not None:
            return self._reject(order, wrong_side)
        required = self._risk.required_margin(
            user_id,
            inst,
            buy=order.is_buy,
            product=order.product,
            quantity=order.quantity,
            price=self._risk.reference_price(order, inst.instrument_token),
        )
        available = self._risk.available(user_id)
        if short_of_margin(required, available):
            message = (
                f"Insufficient funds. Required margin is {required:.2f} but available margin "
                f"is {available:.2f}. Check the orderbook for open orders."
            )
            if self._faults.margin_exception and order.order_id not in book:
                raise MarginError(message)
            raw = (
                f"RMS:Margin Exceeds,Required:{required:.2f}, Available:{available:.2f} for "
                f"entity account-{user_id} across exchange across segment across product "
            )
            return self._reject(order, message, raw)
        if order.order_id not in book:
            book.add(order)
        if amo_held:
            self._recorder.transition(order, Status.AMO_REQ_RECEIVED)
            return order
        self._matcher.release(order)
        return order

    def _stop_refusal(
        self, order_type: OrderType, side: Side, trigger: Decimal, inst: InstrumentLike
    ) -> str | None:
        """Why a stop's trigger is on the wrong side of the last price now, or ``None``."""
        ltp = self._matcher.last_price(inst.instrument_token)
        return stop_trigger_refusal(order_type, side, trigger, ltp)

    def _reject(self, order: Order, message: str, raw: str | None = None) -> Order:
        """The RMS rejects a received order: it stays in the book, REJECTED, saying why."""
        if order.order_id not in self._recorder.book:
            self._recorder.book.add(order)
        order.status_message = message
        order.status_message_raw = raw
        self._recorder.transition(order, Status.REJECTED)
        self._recorder.push(order)
        return order

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

        self._timers.after(seconds, create)

    # -- autoslice -----------------------------------------------------------------------------

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
        inst = instrument_of(self._instruments, req.exchange, req.tradingsymbol)
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
                self._check_slice_trigger(inst, child)
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
        breach = circuit_breach(self._quotes, inst, req.order_type, req.price)
        if breach is not None:
            raise InputError(breach)

    def _check_slice_trigger(self, inst: InstrumentLike, req: PlaceRequest) -> None:
        """Refuse a stop slice whose trigger is on the wrong side of the last price, as a slice
        priced outside the circuit limits is (UNVERIFIED how Kite's reply shows it)."""
        refusal = self._stop_refusal(req.order_type, req.transaction_type, req.trigger_price, inst)
        if refusal is not None:
            raise InputError(refusal)

    def _check_slice_margin(self, user_id: str, inst: InstrumentLike, req: PlaceRequest) -> None:
        """Refuse a slice the funds cannot carry before it becomes an order (Kite's reply then
        names the error instead of an order id)."""
        required = self._risk.required_margin(
            user_id,
            inst,
            buy=req.transaction_type is Side.BUY,
            product=req.product,
            quantity=req.quantity,
            price=self._risk.reference_price(req, inst.instrument_token),
        )
        available = self._risk.available(user_id)
        if short_of_margin(required, available):
            raise MarginError(
                f"Insufficient funds. Required margin is {required:.2f} but available margin "
                f"is {available:.2f}."
            )


__all__ = ["MAX_SLICES", "Placement"]
