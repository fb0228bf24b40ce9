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

The broker's own square-off of intraday positions (an order the desk did not place: MARKET,
MIS/CO, placed at or after its segment's square-off time, as :func:`is_square_off` tells from the
order the log recorded) closes what the strategies held, not a position of its own. Each of its
fills closes, at the fill's price, the positions in that instrument and product it reduces (long
ones, under a sale), in the order the strategies came, ``external``'s last; the fill that
completes the order closes every strategy's position there, those on the other side crossed
against the rest at its price, as the broker's one order netted them. What does not balance
(the account held more, or less, than the strategies' orders made: a position from no order on
the desk) is the trade of the square-off's own strategy, ``external``, and shows as its
position; the desk's P&L is still the books' sum and that position's opening, which no book
holds.

Any other order placed outside the desk (on Kite web or the app, by another client: an order
the desk adopted, ``Order.external``) closes by the same rule what it reduces, fill by fill, at
its prices: a sale on Kite web of what a strategy bought closes that strategy's position there,
and its P&L stops moving with the price and counting against the strategy's loss limit, as the
account no longer holds it. It is no square-off: its last fill crosses nothing. What it does
not reduce (it opened a position, or added to one) is ``external``'s.

The other way round, a strategy's order closes what it reduces of ``external``'s position, and
only of ``external``'s (never another strategy's, which is that strategy's own). It is first
the strategy's own trade: it reduces the strategy's own position, as the strategy means it to.
What it opens beyond that (a position, or more of one) closes, fill by fill and at its prices,
``external``'s position on the other side, whose P&L is realised there; only what it opens
beyond ``external``'s position is the strategy's. So a buy of 10 on Kite web that ``alpha``'s
sale of 10 meets leaves both flat, as the account is, and with ``external`` long 10 and
``beta`` long 5, ``alpha``'s sale of 12 closes external's 10 and leaves alpha short 2 beside
beta's long 5, as two strategies' positions on the desk always net at the broker.

The desk's own square-off (``[trading_day] own_square_off_minutes``: MARKET MIS/CO orders it
places some minutes before the broker, under the strategy ``square_off``, as
:func:`is_own_square_off` tells) is credited by the same rule: its fills close the strategies'
positions, and what does not balance is ``square_off``'s.

An intraday line the strategies hold on both sides while the account is flat there (``alpha``
long 40 MIS, ``gamma`` short 40) has no square-off: the broker has nothing to close. Once its
segment's square-off time has passed (given ``now``), the strategies' positions there are
crossed against each other at the price of the line's last fill, the one that left the account
flat, as the broker's netting did; else both stayed open into the evening, each P&L moving
with the price (and counting against its loss limit) while the account held nothing.

