"""What a day's trading cost: the executed orders as a broker's charge calculator reads them,
and the sums of its answer.

Kite charges per executed order (its brokerage is per order, its taxes on the order's turnover),
and its calculator (``/charges/orders``, the virtual contract note) takes each order's traded
quantity at its average price, in its product. The desk has both in its own record of the
fills, for today and for any earlier day read back from the log.

A position conversion (:mod:`orderdesk.domain.conversion`) moves quantity between products
without an order: an MIS buy converted to CNC is delivery, and is charged as delivery. So the
day's conversions reassign the fills they moved before the calculator is asked
(:func:`executed`): a conversion of today's quantity takes it from the fills of the same
instrument, side and old product, **the latest first** (by exchange time; a fill without one at
its order's creation), passing over a fill the exchange timed after the conversion. An order
of which only part moved is asked for in two lines, one per product, each at the average price
of its own fills. A conversion of a carried quantity (``overnight``) moves none of the day's
fills. The rule is the desk's, not Kite's (Kite's contract note nets the day's trades per
product at the end of the day): which fills it names can differ when the day held several
buys at different prices, the quantities per product cannot; and brokerage capped per order
(₹20) is capped per line for a split order.

Delivery bought and sold on the same day is not delivered: the exchange nets a client's buys
and sells of a scrip in a day, and Zerodha's contract note charges the matched quantity as
intraday. So, after the conversions, the day's CNC quantity of a scrip both bought and sold is
asked for as MIS (:func:`~orderdesk.domain.charge_schedule.squared_off`: the earliest fills of
each side first), an order matched in part in two lines as above; the rest stays delivery.
The rule takes ``orders`` as one trading day's. The part of a day's CNC sales beyond its CNC
buys is stock sold from the demat, which pays the depository's DP charge once a scrip a day
(:func:`holding_sales`): no calculator's line, the ledger's.

An option held into its expiry is settled by the exchange, not by an order, yet it costs: an
in-the-money one is exercised (the long holder) or assigned (the short), and Zerodha's
contract note charges that as a line of its own (:func:`exercises`, at the schedule's rates,
:func:`~orderdesk.domain.charge_schedule.exercise_charges`). The day's close names the lines it
settled (:attr:`~orderdesk.domain.day.PositionSnapshot.settled`); a close logged before it did
names none, so such a day shows no exercise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from orderdesk.domain.charge_schedule import (
    ScheduledCharges,
    contract_kind_by_symbol,
    dp_charges,
    exercise_charges,
    sold_from_holdings,
    squared_off,
)
from orderdesk.domain.contracts import contract_multiplier
from orderdesk.domain.day import PositionSnapshot
from orderdesk.domain.events import PositionConverted
from orderdesk.domain.order import AVERAGE_PRICE_PLACES, Order
from orderdesk.domain.reports import Charges, Fill, OrderStatusReport
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import InstrumentKey, Product, Side

ZERO = Decimal(0)


@dataclass(slots=True, kw_only=True)
class _Part:
    """Some of one fill's quantity, and the product it is charged in."""

    order: Order
    fill: Fill
    product: Product
    quantity: int
    latest: tuple[datetime, datetime, int]
    """Its place among the day's fills, the latest highest: exchange time (its order's
    creation when the broker gave none), then its order's creation, then its arrival."""


def executed(
    orders: Iterable[Order], conversions: Iterable[PositionConverted] = ()
) -> list[tuple[Order, OrderStatusReport]]:
    """Each order that traded, with the report a charge calculator takes: what it filled, at
    the average price of its fills (an order cancelled after a part filled is charged on that
    part), in ``orders``' order.

    ``conversions`` are the day's, in log order: the quantity each moved is charged in its new
    product (the module docstring has the rule), an order moved in part giving one report per
    product, its own product's first."""
    traded = [order for order in orders if order.broker_order_id is not None and order.fills]
    parts = [
        _Part(
            order=order,
            fill=fill,
            product=fill.product,
            quantity=fill.quantity,
            latest=(fill.filled_at or order.created_at, order.created_at, arrival),
        )
        for order in traded
        for arrival, fill in enumerate(order.fills.values())
    ]
    for converted in conversions:
        parts += _reassign(parts, converted)
    parts += _square_off(parts)
    found: list[tuple[Order, OrderStatusReport]] = []
    for order in traded:
        own = [part for part in parts if part.order is order]
        products = dict.fromkeys([own[0].fill.product, *(part.product for part in own)])
        for product in products:
            charged = [part for part in own if part.product is product and part.quantity]
            if charged:
                found.append((order, _report(order, product, charged)))
    return found


def _reassign(parts: Sequence[_Part], converted: PositionConverted) -> list[_Part]:
    """Move ``converted``'s quantity to its new product, the latest fills first: parts taken
    whole change product, a part taken in part is split (the new piece returned)."""
    conversion = converted.conversion
    if conversion.overnight:
        return []
    candidates = [
        part
        for part in parts
        if part.fill.instrument == conversion.instrument
        and part.fill.side is conversion.side
        and part.product is conversion.old_product
        and part.quantity
        and (part.fill.filled_at is None or part.fill.filled_at <= converted.at)
    ]
    left = conversion.quantity
    split: list[_Part] = []
    for part in sorted(candidates, key=lambda p: p.latest, reverse=True):
        if not left:
            break
        taken = min(left, part.quantity)
        left -= taken
        if taken == part.quantity:
            part.product = conversion.new_product
            continue
        part.quantity -= taken
        split.append(
            _Part(
                order=part.order,
                fill=part.fill,
                product=conversion.new_product,
                quantity=taken,
                latest=part.latest,
            )
        )
    return split


