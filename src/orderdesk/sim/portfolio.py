"""Positions and holdings that follow the fills, with Kite's position arithmetic.

All sums are ``Decimal`` (already multiplied by the contract ``multiplier``), so a day of fills
adds up exactly; floats appear only when a row is rendered for the wire. The formulas are the ones
that reproduce every row of Kite's sample ``positions.json`` (KITE_API.md §5.1):

- ``buy_value = Σ buy qty × price × multiplier`` (overnight longs at their carry price),
  likewise ``sell_value``; ``value = sell_value − buy_value``;
  ``pnl = value + quantity × last × multiplier``;
- ``buy_m2m``/``sell_m2m`` value carried quantity at ``close_price`` instead;
  ``m2m = sell_m2m − buy_m2m + quantity × last × multiplier``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orderdesk.sim.envelope import InputError
from orderdesk.sim.orders import money

ZERO = Decimal(0)

PositionKey = tuple[str, str, str, str]
"""(user_id, exchange, tradingsymbol, product)."""

PositionListener = Callable[[str, str, str], None]
"""Told ``(user_id, exchange, tradingsymbol)`` after a position or holding of it moved."""


def _avg(value: Decimal, quantity: int, multiplier: Decimal) -> Decimal:
    return value / (quantity * multiplier) if quantity else ZERO


@dataclass(slots=True)
class Position:
    """One (exchange, symbol, product) line: what was carried in and today's buys and sells."""

    user_id: str
    exchange: str
    tradingsymbol: str
    instrument_token: int
    product: str
    multiplier: Decimal = Decimal(1)
    overnight_quantity: int = 0
    overnight_price: Decimal = ZERO
    close_price: Decimal = ZERO
    day_buy_quantity: int = 0
    day_buy_value: Decimal = ZERO
    day_sell_quantity: int = 0
    day_sell_value: Decimal = ZERO

    @property
    def quantity(self) -> int:
        """Signed net quantity: carried plus today's buys minus sells."""
        return self.overnight_quantity + self.day_buy_quantity - self.day_sell_quantity

    @property
    def day_quantity(self) -> int:
        """Signed quantity from today's trades only."""
        return self.day_buy_quantity - self.day_sell_quantity

    def add_fill(self, buy: bool, quantity: int, price: Decimal) -> None:
        """Book one fill."""
        value = quantity * price * self.multiplier
        if buy:
            self.day_buy_quantity += quantity
            self.day_buy_value += value
        else:
            self.day_sell_quantity += quantity
            self.day_sell_value += value

    def average_price(self) -> Decimal:
        """Average price of the open side: buys when long, sells when short, 0 when flat."""
        carry_long = max(self.overnight_quantity, 0)
        carry_short = max(-self.overnight_quantity, 0)
        if self.quantity > 0:
            qty = self.day_buy_quantity + carry_long
            value = self.day_buy_value + carry_long * self.overnight_price * self.multiplier
            return _avg(value, qty, self.multiplier)
        if self.quantity < 0:
            qty = self.day_sell_quantity + carry_short
            value = self.day_sell_value + carry_short * self.overnight_price * self.multiplier
            return _avg(value, qty, self.multiplier)
        return ZERO

    def net_row(self, last_price: Decimal) -> dict[str, Any]:
        """The ``net`` row: carried plus today."""
        mult = self.multiplier
        carry_long = max(self.overnight_quantity, 0)
        carry_short = max(-self.overnight_quantity, 0)
        buy_qty = self.day_buy_quantity + carry_long
        sell_qty = self.day_sell_quantity + carry_short
        buy_value = self.day_buy_value + carry_long * self.overnight_price * mult
        sell_value = self.day_sell_value + carry_short * self.overnight_price * mult
        buy_m2m = self.day_buy_value + carry_long * self.close_price * mult
        sell_m2m = self.day_sell_value + carry_short * self.close_price * mult
        return self._row(
            quantity=self.quantity,
            overnight=self.overnight_quantity,
            last_price=last_price,
            buy=(buy_qty, buy_value, buy_m2m),
            sell=(sell_qty, sell_value, sell_m2m),
        )

    def day_row(self, last_price: Decimal) -> dict[str, Any]:
        """The ``day`` row: today's trades only."""
        return self._row(
            quantity=self.day_quantity,
            overnight=0,
            last_price=last_price,
            buy=(self.day_buy_quantity, self.day_buy_value, self.day_buy_value),
            sell=(self.day_sell_quantity, self.day_sell_value, self.day_sell_value),
        )

    def _row(
        self,
        *,
        quantity: int,
        overnight: int,
        last_price: Decimal,
        buy: tuple[int, Decimal, Decimal],
        sell: tuple[int, Decimal, Decimal],
    ) -> dict[str, Any]:
        mult = self.multiplier
        buy_qty, buy_value, buy_m2m = buy
        sell_qty, sell_value, sell_m2m = sell
        value = sell_value - buy_value
        marked = quantity * last_price * mult
        pnl = value + marked
        m2m = sell_m2m - buy_m2m + marked
        if quantity > 0:
            average = _avg(buy_value, buy_qty, mult)
        elif quantity < 0:
            average = _avg(sell_value, sell_qty, mult)
        else:
            average = ZERO
        unrealised = (last_price - average) * quantity * mult
        return {
            "tradingsymbol": self.tradingsymbol,
            "exchange": self.exchange,
            "instrument_token": self.instrument_token,
            "product": self.product,
            "quantity": quantity,
            "overnight_quantity": overnight,
            "multiplier": money(mult),
            "average_price": money(average),
            "close_price": money(self.close_price),
            "last_price": money(last_price),
            "value": money(value),
            "pnl": money(pnl),
            "m2m": money(m2m),
            "unrealised": money(unrealised),
            "realised": money(pnl - unrealised),
            "buy_quantity": buy_qty,
            "buy_price": money(_avg(buy_value, buy_qty, mult)),
            "buy_value": money(buy_value),
            "buy_m2m": money(buy_m2m),
            "sell_quantity": sell_qty,
            "sell_price": money(_avg(sell_value, sell_qty, mult)),
            "sell_value": money(sell_value),
            "sell_m2m": money(sell_m2m),
            "day_buy_quantity": self.day_buy_quantity,
            "day_buy_price": money(_avg(self.day_buy_value, self.day_buy_quantity, mult)),
            "day_buy_value": money(self.day_buy_value),
            "day_sell_quantity": self.day_sell_quantity,
            "day_sell_price": money(_avg(self.day_sell_value, self.day_sell_quantity, mult)),
            "day_sell_value": money(self.day_sell_value),
        }