The desk's exit of the account's whole position (``exit_position`` naming no strategy, or
the default one: its orders, and their slices, under the strategy ``account_exit``, as
:func:`is_account_exit` tells; any product, at any time of day) is credited by the same rule as
well: its fills close the positions the strategies held in that instrument and product, each its
share, and what does not balance is ``account_exit``'s. An exit naming a strategy is that
strategy's own order, for its own share, and is booked to it like any other. A sliced exit
completes when all its slices have filled (the parent's quantity), not with each slice. For a
CNC line, a strategy's sale out of the day's holdings is stock sold, not a short, and no exit
buys it back: only what a strategy holds beyond it is closed. Orders logged before the name was
the desk's are never read so (no exit was booked to it), so old logs replay to the same books.

A position the broker carries overnight (NRML, MCX, currency) stays its strategies': the day
opens each strategy's book with its share (:class:`~orderdesk.domain.day.StrategyCarry`, in
``DayOpened.strategy_positions``) booked at the previous close, the carried position's
``close_price``, exactly as the desk's book opens with the whole position; so a strategy's day
P&L, and its daily loss limit, count from the close, and the shares' P&L sums to the desk's.
:func:`carried_shares` takes the shares from the closing day's books and what the broker
carried. While the strategies' net quantities in a line add up to the broker's, each keeps its
own (a long and a short netted at the broker both carry). When they do not (a conversion, a
trade outside the desk, a position closed at the broker), no strategy is credited what the
account no longer holds: only strategies on the side the account holds keep a share, each at
most its own quantity, first come (the books' order) until the carried quantity is used up;
what is left over is no strategy's, as a position from no order on the desk is today. A line
the strategies hold on both sides while the account is flat (``alpha`` long 65 NRML, ``beta``
short 65) is carried by no broker line at all: each keeps its share, at the closing day's last
price (``StrategyCarry.close_price``), so that ``alpha``'s sale of its 65 the next morning
closes its long rather than opening a short beside ``beta``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from orderdesk.domain.calendar import TradingCalendar
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.day import INTRADAY, CarriedPosition, Holding, StrategyCarry
from orderdesk.domain.order import Order
from orderdesk.domain.position import Position, PositionBook, PositionKey
from orderdesk.domain.reports import Fill
from orderdesk.domain.signal import (
    ACCOUNT_EXIT_STRATEGY,
    EXTERNAL_STRATEGY,
    SQUARE_OFF_STRATEGY,
)
from orderdesk.domain.values import Exchange, InstrumentKey, OrderType, Product, Side

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
    calendar: TradingCalendar | None = None,
    *,
    strategy: str | None = None,
    carried: Iterable[CarriedPosition] = (),
    shares: Iterable[StrategyCarry] = (),
    conversions: Iterable[tuple[datetime, PositionConversion]] = (),
    now: datetime | None = None,
) -> dict[str, StrategyBook]:
    """Books per strategy from the orders' recorded fills, marked at ``marks``' last prices,
    with CNC sales drawing on the day's opening ``holdings``, the desk's exits of the account's
    whole position closing the strategies' positions, orders placed outside the desk closing
    what they reduce (and the strategies' orders what they reduce of ``external``'s) and,
    given the ``calendar`` (a desk keeping days), the square-offs, the broker's and the desk's
    own, closing their intraday positions.

    Each strategy's book opens with its ``shares`` of the positions the broker ``carried`` into
    the day (``DayOpened.strategy_positions`` and ``positions``), booked at the previous close;
    a share of a line the broker did not carry is ignored. Fills are applied in time order so
    that realised P&L follows the sequence of trades, and the day's ``conversions`` (when the
    broker made each) among them: each moves the strategies' positions in its line between
    products, first come, each what its own position lets convert, and what is left from the
    books still holding that side, as the broker nets them (see :func:`_convert`). Given ``now``
    past the square-off, an intraday line the account is flat in is crossed among the
    strategies holding it (see the module's docstring). With
    ``strategy``, only that strategy's book (if it has orders or a share): built from its orders
    and shares and, where an instrument was squared off, exited for the account, traded outside
    the desk (or carried for ``external``) or converted, every order and share in it, since
    those are shared.
    """
    orders = list(orders)
    shares = tuple(shares)
    squared = [o for o in orders if is_account_exit(o)]
    wholes = _exit_wholes(squared, orders)
    # Only a filled order closes anything: skipping the rest first keeps the day's resting
    # orders cheaper (a book with 5,000 of them: 2.3 -> 1.9 ms).
    traded = [o for o in orders if o.fills]
    if calendar is not None:
        squared += [o for o in traded if is_own_square_off(o) or is_square_off(o, calendar)]
    crossing = {o.order_id for o in squared}
    squared += [o for o in traded if o.external and o.order_id not in crossing]
    shared = _squared_lines(squared)
    # A strategy's order closes external's position, carried ones too: shared as well.
    shared |= {share.key for share in shares if share.strategy == EXTERNAL_STRATEGY}
    converting = sorted(conversions, key=lambda item: item[0])
    # A conversion is shared as a square-off is: one strategy's book needs every order in it.
    shared |= {(c.instrument, p) for _, c in converting for p in (c.old_product, c.new_product)}
    # A line past its square-off may be crossed among the strategies: shared as well.
    past: set[PositionKey] = set()
    if calendar is not None and now is not None:
        past = _past_square_off(traded, calendar, now)
    shared |= past
    if strategy is not None:
        orders = _sharing(strategy, orders, shared)
    closing = {o.order_id for o in squared}
    held = {holding.instrument: holding for holding in holdings if holding.total}
    books: dict[str, StrategyBook] = {}
    lines = {(p.instrument, p.product): p for p in carried if p.quantity}
    for share in shares:
        line = lines.get(share.key)
        if (line is None and not share.offsetting) or not share.quantity:
            continue
        if strategy is not None and share.strategy != strategy and share.key not in shared:
            continue
        book = books.get(share.strategy)
        if book is None:
            book = books[share.strategy] = StrategyBook(share.strategy)
        book.positions.positions[share.key] = share.position(line)
    fills: list[tuple[datetime | None, str, Order, Fill]] = []
    for order in orders:
        name = order.signal.strategy
        book = books.get(name)
        if book is None:
            book = books[name] = StrategyBook(name)
        book.orders += 1
        if order.is_open:
            book.open_orders += 1
        if order.fills:  # skipping unfilled orders: 1.55 -> 0.60 ms for 5,000 resting ones
            # A square-off's fill without a time closes what was held when it was placed.
            at = order.created_at if order.order_id in closing else None
            fills += [(f.filled_at or at, f.trade_id, order, f) for f in order.fills.values()]
    fills.sort(key=lambda item: (item[0] or UNDATED, item[1]))
    filled: dict[str, int] = {}
    last_fills: dict[PositionKey, Fill] = {}
    for at, _, order, fill in fills:
        last_fills[(fill.instrument, fill.product)] = fill
        while converting and at is not None and converting[0][0] <= at:
            _convert(converting.pop(0)[1], books)
        name = order.signal.strategy
        if order.order_id in closing:
            whole, quantity = wholes.get(order.order_id, (order.order_id, order.quantity))
            filled[whole] = done = filled.get(whole, 0) + fill.quantity
            complete = done >= quantity and order.order_id in crossing
            _close(fill, books, name, complete=complete)
            if fill.product is Product.CNC and (holding := held.get(fill.instrument)) is not None:
                _share(holding, books.values())
            continue
        _trade(fill, books, name)
        if fill.product is Product.CNC and (holding := held.get(fill.instrument)) is not None:
            _share(holding, books.values())
    for _, conversion in converting:  # after the day's last fill
        _convert(conversion, books)
    _cross_flat_lines(books, {key: last_fills[key] for key in past if key in last_fills})
    for book in books.values():
        for instrument, price in marks.items():
            book.positions.mark(instrument, price)
    if strategy is not None:
        return {strategy: books[strategy]} if strategy in books else {}
    return books


