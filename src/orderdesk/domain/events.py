"""Domain events: past-tense facts, the only thing the event log stores.

An order's state is what you get by applying its events in order (:meth:`Order.apply`), so
every change of an order is one of these. ``stream`` names whose history an event belongs to:
the client order id for order events, ``"desk"`` for everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.day import CarriedPosition, Holding, PositionSnapshot, StrategyCarry
from orderdesk.domain.reports import Fill, GttTrigger, PriceAlert
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import BrokerStatus, OrderStatus
from orderdesk.domain.values import OrderType

DESK_STREAM = "desk"


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all events."""

    at: datetime

    @property
    def stream(self) -> str:
        return DESK_STREAM


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent(Event):
    order_id: str
    """orderdesk's client order id (sent to the broker as the tag)."""

    @property
    def stream(self) -> str:
        return self.order_id


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCreated(OrderEvent):
    signal: Signal
    parent_id: str | None = None
    external: bool = False
    """True for an order found at the broker that orderdesk did not place (adopted)."""
    broker_order_id: str | None = None
    leg_of: str | None = None
    """The cover order whose second leg (the stop the broker placed itself) this is."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitting(OrderEvent):
    attempt: int
    algo_id: str | None = None
    """The exchange algo id sent with this attempt (None: none was sent)."""


class Doubt(StrEnum):
    """Why a placement's outcome is unknown, which decides how it is resolved by the book."""

    NO_ANSWER = "no_answer"
    """The broker adapter says the request never left (no connection could be opened: a
    ``BrokerTransportError`` that is not an ``UnknownOutcome``): absent from the book for a
    moment, the order was not placed, and it is sent again under the same id while its intent
    is fresh (the desk's ``resend_within``). (Rows written before :attr:`NO_REPLY` existed say
    this of every failure without an answer.)"""
    NO_REPLY = "no_reply"
    """The request may have reached the broker and no usable answer came back (a timeout or a
    dropped connection after sending, a 5xx, an unparseable reply). A broker that was slow to
    answer may be slow to place too, so the order may appear late: absence counts only once a
    late order would have shown (the desk's ``late_order_window``); then it is sent again under
    the same id while its intent is fresh (``resend_within``), else given up as not placed."""
    INTERRUPTED = "interrupted"
    """The desk stopped before the broker's answer was recorded (while sending, or in the
    moment before the answer's commit), so whatever the broker answered is lost, an answer that
    the order may come late included: absence counts only once a late order would have shown
    (the desk's ``late_order_window``); then it is sent again under the same id while its
    intent is fresh (``resend_within``: not after a restart hours later), else given up as not
    placed."""
    BROKER_UNSURE = "broker_unsure"
    """The broker answered that it cannot tell (Kite's "Order request timed out"): its order
    may appear later, so absence counts only after the ``late_order_window``, and then the
    order is given up as not placed, never sent again (a late order would make two)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitUnknown(OrderEvent):
    reason: str
    doubt: Doubt = Doubt.NO_ANSWER
    """How the outcome came to be unknown (rows written before it existed read as NO_ANSWER)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitRejected(OrderEvent):
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitDeferred(OrderEvent):
    """The broker refused the session (expired token): nothing was placed, and the order is an
    intent again, which the same signal sends once someone has logged in."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderWithdrawn(OrderEvent):
    """An order the desk stops before it is ever sent: an intent held for a login
    (:class:`OrderSubmitDeferred`) or by the broker's 429s, cancelled, or a sliced parent (never
    sent itself) whose remaining slices are not to be placed. Nothing more is placed for it."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted(OrderEvent):
    broker_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStatusChanged(OrderEvent):
    """A broker report moved the order forward."""

    status: OrderStatus
    base_status: OrderStatus
    broker_status: BrokerStatus
    broker_status_text: str
    filled_quantity: int
    average_price: Decimal
    broker_order_id: str
    message: str | None = None
    fills: tuple[Fill, ...] = ()
    """Trades read with the report (its filled quantity grew past the recorded fills), recorded
    by this event exactly as :class:`OrderFillRecorded` records one: once per trade id. One
    event for the report and the trades behind it; :func:`recorded_fills` reads either kind."""
    cancelled_outside: bool = False
    """A cancellation the desk had not asked for, nor the broker's or the exchange's ordinary
    end of an order: someone cancelled it outside orderdesk (Kite web or mobile, an API
    client). ``message`` then holds the broker's words, if any, which the desk did not know as
    the broker's own (so it may have been the broker's after all)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderModifyRequested(OrderEvent):
    quantity: int
    price: Decimal | None
    trigger_price: Decimal | None
    order_type: OrderType


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderModified(OrderEvent):
    """New terms are in force (our request accepted, or a change made outside orderdesk)."""

    quantity: int
    price: Decimal | None
    trigger_price: Decimal | None
    order_type: OrderType
    external: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderModifyRejected(OrderEvent):
    reason: str
    unanswered: bool = False
    """No answer came (a timeout, a dropped connection): not a refusal, and the order's row
    at the broker says how it stands."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelRequested(OrderEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelRejected(OrderEvent):
    reason: str
    unanswered: bool = False
    """As ``OrderModifyRejected.unanswered``."""


