"""What the book's routes answer beyond orders and positions: funds and trades.

Kept out of the route modules so that :class:`~orderdesk.client.DeskClient` reads them without
importing FastAPI's routing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from orderdesk.api.schemas import _Response
from orderdesk.domain.reports import SegmentMargins
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
    filled_at: datetime | None


__all__ = ["FundsOut", "SegmentOut", "TradeOut"]
