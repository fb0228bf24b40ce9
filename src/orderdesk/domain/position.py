"""Positions and P&L per instrument and product, exact to the paisa.

The position keeps two running sums, both exact Decimals:

- ``cash``: sell value minus buy value (times the contract multiplier), what the fills moved;
- ``open_cost``: the signed cost basis of the quantity still open.

Then ``realised = cash + open_cost`` and ``unrealised = quantity × last × multiplier −
open_cost``, so ``realised + unrealised`` is the cash-flow mark-to-market by construction, with
no drift however many fills arrive. Reducing a position removes cost at the average price; that
one division is rounded to :data:`COST_PLACES`, and the identity above absorbs the rounding.

Selling delivered stock is not a short. Kite's positions show a CNC sale out of holdings as a
short day position (``quantity < 0``), and the desk keeps that quantity so that it reconciles
with them; but the part of it the day's opening holdings cover (:attr:`Position.from_holdings`)
is valued as stock sold against the previous close: realised at ``sale price − close``, with
nothing left to mark. So the day's P&L is the account's change since the close less the day's
move of the delivered stock still held, and a swing trader selling into a rising market sees a
gain, not a short's loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from orderdesk.domain.contracts import multiplier_of
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.values import InstrumentKey, Product, Side

COST_PLACES = Decimal("0.0001")
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(slots=True)
class Position:
    """Net position in one instrument and product (``multiplier`` scales every value)."""

    instrument: InstrumentKey
    product: Product
    multiplier: Decimal = ONE
    quantity: int = 0
    open_cost: Decimal = ZERO
    cash: Decimal = ZERO
    buy_quantity: int = 0
    buy_value: Decimal = ZERO
    sell_quantity: int = 0
    sell_value: Decimal = ZERO
    overnight_quantity: int = 0
    overnight_cost: Decimal = ZERO
    """What the carried quantity is booked at (its close × quantity × multiplier, signed as
    it), kept apart from the day's trades as Kite keeps it: an overnight conversion moves the
    carried quantity at this cost, not at the line's average (:meth:`move_out`)."""
    day_buy_quantity: int = 0
    day_sell_quantity: int = 0
    last_price: Decimal | None = None
    carry_premium: Decimal = ZERO
    """What the open quantity's carried part cost beyond the previous close it is booked at:
    (carry price − close) × quantity × multiplier, signed as the quantity, shrinking with it.
    Only the average price shown uses it, which is Kite's (the cost since the position was
    opened); every P&L here counts the carried quantity from the close, as Kite's m2m does."""
    held: int = 0
    """Delivered stock a short CNC quantity draws on first (the day's opening holdings)."""
    held_price: Decimal = ZERO
    """What that stock is valued at: the previous close."""
    trade_ids: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def carried(
        cls,
        instrument: InstrumentKey,
        product: Product,
        quantity: int,
        price: Decimal,
        multiplier: Decimal = ONE,
        *,
        carry_price: Decimal | None = None,
    ) -> Position:
        """A position brought from the previous day, booked at ``price``: the previous close
        for the day's P&L (Kite's m2m), or the carry price for the P&L since it was opened.
        ``carry_price``, what it cost when opened, is the average price shown (as Kite's)."""
        position = cls(instrument, product, multiplier)
        if quantity:
            position._trade(Side.BUY if quantity > 0 else Side.SELL, abs(quantity), price)
            if carry_price is not None:
                position.carry_premium = quantity * (carry_price - price) * multiplier
        position.overnight_quantity = quantity
        position.overnight_cost = position.open_cost
        return position

    def apply_fill(
        self, side: Side, quantity: int, price: Decimal, trade_id: str | None = None
    ) -> bool:
        """Book one execution; a ``trade_id`` already booked is ignored (returns False)."""
        if quantity <= 0:
            raise ValueError("a fill's quantity is positive")
        if trade_id is not None:
            if trade_id in self.trade_ids:
                return False
            self.trade_ids.add(trade_id)
        self._trade(side, quantity, price)
        if side is Side.BUY:
            self.day_buy_quantity += quantity
        else:
            self.day_sell_quantity += quantity
        return True

    def _trade(self, side: Side, quantity: int, price: Decimal) -> None:
        value = price * quantity * self.multiplier
        if side is Side.BUY:
            self.buy_quantity += quantity
            self.buy_value += value
            self.cash -= value
        else:
            self.sell_quantity += quantity
            self.sell_value += value
            self.cash += value
        signed = side.sign * quantity
        net = self.quantity
        if net == 0 or (net > 0) == (signed > 0):
            self.open_cost += signed * price * self.multiplier
        else:
            closing = min(abs(signed), abs(net))
            if closing == abs(net):
                self.open_cost = self.carry_premium = ZERO
            else:
                self.open_cost -= _share(self.open_cost, closing, abs(net))
                self.carry_premium -= _share(self.carry_premium, closing, abs(net))
            opening = abs(signed) - closing
            if opening:
                self.open_cost = side.sign * opening * price * self.multiplier
        self.quantity = net + signed

    def mark(self, last_price: Decimal) -> None:
        self.last_price = last_price

    def convertible(self, *, side: Side, overnight: bool) -> int:
        """How much of this position a conversion on ``side`` may move: of today's quantity,
        or (``overnight``) of the carried one; never stock sold out of holdings."""
        if overnight:
            held = self.overnight_quantity * side.sign
            net = self.quantity * side.sign
            return max(0, min(held, net))
        day = self.day_buy_quantity - self.day_sell_quantity
        net = self.quantity * side.sign - self.from_holdings
        return max(0, min(day * side.sign, net))

    def overnight_hint(self, side: Side, overnight: bool) -> str:
        """What a refused day's conversion adds when the quantity it wanted came in overnight:
        ``--overnight`` converts that ("" otherwise)."""
        carried = 0 if overnight else self.convertible(side=side, overnight=True)
        return (
            f"; its {carried} carried from an earlier day convert with --overnight"
            if carried
            else ""
        )

    def move_out(self, quantity: int, *, overnight: bool) -> tuple[Decimal, Decimal]:
        """Give ``quantity`` (signed as the position: negative of a short) to another product
        at its cost, as if that part had never been traded here; returns the cost and the carry
        premium moved. The cost is Kite's (:meth:`_moving_cost`): a carried quantity's at the
        close it is booked at, today's at what today's part cost, never the two blended.
        Realised P&L stays, and ``cash + quantity × last`` moves with the cost, so the two
        positions' P&L sums to what this one's was."""
        if not quantity or quantity * self.quantity < 0 or abs(quantity) > abs(self.quantity):
            raise ValueError(f"cannot move {quantity} out of a position of {self.quantity}")
        cost, premium = self._moving_cost(quantity, overnight=overnight)
        if overnight and self.overnight_quantity:
            self.overnight_cost -= _part(self.overnight_cost, quantity, self.overnight_quantity)
        self.open_cost -= cost
        self.carry_premium -= premium
        self.cash += cost
        self.quantity -= quantity
        if not self.quantity:
            # Today's sales were booked against the blended average: what that left here is
            # realised, and a flat line holds no cost (``cash`` is its P&L).
            self.open_cost = self.carry_premium = ZERO
        if quantity > 0:
            self.buy_quantity -= quantity
            self.buy_value -= cost
        else:
            self.sell_quantity += quantity
            self.sell_value += cost
        if overnight:
            self.overnight_quantity -= quantity
        elif quantity > 0:
            self.day_buy_quantity -= quantity
        else:
            self.day_sell_quantity += quantity
        return cost, premium

    def _moving_cost(self, quantity: int, *, overnight: bool) -> tuple[Decimal, Decimal]:
        """The cost and carry premium ``quantity`` leaves with. Kite keeps the carried quantity
        apart from the day's trades and moves each at its own price: a carried quantity at the
        price it was carried at (here its close, the carry premium going along), today's at
        today's cost. Pro rata of the whole open cost when the position holds no such part
        (the day's quantity of a line with nothing carried)."""
        carried = self._carried_open()
        if overnight and _within(quantity, carried):
            cost = _part(self.overnight_cost, quantity, self.overnight_quantity)
            return cost, _part(self.carry_premium, quantity, carried)
        day = self.quantity - carried
        if not overnight and carried and _within(quantity, day):
            return _part(self.open_cost - self._carried_open_cost(carried), quantity, day), ZERO
        return _part(self.open_cost, quantity, self.quantity), _part(
            self.carry_premium, quantity, self.quantity
        )

    def _carried_open(self) -> int:
        """How much of the open quantity was carried in (signed as it): the carried quantity,
        as far as the position still holds it on that side."""
        if self.overnight_quantity * self.quantity <= 0:
            return 0
        if abs(self.overnight_quantity) < abs(self.quantity):
            return self.overnight_quantity
        return self.quantity

    def _carried_open_cost(self, carried: int) -> Decimal:
        """What ``carried`` of the carried quantity is booked at."""
        return _part(self.overnight_cost, carried, self.overnight_quantity)

    def move_in(
        self, quantity: int, cost: Decimal, *, overnight: bool, premium: Decimal = ZERO
    ) -> None:
        """Take ``quantity`` (signed) from another product at ``cost`` (signed alike) and its
        carry ``premium``: booked as a trade at ``cost``'s price, with the cash moving by
        exactly ``cost``; a carried quantity joins this line's carried one at that cost."""
        side = Side.BUY if quantity > 0 else Side.SELL
        net = self.quantity
        opening = abs(quantity) if net * quantity >= 0 else max(0, abs(quantity) - abs(net))
        cash, bought, sold, open_cost = self.cash, self.buy_value, self.sell_value, self.open_cost
        self._trade(side, abs(quantity), cost / (quantity * self.multiplier))
        # That price need not be a finite decimal (9,000 over 7): what it booked is set again
        # from the cost, so the cash moves by the cost exactly and the open cost stays a finite
        # decimal (sums of 28-digit expansions drift in the last digit).
        self.cash = cash - cost
        if opening == abs(quantity):
            self.open_cost = open_cost + cost
            self.carry_premium += premium
        elif opening:
            self.open_cost = _share(cost, opening, abs(quantity))
            self.carry_premium = _share(premium, opening, abs(quantity))
        if side is Side.BUY:
            self.buy_value = bought + cost
        else:
            self.sell_value = sold - cost
        if overnight:
            self._carry_in(quantity, cost)
        elif side is Side.BUY:
            self.day_buy_quantity += quantity
        else:
            self.day_sell_quantity -= quantity

    def _carry_in(self, quantity: int, cost: Decimal) -> None:
        """Add ``quantity`` carried at ``cost`` to the carried quantity, as Kite's carry price
        moves: averaged with a carry on the same side, the incoming one's when it turns the
        carry over, the carry's own when it only reduces it."""
        held = self.overnight_quantity
        total = held + quantity
        if held * quantity >= 0:
            self.overnight_cost += cost
        elif total * quantity > 0:
            self.overnight_cost = _part(cost, total, quantity)
        else:
            self.overnight_cost = _part(self.overnight_cost, total, held)
        self.overnight_quantity = total

    def hold(self, quantity: int, price: Decimal) -> None:
        """Let a sale draw on ``quantity`` of delivered stock valued at ``price``."""
        if quantity < 0:
            raise ValueError("holdings are not negative")
        self.held, self.held_price = quantity, price

    @property
    def from_holdings(self) -> int:
        """How much of a short quantity is delivered stock sold, not a short."""
        return min(-self.quantity, self.held) if self.quantity < 0 else 0

    def _sale_of_holdings(self, covered: int) -> Decimal:
        """What ``covered`` of the short quantity was sold for (its share of the cost)."""
        return _share(self.open_cost, covered, self.quantity)

    @property
    def average_price(self) -> Decimal:
        """Average cost of the open quantity, its carried part at what it cost when opened
        (Kite's ``average_price``; 0 when flat)."""
        if not self.quantity:
            return ZERO
        cost = self.open_cost + self.carry_premium
        return (cost / (self.quantity * self.multiplier)).quantize(COST_PLACES)

    @property
    def realised(self) -> Decimal:
        realised = self.cash + self.open_cost
        if covered := self.from_holdings:
            realised += (
                self._sale_of_holdings(covered) - covered * self.held_price * self.multiplier
            )
        return realised

    def unrealised(self, last_price: Decimal | None = None) -> Decimal:
        last = last_price if last_price is not None else self.last_price
        if last is None or not self.quantity:
            return ZERO
        unrealised = self.quantity * last * self.multiplier - self.open_cost
        if covered := self.from_holdings:
            unrealised -= self._sale_of_holdings(covered) - covered * last * self.multiplier
        return unrealised

    def pnl(self, last_price: Decimal | None = None) -> Decimal:
        """Total P&L: realised plus unrealised at ``last_price`` (or the last mark)."""
        return self.realised + self.unrealised(last_price)