@dataclass(slots=True)
class Holding:
    """A delivery holding (seeded; day-end conversion of CNC buys is not simulated)."""

    user_id: str
    exchange: str
    tradingsymbol: str
    instrument_token: int
    quantity: int
    average_price: Decimal
    close_price: Decimal
    isin: str = ""
    used_quantity: int = 0

    def row(self, last_price: Decimal) -> dict[str, Any]:
        """The holdings row as Kite renders it."""
        day_change = last_price - self.close_price
        pct = day_change / self.close_price * 100 if self.close_price else ZERO
        return {
            "tradingsymbol": self.tradingsymbol,
            "exchange": self.exchange,
            "instrument_token": self.instrument_token,
            "isin": self.isin,
            "product": "CNC",
            "price": 0,
            "quantity": self.quantity,
            "used_quantity": self.used_quantity,
            "t1_quantity": 0,
            "realised_quantity": self.quantity,
            "authorised_quantity": 0,
            "authorised_date": "",
            "authorisation": {},
            "opening_quantity": self.quantity,
            "short_quantity": 0,
            "collateral_quantity": 0,
            "collateral_type": "",
            "discrepancy": False,
            "average_price": money(self.average_price),
            "last_price": money(last_price),
            "close_price": money(self.close_price),
            "pnl": money((last_price - self.average_price) * self.quantity),
            "day_change": money(day_change),
            "day_change_percentage": money(pct),
            "mtf": {
                "quantity": 0,
                "used_quantity": 0,
                "average_price": 0,
                "value": 0,
                "initial_margin": 0,
            },
        }


