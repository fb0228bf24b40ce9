"""Events and reconciliation findings in words, for a person reading the dashboard.

The log's names (``OrderStatusChanged``, ``external_order``) are for code and for ``orderdesk
audit``; the event feed, an order's timeline and the alerts say what happened instead. An event
type without a sentence here falls back to its name, so a new event is never hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from orderdesk.domain.calendar import as_ist
from orderdesk.domain.events import (
    ApprovalDecided,
    BrokerSquaredOff,
    DayClosed,
    DayOpened,
    Event,
    KillSwitchChanged,
    LossLimitReached,
    OperatorCommandHandled,
    OrderAccepted,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderCreated,
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
    PositionConversionRefused,
    PositionConversionRequested,
    PositionConverted,
    ReconciliationCompleted,
    ReconciliationMismatch,
    SessionLost,
    SessionRenewed,
    SignalDenied,
    SignalParked,
    not_done_word,
)
from orderdesk.domain.money import to_paise
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import OrderType
from orderdesk.engine.adoption import is_desk_id

FINDINGS: dict[str, str] = {
    "external_order": "an order placed outside orderdesk was found and adopted",
    "own_order_not_in_log": (
        "an order orderdesk placed that its log does not hold (restored from an older backup?) "
        "was found and adopted"
    ),
    "converted_at_broker": "a position converted outside orderdesk was found and followed",
    "modified_at_broker": "an order modified outside orderdesk was found and followed",
    "missed_fill": "a trade the stream missed was found in the trade book",
    "not_placed_at_broker": (
        "an order given up as not placed was found at the broker after all and taken back"
    ),
    "status": "the broker's status differed from the desk's",
    "position": "the broker's position differs from the desk's",
    "holding": "the broker's holdings differ from the day's opening",
    "unresolved": "an order whose placement is unknown is not in the broker's book yet",
    "duplicate": "the broker holds two orders with the same tag",
    "final_here_live_at_broker": (
        "an order the desk holds as ended is live, or less filled, at the broker"
    ),
    "orphan_trade": "a trade belongs to no order the desk knows",
    "refused_fill": "a trade could not be applied to its order",
    "day_open": "the day opened with a difference from the broker",
}
"""Reconciliation finding kinds (``ReconciliationMismatch.kind``) in words."""


def finding(kind: str) -> str:
    return FINDINGS.get(kind, kind.replace("_", " "))


def _price(value: Decimal | None) -> str:
    return "at market" if value is None else f"@ {value}"


def _terms(
    order_type: OrderType, quantity: int, price: Decimal | None, trigger: Decimal | None = None
) -> str:
    """``12 SL @ 837.5 trigger 836``, ``1 SL-M at market trigger 831``: the trigger said as a
    placement's signal says it, when the order has one."""
    text = f"{quantity} {order_type.value} {_price(price)}"
    return text if trigger is None else f"{text} trigger {trigger}"


def signal_words(signal: Signal) -> str:
    """``BUY 10 NSE:INFY LIMIT @ 1400 CNC`` (with the trigger when there is one)."""
    text = f"{signal.side.value} {signal.quantity} {signal.instrument} {signal.order_type.value}"
    if signal.price is not None:
        text += f" @ {signal.price}"
    if signal.trigger_price is not None:
        text += f" trigger {signal.trigger_price}"
    return f"{text} {signal.product.value}"


def _created(e: OrderCreated) -> str:
    if e.external and is_desk_id(e.signal.tag):
        return (
            f"Found at the broker (placed by orderdesk, not in its log): {signal_words(e.signal)}"
        )
    if e.external:
        return f"Found at the broker (placed outside orderdesk): {signal_words(e.signal)}"
    return f"Signal from {e.signal.strategy}: {signal_words(e.signal)}"


def _status(e: OrderStatusChanged) -> str:
    if e.cancelled_outside:  # engine/news.py says which cancellations are
        text = f"Cancelled outside orderdesk (broker: {e.broker_status_text})"
    else:
        text = f"Broker: {e.broker_status_text}"
    if e.filled_quantity:
        # Kite's average of several fills runs to many places (796.0944444444444).
        text += f", {e.filled_quantity} filled at {_average(e.average_price)}"
    for fill in e.fills:
        text += f"; trade {fill.trade_id}: {fill.quantity} @ {fill.price}"
    return text + (f" ({e.message})" if e.message else "")


def _average(value: Decimal) -> str:
    """An average price as the book shows it: as it is to the paisa (1490), beyond rounded."""
    rounded = to_paise(value)
    return str(value if value == rounded else rounded)


def _fill(e: OrderFillRecorded) -> str:
    how = " (found by reconciliation)" if e.inferred else ""
    return f"Filled {e.fill.quantity} @ {e.fill.price}, trade {e.fill.trade_id}{how}"


def _kill(e: KillSwitchChanged) -> str:
    if not e.engaged:
        return "Kill switch released" + (f": {e.reason}" if e.reason else "")
    # The cancel leaves the orders that can only reduce a position (domain/protection.py).
    cancel = (
        ", cancelling the open orders that could add risk (exits and protective stops stay)"
        if e.cancel_open
        else ""
    )
    return f"Kill switch engaged{cancel}: {e.reason or 'no reason given'}"