def not_done_word(unanswered: bool) -> str:
    """How a modify or cancel that did not go through is said, by the order's reason and the
    timeline alike: "refused" is the broker's no, and a request that got no answer (a timeout)
    said so read as one."""
    return "unanswered" if unanswered else "refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFillRecorded(OrderEvent):
    fill: Fill
    inferred: bool = False
    """True when the fill was found by reconciliation instead of arriving on the stream."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUpdateIgnored(OrderEvent):
    """A stale broker update (lower rank or filled quantity) that was not applied."""

    reason: str
    broker_status_text: str
    filled_quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderTransitionRefused(OrderEvent):
    """An illegal update or command, recorded instead of crashing."""

    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLapsed(OrderEvent):
    """The trading day ended with the order unfinished and its end unknowable (LAPSED)."""

    day: date
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AutosliceSent(OrderEvent):
    """The order goes to the broker as one placement that the broker splits at the freeze
    quantity (Kite's autoslice): written before the call. The order itself never becomes a
    broker order; its children do, and are adopted as they are reported."""

    algo_id: str | None = None
    """The exchange algo id sent with the placement (None: none was sent)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AutosliceAnswered(OrderEvent):
    """The broker's answer to an autoslice placement: the id naming the placement, the
    children it placed, and the slices it refused (each one a child order, rejected)."""

    broker_parent_id: str
    placed: tuple[str, ...]
    """Broker order ids of the children placed."""
    refused: tuple[str, ...] = ()
    """Client order ids of the slices the broker refused."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AutosliceFailed(OrderEvent):
    """The autoslice placement was refused whole (nothing placed: ``unknown`` False), or its
    outcome is unknown (children found at the broker are still adopted; never re-sent)."""

    reason: str
    unknown: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ExitStarted(Event):
    """``exit_position`` placed ``order_id`` and watches it under this escalation policy."""

    order_id: str
    reprice_after: Decimal
    """Seconds (a Decimal: the log's canonical text holds no floats)."""
    max_reprices: int
    band_percent: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ExitRepriced(Event):
    """The exit was not filled in time: its price moved to ``price``, within the band around
    the last price ``last_price``."""

    order_id: str
    attempt: int
    last_price: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ExitUnfilled(Event):
    """The escalation ended with the exit still not filled (a person must act)."""

    order_id: str
    reprices: int
    remaining: int
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalDenied(Event):
    signal: Signal
    check: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitchChanged(Event):
    engaged: bool
    reason: str
    cancel_open: bool = False
    by_loss_limit: bool = False
    """Engaged by the day's loss reaching its limit (``on_daily_loss``), not by a person: a
    desk restarted that day knows the limit was acted on, and does not engage it again after
    an operator released it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LossLimitReached(Event):
    """The day's loss reached a daily loss limit, and its alert was said: the desk's limit
    (``strategy`` empty) or one strategy's own. A desk restarted the same trading day reads
    these back and does not say it again while the loss is still past the limit."""

    day: date
    """The trading day whose loss it is."""
    strategy: str = ""
    pnl: Decimal
    limit: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconciliationMismatch(Event):
    kind: str
    """E.g. ``external_order``, ``missed_fill``, ``status``, ``position``."""
    detail: str
    order_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconciliationCompleted(Event):
    orders_checked: int
    trades_checked: int
    mismatches: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DayOpened(Event):
    """A trading day begins: the checkpoint from which the desk's state is rebuilt.

    It holds everything the desk needs from before it: the positions and holdings the broker
    carried in, the orders still alive (whose histories are read by id), and the kill switch.
    Start-up replays from the latest one, so its cost does not grow with the log.
    """

    day: date
    positions: tuple[CarriedPosition, ...] = ()
    holdings: tuple[Holding, ...] = ()
    carried_orders: tuple[str, ...] = ()
    kill_switch: bool = False
    kill_switch_reason: str = ""
    strategy_positions: tuple[StrategyCarry, ...] = ()
    """Each strategy's share of ``positions`` (its own orders' net quantity at the previous
    close, as far as the account carried it), so its books go on counting what it carries.
    Empty in days opened before shares were recorded: their carried positions are no
    strategy's."""
    missed: tuple[date, ...] = ()
    """The trading days between the last one the desk opened and this one, which it never
    opened (it was stopped through them): no P&L of theirs was kept. Empty in days opened
    before missed days were recorded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DayClosed(Event):
    """A trading day's orders are settled; its positions and P&L as they stood then.

    Written after the exchanges' close, and again (superseding) when the next day opens and
    the day saw activity after its first close. A desk that was not running at the close
    writes it when it can next read the broker (``late``).
    """

    day: date
    pnl: Decimal
    realised: Decimal
    positions: tuple[PositionSnapshot, ...] = ()
    orders: int = 0
    fills: int = 0
    lapsed: tuple[str, ...] = ()
    still_open: tuple[str, ...] = ()
    """Orders the broker still had working at the close (commodities, evening AMOs)."""
    late: bool = False
    """Closed by a desk that was not running at the day's close: its positions are marked at
    the broker's prices read then (the day's last prices the same evening, its closing prices
    the next trading day), not at the prices the desk saw."""
    estimated: bool = False
    """Some of its figures are estimates (its positions say which): made late, it found a
    square-off only by what the broker no longer carried, or no price of the day for an open
    position."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRenewed(Event):
    """A fresh broker session reached the desk (the morning login); never the token itself."""

    expires_at: datetime | None
    source: str
    """Who handed it over: ``api`` (``POST /api/session``, ``orderdesk login``) or ``start``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionLost(Event):
    """The broker session ended: it expired, or the broker refused it."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerSquaredOff(Event):
    """The broker squared off an intraday position itself (an order the desk did not place)."""

    order_id: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorCommandHandled(Event):
    """A person acted on the desk where no other event tells it (a Telegram command; an
    approval or rejection through the API or the dashboard): who, what, and what came of it,
    so the audit log answers "who pressed kill?"."""

    operator: str
    """Who sent it, e.g. ``telegram:123456789`` (the chat id; never a token)."""
    command: str
    """The command's name without arguments: ``status``, ``kill``, ``approve``…"""
    params: str = ""
    """What came with the command (an approval id, ``confirm cancel``), redacted."""
    outcome: str
    """What the desk did or answered, in words (``kill switch engaged``, ``refused: …``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalParked(Event):
    """A signal of an approval strategy was parked for an operator, written before its strategy
    is answered. Every parked signal's end is an :class:`ApprovalDecided`, so one the log holds
    no end for was waiting when the desk stopped without a clean stop: the approval queue
    started next decides it dropped, as a clean stop would have."""

    approval_id: str
    strategy: str
    signal_id: str | None
    terms: str
    """What it asked, in words (``BUY 10 NSE:INFY``)."""
    expires_at: datetime
    """When it would have lapsed undecided."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalDecided(Event):
    """A signal parked for approval ended: approved (and placed as ``order_id``), rejected, or
    lapsed unapproved (dropped when the desk stopped included), each of which closes its signal
    id for good; or refused by the desk when it was approved (``FAILED``), which placed nothing
    and closes nothing: its id is free. The approval queue rebuilds what it answers from these
    at start-up, so the same (strategy, signal id) sent again after a restart is answered as
    before it, and a :class:`SignalParked` without one of these was dropped unseen."""

    approval_id: str
    strategy: str
    signal_id: str | None
    """None for a signal sent without an id (nothing to close)."""
    decision: str
    """``APPROVED``, ``REJECTED``, ``EXPIRED`` or ``FAILED`` (the approval queue's state)."""
    reason: str = ""
    """Why, in words (the operator's reason, what made it lapse); empty for an approval."""
    order_id: str | None = None
    """The order an approval placed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionConversionRequested(Event):
    """The desk asked the broker to convert a position (written before the request leaves:
    one without an answer after it was lost in flight, and reconciliation finds which)."""

    conversion: PositionConversion
    operator: str
    """Who asked: ``api``, ``cli``, ``telegram:<chat id>``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionConverted(Event):
    """A position moved between products at the broker: the desk's books move with it."""

    conversion: PositionConversion
    source: str
    """``desk``: the broker said yes to the desk's request; ``broker``: reconciliation found
    it done there (on Kite web, or a request whose answer was lost)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionConversionRefused(Event):
    """The broker refused the desk's conversion (or its outcome is unknown): nothing moved."""

    conversion: PositionConversion
    reason: str