def _share(amount: Decimal, part: int, whole: int) -> Decimal:
    """``part`` of ``whole``'s ``amount``, to :data:`COST_PLACES` (the one rounding)."""
    return (amount * part / whole).quantize(COST_PLACES, rounding=ROUND_HALF_EVEN)


def _within(part: int, whole: int) -> bool:
    """Whether ``part`` is some or all of ``whole``, on its side (both signed)."""
    return part * whole > 0 and abs(part) <= abs(whole)


def _part(amount: Decimal, part: int, whole: int) -> Decimal:
    """:func:`_share`, exact when ``part`` is the whole (nothing left behind to round)."""
    return amount if part == whole else _share(amount, part, whole)


PositionKey = tuple[InstrumentKey, Product]


@dataclass(slots=True)
class PositionBook:
    """Every position, keyed by instrument and product; the day's delivered stock, which CNC
    sales draw on first."""

    positions: dict[PositionKey, Position] = field(default_factory=dict)
    held: dict[InstrumentKey, tuple[int, Decimal]] = field(default_factory=dict)
    """Per instrument: the delivered stock's quantity and the price it is valued at."""

    def get(self, instrument: InstrumentKey, product: Product) -> Position:
        key = (instrument, product)
        position = self.positions.get(key)
        if position is None:
            multiplier = multiplier_of(instrument)  # a lot of MCX crude is 100 barrels
            position = self.positions[key] = Position(instrument, product, multiplier)
            if product is Product.CNC and (held := self.held.get(instrument)) is not None:
                position.hold(*held)
        return position

    def hold(self, instrument: InstrumentKey, quantity: int, price: Decimal) -> None:
        """The day opened with ``quantity`` of ``instrument`` delivered, valued at ``price``
        (the previous close): a CNC sale up to it is stock sold, not a short."""
        self.held[instrument] = (quantity, price)
        position = self.positions.get((instrument, Product.CNC))
        if position is not None:
            position.hold(quantity, price)

    def apply_fill(
        self,
        instrument: InstrumentKey,
        product: Product,
        side: Side,
        quantity: int,
        price: Decimal,
        trade_id: str | None = None,
    ) -> bool:
        return self.get(instrument, product).apply_fill(side, quantity, price, trade_id)

    def check(self, conversion: PositionConversion) -> Position:
        """The position ``conversion`` moves quantity out of, when it can give it; else
        :class:`~orderdesk.domain.errors.ValidationError` saying how much it has."""
        instrument = conversion.instrument
        old = self.positions.get((instrument, conversion.old_product))
        room = old.convertible(side=conversion.side, overnight=conversion.overnight) if old else 0
        if old is None or conversion.quantity > room:
            kind = "carried " if conversion.overnight else ""
            position = "long" if conversion.side is Side.BUY else "short"
            hint = old.overnight_hint(conversion.side, conversion.overnight) if old else ""
            raise ValidationError(
                "quantity",
                f"the {kind}{position} {conversion.old_product} position in {instrument} has "
                f"{room} to convert, not {conversion.quantity}{hint}",
            )
        return old

    def convert(self, conversion: PositionConversion) -> None:
        """Move a conversion's quantity from one product's position to the other's, at its
        cost (:meth:`check` first: nothing moves when it refuses)."""
        instrument = conversion.instrument
        old = self.check(conversion)
        cost, premium = old.move_out(conversion.signed, overnight=conversion.overnight)
        new = self.get(instrument, conversion.new_product)
        if not new.quantity:
            new.multiplier = old.multiplier
        new.move_in(conversion.signed, cost, overnight=conversion.overnight, premium=premium)
        if old.last_price is not None:
            new.mark(old.last_price)

    def mark(self, instrument: InstrumentKey, last_price: Decimal) -> None:
        for (key, _product), position in self.positions.items():
            if key == instrument:
                position.mark(last_price)

    def net_quantity(self, instrument: InstrumentKey) -> int:
        return sum(p.quantity for (key, _), p in self.positions.items() if key == instrument)

    def total_pnl(self) -> Decimal:
        return sum((p.pnl() for p in self.positions.values()), ZERO)

    def realised(self) -> Decimal:
        return sum((p.realised for p in self.positions.values()), ZERO)

    def __iter__(self) -> Iterator[Position]:
        return iter(self.positions.values())

    @classmethod
    def opening(cls, positions: Iterable[Position]) -> PositionBook:
        """A book that starts from ``positions`` (a day's carried positions)."""
        return cls({(p.instrument, p.product): p for p in positions})


__all__ = ["Position", "PositionBook", "PositionKey"]