_WORDS: dict[type[Event], Callable[[Any], str]] = {
    OrderCreated: _created,
    OrderSubmitting: lambda e: f"Sent to the broker (attempt {e.attempt})",
    OrderSubmitUnknown: lambda e: f"Outcome unknown, looking for it in the book: {e.reason}",
    OrderSubmitRejected: lambda e: (
        f"Given up: {e.reason}"
        if e.reason.startswith("not placed:")
        else f"Refused by the broker: {e.reason}"
    ),
    OrderSubmitDeferred: lambda e: (
        f"Held, not sent: {e.reason}; its signal sent again after a login sends it"
    ),
    OrderWithdrawn: lambda e: f"Withdrawn before it was sent: {e.reason}",
    OrderAccepted: lambda e: f"Accepted by the broker as {e.broker_order_id}",
    OrderStatusChanged: _status,
    OrderModifyRequested: lambda e: (
        "Modify sent: " + _terms(e.order_type, e.quantity, e.price, e.trigger_price)
    ),
    OrderModified: lambda e: (
        ("Modified" + (" outside orderdesk" if e.external else "") + ": ")
        + _terms(e.order_type, e.quantity, e.price, e.trigger_price)
    ),
    OrderModifyRejected: lambda e: f"Modify {not_done_word(e.unanswered)}: {e.reason}",
    OrderCancelRequested: lambda e: "Cancel sent",
    OrderCancelRejected: lambda e: f"Cancel {not_done_word(e.unanswered)}: {e.reason}",
    OrderFillRecorded: _fill,
    OrderUpdateIgnored: lambda e: f"Stale broker update ignored ({e.broker_status_text})",
    OrderTransitionRefused: lambda e: f"Update refused: {e.detail}",
    OrderLapsed: lambda e: f"Lapsed at the end of {e.day}: {e.reason}",
    SignalDenied: lambda e: f"Signal refused ({signal_words(e.signal)}): {e.reason}",
    KillSwitchChanged: _kill,
    LossLimitReached: lambda e: (
        (f"Strategy {e.strategy}'s daily" if e.strategy else "Daily")
        + f" loss limit of {e.limit} reached on {e.day} (P&L {to_paise(e.pnl)})"
    ),
    ReconciliationMismatch: lambda e: f"Reconciliation: {finding(e.kind)}: {e.detail}",
    ReconciliationCompleted: lambda e: (
        f"Reconciled {e.orders_checked} orders and {e.trades_checked} trades: "
        + ("no differences" if not e.mismatches else f"{e.mismatches} difference(s)")
    ),
    DayOpened: lambda e: f"Trading day {e.day} opened",
    DayClosed: lambda e: f"Trading day {e.day} closed, P&L {to_paise(e.pnl)}",
    SessionRenewed: lambda e: (
        "Broker session renewed"
        # In IST, as the session alerts and the trading day say it (it was 00:30 UTC).
        + (f", valid until {as_ist(e.expires_at):%Y-%m-%d %H:%M} IST" if e.expires_at else "")
    ),
    SessionLost: lambda e: f"Broker session ended: {e.reason}",
    BrokerSquaredOff: lambda e: f"Squared off by the broker: {e.detail}",
    PositionConversionRequested: lambda e: (
        f"Conversion asked ({e.operator}): {e.conversion.describe()}"
    ),
    PositionConverted: lambda e: (
        ("Converted" if e.source == "desk" else "Converted at the broker")
        + f": {e.conversion.describe()}"
    ),
    PositionConversionRefused: lambda e: (
        f"Conversion refused: {e.conversion.describe()}: {e.reason}"
    ),
    OperatorCommandHandled: lambda e: (
        f"{e.operator}: /{e.command}{' ' + e.params if e.params else ''}: {e.outcome}"
    ),
    SignalParked: lambda e: (
        f"{_signal_of(e.signal_id, e.strategy)} parked for approval ({e.approval_id}): "
        f"{e.terms}, expires {as_ist(e.expires_at):%Y-%m-%d %H:%M:%S} IST"
    ),
    ApprovalDecided: lambda e: _approval_words(e),
}

_DECIDED = {
    "APPROVED": "approved",
    "REJECTED": "rejected",
    "EXPIRED": "lapsed unapproved",
    "FAILED": "refused by the desk when approved",
}


def _approval_words(event: ApprovalDecided) -> str:
    """``Signal 'mon-1' of mean_rev rejected (ap1f…): too late``: how a parked signal ended."""
    said = _DECIDED.get(event.decision, event.decision.lower())
    then = f", order {event.order_id}" if event.order_id else ""
    why = f": {event.reason}" if event.reason else ""
    signal = _signal_of(event.signal_id, event.strategy)
    return f"{signal} {said} ({event.approval_id}){then}{why}"


def _signal_of(signal_id: str | None, strategy: str) -> str:
    if signal_id is None:
        return f"A signal of {strategy}"
    return f"Signal {signal_id!r} of {strategy}"


def describe(event: Event) -> str:
    """One sentence about ``event``; its type name when there is none."""
    words = _WORDS.get(type(event))
    return words(event) if words is not None else type(event).__name__


__all__ = ["FINDINGS", "describe", "finding", "signal_words"]
