"""Per-strategy attribution: which strategy's orders made which positions and P&L.

Positions at the broker are per instrument and product; several strategies trading the same
instrument share them. Each order carries its strategy (from its signal), and each recorded fill
belongs to one order, so replaying fills per strategy gives every strategy its own exact books.

The day's delivered stock is shared the same way. A strategy's CNC sale draws on the opening
holdings of its instrument (valued from the previous close, as the desk's own positions do) in
the order the sales come: a strategy keeps what it drew while it stays short that much, and what
it gives back by buying goes to the next strategy short in that stock. While every strategy
trading a held stock sells it, their P&L sums to the desk's; one buying while another sells
nets out at the desk, not between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from orderdesk.domain.day import Holding
from orderdesk.domain.order import Order
from orderdesk.domain.position import Position, PositionBook
from orderdesk.domain.status import TERMINAL
from orderdesk.domain.values import InstrumentKey, Product

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
    orders: Iterable[Order],
    marks: Mapping[InstrumentKey, Decimal],
    holdings: Iterable[Holding] = (),
) -> dict[str, StrategyBook]:
    """Books per strategy from the orders' recorded fills, marked at ``marks``' last prices,
    with CNC sales drawing on the day's opening ``holdings``.

    Fills are applied in time order so that realised P&L follows the sequence of trades.
    """
    held = {holding.instrument: holding for holding in holdings if holding.total}
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
        if fill.product is Product.CNC and (holding := held.get(fill.instrument)) is not None:
            _share(holding, books.values())
    for book in books.values():
        for instrument, price in marks.items():
            book.positions.mark(instrument, price)
    return books


def _share(holding: Holding, books: Iterable[StrategyBook]) -> None:
    """Share one stock's opening holdings among the strategies short in it (CNC): each keeps
    what it drew up to its short quantity; what is free goes to those still wanting, in the
    order the strategies came."""
    key = (holding.instrument, Product.CNC)
    positions: list[Position] = [
        position for book in books if (position := book.positions.positions.get(key)) is not None
    ]
    for position in positions:
        position.hold(min(position.held, max(-position.quantity, 0)), holding.day_price)
    free = holding.total - sum(position.held for position in positions)
    for position in positions:
        wanted = max(-position.quantity, 0) - position.held
        if free and wanted > 0:
            drawn = min(wanted, free)
            position.hold(position.held + drawn, holding.day_price)
            free -= drawn


__all__ = ["StrategyBook", "attribute"]
