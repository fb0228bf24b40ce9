"""The ``Order`` aggregate: decisions return events, ``apply`` folds events into state.

The split is what makes the log the source of truth: the engine asks the order what a command or
a broker report means (a list of events, or :class:`InvalidTransition`), writes those events,
then applies them. Replaying the same events rebuilds the same order after a crash.

Broker updates are applied monotonically. A duplicate (same status, filled quantity and
quantity as the last one applied) is a no-op; a stale one (lower rank or filled quantity) yields
:class:`OrderUpdateIgnored`; an illegal one raises :class:`InvalidTransition`, which the caller
records as :class:`OrderTransitionRefused`. Nothing ever moves an order backwards.

One terminal status may be left: an order *given up* as not placed (:meth:`Order.not_placed`:
the broker answered that it could not tell, and its book did not show the order within the
late-order window) is taken back by the broker's first report of that very order (found by its
tag or broker id): bound to the broker's id and brought to the broker's state, as if that
report had come before the give-up (:meth:`Order.taken_back`). The broker placed it; the desk
only stopped believing it had. A rejection the broker made stays final.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from orderdesk.domain.errors import InvalidTransition, ValidationError
from orderdesk.domain.events import (
    AutosliceAnswered,
    AutosliceFailed,
    AutosliceSent,
    Doubt,
    OrderAccepted,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderCreated,
    OrderEvent,
    OrderFillRecorded,
    OrderLapsed,
    OrderModified,
    OrderModifyRejected,
    OrderModifyRequested,
    OrderStatusChanged,
    OrderSubmitDeferred,
    OrderSubmitRejected,
    OrderSubmitting,
    OrderSubmitUnknown,
    OrderTransitionRefused,
    OrderUpdateIgnored,
    OrderWithdrawn,
    not_done_word,
)
from orderdesk.domain.refusals import describe_refusal
from orderdesk.domain.reports import Fill, OrderStatusReport
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import (
    BROKER_TRIGGERS,
    OVERLAYS,
    RANK,
    TERMINAL,
    TRANSITIONS,
    UNRESOLVED,
    BrokerStatus,
    OrderStatus,
    ReturnToBase,
    Trigger,
)
from orderdesk.domain.values import OrderType, Variety

AVERAGE_PRICE_PLACES = Decimal("0.0001")

PRICED = frozenset({OrderType.LIMIT, OrderType.SL})
"""Order types that carry a limit price."""
TRIGGERED = frozenset({OrderType.SL, OrderType.SL_M})
"""Order types that carry a trigger price."""

CANCELLED_OUTSIDE = "cancelled outside orderdesk"
"""The reason of an order whose cancellation the desk did not ask for
(:attr:`OrderStatusChanged.cancelled_outside`): someone cancelled it on Kite web or mobile, or
another API client."""

_SETTLING = frozenset({BrokerStatus.MODIFY_PENDING, BrokerStatus.MODIFY_REJECTED})
"""A modification on its way, or one refused: the row's terms are not (or not yet) in force."""


@dataclass(frozen=True, slots=True)
class Terms:
    """What an order asks of the market: how many, of what type, at what price and trigger
    (None where its type takes none)."""

    quantity: int
    order_type: OrderType
    price: Decimal | None
    trigger_price: Decimal | None

    def __str__(self) -> str:
        text = f"{self.quantity} {self.order_type.value}"
        if self.price is not None:
            text += f" @ {self.price}"
        if self.trigger_price is not None:
            text += f" trigger {self.trigger_price}"
        return text

    def changes_from(self, before: Terms) -> str:
        """What differs from ``before``, term by term: ``quantity 1 → 400, price 1456 → 1460``."""
        changed = [
            f"{name} {_word(old)} → {_word(new)}"
            for name, old, new in (
                ("quantity", before.quantity, self.quantity),
                ("type", before.order_type, self.order_type),
                ("price", before.price, self.price),
                ("trigger", before.trigger_price, self.trigger_price),
            )
            if old != new
        ]
        return ", ".join(changed) or "no change"


def _word(term: object) -> str:
    return "none" if term is None else str(term)


