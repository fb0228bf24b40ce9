"""The desk's answers to the risk checks' questions (the :class:`RiskContext` they see)."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain.signal import Signal
from orderdesk.domain.values import Exchange, InstrumentKey, Product
from orderdesk.engine.book import OrderBook
from orderdesk.ports.broker import Broker, PlaceOrder
from orderdesk.ports.clock import Clock

MARGIN_PROBE_TAG = "marginprobe"
"""Tag of the hypothetical order whose margin is asked for; nothing is placed under it."""


class DeskRiskContext:
    """Open orders and P&L from the desk's book; prices from ticks or a quote; margins from
    the broker."""

    def __init__(self, book: OrderBook, broker: Broker, clock: Clock) -> None:
        self._book = book
        self._broker = broker
        self._clock = clock

    def open_order_count(self) -> int:
        return len(self._book.open_ids)

    def day_pnl(self) -> Decimal:
        return self._book.positions.total_pnl()

    def net_position(self, instrument: InstrumentKey, product: Product) -> int:
        positions = self._book.positions
        held = positions.held.get(instrument) if product is Product.CNC else None
        return positions.net_quantity(instrument) + (held[0] if held else 0)

    def monotonic(self) -> float:
        return self._clock.monotonic()

    async def last_price(self, instrument: InstrumentKey) -> Decimal | None:
        price = self._book.last_prices.get(instrument)
        if price is not None:
            return price
        try:
            quotes = await self._broker.quotes([instrument])
        except Exception:
            return None  # the checks fail closed on a missing price
        quote = quotes.get(instrument)
        return None if quote is None else quote.last_price

    async def required_margin(self, signal: Signal) -> Decimal:
        margins = await self._broker.order_margins([PlaceOrder(MARGIN_PROBE_TAG, signal)])
        return sum((m.total for m in margins), Decimal(0))

    async def available_funds(self, signal: Signal) -> Decimal:
        report = await self._broker.margins()
        commodity = signal.instrument.exchange is Exchange.MCX
        segment = report.commodity if commodity else report.equity
        return Decimal(0) if segment is None or not segment.enabled else segment.net


__all__ = ["MARGIN_PROBE_TAG", "DeskRiskContext"]
