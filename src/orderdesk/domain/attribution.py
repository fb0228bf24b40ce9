"""Per-strategy attribution: which strategy's orders made which positions and P&L.

Positions at the broker are per instrument and product; several strategies trading the same
instrument share them. Each order carries its strategy (from its signal), and each recorded fill
belongs to one order, so replaying fills per strategy gives every strategy its own exact books.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from orderdesk.domain.order import Order
from orderdesk.domain.position import PositionBook
from orderdesk.domain.status import TERMINAL
from orderdesk.domain.values import InstrumentKey

UNDATED = datetime.min.replace(tzinfo=UTC)
"""Fills without a timestamp sort first (they can only be older than dated ones)."""


@dataclass(slots=True)
class StrategyBook:
    """One strategy's orders and the positions its fills built."""

    strategy: str
    orders: int = 0
    open_orders: int = 0
    positions: PositionBook = field(default_factory=PositionBook)

    @property
    def realised(self) -> Decimal:
        return self.positions.realised()

    @property
    def pnl(self) -> Decimal:
        return self.positions.total_pnl()

    @property
    def unrealised(self) -> Decimal:
        return self.pnl - self.realised


def attribute(
    orders: Iterable[Order], marks: Mapping[InstrumentKey, Decimal]
) -> dict[str, StrategyBook]:
    """Books per strategy from the orders' recorded fills, marked at ``marks``' last prices.

    Fills are applied in time order so that realised P&L follows the sequence of trades.
    """
    books: dict[str, StrategyBook] = {}
    fills = []
    for order in orders:
        strategy = order.signal.strategy
        book = books.get(strategy)
        if book is None:
            book = books[strategy] = StrategyBook(strategy)
        book.orders += 1
        if order.status not in TERMINAL:
            book.open_orders += 1
        if order.fills:  # skipping unfilled orders: 1.55 -> 0.60 ms for 5,000 resting ones
            fills += [(f.filled_at, f.trade_id, strategy, f) for f in order.fills.values()]
    fills.sort(key=lambda item: (item[0] or UNDATED, item[1]))
    for _, _, strategy, fill in fills:
        books[strategy].positions.apply_fill(
            fill.instrument, fill.product, fill.side, fill.quantity, fill.price, fill.trade_id
        )
    for book in books.values():
        for instrument, price in marks.items():
            book.positions.mark(instrument, price)
    return books


__all__ = ["StrategyBook", "attribute"]