TRIGGER_STREAM = "triggers"
"""The stream of every GTT's and alert's events: start-up reads it whole, as a trigger outlives
the trading day it was placed on (the day checkpoint does not carry it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerEvent(Event):
    """Base of the events of a GTT or an alert the desk placed at the broker."""

    trigger_id: str

    @property
    def stream(self) -> str:
        return TRIGGER_STREAM


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerPlaced(TriggerEvent):
    """The broker took a GTT or an alert for ``strategy`` (written after its answer: nothing
    is placed by creating one, so an unknown outcome is found by reconciliation)."""

    kind: str
    strategy: str
    broker_id: str
    gtt: GttTrigger | None = None
    price_alert: PriceAlert | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerModified(TriggerEvent):
    gtt: GttTrigger | None = None
    price_alert: PriceAlert | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerDeleted(TriggerEvent):
    """The desk deleted it at the broker."""

    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerEnded(TriggerEvent):
    """The broker's list shows it ended without the desk: ``fired`` (with the orders it
    placed) or ``gone`` (deleted elsewhere, expired, cancelled)."""

    state: str
    detail: str
    order_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerRang(TriggerEvent):
    """A simple price alert fired at the broker (it stays live): ``fired`` is the broker's
    count of its firings so far."""

    fired: int
    detail: str


ORDER_EVENT_TYPES: tuple[type[OrderEvent], ...] = (
    OrderCreated,
    OrderSubmitting,
    OrderSubmitUnknown,
    OrderSubmitRejected,
    OrderSubmitDeferred,
    OrderWithdrawn,
    OrderAccepted,
    OrderStatusChanged,
    OrderModifyRequested,
    OrderModified,
    OrderModifyRejected,
    OrderCancelRequested,
    OrderCancelRejected,
    OrderFillRecorded,
    OrderUpdateIgnored,
    OrderTransitionRefused,
    OrderLapsed,
    AutosliceSent,
    AutosliceAnswered,
    AutosliceFailed,
)
DESK_EVENT_TYPES: tuple[type[Event], ...] = (
    TriggerPlaced,
    TriggerModified,
    TriggerDeleted,
    TriggerEnded,
    TriggerRang,
    SignalDenied,
    KillSwitchChanged,
    LossLimitReached,
    ReconciliationMismatch,
    ReconciliationCompleted,
    DayOpened,
    DayClosed,
    SessionRenewed,
    SessionLost,
    BrokerSquaredOff,
    ExitStarted,
    ExitRepriced,
    ExitUnfilled,
    OperatorCommandHandled,
    SignalParked,
    ApprovalDecided,
    PositionConversionRequested,
    PositionConverted,
    PositionConversionRefused,
)
EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls for cls in (*ORDER_EVENT_TYPES, *DESK_EVENT_TYPES)
}
"""Every event class by name: the codec's registry."""


