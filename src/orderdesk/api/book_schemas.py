"""What the book's routes answer beyond orders and positions: funds, trades and charges (a
day's, or a range of days').

Kept out of the route modules so that :class:`~orderdesk.client.DeskClient` reads them without
importing FastAPI's routing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from orderdesk.api.schemas import _Response
from orderdesk.domain.charge_schedule import ScheduledCharges
from orderdesk.domain.charges import ChargesTotal, Exercise, HoldingSale
from orderdesk.domain.order import Order
from orderdesk.domain.reports import Charges, OrderStatusReport, SegmentMargins
from orderdesk.domain.values import Product, Side


class SegmentOut(_Response):
    """One segment's funds and margins (Kite's ``/user/margins``)."""

    enabled: bool
    net: Decimal
    """What can be traded with now."""
    cash: Decimal
    opening_balance: Decimal
    live_balance: Decimal
    collateral: Decimal
    utilised_debits: Decimal
    utilised_exposure: Decimal
    utilised_span: Decimal

    @classmethod
    def of(cls, segment: SegmentMargins | None) -> SegmentOut | None:
        if segment is None:
            return None
        return cls(
            enabled=segment.enabled,
            net=segment.net,
            cash=segment.cash,
            opening_balance=segment.opening_balance,
            live_balance=segment.live_balance,
            collateral=segment.collateral,
            utilised_debits=segment.utilised_debits,
            utilised_exposure=segment.utilised_exposure,
            utilised_span=segment.utilised_span,
        )


class FundsOut(_Response):
    equity: SegmentOut | None
    commodity: SegmentOut | None


class TradeOut(_Response):
    day: date | None
    """The trading day of the trade's order (None when the desk keeps no trading days)."""
    trade_id: str
    """The broker's; unique within a trading day, not across days."""
    order_id: str
    broker_order_id: str
    exchange_order_id: str | None
    strategy: str
    instrument: str
    side: Side
    product: Product
    quantity: int
    price: Decimal
    value: Decimal
    """quantity × price × the contract's multiplier, as Kite's ``buy_value``/``sell_value``
    count it: on MCX and the currency segments quantity is in lots and price per quoted unit
    (a lot of CRUDEOIL is 100 barrels), elsewhere the multiplier is 1."""
    filled_at: datetime | None


class ChargesOut(_Response):
    """Charges by kind, as Kite's virtual contract note words them."""

    brokerage: Decimal
    transaction_tax: Decimal
    """STT (CTT on MCX)."""
    exchange_turnover_charge: Decimal
    sebi_turnover_charge: Decimal
    stamp_duty: Decimal
    gst: Decimal
    dp_charge: Decimal = Decimal(0)
    """The depository's, for stock sold from holdings (no order's: ``held_sales``)."""
    total: Decimal

    @staticmethod
    def kinds(cost: Charges | ScheduledCharges | ChargesTotal) -> dict[str, Decimal]:
        """``cost``'s figures by kind, as the fields above name them (a broker's line for an
        order has no DP charge)."""
        return {
            "brokerage": cost.brokerage,
            "transaction_tax": cost.transaction_tax,
            "exchange_turnover_charge": cost.exchange_turnover_charge,
            "sebi_turnover_charge": cost.sebi_turnover_charge,
            "stamp_duty": cost.stamp_duty,
            "gst": cost.gst,
            "dp_charge": Decimal(0) if isinstance(cost, Charges) else cost.dp_charge,
            "total": cost.total,
        }


class HoldingSaleOut(ChargesOut):
    """A scrip the day sold from the demat, and its DP charge (once a scrip a day)."""

    instrument: str
    quantity: int
    """What the day's CNC sales sold beyond its CNC buys."""

    @classmethod
    def of(cls, sale: HoldingSale) -> HoldingSaleOut:
        return cls(
            instrument=str(sale.instrument), quantity=sale.quantity, **cls.kinds(sale.charges)
        )


class ExecutedOrderOut(_Response):
    """An executed order as a row of the day's charges names it, charged or not."""

    order_id: str
    broker_order_id: str
    strategy: str
    instrument: str
    side: Side
    product: Product
    quantity: int
    """What it traded (an order cancelled after a part filled is charged on that part)."""
    average_price: Decimal

    @staticmethod
    def fields_of(order: Order, report: OrderStatusReport) -> dict[str, Any]:
        return {
            "order_id": order.order_id,
            "broker_order_id": report.broker_order_id,
            "strategy": order.signal.strategy,
            "instrument": str(report.instrument),
            "side": report.side,
            "product": report.product,
            "quantity": report.filled_quantity,
            "average_price": report.average_price,
        }


