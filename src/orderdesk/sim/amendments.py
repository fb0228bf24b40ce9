"""Modify and cancel: a working order's terms changed, or what is left of it cancelled.

A modify walks Kite's statuses (``MODIFY VALIDATION PENDING → MODIFY PENDING → MODIFIED``) back
to where the order rests, is pushed and matched at once; a cancel goes through ``CANCEL
PENDING`` to ``CANCELLED`` and is pushed. Both need the order's own variety in the URL
(KITE_API.md §4.1), and an order takes at most ``max_modifications`` modifies (Kite's 25).

A modify is refused (``InputException``, the order keeping its terms) for what placement would
refuse with the new terms: prices off the tick, a disclosed quantity outside equity, a price
outside the circuit limits, a stop's new trigger (or a new stop type) at or past the last price
while the stop waits (a buy's must stay above it, a sell's below it, in the RMS's words), a CNC
sale beyond the stock held, an iceberg total its legs cannot carry, a quantity not above what has
filled. Each row of a modify carries the modify's time in ``order_timestamp``, and from
``MODIFIED`` on in ``exchange_timestamp`` (Kite's ``order_info.json``).

Cover orders (KITE_API.md §4.4): the type of neither leg changes. The stop leg takes only
``price`` and ``trigger_price``, its new trigger held to the trigger range as at placement
(:mod:`orderdesk.sim.trigger_range`). The first leg refuses a new ``trigger_price``: the stop is
moved on the stop leg once the first leg has filled (:func:`check_entry_stop_unchanged`).
Cancelling the stop leg with its ``parent_order_id`` exits the cover order at market.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from orderdesk.sim.clock import SimClock
from orderdesk.sim.envelope import InputError, OrderError
from orderdesk.sim.matching import Matcher
from orderdesk.sim.order_checks import (
    check_disclosed,
    check_freeze_limit,
    check_ticks,
    circuit_breach,
    stop_trigger_refusal,
    tick_of,
)
from orderdesk.sim.order_params import ModifyRequest, require_market_protection
from orderdesk.sim.orders import WORKING, Order, OrderType, Product, Status, Variety, money
from orderdesk.sim.ports import InstrumentLike, InstrumentLookup, QuoteSource
from orderdesk.sim.recorder import Recorder
from orderdesk.sim.rms import RiskChecks
from orderdesk.sim.trigger_range import check_stop_leg_trigger

ZERO = Decimal(0)


def stop_leg_changes(order: Order, req: ModifyRequest) -> list[str]:
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


def check_entry_stop_unchanged(entry: Order, req: ModifyRequest) -> None:
    """Refuse a new stop on a cover order's first leg.

    Kite moves a cover order's stop on its second leg (KITE_API.md §4.4: the CO second leg's
    modify takes ``price`` and ``trigger_price``), and Zerodha's staff say the first leg's
    trigger price cannot be modified (kite.trade forum, comment 13493). Taking the field and
    dropping it, as the simulator did, reported success while the stop leg later spawned at the
    old stop. The same trigger again changes nothing and passes. UNVERIFIED: Kite's words, and
    whether Kite answers with an error or, as one 2018 forum report suggests, with success
    while ignoring the field; refusing is the side a strategy rehearsed here cannot be misled
    by.
    """
    if req.trigger_price is not None and req.trigger_price != entry.co_trigger_price:
        raise InputError(
            "Invalid `trigger_price`: a cover order's stop-loss is modified on its stop leg "
            "(that order's id, with `parent_order_id`) once the first leg has filled; the first "
            f"leg keeps its stop of {money(entry.co_trigger_price)}."
        )


class Amendments:
    """Modifies and cancels working orders of the book."""

    def __init__(
        self,
        *,
        recorder: Recorder,
        matcher: Matcher,
        risk: RiskChecks,
        clock: SimClock,
        instruments: InstrumentLookup,
        quotes: QuoteSource,
        max_modifications: int,
    ) -> None:
        self._recorder = recorder
        self._matcher = matcher
        self._risk = risk
        self._clock = clock
        self._instruments = instruments
        self._quotes = quotes
        self._max_modifications = max_modifications

    def __repr__(self) -> str:
        return f"Amendments(max_modifications={self._max_modifications})"

    def _own(self, user_id: str, variety: str, order_id: str) -> Order:
        order = self._recorder.get(user_id, order_id)
        if str(order.variety) != variety:
            raise InputError(f"Invalid `variety`: this order is `{order.variety}`.")
        return order

    def modify(self, user_id: str, variety: str, order_id: str, req: ModifyRequest) -> Order:
        """Change a working order; walks Kite's MODIFY statuses back to OPEN."""
        order = self._own(user_id, variety, order_id)
        if order.status not in WORKING:
            raise OrderError(f"Order cannot be modified as it is {order.status.lower()}.")
        if order.modifications >= self._max_modifications:
            raise OrderError(
                "Maximum allowed order modifications exceeded. Cancel and place a new order."
            )
        if order.parent_order_id is not None:
            changes = stop_leg_changes(order, req)
            if changes:
                # Kite's CO second-leg modify takes price and trigger_price only (§4.4).
                raise InputError(
                    "A cover order's stop leg takes only `price` and `trigger_price` on modify; "
                    f"not {', '.join(f'`{name}`' for name in changes)}."
                )
            req = replace(req, market_protection=None)
        elif order.variety is Variety.CO:
            check_entry_stop_unchanged(order, req)
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
        tick = tick_of(self._instruments, order.instrument_token)
        check_ticks(tick, (("price", new_price), ("trigger_price", new_trigger)))
        moves_stop = req.trigger_price is not None or new_type is not order.order_type
        if order.parent_order_id is None and not order.triggered and moves_stop:
            # A stop still waiting must stay beyond the last price, as at placement.
            ltp = self._matcher.last_price(order.instrument_token)
            refusal = stop_trigger_refusal(new_type, order.transaction_type, new_trigger, ltp)
            if refusal is not None:
                raise InputError(refusal)
        if order.parent_order_id is not None and req.trigger_price is not None:
            # Placement held the stop to the trigger range; a new trigger meets the same rule.
            ltp = self._matcher.last_price(order.instrument_token)
            check_stop_leg_trigger(order.transaction_type, req.trigger_price, ltp)
        if inst is not None:
            self._check_modified_terms(order, inst, req, new_type, new_price, new_quantity)
        self._apply(order, req, new_type, new_price, new_trigger, new_quantity)
        return order

    def _apply(
        self,
        order: Order,
        req: ModifyRequest,
        new_type: OrderType,
        new_price: Decimal,
        new_trigger: Decimal,
        new_quantity: int,
    ) -> None:
        """Walk the modify's statuses with the new terms, then push and match the order."""
        recorder = self._recorder
        resting = order.status
        now = self._clock.now().replace(microsecond=0)
        # Every row of the modify carries its time (Kite's ``order_info.json``): the OMS's from
        # the first, the exchange's once it has accepted the new terms.
        order.order_timestamp = now
        recorder.transition(order, Status.MODIFY_VALIDATION_PENDING)
        recorder.transition(order, Status.MODIFY_PENDING)
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
        if order.exchange_order_id is not None:
            order.exchange_timestamp = now
        order.exchange_update_timestamp = now
        recorder.transition(order, Status.MODIFIED)
        back = Status.AMO_REQ_RECEIVED if resting is Status.AMO_REQ_RECEIVED else None
        recorder.transition(order, back or self._matcher.resting_status(order))
        self._matcher.protect(order)
        recorder.push(order)
        self._matcher.match(order)

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
        a quantity above the freeze limit, an iceberg total its legs cannot carry."""
        check_disclosed(inst, req.disclosed_quantity)
        breach = circuit_breach(self._quotes, inst, new_type, new_price)
        if breach is not None:
            # UNVERIFIED how Kite refuses such a modification; the order keeps its terms.
            raise InputError(breach)
        more = new_quantity - order.quantity
        if order.product == Product.CNC and not order.is_buy and more > 0:
            # As a sell placed for ``more``: held, and authorised (a modify from 5 to 10 of a
            # holding authorised for 5 was taken).
            self._risk.check_delivery_sale(order.user_id, inst, more)
        if not order.is_iceberg:
            # A modify goes to the exchange as the order: the freeze limit holds it as at
            # placement (an autoslice child raised past it was taken, and filled).
            check_freeze_limit(inst, new_quantity)
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
            self._matcher.exit_stop_leg(order)
            return order
        self._recorder.transition(order, Status.CANCEL_PENDING)
        self._matcher.cancel_rest(order)
        return order


__all__ = ["Amendments", "check_entry_stop_unchanged", "stop_leg_changes"]