def _square_off(parts: Sequence[_Part]) -> list[_Part]:
    """Move each scrip's CNC quantity bought and sold on the day to MIS, the earliest fills of
    each side first: parts taken whole change product, a part taken in part is split (the new
    piece returned)."""
    delivered: dict[InstrumentKey, list[_Part]] = {}
    for part in sorted(parts, key=lambda p: p.latest):
        if part.product is Product.CNC and part.quantity:
            delivered.setdefault(part.fill.instrument, []).append(part)
    split: list[_Part] = []
    for scrip in delivered.values():
        matched = squared_off([(part.fill.side is Side.BUY, part.quantity) for part in scrip])
        for part, taken in zip(scrip, matched, strict=True):
            if taken == part.quantity:
                part.product = Product.MIS
            elif taken:
                part.quantity -= taken
                split.append(replace(part, product=Product.MIS, quantity=taken))
    return split


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldingSale:
    """A scrip of which the day sold stock from the demat, and its DP charge."""

    instrument: InstrumentKey
    quantity: int
    """What the day's CNC sales sold beyond its CNC buys."""
    charges: ScheduledCharges


def holding_sales(traded: Iterable[tuple[Order, OrderStatusReport]]) -> list[HoldingSale]:
    """The day's sales from holdings, a scrip each, with their DP charge: the part of its CNC
    sales beyond its CNC buys (``traded``: :func:`executed`'s answer for one day, whose
    conversions are in the products)."""
    delivered: dict[InstrumentKey, list[tuple[bool, int]]] = {}
    for _, report in traded:
        if report.product is Product.CNC:
            line = (report.side is Side.BUY, report.filled_quantity)
            delivered.setdefault(report.instrument, []).append(line)
    found = []
    for instrument, lines in delivered.items():
        sold = sold_from_holdings(lines)
        if sold:
            found.append(HoldingSale(instrument=instrument, quantity=sold, charges=dp_charges()))
    return found


def _report(order: Order, product: Product, parts: Sequence[_Part]) -> OrderStatusReport:
    """The calculator's line for ``parts`` of ``order``, all in ``product``."""
    first = parts[0].fill
    quantity = sum(part.quantity for part in parts)
    value = sum((part.fill.price * part.quantity for part in parts), ZERO)
    assert order.broker_order_id is not None  # only traded orders have parts
    return OrderStatusReport(
        broker_order_id=order.broker_order_id,
        status=BrokerStatus.COMPLETE,
        broker_status_text="COMPLETE",
        instrument=first.instrument,
        side=first.side,
        order_type=order.order_type,
        product=product,
        variety=order.signal.variety,
        validity=order.signal.validity,
        quantity=quantity,
        filled_quantity=quantity,
        pending_quantity=0,
        average_price=(value / quantity).quantize(AVERAGE_PRICE_PLACES),
        exchange_order_id=first.exchange_order_id,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Exercise:
    """An option the day's close settled with a quantity open, and what its settlement cost."""

    instrument: InstrumentKey
    product: Product
    quantity: int
    """Signed: long (exercised) positive, short (assigned) negative."""
    settlement_price: Decimal
    """The option's final settlement price: its intrinsic value a unit."""
    charges: ScheduledCharges


def exercises(positions: Iterable[PositionSnapshot]) -> list[Exercise]:
    """The day's options settled in the money (``positions``: its close's lines), each with
    the charges of its exercise or assignment; one that expired worthless costs nothing."""
    found = []
    for line in positions:
        if not line.settled or line.last_price is None:
            continue
        exchange, symbol = line.instrument.exchange.value, line.instrument.tradingsymbol
        kind = contract_kind_by_symbol(exchange, symbol)
        units = line.quantity * contract_multiplier(exchange, symbol)
        cost = exercise_charges(kind, quantity=units, settlement_price=line.last_price)
        if cost is not None:
            found.append(
                Exercise(
                    instrument=line.instrument,
                    product=line.product,
                    quantity=line.quantity,
                    settlement_price=line.last_price,
                    charges=cost,
                )
            )
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargesTotal:
    """Charges summed by kind over a day's orders."""

    brokerage: Decimal = ZERO
    transaction_tax: Decimal = ZERO
    exchange_turnover_charge: Decimal = ZERO
    sebi_turnover_charge: Decimal = ZERO
    stamp_duty: Decimal = ZERO
    gst: Decimal = ZERO
    dp_charge: Decimal = ZERO
    total: Decimal = ZERO

    @classmethod
    def of(cls, charges: Sequence[Charges | ScheduledCharges]) -> ChargesTotal:
        """``charges`` summed: the calculator's answers, exercises' and sales from holdings'
        charges (only the last have a DP charge)."""
        return cls(
            brokerage=sum((c.brokerage for c in charges), ZERO),
            transaction_tax=sum((c.transaction_tax for c in charges), ZERO),
            exchange_turnover_charge=sum((c.exchange_turnover_charge for c in charges), ZERO),
            sebi_turnover_charge=sum((c.sebi_turnover_charge for c in charges), ZERO),
            stamp_duty=sum((c.stamp_duty for c in charges), ZERO),
            gst=sum((c.gst for c in charges), ZERO),
            dp_charge=sum((c.dp_charge for c in charges if isinstance(c, ScheduledCharges)), ZERO),
            total=sum((c.total for c in charges), ZERO),
        )


__all__ = ["ChargesTotal", "Exercise", "HoldingSale", "executed", "exercises", "holding_sales"]