def is_square_off(order: Order, calendar: TradingCalendar) -> bool:
    """Whether ``order`` is the broker's own square-off, by what the log recorded of it: an
    order the desk adopted (it did not place it), MARKET, in an intraday product, placed (the
    broker's time of its row, see ``adoption.adopted_at``) at or after its segment's square-off
    time. The same rule as ``day.is_broker_square_off`` applies to the broker's row."""
    signal = order.signal
    return (
        order.external
        and signal.product in INTRADAY
        and signal.order_type is OrderType.MARKET
        and calendar.square_off_passed(signal.instrument.exchange, order.created_at) is not None
    )


def is_own_square_off(order: Order) -> bool:
    """Whether ``order`` is one the desk placed to square off its own intraday positions ahead
    of the broker, by what the log recorded of it: the desk's order (not adopted), MARKET, in an
    intraday product, under :data:`~orderdesk.domain.signal.SQUARE_OFF_STRATEGY`."""
    signal = order.signal
    return (
        not order.external
        and signal.strategy == SQUARE_OFF_STRATEGY
        and signal.product in INTRADAY
        and signal.order_type is OrderType.MARKET
    )


def is_account_exit(order: Order) -> bool:
    """Whether ``order`` is (a slice of) the desk's exit of the account's whole position, by
    what the log recorded of it: the desk's order (not adopted) under
    :data:`~orderdesk.domain.signal.ACCOUNT_EXIT_STRATEGY`, in any product."""
    return not order.external and order.signal.strategy == ACCOUNT_EXIT_STRATEGY


def _exit_wholes(exits: Iterable[Order], orders: Iterable[Order]) -> dict[str, tuple[str, int]]:
    """For each slice of an account exit: the exit it is a slice of and that exit's quantity,
    so that the exit completes (and closes every strategy's position) with its last slice, not
    its first. A slice whose parent is not among ``orders`` stands for itself."""
    exits = [o for o in exits if o.parent_id is not None]
    if not exits:
        return {}
    quantities = {o.order_id: o.quantity for o in orders}
    return {
        o.order_id: (o.parent_id, quantities[o.parent_id])
        for o in exits
        if o.parent_id is not None and o.parent_id in quantities
    }


def _convert(conversion: PositionConversion, books: Mapping[str, StrategyBook]) -> None:
    """Move a conversion the broker made among the strategies holding its line: first come,
    each what its own position lets convert (the rule the desk's own book keeps). A partial
    MIS to CNC left the converted shares in MIS, where the square-off then closed them and
    credited the difference to no strategy's position that existed.

    The broker nets a line's carried and today's quantity, so what is left moves as the other
    kind, from the books still holding that side: one strategy's today's quantity stands in for
    another's carried quantity, sold today. Converting only each book's own kind left a carried
    conversion in the books' old product, where the square-off then made it ``external``'s short.
    What no book holds on that side stays no strategy's, as a carried remainder does."""
    left = _convert_own(conversion, conversion.quantity, books)
    if left:
        _convert_own(replace(conversion, overnight=not conversion.overnight), left, books)


