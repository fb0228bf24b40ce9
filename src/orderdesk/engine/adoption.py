"""Orders the broker holds that orderdesk did not place: how they are named and described.

An order placed on Kite web or mobile (or the broker's own square-off) carries no orderdesk tag.
It is adopted as *external*: its local id is derived from the broker's order id, so adopting it
twice lands on one order, and its signal is rebuilt from what the broker shows. The broker's
square-off stays an order of ``external`` too, but its fills close the positions the strategies
held (``domain/attribution.py``), so no strategy keeps a position the broker closed.

An adopted order is dated by the broker's row (:func:`adopted_at`), so a desk restarted at 14:00
shows an order placed on Kite web at 10:00 at 10:00, not at the moment it learned of it.
"""

from __future__ import annotations

from datetime import datetime

from orderdesk.domain.calendar import TradingCalendar, as_ist
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.ids import client_order_id, validate_tag
from orderdesk.domain.order import Order
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.signal import EXTERNAL_STRATEGY, Signal
from orderdesk.domain.values import OrderType, Validity, Variety


def external_order_id(broker_order_id: str) -> str:
    """The local id of an adopted order: stable, so adopting twice lands on one order."""
    return client_order_id(EXTERNAL_STRATEGY, broker_order_id)


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
    "EXTERNAL_STRATEGY",
    "adopted_at",
    "external_order_id",
    "leg_signal",
    "signal_from_report",
    "slice_signal",
]