_STATUS_TRIGGER: dict[BrokerStatus, Trigger] = {
    BrokerStatus.RECEIVED: Trigger.BROKER_ACCEPTED,
    BrokerStatus.TRIGGER_PENDING: Trigger.BROKER_TRIGGER_PENDING,
    BrokerStatus.OPEN: Trigger.BROKER_OPENED,
    BrokerStatus.COMPLETE: Trigger.BROKER_FILLED,
    BrokerStatus.CANCELLED: Trigger.BROKER_CANCELLED,
    BrokerStatus.REJECTED: Trigger.BROKER_REJECTED,
}
"""Broker statuses that say where the order is. The others (modify/cancel in progress,
unknown words) are informational: they move nothing unless the filled quantity grew."""


_IMPLIED: dict[Trigger, OrderStatus] = {
    Trigger.BROKER_ACCEPTED: OrderStatus.ACCEPTED,
    Trigger.BROKER_TRIGGER_PENDING: OrderStatus.TRIGGER_PENDING,
    Trigger.BROKER_OPENED: OrderStatus.OPEN,
    Trigger.BROKER_PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    Trigger.BROKER_FILLED: OrderStatus.FILLED,
    Trigger.BROKER_CANCELLED: OrderStatus.CANCELLED,
    Trigger.BROKER_REJECTED: OrderStatus.REJECTED,
}
"""Where a broker trigger says the order is, used to rank it before consulting the table."""


def _check_consistent(report: OrderStatusReport, current: OrderStatus) -> None:
    """Refuse reports that contradict themselves, whatever order they arrive in."""
    filled, quantity = report.filled_quantity, report.quantity
    problem = None
    if not 0 <= filled <= quantity:
        problem = f"filled {filled} outside 0..{quantity}"
    elif report.status is BrokerStatus.COMPLETE and filled != quantity:
        problem = f"COMPLETE with {filled} of {quantity} filled"
    elif report.status is BrokerStatus.CANCELLED and filled >= quantity:
        problem = "CANCELLED with nothing left to cancel"
    elif report.status is BrokerStatus.REJECTED and filled:
        problem = f"REJECTED after {filled} filled"
    if problem:
        raise InvalidTransition(current.value, report.status.value, problem)


_BEFORE_FILLS = frozenset(
    {None, Trigger.BROKER_ACCEPTED, Trigger.BROKER_TRIGGER_PENDING, Trigger.BROKER_OPENED}
)
"""Triggers of a resting order: with some quantity filled, they mean partially filled."""


def trigger_for(report: OrderStatusReport) -> Trigger | None:
    """The lifecycle trigger a broker report implies, or None if it implies no move."""
    trigger = _STATUS_TRIGGER.get(report.status)
    if trigger in _BEFORE_FILLS and 0 < report.filled_quantity < report.quantity:
        # Kite has no partial-fill status: the order stays OPEN with some quantity filled.
        return Trigger.BROKER_PARTIALLY_FILLED
    return trigger