def _convert_own(
    conversion: PositionConversion, left: int, books: Mapping[str, StrategyBook]
) -> int:
    """Move up to ``left`` of ``conversion`` out of the ``books``, first come, each what its own
    position lets convert of the kind the conversion names (today's or carried); returns what
    none of them could give."""
    key = (conversion.instrument, conversion.old_product)
    for book in books.values():
        position = book.positions.positions.get(key)
        if not left:
            break
        if position is None:
            continue
        room = position.convertible(side=conversion.side, overnight=conversion.overnight)
        if take := min(left, room):
            book.positions.convert(replace(conversion, quantity=take))
            left -= take
    return left


def _past_square_off(
    orders: Iterable[Order], calendar: TradingCalendar, now: datetime
) -> set[PositionKey]:
    """The intraday lines ``orders`` traded in whose segment's square-off time has passed by
    ``now`` (in the trading day ``now`` is in: the book's)."""
    passed: dict[Exchange, bool] = {}
    lines: set[PositionKey] = set()
    for order in orders:
        instrument, product = order.signal.instrument, order.signal.product
        if product not in INTRADAY:
            continue
        exchange = instrument.exchange
        if exchange not in passed:
            passed[exchange] = calendar.square_off_passed(exchange, now) is not None
        if passed[exchange]:
            lines.add((instrument, product))
    return lines


def _cross_flat_lines(
    books: Mapping[str, StrategyBook], last_fills: Mapping[PositionKey, Fill]
) -> None:
    """Cross the strategies' positions in each of the lines past their square-off that the
    account is flat in, at the price of the line's last fill, ``last_fills`` (see the module's
    docstring). A line whose positions do not sum to nothing is left: the broker's square-off
    closes those, or the account holds what no order on the desk made."""
    for key, fill in last_fills.items():
        instrument, product = key
        held = {name: quantity for name, book in books.items() if (quantity := _held(book, key))}
        if not held or sum(held.values()) != 0:
            continue
        for name, quantity in held.items():
            side = Side.SELL if quantity > 0 else Side.BUY
            books[name].positions.apply_fill(instrument, product, side, abs(quantity), fill.price)


def _squared_lines(squared: Iterable[Order]) -> set[PositionKey]:
    """The instruments and products a square-off filled in."""
    return {(o.signal.instrument, o.signal.product) for o in squared if o.fills}


def _sharing(strategy: str, orders: Iterable[Order], shared: set[PositionKey]) -> list[Order]:
    """The orders ``strategy``'s book is built from: its own, and every order in an instrument
    and product squared off (``shared``: what each strategy is credited depends on them all)."""
    if not shared:
        return [o for o in orders if o.signal.strategy == strategy]
    return [
        o
        for o in orders
        if o.signal.strategy == strategy
        or (o.fills and (o.signal.instrument, o.signal.product) in shared)
    ]


def _close(fill: Fill, books: Mapping[str, StrategyBook], own: str, *, complete: bool) -> None:
    """Credit one fill of a square-off (or of an account exit) to the strategies holding its
    instrument and product, at its price: the positions it reduces, in the order the strategies
    came, or every position there when the fill is the one that completes the order (see the
    module's docstring). A CNC sale out of the day's holdings is no short to close. What does
    not balance is ``own``'s trade."""
    key = (fill.instrument, fill.product)
    signed = fill.side.sign * fill.quantity
    trades: dict[str, int] = {}
    for name, book in books.items():
        # ``from_holdings`` is only ever a CNC position's: 0 for every intraday square-off.
        held = _held(book, key)
        if name == own or not held:
            continue
        if complete:
            trades[name] = -held
        elif held * signed < 0:  # reduced by the fill, as far as the fill goes
            reduced = min(abs(held), abs(signed) - sum(abs(t) for t in trades.values()))
            if reduced:
                trades[name] = -reduced if held > 0 else reduced
    trades[own] = signed - sum(trades.values())
    for name, quantity in trades.items():
        if quantity:
            side = Side.BUY if quantity > 0 else Side.SELL
            books[name].positions.apply_fill(
                fill.instrument, fill.product, side, abs(quantity), fill.price, fill.trade_id
            )


