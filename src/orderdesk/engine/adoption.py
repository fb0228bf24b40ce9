"""Orders the broker holds that orderdesk did not place: how they are named and described.

An order placed on Kite web or mobile (or the broker's own square-off) carries no orderdesk tag.
It is adopted as *external*: its local id is derived from the broker's order id, so adopting it
twice lands on one order, and its signal is rebuilt from what the broker shows. The broker's
square-off stays an order of ``external`` too, but its fills close the positions the strategies
held (``domain/attribution.py``), so no strategy keeps a position the broker closed.

An order that carries one of the desk's own ids as its tag, and that the log does not hold, is
the desk's own: placed by a desk whose log was since restored from an older backup (or lost).
It is adopted under that tag (:func:`adopted_order_id`), which is
``client_order_id(strategy, signal id)``, so the same signal sent again finds it and places no
second order; the alert says what happened rather than "placed outside orderdesk"
(:func:`adoption_finding`). Which strategy placed it cannot be read back from the tag (a one-way
hash), so it stays attributed to ``external`` like any adopted order; a signal sent again proves
its (strategy, signal id) by hashing to the tag, so the desk compares it only on the terms an
adoption cannot have changed (:func:`recovered_terms_differing`).

An adopted order is dated by the broker's row (:func:`adopted_at`), so a desk restarted at 14:00
shows an order placed on Kite web at 10:00 at 10:00, not at the moment it learned of it.
"""

from __future__ import annotations

import re
from datetime import datetime

from orderdesk.domain.calendar import TradingCalendar, as_ist
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.ids import (
    CLIENT_ID_LENGTH,
    CLIENT_ID_PREFIX,
    client_order_id,
    validate_tag,
)
from orderdesk.domain.order import Order
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.signal import EXTERNAL_STRATEGY, Signal
from orderdesk.domain.values import OrderType, Validity, Variety

EXTERNAL_ORDER = "external_order"
"""The finding of an order placed outside orderdesk, adopted (a reconciliation row's kind)."""
OWN_ORDER_NOT_IN_LOG = "own_order_not_in_log"
"""The finding of an order of the desk's own that its log does not hold, adopted under its
tag (the log was restored from a backup older than the order)."""

_DESK_ID = re.compile(
    rf"^{CLIENT_ID_PREFIX}[0-9a-z]{{{CLIENT_ID_LENGTH - len(CLIENT_ID_PREFIX)}}}$"
)
"""The shape of every id the desk gives an order (``domain/ids.py``: "od" and 18 base-36
characters), which its placements carry as the broker's tag."""

RECOVERED_TERMS = ("instrument", "side", "product")
"""The terms a signal sent again is held to against an order of the desk's adopted under its
tag: those no modify changes and the adoption keeps as the broker shows them (the order's
quantity, prices and type are the broker's current ones, after any modify, not the signal's)."""


def external_order_id(broker_order_id: str) -> str:
    """The local id of an adopted order: stable, so adopting twice lands on one order."""
    return client_order_id(EXTERNAL_STRATEGY, broker_order_id)


def is_desk_id(tag: str | None) -> bool:
    """``tag`` is shaped like an id the desk gives its orders (what its placements carry)."""
    return tag is not None and _DESK_ID.match(tag) is not None


def desk_tag(report: OrderStatusReport) -> str | None:
    """The desk's own id among the tags of ``report``'s order, if it carries one."""
    return next((tag for tag in (report.tag, *report.tags) if is_desk_id(tag)), None)


def adopted_order_id(report: OrderStatusReport) -> str:
    """The local id of an order the broker holds and the desk's book does not match (nor a
    parent of the desk's it was made from).

    Its tag when that is one of the desk's ids: the desk placed it, under
    ``client_order_id(strategy, signal id)``, and its log does not hold it (restored from an
    older backup), so the same signal sent again must find it under that id rather than place
    a second order. Not for an order the broker made from another (a cover order's stop leg,
    an autoslice child): it carries its parent's tag by design, as its siblings do, and under
    that id all but the first would be refused as the first's. Else an id derived from the
    broker's. Both are stable: adopting twice lands on one order."""
    tag = desk_tag(report)
    if tag is None or report.parent_order_id is not None or report.slice_of is not None:
        return external_order_id(report.broker_order_id)
    return tag


def is_recovered(order: Order) -> bool:
    """``order`` was adopted under the desk's own id it carried as its tag (see
    :func:`adopted_order_id`), not placed outside orderdesk."""
    return (
        order.external
        and order.broker_order_id is not None
        and order.order_id != external_order_id(order.broker_order_id)
    )


def made_from_unlogged(order: Order) -> bool:
    """``order`` was adopted under an id of its broker id but carries one of the desk's ids as
    its tag: the broker made it from an order of the desk's the log does not hold (a cover
    order's stop leg, an autoslice child)."""
    return order.external and not is_recovered(order) and is_desk_id(order.signal.tag)