class Portfolio:
    """Every user's positions and holdings; prices come from ``last_price(token)``."""

    def __init__(self, last_price: Callable[[int], float]) -> None:
        self._last_price = last_price
        self._positions: dict[PositionKey, Position] = {}
        self._by_user: dict[str, list[Position]] = {}
        self._holdings: dict[tuple[str, str, str], Holding] = {}
        self._listeners: list[PositionListener] = []

    def add_listener(self, listener: PositionListener) -> None:
        """Call ``listener(user_id, exchange, tradingsymbol)`` after a position or holding moves.

        The exchange keeps the margin its working orders block up to date with it: how much of
        an order merely closes a position depends on that position.
        """
        self._listeners.append(listener)

    def _moved(self, user_id: str, exchange: str, tradingsymbol: str) -> None:
        for listener in self._listeners:
            listener(user_id, exchange, tradingsymbol)

    def _ltp(self, token: int) -> Decimal:
        return Decimal(str(self._last_price(token)))

    def position(
        self, user_id: str, exchange: str, tradingsymbol: str, product: str, token: int
    ) -> Position:
        """The position line, created flat if new."""
        key = (user_id, exchange, tradingsymbol, product)
        pos = self._positions.get(key)
        if pos is None:
            pos = self._positions[key] = Position(user_id, exchange, tradingsymbol, token, product)
            self._by_user.setdefault(user_id, []).append(pos)
        return pos

    def find(
        self, user_id: str, exchange: str, tradingsymbol: str, product: str
    ) -> Position | None:
        """The position line if it exists."""
        return self._positions.get((user_id, exchange, tradingsymbol, product))

    def positions_of(self, user_id: str) -> Iterator[Position]:
        """A user's position lines."""
        return iter(self._by_user.get(user_id, ()))

    def apply_fill(
        self,
        user_id: str,
        exchange: str,
        tradingsymbol: str,
        product: str,
        token: int,
        *,
        buy: bool,
        quantity: int,
        price: Decimal,
    ) -> None:
        """Book a fill on its position line."""
        self.position(user_id, exchange, tradingsymbol, product, token).add_fill(
            buy, quantity, price
        )
        self._moved(user_id, exchange, tradingsymbol)

    def positions_payload(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """``GET /portfolio/positions`` data: ``net`` and ``day``."""
        net, day = [], []
        for pos in self.positions_of(user_id):
            ltp = self._ltp(pos.instrument_token)
            net.append(pos.net_row(ltp))
            if pos.day_buy_quantity or pos.day_sell_quantity:
                day.append(pos.day_row(ltp))
        return {"net": net, "day": day}

    def convert(
        self,
        user_id: str,
        *,
        exchange: str,
        tradingsymbol: str,
        buy: bool,
        quantity: int,
        old_product: str,
        new_product: str,
    ) -> None:
        """Move ``quantity`` of today's position from one product to another at its average."""
        old = self.find(user_id, exchange, tradingsymbol, old_product)
        if quantity <= 0 or old_product == new_product:
            raise InputError("Invalid conversion.")
        signed = quantity if buy else -quantity
        if old is None or (old.day_quantity * signed <= 0) or abs(old.day_quantity) < quantity:
            raise InputError("Position not found or insufficient quantity to convert.")
        new = self.position(user_id, exchange, tradingsymbol, new_product, old.instrument_token)
        new.multiplier = old.multiplier
        if buy:
            price = _avg(old.day_buy_value, old.day_buy_quantity, old.multiplier)
            old.day_buy_quantity -= quantity
            old.day_buy_value -= quantity * price * old.multiplier
        else:
            price = _avg(old.day_sell_value, old.day_sell_quantity, old.multiplier)
            old.day_sell_quantity -= quantity
            old.day_sell_value -= quantity * price * old.multiplier
        new.add_fill(buy, quantity, price)
        self._moved(user_id, exchange, tradingsymbol)

    def seed_holding(self, holding: Holding) -> None:
        """Put a holding in place (tests and ``/_sim/holdings``)."""
        self._holdings[(holding.user_id, holding.exchange, holding.tradingsymbol)] = holding
        self._moved(holding.user_id, holding.exchange, holding.tradingsymbol)

    def holding(self, user_id: str, exchange: str, tradingsymbol: str) -> Holding | None:
        """One holding, if any."""
        return self._holdings.get((user_id, exchange, tradingsymbol))

    def holdings_payload(self, user_id: str) -> list[dict[str, Any]]:
        """``GET /portfolio/holdings`` data."""
        return [
            h.row(self._ltp(h.instrument_token))
            for h in self._holdings.values()
            if h.user_id == user_id
        ]

    def reset(self) -> None:
        """Flat and empty (``/_sim/reset``)."""
        moved = {(p.user_id, p.exchange, p.tradingsymbol) for p in self._positions.values()}
        moved |= set(self._holdings)
        self._positions.clear()
        self._by_user.clear()
        self._holdings.clear()
        for user_id, exchange, tradingsymbol in moved:
            self._moved(user_id, exchange, tradingsymbol)


__all__ = ["Holding", "Portfolio", "Position", "PositionListener"]