def recorded_fills(event: Event) -> tuple[Fill, ...]:
    """The fills ``event`` records: its own for :class:`OrderFillRecorded`, the trades read
    with the report for :class:`OrderStatusChanged`, none for any other event."""
    if isinstance(event, OrderFillRecorded):
        return (event.fill,)
    if isinstance(event, OrderStatusChanged):
        return event.fills
    return ()


__all__ = [
    "DESK_STREAM",
    "EVENT_TYPES",
    "TRIGGER_STREAM",
    "ApprovalDecided",
    "AutosliceAnswered",
    "AutosliceFailed",
    "AutosliceSent",
    "BrokerSquaredOff",
    "DayClosed",
    "DayOpened",
    "Doubt",
    "Event",
    "ExitRepriced",
    "ExitStarted",
    "ExitUnfilled",
    "KillSwitchChanged",
    "LossLimitReached",
    "OperatorCommandHandled",
    "OrderAccepted",
    "OrderCancelRejected",
    "OrderCancelRequested",
    "OrderCreated",
    "OrderEvent",
    "OrderFillRecorded",
    "OrderLapsed",
    "OrderModified",
    "OrderModifyRejected",
    "OrderModifyRequested",
    "OrderStatusChanged",
    "OrderSubmitDeferred",
    "OrderSubmitRejected",
    "OrderSubmitUnknown",
    "OrderSubmitting",
    "OrderTransitionRefused",
    "OrderUpdateIgnored",
    "OrderWithdrawn",
    "PositionConversionRefused",
    "PositionConversionRequested",
    "PositionConverted",
    "ReconciliationCompleted",
    "ReconciliationMismatch",
    "SessionLost",
    "SessionRenewed",
    "SignalDenied",
    "SignalParked",
    "TriggerDeleted",
    "TriggerEnded",
    "TriggerEvent",
    "TriggerModified",
    "TriggerPlaced",
    "TriggerRang",
    "not_done_word",
    "recorded_fills",
]