def adoption_finding(order: Order) -> tuple[str, str]:
    """(kind, detail) of an adopted order, as the event, the alert and the reconciliation row
    say it."""
    signal = order.signal
    what = (
        f"broker order {order.broker_order_id} ({signal.instrument} {signal.side} "
        f"{signal.quantity})"
    )
    if made_from_unlogged(order):
        return OWN_ORDER_NOT_IN_LOG, (
            f"{what} was made by the broker from order {order.signal.tag} of this desk (its "
            "tag), which the desk's log does not hold: was the log restored from a backup "
            f"older than it? Adopted as {order.order_id} under strategy {signal.strategy}. "
            f"Sending {order.signal.tag}'s signal again is refused today (it would place it "
            "twice); on a later day the desk no longer knows it. If the restore was a mistake, "
            "stop the desk and restore the log it set aside (named .replaced-<time> beside it)"
        )
    if not is_recovered(order):
        return EXTERNAL_ORDER, f"adopted {what} placed outside orderdesk"
    return OWN_ORDER_NOT_IN_LOG, (
        f"{what} carries this desk's order id as its tag, so orderdesk placed it, but the "
        "desk's log does not hold it: was the log restored from a backup older than this "
        f"order? Adopted as {order.order_id} under strategy {signal.strategy}; sending its "
        "signal again places no second order. If the restore was a mistake, stop the desk and "
        "restore the log it set aside (named .replaced-<time> beside it)"
    )


def recovered_terms_differing(order: Order, signal: Signal) -> list[str] | None:
    """For an order of the desk's adopted under its tag (:func:`is_recovered`), the terms of
    ``signal``, sent again under the (strategy, signal id) that tag was made from, that differ
    from the order's (:data:`RECOVERED_TERMS`); None for any other order, which is held to its
    whole signal."""
    if not is_recovered(order):
        return None
    return [
        name for name in RECOVERED_TERMS if getattr(order.signal, name) != getattr(signal, name)
    ]


def adopted_at(
    report: OrderStatusReport, now: datetime, calendar: TradingCalendar | None
) -> datetime:
    """When an order the desk adopts came to be, as far as the broker says: its row's time
    (of the row's latest state, which Kite moves on a modify) when that is no later than
    ``now`` and in the same trading day (the IST date without days), so the order keeps the day
    it is adopted into; else ``now``."""
    stamped = report.order_timestamp
    if stamped is None or stamped.tzinfo is None or stamped > now:
        return now
    if calendar is not None:
        same_day = calendar.trading_day_of(stamped) == calendar.trading_day_of(now)
    else:
        same_day = as_ist(stamped).date() == as_ist(now).date()
    return stamped if same_day else now


def signal_from_report(report: OrderStatusReport) -> Signal:
    """The signal an external order would have had, rebuilt from what the broker shows.

    Kite shows prices as 0 when they do not apply; iceberg and auction details are not in
    the order row, so those orders are adopted as regular ones (the broker id still binds).
    """
    kind = report.order_type
    price = report.price if kind in (OrderType.LIMIT, OrderType.SL) and report.price else None
    needs_trigger = kind in (OrderType.SL, OrderType.SL_M) or report.variety is Variety.CO
    trigger = report.trigger_price if needs_trigger and report.trigger_price else None
    fields = {
        "instrument": report.instrument,
        "side": report.side,
        "quantity": max(report.quantity, 1),
        "order_type": kind,
        "product": report.product,
        "variety": report.variety,
        "validity": report.validity if report.validity is not Validity.TTL else Validity.DAY,
        "price": price,
        "trigger_price": trigger,
        "strategy": EXTERNAL_STRATEGY,
        "signal_id": report.broker_order_id,
        # The label the order was placed with (Kite web's or another client's), shown as the
        # order's tag: a label orderdesk's own signals could not carry is left out.
        "tag": report.tag if report.tag and _fits_tag(report.tag) else None,
    }
    try:
        return Signal(**fields)  # type: ignore[arg-type]
    except ValidationError:
        fields["variety"] = Variety.REGULAR
        if kind in (OrderType.LIMIT, OrderType.SL) and price is None:
            fields["order_type"], fields["trigger_price"] = OrderType.MARKET, None
        return Signal(**fields)  # type: ignore[arg-type]


def _fits_tag(tag: str) -> bool:
    try:
        validate_tag(tag)
    except ValidationError:
        return False
    return True


def leg_signal(report: OrderStatusReport, cover: Order) -> Signal:
    """What a cover order's stop leg stands for: the stop (SL-M at its trigger) that closes the
    cover order's position, in the cover order's strategy. The broker sends it as variety
    ``co``; a new order of that variety would be the entry, so the signal is a plain stop."""
    return Signal(
        instrument=report.instrument,
        side=report.side,
        quantity=max(report.quantity, 1),
        order_type=OrderType.SL_M,
        product=cover.signal.product,
        trigger_price=report.trigger_price or cover.signal.trigger_price,
        strategy=cover.signal.strategy,
        signal_id=f"leg-{cover.order_id}",
    )


def slice_signal(report: OrderStatusReport, parent: Order) -> Signal:
    """What a child the broker cut from the desk's autoslice placement stands for: the
    parent's signal for the child's quantity, so its fills count for the parent's strategy."""
    return parent.signal.with_quantity(
        max(report.quantity, 1), signal_id=f"slice-{report.broker_order_id}"
    )


__all__ = [
    "EXTERNAL_ORDER",
    "EXTERNAL_STRATEGY",
    "OWN_ORDER_NOT_IN_LOG",
    "RECOVERED_TERMS",
    "adopted_at",
    "adopted_order_id",
    "adoption_finding",
    "desk_tag",
    "external_order_id",
    "is_desk_id",
    "is_recovered",
    "leg_signal",
    "recovered_terms_differing",
    "signal_from_report",
    "slice_signal",
]