@dataclass(slots=True)
class Order:
    """One order's current state, derived from its events."""

    order_id: str
    signal: Signal
    created_at: datetime
    updated_at: datetime
    heard_at: datetime
    """When the broker last told of the order (a report, a fill, the placement's answer). The
    desk's own requests, and the broker's answers to them, move only ``updated_at``: they tell
    nothing of fills, so an order the desk keeps re-pricing stays quiet by this for the
    tracker's quiet-order rule, the read that finds the fills a stream missed."""
    parent_id: str | None = None
    external: bool = False
    leg_of: str | None = None
    """The cover order whose stop leg this is (the broker placed it; exiting the cover order
    is cancelling it)."""
    status: OrderStatus = OrderStatus.INITIALIZED
    base_status: OrderStatus = OrderStatus.INITIALIZED
    broker_order_id: str | None = None
    quantity: int = 0
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    order_type: OrderType = OrderType.MARKET
    filled_quantity: int = 0
    average_price: Decimal = Decimal(0)
    fills: dict[str, Fill] = field(default_factory=dict)
    fill_quantity: int = 0
    """Quantity covered by recorded fills (may lag the broker's filled quantity); kept with
    ``fills`` by :meth:`apply`, as every broker update compares against it."""
    submit_attempts: int = 0
    algo_id: str | None = None
    """The exchange algo id the last placement attempt carried (None: none)."""
    modifications: int = 0
    pending_modify: OrderModifyRequested | None = None
    cancel_requested: bool = False
    """The desk asked the broker to cancel it (even if that cancel was refused or its answer
    lost): a cancellation the broker reports later may be the desk's own."""
    broker_status_text: str | None = None
    last_progress: tuple[int, str, int] | None = None
    reason: str | None = None
    deferred: bool = False
    """Back to an intent after the broker refused the session: the same signal sends it."""
    doubt: Doubt = Doubt.NO_ANSWER
    """Why the placement's outcome is (or last was) unknown: how resolution treats absence."""
    autoslice: bool = False
    """Sent as one placement the broker splits (Kite's autoslice): the order is a parent whose
    children are the broker's orders; it is never sent again."""
    broker_parent_id: str | None = None
    """The broker's id of that placement (its children's reports name it)."""
    given_up: bool = False
    """Given up as not placed (:meth:`not_placed`: the broker could not tell, and its book did
    not show the order within the late-order window). The one ``REJECTED`` an order may leave,
    and only by the broker's news of this very order (:meth:`taken_back`); a rejection the
    broker made, or a refusal it answered, stays final."""
    held_terms: tuple[Terms, ...] = ()
    """The terms each modify gave the order (the desk's, or one found made outside), in order.
    With its signal's, the terms it has held: a broker row showing one of them again, other
    than the present ones, is a stale or repeated report, not a modification
    (:meth:`changed_at_broker`). Empty for an order never modified (nothing to keep)."""
    rearmed: bool = False
    """Open at the broker, then made a stop (a LIMIT modified into SL or SL-M): it may wait for
    its trigger again, so the broker's TRIGGER PENDING is news, not a stale report of the time
    before it opened (:meth:`_stop_rearmed`)."""

    # -- construction and replay -------------------------------------------------------------

    @classmethod
    def create(
        cls,
        order_id: str,
        signal: Signal,
        at: datetime,
        *,
        parent_id: str | None = None,
        external: bool = False,
        broker_order_id: str | None = None,
        leg_of: str | None = None,
    ) -> OrderCreated:
        """The event that brings an order into being (apply it with :meth:`from_events`)."""
        return OrderCreated(
            at=at,
            order_id=order_id,
            signal=signal,
            parent_id=parent_id,
            external=external,
            broker_order_id=broker_order_id,
            leg_of=leg_of,
        )

    @classmethod
    def from_events(cls, events: Iterable[OrderEvent]) -> Order:
        """Replay an order's history; the first event must be :class:`OrderCreated`."""
        iterator = iter(events)
        first = next(iterator, None)
        if not isinstance(first, OrderCreated):
            raise ValueError("an order's history starts with OrderCreated")
        signal = first.signal
        order = cls(
            order_id=first.order_id,
            signal=signal,
            created_at=first.at,
            updated_at=first.at,
            heard_at=first.at,
            parent_id=first.parent_id,
            external=first.external,
            broker_order_id=first.broker_order_id,
            leg_of=first.leg_of,
            quantity=signal.quantity,
            price=signal.price,
            trigger_price=signal.trigger_price,
            order_type=signal.order_type,
        )
        if first.broker_order_id is not None:
            # Adopted from the broker's book (an external order, a cover order's stop leg, a
            # slice the broker cut from an autoslice placement): the broker already holds it,
            # so its lifecycle starts where a placement we made would stand once acknowledged.
            order._set(OrderStatus.ACCEPTED)
        for event in iterator:
            order.apply(event)
        return order

    # -- predicates ----------------------------------------------------------------------------

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def is_unresolved(self) -> bool:
        """Sent (or maybe sent) with no proof yet of whether the broker holds it."""
        return self.status in UNRESOLVED

    @property
    def is_open(self) -> bool:
        """Alive, or maybe alive, at the broker: sent and not ended. Neither a sliced order's
        parent (never at the broker: its children are) nor an intent not sent yet (a signal
        whose session was refused) is an open order, whatever the count that shows them."""
        return not self.is_terminal and self.status is not OrderStatus.INITIALIZED

    @property
    def is_working(self) -> bool:
        return (
            not self.is_terminal
            and not self.is_unresolved
            and self.status is not (OrderStatus.INITIALIZED)
        )

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.filled_quantity

    # -- decisions ---------------------------------------------------------------------------

    def _target(self, trigger: Trigger) -> OrderStatus | ReturnToBase:
        source = self.base_status if trigger in BROKER_TRIGGERS else self.status
        target = TRANSITIONS.get((source, trigger))
        if target is None:
            raise InvalidTransition(self.status.value, trigger.value)
        return target

    def submit(self, at: datetime, *, algo_id: str | None = None) -> list[OrderEvent]:
        """Start (or, after proven absence, restart) sending the placement, with ``algo_id``
        (the exchange algo id to send; None: none)."""
        trigger = Trigger.RESUBMIT if self.status is OrderStatus.SUBMIT_UNKNOWN else Trigger.SUBMIT
        self._target(trigger)
        attempt = self.submit_attempts + 1
        return [OrderSubmitting(at=at, order_id=self.order_id, attempt=attempt, algo_id=algo_id)]

    def submit_unknown(
        self, reason: str, at: datetime, doubt: Doubt = Doubt.NO_ANSWER
    ) -> list[OrderEvent]:
        """The placement's outcome is unknown (timeout, reset, 5xx after sending, the broker
        saying it cannot tell); ``doubt`` says which, for resolution."""
        if self.status is OrderStatus.SUBMIT_UNKNOWN:
            return []
        self._target(Trigger.SUBMIT_UNKNOWN)
        return [OrderSubmitUnknown(at=at, order_id=self.order_id, reason=reason, doubt=doubt)]

    def not_placed(self, reason: str, at: datetime) -> list[OrderEvent]:
        """Resolution gave the placement up: its book showed no such order for as long as a
        late one could take to appear, and the broker had said it could not tell, or the intent
        is too old to send again (the desk's ``resend_within``)."""
        if self.status is not OrderStatus.SUBMIT_UNKNOWN:
            raise InvalidTransition(self.status.value, Trigger.SUBMIT_REJECTED.value)
        self._target(Trigger.SUBMIT_REJECTED)
        return [OrderSubmitRejected(at=at, order_id=self.order_id, reason=reason)]

    def submit_rejected(self, reason: str, at: datetime) -> list[OrderEvent]:
        """The broker refused the placement synchronously: it holds no order."""
        self._target(Trigger.SUBMIT_REJECTED)
        return [OrderSubmitRejected(at=at, order_id=self.order_id, reason=reason)]

    def submit_deferred(self, reason: str, at: datetime) -> list[OrderEvent]:
        """The broker refused the session: nothing was placed; the intent waits for a login."""
        self._target(Trigger.SESSION_REFUSED)
        return [OrderSubmitDeferred(at=at, order_id=self.order_id, reason=reason)]

    def withdraw(self, reason: str, at: datetime) -> list[OrderEvent]:
        """Cancel an intent held for a login (:meth:`submit_deferred`) before it is sent:
        nothing was placed, so the broker is not asked. Or a placement the broker answered 429
        (``SUBMITTING``) that the desk holds back to send again: the engine withdraws it only
        between its sends, never while one is on the wire (``engine/placement.py``). Only
        those: one on its way is cancelled at the broker."""
        if not self.deferred and self.status is not OrderStatus.SUBMITTING:
            raise InvalidTransition(self.status.value, Trigger.WITHDRAW.value)
        self._target(Trigger.WITHDRAW)
        return [OrderWithdrawn(at=at, order_id=self.order_id, reason=reason)]

    def lapse(self, day: date, reason: str, at: datetime) -> list[OrderEvent]:
        """The trading day ``day`` ended with this order unfinished and its end unknowable."""
        if self.is_terminal:
            return []
        self._target(Trigger.DAY_ENDED)
        return [OrderLapsed(at=at, order_id=self.order_id, day=day, reason=reason)]

    def accepted(self, broker_order_id: str, at: datetime) -> list[OrderEvent]:
        """The placement returned the broker's order id."""
        if self.broker_order_id == broker_order_id:
            return []
        if self.broker_order_id is not None:
            raise InvalidTransition(
                self.status.value,
                Trigger.BROKER_ACCEPTED.value,
                f"already bound to broker order {self.broker_order_id}, not {broker_order_id}",
            )
        if self.status in UNRESOLVED:
            self._target(Trigger.BROKER_ACCEPTED)
        return [OrderAccepted(at=at, order_id=self.order_id, broker_order_id=broker_order_id)]

    def on_report(
        self, report: OrderStatusReport, at: datetime, fills: Sequence[Fill] = ()
    ) -> list[OrderEvent]:
        """What a broker report means for this order (see the module docstring).

        ``fills`` are trades read with the report, already checked against this order by the
        caller (new trade ids, no overfill); they ride on the status change when the report
        makes one, and the caller records them on their own otherwise.
        """
        if self.broker_order_id not in (None, report.broker_order_id):
            raise InvalidTransition(
                self.status.value,
                report.status.value,
                f"report for broker order {report.broker_order_id}, "
                f"bound to {self.broker_order_id}",
            )
        _check_consistent(report, self.status)
        if self.taken_back(report):
            return self._take_back(report, at, fills)
        changed = self.changed_at_broker(report)
        if report.progress == self.last_progress and not changed:
            return []
        events: list[OrderEvent] = []
        if self.broker_order_id is None and self.status in UNRESOLVED:
            events += self.accepted(report.broker_order_id, at)
        if report.filled_quantity < self.filled_quantity:
            return [*events, self._ignored(report, at, "filled quantity would go down")]
        if changed:
            events.append(self.external_modification(report, at))
        trigger = trigger_for(report)
        if trigger is None:
            return events
        base = self.base_status
        implied = _IMPLIED[trigger]
        grew = report.filled_quantity > self.filled_quantity
        if not grew:
            if implied is base:
                return events
            behind = RANK[implied] < RANK[base] or (
                RANK[implied] == RANK[base] and base not in TERMINAL
            )
            if behind and not self._stop_rearmed(report, implied, changed=changed):
                return [*events, self._ignored(report, at, f"{implied} is behind {base}")]
        target = self._target(trigger)
        assert isinstance(target, OrderStatus)  # broker triggers never return to a base
        new_status = self.status if self.status in OVERLAYS and target not in TERMINAL else target
        events.append(
            OrderStatusChanged(
                at=at,
                order_id=self.order_id,
                status=new_status,
                base_status=target,
                broker_status=report.status,
                broker_status_text=report.broker_status_text,
                filled_quantity=report.filled_quantity,
                average_price=report.average_price,
                broker_order_id=report.broker_order_id,
                message=report.status_message,
                fills=tuple(fills),
            )
        )
        return events

    def _stop_rearmed(
        self, report: OrderStatusReport, implied: OrderStatus, *, changed: bool
    ) -> bool:
        """Whether ``report``'s TRIGGER PENDING is an open order made a stop and waiting for
        its trigger again, not a stale report: it read OPEN for good while the broker held the
        stop pending. Made a stop by the desk's modify (accepted, or on its way), or outside
        orderdesk (``changed``: this very report carries the new terms)."""
        if implied is not OrderStatus.TRIGGER_PENDING or self.base_status is not OrderStatus.OPEN:
            return False
        if report.order_type not in TRIGGERED:
            return False
        asked = self.pending_modify.order_type if self.pending_modify is not None else None
        becoming_stop = self.order_type not in TRIGGERED and (asked in TRIGGERED or changed)
        return self.rearmed or becoming_stop

    def taken_back(self, report: OrderStatusReport) -> bool:
        """Whether ``report`` (about this very order: the caller found it by this order's tag
        or broker id) takes back an order given up as not placed: the broker holds it after
        all, so the order leaves ``REJECTED`` for where the broker says it is. Only an order
        :meth:`not_placed` gave up, and not yet bound to another broker order."""
        return (
            self.given_up
            and self.status is OrderStatus.REJECTED
            and self.broker_order_id in (None, report.broker_order_id)
        )

    def _take_back(
        self, report: OrderStatusReport, at: datetime, fills: Sequence[Fill]
    ) -> list[OrderEvent]:
        """Bind the given-up order to the broker's order (:class:`OrderAccepted`, which
        :meth:`apply` lets leave the give-up), then the report as for any accepted order."""
        accepted = OrderAccepted(
            at=at, order_id=self.order_id, broker_order_id=report.broker_order_id
        )
        found = replace(self, fills=dict(self.fills))
        found.apply(accepted)
        return [accepted, *found.on_report(report, at, fills)]

    def on_fill(self, fill: Fill, at: datetime, *, inferred: bool = False) -> list[OrderEvent]:
        """Record an execution once; a repeated ``trade_id`` is a no-op."""
        if fill.trade_id in self.fills:
            return []
        if self.broker_order_id not in (None, fill.broker_order_id):
            raise InvalidTransition(
                self.status.value, "FILL", f"fill for broker order {fill.broker_order_id}"
            )
        if self.fill_quantity + fill.quantity > self.quantity:
            raise InvalidTransition(
                self.status.value,
                "FILL",
                f"fill {fill.trade_id} of {fill.quantity} overfills {self.quantity}",
            )
        return [OrderFillRecorded(at=at, order_id=self.order_id, fill=fill, inferred=inferred)]

    def request_modify(
        self,
        at: datetime,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
    ) -> list[OrderEvent]:
        """Ask for new terms; validated with the same rules as a new signal."""
        self._target(Trigger.REQUEST_MODIFY)
        proposed = self.proposed(
            quantity=quantity, price=price, trigger_price=trigger_price, order_type=order_type
        )
        return [
            OrderModifyRequested(
                at=at,
                order_id=self.order_id,
                quantity=proposed.quantity,
                price=proposed.price,
                trigger_price=proposed.trigger_price,
                order_type=proposed.order_type,
            )
        ]

    def proposed(
        self,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
    ) -> Signal:
        """The order's signal with the terms a modify asks for (``None``: the term as it is,
        or none where the new type takes none): what the risk checks and the instrument's
        rules judge before a modify is sent, as they judge a new signal. Raises
        :class:`ValidationError` for terms no signal could have."""
        new_type = order_type or self.order_type
        new_quantity = quantity if quantity is not None else self.quantity
        if new_quantity <= self.filled_quantity:
            raise ValidationError("quantity", f"must exceed the filled {self.filled_quantity}")
        keep_price = new_type in (OrderType.LIMIT, OrderType.SL)
        # A cover order's stop is its trigger whatever its type.
        keep_trigger = new_type in (OrderType.SL, OrderType.SL_M) or (
            self.signal.variety is Variety.CO
        )
        new_price = price if price is not None else (self.price if keep_price else None)
        new_trigger = (
            trigger_price
            if trigger_price is not None
            else (self.trigger_price if keep_trigger else None)
        )
        # The signal's own validation knows every price/trigger rule; reuse it, don't repeat it.
        return replace(
            self.signal,
            quantity=new_quantity,
            price=new_price,
            trigger_price=new_trigger,
            order_type=new_type,
            market_protection=None,
        )

    def modify_accepted(self, at: datetime) -> list[OrderEvent]:
        self._target(Trigger.MODIFY_ACCEPTED)
        request = self.pending_modify
        assert request is not None  # MODIFY_PENDING is only entered with a request
        return [
            OrderModified(
                at=at,
                order_id=self.order_id,
                quantity=request.quantity,
                price=request.price,
                trigger_price=request.trigger_price,
                order_type=request.order_type,
            )
        ]

    def modify_rejected(
        self, reason: str, at: datetime, *, unanswered: bool = False
    ) -> list[OrderEvent]:
        self._target(Trigger.MODIFY_REJECTED)
        return [
            OrderModifyRejected(at=at, order_id=self.order_id, reason=reason, unanswered=unanswered)
        ]

    def request_cancel(self, at: datetime) -> list[OrderEvent]:
        self._target(Trigger.REQUEST_CANCEL)
        return [OrderCancelRequested(at=at, order_id=self.order_id)]

    def cancel_rejected(
        self, reason: str, at: datetime, *, unanswered: bool = False
    ) -> list[OrderEvent]:
        if self.status is not OrderStatus.CANCEL_PENDING:
            return []  # the order ended meanwhile; nothing to undo
        self._target(Trigger.CANCEL_REJECTED)
        return [
            OrderCancelRejected(at=at, order_id=self.order_id, reason=reason, unanswered=unanswered)
        ]

    def refused(self, error: InvalidTransition, at: datetime) -> OrderTransitionRefused:
        """The event that records an illegal update instead of crashing on it."""
        return OrderTransitionRefused(at=at, order_id=self.order_id, detail=describe_refusal(error))

    def _ignored(self, report: OrderStatusReport, at: datetime, reason: str) -> OrderEvent:
        return OrderUpdateIgnored(
            at=at,
            order_id=self.order_id,
            reason=reason,
            broker_status_text=report.broker_status_text,
            filled_quantity=report.filled_quantity,
        )

    @property
    def terms(self) -> Terms:
        """The terms the order is held to now."""
        return Terms(self.quantity, self.order_type, self.price, self.trigger_price)

    def terms_in(self, report: OrderStatusReport) -> Terms:
        """The terms a broker row shows for this order, as the order would hold them (Kite
        shows 0 for a price or trigger its type takes none of)."""
        # A cover order's stop leg is held as a plain stop whatever type the broker names.
        kind = self.order_type if self.leg_of is not None else report.order_type
        trigger = report.trigger_price if kind in TRIGGERED and report.trigger_price else None
        if kind not in TRIGGERED and self.signal.variety is Variety.CO:
            # A cover order's entry keeps its stop for the leg its fill spawns; its row may
            # show it or not, and no modify moves it there (the stop leg's does).
            trigger = self.trigger_price
        return Terms(
            quantity=report.quantity,
            order_type=kind,
            price=report.price if kind in PRICED and report.price else None,
            trigger_price=trigger,
        )

    def changed_at_broker(self, report: OrderStatusReport) -> bool:
        """The broker's row shows this working order with terms other than its own while no
        modify of ours is on its way: someone changed it outside orderdesk (Kite web, another
        API client). Every term counts: quantity, type, price and trigger.

        Terms the order has held before (:attr:`held_terms`: its signal's, each modify the
        desk made, each outside one already taken) are not news: Kite's updates may come out
        of order or twice, so a row showing the desk's own earlier terms is a stale report of
        them, and taking it would roll the order back and alert the desk's own modify as an
        outside one. Nothing in a report orders it reliably against the last one (Kite's
        ``order_timestamp`` has whole seconds, and the log keeps no report's time), so the rule
        is by terms alone. Its limit: a change made outside back to terms the order held
        before (a price moved there and back) is not seen until the terms differ from all of
        them; the desk then holds its own later terms while the broker holds the earlier ones.

        A cover order's stop leg shown as a MARKET order has been exited (a cancel of the leg,
        the desk's or the broker's square-off, turns it into a market order that fills): that
        is its end, not new terms, whatever the row's ``modified`` says of an earlier modify."""
        return (
            report.modified
            and not (self.leg_of is not None and report.order_type is OrderType.MARKET)
            and not self.is_terminal
            and self.status is not OrderStatus.MODIFY_PENDING
            and report.status not in _SETTLING
            and self._new_terms(self.terms_in(report))
        )

    def _new_terms(self, terms: Terms) -> bool:
        """Terms this order has never held (see :meth:`changed_at_broker`)."""
        if terms == self.terms or terms in self.held_terms:
            return False
        signal = self.signal
        return terms != Terms(
            signal.quantity, signal.order_type, signal.price, signal.trigger_price
        )

    def external_modification(self, report: OrderStatusReport, at: datetime) -> OrderModified:
        """The terms ``report`` shows, as a modification made outside orderdesk."""
        terms = self.terms_in(report)
        return OrderModified(
            at=at,
            order_id=self.order_id,
            quantity=terms.quantity,
            price=terms.price,
            trigger_price=terms.trigger_price,
            order_type=terms.order_type,
            external=True,
        )

    # -- evolution -----------------------------------------------------------------------------

    def apply(self, event: OrderEvent) -> None:
        """Fold one event into the state. Events are facts: no validation happens here."""
        if event.order_id != self.order_id:
            raise ValueError(f"event for {event.order_id} applied to {self.order_id}")
        self.updated_at = event.at
        # The broker's updates first: they are nearly every event applied.
        match event:
            case OrderStatusChanged():
                self.heard_at = event.at
                if event.cancelled_outside:
                    words = f" (the broker's words: {event.message})" if event.message else ""
                    self.reason = CANCELLED_OUTSIDE + words
                elif event.message:
                    self.reason = event.message
                elif event.base_status is not self.base_status:
                    # Words kept from before (a refused modify or cancel, a lost reply)
                    # explain a status the order has left; the broker's words for a
                    # rejection or cancellation come with it, in ``message``.
                    self.reason = None
                self.broker_order_id = event.broker_order_id
                self.status = event.status
                if event.base_status is not self.base_status:
                    self.rearmed = False  # it left OPEN: pending again, triggered, or ended
                self.base_status = event.base_status
                self.filled_quantity = event.filled_quantity
                if event.average_price:
                    self.average_price = event.average_price
                self.broker_status_text = event.broker_status_text
                self.last_progress = (
                    event.filled_quantity,
                    event.broker_status.value,
                    self.quantity,
                )
                if event.status in TERMINAL:
                    self.pending_modify = None
                for fill in event.fills:
                    self._record(fill)
            case OrderFillRecorded(fill=fill):
                self.heard_at = event.at
                self._record(fill)
                if self.broker_order_id is None:
                    self.broker_order_id = fill.broker_order_id
            case OrderSubmitting(attempt=attempt, algo_id=algo_id):
                self.submit_attempts = attempt
                self.algo_id = algo_id
                self.deferred = False
                self.reason = None  # a deferral's or a lost reply's words no longer apply
                self._set(OrderStatus.SUBMITTING)
            case OrderSubmitDeferred(reason=reason):
                self.reason = reason
                self.deferred = True
                self._set(OrderStatus.INITIALIZED)
            case OrderWithdrawn(reason=reason):
                self.reason = reason
                self.deferred = False
                self._set(OrderStatus.CANCELLED)
            case OrderLapsed(reason=reason):
                self.reason = reason
                self.pending_modify = None
                self._set(OrderStatus.LAPSED)
            case OrderSubmitUnknown(reason=reason, doubt=doubt):
                self.reason = reason
                self.doubt = doubt
                self._set(OrderStatus.SUBMIT_UNKNOWN)
            case OrderSubmitRejected(reason=reason):
                self.reason = reason
                # From an unknown outcome only :meth:`not_placed` decides it: a give-up, not
                # the broker's refusal (that answers a placement still SUBMITTING).
                self.given_up = self.status is OrderStatus.SUBMIT_UNKNOWN
                self._set(OrderStatus.REJECTED)
            case OrderAccepted(broker_order_id=broker_order_id):
                self.heard_at = event.at
                self.broker_order_id = broker_order_id
                if self.status in UNRESOLVED or (
                    self.given_up and self.status is OrderStatus.REJECTED
                ):
                    # Found at the broker (after the give-up too): the doubt is over.
                    self.reason = None
                    self.given_up = False
                    self._set(OrderStatus.ACCEPTED)
            case OrderModifyRequested():
                self.pending_modify = event
                self.reason = None  # a new request: an earlier refusal is not its answer
                self.status = OrderStatus.MODIFY_PENDING
            case OrderModified():
                if event.order_type in TRIGGERED and self.order_type not in TRIGGERED:
                    self.rearmed = self.base_status is OrderStatus.OPEN
                self.quantity = event.quantity
                self.price = event.price
                self.trigger_price = event.trigger_price
                self.order_type = event.order_type
                self.held_terms += (self.terms,)
                self.modifications += 1
                self.reason = None  # new terms: an earlier refusal is about the old ones
                if event.external:
                    self.heard_at = event.at  # found in the broker's report
                else:
                    self.pending_modify = None
                    self.status = self.base_status
            case OrderModifyRejected(reason=reason, unanswered=unanswered):
                # Said as the refusal of a modify: the order itself stands as it was.
                self.reason = f"modify {not_done_word(unanswered)}: {reason}"
                self.pending_modify = None
                self.status = self.base_status
            case OrderCancelRequested():
                self.cancel_requested = True
                self.reason = None  # a new request: an earlier refusal is not its answer
                self.status = OrderStatus.CANCEL_PENDING
            case OrderCancelRejected(reason=reason, unanswered=unanswered):
                self.reason = f"cancel {not_done_word(unanswered)}: {reason}"
                self.status = self.base_status
            case AutosliceSent(algo_id=algo_id):
                self.autoslice = True
                self.algo_id = algo_id
            case AutosliceAnswered(broker_parent_id=broker_parent_id, refused=refused):
                self.broker_parent_id = broker_parent_id
                if refused:
                    # The parent's own row says so too (each refused slice is a child with
                    # the broker's reason).
                    self.reason = (
                        f"{len(refused)} of {len(refused) + len(event.placed)} slices refused "
                        f"by the broker: {', '.join(refused)}"
                    )
            case AutosliceFailed(reason=reason, unknown=unknown):
                self.reason = reason
                if not unknown:
                    self._set(OrderStatus.REJECTED)
            case OrderUpdateIgnored():
                self.heard_at = event.at  # stale, but the broker's report all the same
            case OrderTransitionRefused() | OrderCreated():
                pass

    def _record(self, fill: Fill) -> None:
        if fill.trade_id not in self.fills:
            self.fill_quantity += fill.quantity
        self.fills[fill.trade_id] = fill

    def _set(self, status: OrderStatus) -> None:
        self.status = status
        self.base_status = status

    def average_fill_price(self) -> Decimal:
        """Volume-weighted price of the recorded fills (0 when there are none)."""
        quantity = self.fill_quantity
        if not quantity:
            return Decimal(0)
        value = sum((fill.price * fill.quantity for fill in self.fills.values()), Decimal(0))
        return (value / quantity).quantize(AVERAGE_PRICE_PLACES)


__all__ = ["CANCELLED_OUTSIDE", "PRICED", "TRIGGERED", "Order", "Terms", "trigger_for"]
