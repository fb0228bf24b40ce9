"""What a trading day opens with and closes on: carried positions, holdings, a day's book.

A day opens with what the broker carried in from the day before (:class:`CarriedPosition`,
:class:`Holding`), and each strategy's share of those positions (:class:`StrategyCarry`), and
closes with a picture of every position (:class:`PositionSnapshot`).
These travel in the day's checkpoint events (:class:`~orderdesk.domain.events.DayOpened`,
:class:`~orderdesk.domain.events.DayClosed`), so a past day reads back from two rows.

:func:`expected_opening` says what the next morning should look like from the way a day
closed, by the rules of the Indian market: MIS and CO positions are squared off the same day,
a CNC buy is delivered into holdings (first as ``t1_quantity``), a derivative carries until its
expiry. The desk compares that with what the broker shows at the next open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from orderdesk.domain.calendar import SEGMENT_OF, TradingCalendar, as_ist
from orderdesk.domain.position import Position
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.values import InstrumentKey, OrderType, Product

ONE = Decimal(1)
INTRADAY = frozenset({Product.MIS, Product.CO, Product.BO})
"""Products the broker squares off the same day."""
DELIVERY = frozenset({Product.CNC, Product.MTF})
"""Products whose net buys and sells settle into holdings."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CarriedPosition:
    """A position the broker carried into the day (``overnight_quantity`` on Kite)."""

    instrument: InstrumentKey
    product: Product
    quantity: int
    close_price: Decimal
    """The previous close: the day's P&L of a carried position starts from it (Kite's m2m)."""
    average_price: Decimal
    """What the position cost when it was opened, for display."""
    multiplier: Decimal = ONE
    missed: tuple[date, ...] = ()
    """The trading days before this one that the desk never opened (it was stopped through
    them) while the broker carried this line: what it made over them is in no day's P&L.
    Empty: the day before was the desk's, and in days opened before missed days were said."""
    kept_close: Decimal | None = None
    """With ``missed``: the price the last day the desk kept closed this line at, when that
    close held the same quantity at a price; the line made :attr:`missed_pnl` over the missed
    days, from there to ``close_price``. None: not known."""

    @property
    def missed_pnl(self) -> Decimal | None:
        """What the line made over the ``missed`` days, from the desk's last close of it to
        the broker's close before this opening (None: no day was missed, or it is unknown)."""
        if not self.missed or self.kept_close is None:
            return None
        return (self.close_price - self.kept_close) * self.quantity * self.multiplier

    def position(self) -> Position:
        """The day's opening position: the carried quantity as if bought at the close."""
        return Position.carried(
            self.instrument,
            self.product,
            self.quantity,
            self.close_price,
            self.multiplier,
            carry_price=self.average_price,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyCarry:
    """A strategy's share of a position the broker carried into the day: what its own orders
    left it holding when the day before closed, as far as the account still holds it
    (``attribution.carried_shares`` says how a difference is settled). Its day's P&L counts
    from the previous close, the carried position's ``close_price``, as the desk's does."""

    strategy: str
    instrument: InstrumentKey
    product: Product
    quantity: int
    """Signed, as a position's: negative of a short."""
    average_price: Decimal = Decimal(0)
    """What the strategy's share cost when it was opened, for display (0: unknown, and the
    previous close is shown, as for a position carried from before shares were recorded)."""
    close_price: Decimal | None = None
    """The previous close of a share in a line the broker carried nothing of, the strategies'
    shares there netting to nothing (``alpha`` long 65 NRML, ``beta`` short 65); None when the
    carried line gives it (:meth:`position`)."""
    multiplier: Decimal | None = None
    """That line's contract multiplier, with ``close_price``."""

    @property
    def key(self) -> tuple[InstrumentKey, Product]:
        return (self.instrument, self.product)

    @property
    def offsetting(self) -> bool:
        """Whether this is a share of a line the broker carried nothing of (see
        ``close_price``)."""
        return self.close_price is not None

    def position(self, carried: CarriedPosition | None) -> Position:
        """The strategy's opening position in ``carried``'s line (None: the line the broker
        carried nothing of, at the share's own close): its quantity booked at the previous
        close, at the line's multiplier."""
        close = carried.close_price if carried is not None else self.close_price
        multiplier = carried.multiplier if carried is not None else self.multiplier
        assert close is not None, "a share of no carried line has its own close"
        return Position.carried(
            self.instrument,
            self.product,
            self.quantity,
            close,
            multiplier or ONE,
            carry_price=self.average_price or None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Holding:
    """Delivered stock: settled ``quantity`` and ``t1_quantity`` still settling."""

    instrument: InstrumentKey
    quantity: int
    t1_quantity: int
    average_price: Decimal
    close_price: Decimal = Decimal(0)

    @property
    def total(self) -> int:
        return self.quantity + self.t1_quantity

    @property
    def day_price(self) -> Decimal:
        """What the day's P&L values this stock from: the previous close (its cost when the
        broker gives no close)."""
        return self.close_price or self.average_price


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionSnapshot:
    """One position as it stood at a moment, with its P&L at the last price seen."""

    instrument: InstrumentKey
    product: Product
    quantity: int
    overnight_quantity: int
    average_price: Decimal
    last_price: Decimal | None
    realised: Decimal
    unrealised: Decimal
    pnl: Decimal
    buy_quantity: int
    sell_quantity: int
    from_holdings: int = 0
    """Of a short CNC quantity, the stock sold out of holdings (0 in closes logged before the
    desk told them apart)."""
    squared_off: int = 0
    """The signed quantity the broker squared off that no trade of the desk's shows: inferred
    at a close made after the broker's books of the day were gone (the position was no longer
    carried), priced at ``last_price``, the day's close, as an estimate."""
    estimated: bool = False
    """Its P&L rests on an estimate: a square-off inferred at the day's close, an open
    quantity no price of its day could be had for (``last_price`` is then None), or trades
    the desk never saw (``why_estimated`` says so)."""
    why_estimated: str = ""
    """Why, in words, when the line's own figures do not show it: a late close found the
    broker carrying another quantity out of the day than the close has (trades made while the
    desk was away, unknowable by then, are not in it). Empty in closes logged before."""
    settled: bool = False
    """Its contract expired with the day: its open quantity was settled at ``last_price``, the
    final settlement price (an option held in the money was exercised or assigned, and pays
    for it: :mod:`orderdesk.domain.charges`). False in closes logged before."""

    @classmethod
    def of(cls, position: Position, *, settled: bool = False) -> PositionSnapshot:
        """``position`` now, at its last mark; ``settled``: its contract expired with the day,
        so its whole P&L is realised (at the last price seen, where the exchange settles it)."""
        return cls.marked(position, position.last_price, settled=settled)

    @classmethod
    def marked(
        cls,
        position: Position,
        last: Decimal | None,
        *,
        settled: bool = False,
        estimated: bool = False,
    ) -> PositionSnapshot:
        """``position`` marked at ``last`` (None: at no price, its open quantity unvalued)."""
        # Position.pnl(None) would fall back to the position's own mark: None here is no price.
        unrealised = position.unrealised(last) if last is not None else Decimal(0)
        pnl = position.realised + unrealised
        return cls(
            instrument=position.instrument,
            product=position.product,
            quantity=position.quantity,
            overnight_quantity=position.overnight_quantity,
            average_price=position.average_price,
            last_price=last,
            realised=pnl if settled else position.realised,
            unrealised=Decimal(0) if settled else unrealised,
            pnl=pnl,
            buy_quantity=position.day_buy_quantity,
            sell_quantity=position.day_sell_quantity,
            from_holdings=position.from_holdings,
            estimated=estimated,
            settled=settled,
        )

    @classmethod
    def squared_off_at(cls, position: Position, close: Decimal | None) -> PositionSnapshot:
        """An intraday ``position`` the broker squared off after the desk stopped, learned the
        next day, when its trade is no longer in the broker's books: flat, closed at ``close``
        (the day's closing price: the square-off's own price is unknowable by then), estimated.
        Without a close, only the P&L of the desk's own trades is known (realised)."""
        quantity = position.quantity
        pnl = position.pnl(close) if close is not None else position.realised
        return cls(
            instrument=position.instrument,
            product=position.product,
            quantity=0,
            overnight_quantity=position.overnight_quantity,
            average_price=Decimal(0),
            last_price=close,
            realised=pnl,
            unrealised=Decimal(0),
            pnl=pnl,
            buy_quantity=position.day_buy_quantity + max(-quantity, 0),
            sell_quantity=position.day_sell_quantity + max(quantity, 0),
            squared_off=quantity,
            estimated=True,
        )


PositionKey = tuple[InstrumentKey, Product]


@dataclass(frozen=True, slots=True)
class MissedDays:
    """The trading days a day opened after that the desk never opened, as its carried
    positions tell them (:attr:`CarriedPosition.missed`): the stretch between the last day
    the desk kept and this one, and what the lines carried through it made over it."""

    days: tuple[date, ...]
    pnl: Decimal | None
    """The carried lines' move over the stretch, from the desk's last close to the broker's
    close before the opening; None when any line's is unknown."""

    @classmethod
    def of(cls, positions: Iterable[CarriedPosition]) -> MissedDays | None:
        """The missed days ``positions`` (a day's opening) were carried through, None: none."""
        lines = [p for p in positions if p.missed]
        if not lines:
            return None
        days = tuple(sorted({d for p in lines for d in p.missed}))
        moves = [p.missed_pnl for p in lines]
        known = [m for m in moves if m is not None]
        pnl = sum(known, Decimal(0)) if len(known) == len(moves) else None
        return cls(days, pnl)


@dataclass(frozen=True, slots=True)
class ExpectedOpening:
    """What the broker should show at the next open, per position line and per holding."""

    positions: dict[PositionKey, int]
    holdings: dict[InstrumentKey, int]
    """``quantity + t1_quantity`` per instrument."""


def expected_opening(
    positions: Iterable[Position],
    holdings: Iterable[Holding],
    *,
    listed: Callable[[InstrumentKey], bool],
    keeps_holdings: bool = True,
) -> ExpectedOpening:
    """The next morning's positions and holdings as the day's close implies them.

    ``listed`` says whether an instrument still trades the next day (an expired derivative is
    settled and gone from positions). At a broker that keeps no holdings (the paper broker)
    delivery positions are carried as positions.
    """
    carried: dict[PositionKey, int] = {}
    held = {h.instrument: h.total for h in holdings}
    for position in positions:
        quantity = position.quantity
        if not quantity or position.product in INTRADAY:
            continue
        if position.product in DELIVERY and keeps_holdings:
            held[position.instrument] = held.get(position.instrument, 0) + quantity
        elif listed(position.instrument):
            carried[(position.instrument, position.product)] = quantity
    return ExpectedOpening(carried, {key: qty for key, qty in held.items() if qty})


def is_broker_square_off(report: OrderStatusReport, calendar: TradingCalendar) -> bool:
    """Whether an order the desk did not place is the broker's own square-off: a MARKET order
    in an intraday product, placed at or after its segment's square-off time."""
    if report.order_timestamp is None or report.product not in INTRADAY:
        return False
    if report.order_type is not OrderType.MARKET:
        return False
    placed = as_ist(report.order_timestamp)
    segment = SEGMENT_OF[report.instrument.exchange]
    return placed >= calendar.square_off_at(calendar.trading_day_of(placed), segment)


__all__ = [
    "DELIVERY",
    "INTRADAY",
    "CarriedPosition",
    "ExpectedOpening",
    "Holding",
    "MissedDays",
    "PositionSnapshot",
    "StrategyCarry",
    "expected_opening",
    "is_broker_square_off",
]