class OrderChargesOut(ChargesOut, ExecutedOrderOut):
    """One executed order and what it cost."""

    @classmethod
    def of(cls, order: Order, report: OrderStatusReport, charges: Charges) -> OrderChargesOut:
        return cls(**cls.fields_of(order, report), **cls.kinds(charges))


class ExerciseChargesOut(ChargesOut):
    """An option the day's close settled in the money, exercised (long) or assigned (short),
    and what that cost (no order of the desk's: the exchange settled it)."""

    instrument: str
    product: Product
    quantity: int
    """Signed: long positive, short negative."""
    settlement_price: Decimal

    @classmethod
    def of(cls, exercise: Exercise) -> ExerciseChargesOut:
        return cls(
            instrument=str(exercise.instrument),
            product=exercise.product,
            quantity=exercise.quantity,
            settlement_price=exercise.settlement_price,
            **cls.kinds(exercise.charges),
        )


class UnchargedOrderOut(ExecutedOrderOut):
    """An executed order the broker's calculator refused to charge, and why."""

    reason: str
    """The broker's words."""

    @classmethod
    def of(cls, order: Order, report: OrderStatusReport, reason: str) -> UnchargedOrderOut:
        return cls(**cls.fields_of(order, report), reason=reason)


class DayChargesOut(_Response):
    """A trading day's charges, order by order and in sum, and the P&L they come off."""

    day: date | None
    """None when the desk keeps no trading days (then: every order's)."""
    orders: list[OrderChargesOut]
    """Newest first."""
    charges: ChargesOut
    """The sum of ``orders``, ``exercised`` and ``held_sales``: the uncharged orders' are not
    in it."""
    exercised: list[ExerciseChargesOut] = Field(default_factory=list)
    """The day's options settled in the money at its close, exercised or assigned, each with
    what that cost (STT on an exercised one's intrinsic value, brokerage)."""
    held_sales: list[HoldingSaleOut] = Field(default_factory=list)
    """The scrips the day sold from holdings, each with its DP charge."""
    pnl: Decimal | None
    """The day's P&L before charges: live for the open day, at its close for an earlier one
    (None for a day whose close is not in the log)."""
    net: Decimal | None
    """``pnl`` less the charges; None too when an order is ``uncharged`` (its charges unknown,
    a net figure would be too high)."""
    uncharged: list[UnchargedOrderOut] = Field(default_factory=list)
    """Executed orders the broker's calculator refused to charge (one it no longer knows the
    contract of, say), each with the broker's reason; newest first."""
    estimated: bool = False
    """The day's P&L is an estimate, as its ``days`` line says (a close made after the broker's
    books of the day were gone, missing trades the desk never saw): those trades are in
    neither ``pnl`` nor the charges, so ``net`` is an estimate too."""

    @staticmethod
    def totals(total: ChargesTotal) -> ChargesOut:
        return ChargesOut(**ChargesOut.kinds(total))


class RangeChargesOut(_Response):
    """The charges of a range of trading days: each day's as ``GET /api/charges?day=…``
    answers it, and the range's sums (a month's for the accounts or the tax working)."""

    since: date | None
    """The range asked, both days included; either None when left open."""
    until: date | None
    days: list[DayChargesOut]
    """Each trading day of the log in the range, newest first (a day the desk never opened has
    no orders, so no charges, and is not listed)."""
    charges: ChargesOut
    """The days' ``charges`` summed, kind by kind: the uncharged orders' are not in it."""
    pnl: Decimal | None
    """The days' P&L before charges, summed; None when a day's is unknown (its close is not in
    the log), as the sum would leave that day out while its charges are in."""
    net: Decimal | None
    """``pnl`` less the charges; None when ``pnl`` is, or a day has an ``uncharged`` order."""
    estimated: bool = False
    """Some day's P&L is an estimate (its own ``estimated`` says which), so ``net`` is too."""

    @classmethod
    def of(
        cls, since: date | None, until: date | None, days: list[DayChargesOut]
    ) -> RangeChargesOut:
        charges = ChargesOut(
            **{
                kind: sum((getattr(day.charges, kind) for day in days), Decimal(0))
                for kind in ChargesOut.model_fields
            }
        )
        pnls = [day.pnl for day in days]
        pnl = None if None in pnls else sum((p for p in pnls if p is not None), Decimal(0))
        uncharged = any(day.uncharged for day in days)
        return cls(
            since=since,
            until=until,
            days=days,
            charges=charges,
            pnl=pnl,
            net=None if pnl is None or uncharged else pnl - charges.total,
            estimated=any(day.estimated for day in days),
        )


__all__ = [
    "ChargesOut",
    "DayChargesOut",
    "ExecutedOrderOut",
    "ExerciseChargesOut",
    "FundsOut",
    "HoldingSaleOut",
    "OrderChargesOut",
    "RangeChargesOut",
    "SegmentOut",
    "TradeOut",
    "UnchargedOrderOut",
]