def _trade(fill: Fill, books: Mapping[str, StrategyBook], own: str) -> None:
    """Book one fill of ``own``'s order (no square-off nor exit of the account): what it opens
    beyond ``own``'s position first closes ``external``'s on the other side, at its price (see
    the module's docstring); the rest is ``own``'s trade."""
    taken = _externals_part(fill, books, own)
    for name, quantity in ((EXTERNAL_STRATEGY, taken), (own, fill.quantity - taken)):
        if quantity:
            books[name].positions.apply_fill(
                fill.instrument, fill.product, fill.side, quantity, fill.price, fill.trade_id
            )


def _externals_part(fill: Fill, books: Mapping[str, StrategyBook], own: str) -> int:
    """How much of ``own``'s fill closes ``external``'s position: what is left of it once
    ``own``'s position on the other side is reduced, as far as ``external``'s there goes. A CNC
    sale out of the day's holdings is no short to close, as in :func:`_close`."""
    theirs = books.get(EXTERNAL_STRATEGY)
    if own == EXTERNAL_STRATEGY or theirs is None:
        return 0
    key = (fill.instrument, fill.product)
    against = -fill.side.sign  # the sign of a position the fill reduces
    closable = against * _held(theirs, key)
    if closable <= 0:
        return 0
    opened = fill.quantity - max(against * _held(books[own], key), 0)
    return max(min(opened, closable), 0)


def _held(book: StrategyBook, key: PositionKey) -> int:
    """``book``'s signed position in ``key`` beyond what it sold out of the day's holdings."""
    position = book.positions.positions.get(key)
    return position.quantity + position.from_holdings if position is not None else 0


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


def carried_shares(
    books: Iterable[StrategyBook], carried: Iterable[CarriedPosition]
) -> tuple[StrategyCarry, ...]:
    """Each strategy's share of the positions the broker ``carried`` into the next day, from
    the closing day's ``books`` (their net quantity in each carried line, with its average
    price), by the module docstring's rule: kept whole while the strategies' quantities add
    up to the broker's, else only on the account's side, first come, up to what it carries.
    Lines the broker did not carry (squared off, delivered into holdings, expired) have none,
    but for an NRML line the strategies' shares net to nothing in (:func:`_offsetting_shares`).
    """
    books, carried = list(books), tuple(carried)
    out: list[StrategyCarry] = []
    for line in carried:
        key = (line.instrument, line.product)
        whole = line.quantity
        held = [
            (book.strategy, position)
            for book in books
            if (position := book.positions.positions.get(key)) is not None and position.quantity
        ]
        if not whole or not held:
            continue
        if sum(position.quantity for _, position in held) == whole:
            kept = [(name, position, position.quantity) for name, position in held]
        else:
            kept, left = [], abs(whole)
            for name, position in held:
                if position.quantity * whole > 0 and left:
                    quantity = min(abs(position.quantity), left)
                    left -= quantity
                    kept.append((name, position, quantity if whole > 0 else -quantity))
        out += [
            StrategyCarry(
                strategy=name,
                instrument=line.instrument,
                product=line.product,
                quantity=quantity,
                average_price=position.average_price,
            )
            for name, position, quantity in kept
        ]
    return tuple(out) + _offsetting_shares(books, {(c.instrument, c.product) for c in carried})


def _offsetting_shares(
    books: Iterable[StrategyBook], carried: set[PositionKey]
) -> tuple[StrategyCarry, ...]:
    """The shares of NRML lines the broker carries nothing of because the strategies' own
    positions there net to nothing, each at the line's last price (the close's)."""
    lines: dict[PositionKey, list[tuple[str, Position]]] = {}
    for book in books:
        for key, position in book.positions.positions.items():
            if key[1] is Product.NRML and key not in carried and position.quantity:
                lines.setdefault(key, []).append((book.strategy, position))
    out: list[StrategyCarry] = []
    for (instrument, product), held in lines.items():
        closes = {position.last_price for _, position in held}
        if sum(position.quantity for _, position in held) or len(closes) != 1 or None in closes:
            continue
        out += [
            StrategyCarry(
                strategy=name,
                instrument=instrument,
                product=product,
                quantity=position.quantity,
                average_price=position.average_price,
                close_price=position.last_price,
                multiplier=position.multiplier,
            )
            for name, position in held
        ]
    return tuple(out)


__all__ = [
    "StrategyBook",
    "attribute",
    "carried_shares",
    "is_account_exit",
    "is_own_square_off",
    "is_square_off",
]
