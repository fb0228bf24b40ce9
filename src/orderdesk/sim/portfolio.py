"""Positions and holdings that follow the fills, with Kite's position arithmetic.

All sums are ``Decimal`` (already multiplied by the contract ``multiplier``: the quoted units in
a lot of an MCX or currency contract, 1 elsewhere, :mod:`orderdesk.domain.contracts`), so a day of
fills adds up exactly; floats appear only when a row is rendered for the wire. The formulas are
the ones that reproduce every row of Kite's sample ``positions.json`` (KITE_API.md §5.1):

- ``buy_value = Σ buy qty × price × multiplier`` (overnight longs at their carry price),
  likewise ``sell_value``; ``value = sell_value − buy_value``;
  ``pnl = value + quantity × last × multiplier``;
- ``buy_m2m``/``sell_m2m`` value carried quantity at ``close_price`` instead;
  ``m2m = sell_m2m − buy_m2m + quantity × last × multiplier``.

At the start of each trading day (:meth:`Portfolio.start_day`, run by the day machine in
:mod:`orderdesk.sim.days`) the book moves on as Kite's does overnight:

- a non-CNC line with a net quantity is carried: ``overnight_quantity`` = that quantity at its
  average price, ``close_price`` = the last price at the day's end, today's fields at zero;
  flat lines are gone;
- CNC lines turn into holdings: a net buy arrives as ``t1_quantity`` (India settles T+1), the
  ``t1_quantity`` already there settles into ``quantity``, a net sell reduces the holding;
- contracts that expired are settled at their last price and dropped.

What each line leaves behind in money (its realised P&L, a delivery purchase paid, an expiry
settled) is returned per user for the funds' cash, so the account's net is carried across the
rollover exactly: nothing counts twice, nothing vanishes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from orderdesk.domain.contracts import contract_multiplier
from orderdesk.sim.envelope import InputError
from orderdesk.sim.orders import money

ZERO = Decimal(0)

PositionKey = tuple[str, str, str, str]
"""(user_id, exchange, tradingsymbol, product)."""

PositionListener = Callable[[str, str, str], None]
"""Told ``(user_id, exchange, tradingsymbol)`` after a position or holding of it moved."""


MICRO = Decimal("0.000001")


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

    def pnl(self, last_price: Decimal) -> Decimal:
        """Kite's ``pnl``: what trading the line made, open quantity marked at ``last_price``."""
        carried = self.overnight_quantity * self.overnight_price * self.multiplier
        value = self.day_sell_value - self.day_buy_value - carried
        return value + self.quantity * last_price * self.multiplier

    def carried(self, close_price: Decimal) -> Position | None:
        """This line as the next trading day opens: its net quantity carried at its average
        price, nothing traded yet; ``None`` when flat."""
        if self.quantity == 0:
            return None
        return replace(
            self,
            overnight_quantity=self.quantity,
            overnight_price=self.average_price(),
            close_price=close_price,
            day_buy_quantity=0,
            day_buy_value=ZERO,
            day_sell_quantity=0,
            day_sell_value=ZERO,
        )

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
            # The average of a partial fill is a repeating decimal, so pnl - unrealised can be
            # 3E-24 where Kite prints 0: kept to a millionth of a rupee.
            "realised": money((pnl - unrealised).quantize(MICRO)),
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


def made_up_isin(instrument_token: int) -> str:
    """A 12-character ISIN for stock the simulator delivers: its instruments carry none, and
    a holding is authorised for sale by ISIN."""
    return f"IN{instrument_token % 10**10:010d}"


@dataclass(slots=True)
class Holding:
    """A delivery holding: settled quantity, and what was bought the trading day before and
    settles at the next rollover (``t1_quantity``)."""

    user_id: str
    exchange: str
    tradingsymbol: str
    instrument_token: int
    quantity: int
    average_price: Decimal
    close_price: Decimal
    isin: str = ""
    t1_quantity: int = 0
    t1_price: Decimal = ZERO
    """What the ``t1_quantity`` cost a share; merged into ``average_price`` when it settles."""
    opening_quantity: int | None = None
    """Quantity and T1 quantity as the trading day began; ``None``: as they are now."""

    @property
    def total_quantity(self) -> int:
        """Settled plus T1 quantity: everything the user owns of it."""
        return self.quantity + self.t1_quantity

    def overall_average(self) -> Decimal:
        """Average cost over settled and T1 quantity."""
        total = self.total_quantity
        if not total:
            return self.average_price
        return (self.quantity * self.average_price + self.t1_quantity * self.t1_price) / total

    def settle(self) -> None:
        """T1 quantity becomes settled quantity; the averages merge."""
        if self.t1_quantity:
            self.average_price = self.overall_average()
            self.quantity += self.t1_quantity
            self.t1_quantity = 0
            self.t1_price = ZERO

    def bought(self, quantity: int, price: Decimal) -> None:
        """A day's net delivery purchase arrives as T1 quantity."""
        total = self.t1_quantity + quantity
        self.t1_price = (self.t1_quantity * self.t1_price + quantity * price) / total
        self.t1_quantity = total

    def sold(self, quantity: int) -> None:
        """A day's net delivery sale leaves: settled quantity first, then T1 (never below 0)."""
        from_settled = min(quantity, self.quantity)
        self.quantity -= from_settled
        self.t1_quantity -= min(quantity - from_settled, self.t1_quantity)

    def row(
        self,
        last_price: Decimal,
        authorised: tuple[int, date | None] = (0, None),
        used_quantity: int = 0,
    ) -> dict[str, Any]:
        """The holdings row as Kite renders it (P&L over settled and T1 quantity), with the
        quantity authorised for sale and its day, and what of it was sold today."""
        authorised_quantity, authorised_on = authorised
        day_change = last_price - self.close_price
        pct = day_change / self.close_price * 100 if self.close_price else ZERO
        average = self.overall_average()
        total = self.total_quantity
        opening = total if self.opening_quantity is None else self.opening_quantity
        return {
            "tradingsymbol": self.tradingsymbol,
            "exchange": self.exchange,
            "instrument_token": self.instrument_token,
            "isin": self.isin,
            "product": "CNC",
            "price": 0,
            "quantity": self.quantity,
            "used_quantity": used_quantity,
            "t1_quantity": self.t1_quantity,
            "realised_quantity": self.quantity,
            "authorised_quantity": authorised_quantity,
            "authorised_date": f"{authorised_on} 00:00:00" if authorised_on else "",
            "authorisation": {},
            "opening_quantity": opening,
            "short_quantity": 0,
            "collateral_quantity": 0,
            "collateral_type": "",
            "discrepancy": False,
            "average_price": money(average),
            "last_price": money(last_price),
            "close_price": money(self.close_price),
            "pnl": money((last_price - average) * total),
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
        """The position line, created flat (with its contract's multiplier) if new."""
        key = (user_id, exchange, tradingsymbol, product)
        pos = self._positions.get(key)
        if pos is None:
            multiplier = Decimal(contract_multiplier(exchange, tradingsymbol))
            pos = self._positions[key] = Position(
                user_id, exchange, tradingsymbol, token, product, multiplier
            )
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

    def all_positions(self) -> list[Position]:
        """Every user's position lines, users and lines in the order they first appeared."""
        return [pos for lines in self._by_user.values() for pos in lines]

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
        overnight: bool = False,
    ) -> None:
        """Move ``quantity`` of today's position (``overnight``: of the carried one) from one
        product to another at its average."""
        old = self.find(user_id, exchange, tradingsymbol, old_product)
        if quantity <= 0 or old_product == new_product:
            raise InputError("Invalid conversion.")
        signed = quantity if buy else -quantity
        if overnight:
            self._convert_carried(old, signed, new_product)
            return
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

    def _convert_carried(self, old: Position | None, signed: int, new_product: str) -> None:
        """Move ``signed`` of ``old``'s carried quantity to ``new_product``'s line, at the
        price it was carried at (averaged with a carry the new line has the same way)."""
        carried = old.overnight_quantity if old is not None else 0
        if old is None or carried * signed <= 0 or abs(carried) < abs(signed):
            raise InputError("Position not found or insufficient quantity to convert.")
        new = self.position(
            old.user_id, old.exchange, old.tradingsymbol, new_product, old.instrument_token
        )
        new.multiplier = old.multiplier
        held = new.overnight_quantity
        total = held + signed
        if held * signed > 0:
            new.overnight_price = (
                held * new.overnight_price + signed * old.overnight_price
            ) / total
        elif total * signed > 0:
            new.overnight_price = old.overnight_price
        new.close_price = new.close_price or old.close_price
        new.overnight_quantity = total
        old.overnight_quantity -= signed
        self._moved(old.user_id, old.exchange, old.tradingsymbol)

    def seed_holding(self, holding: Holding) -> None:
        """Put a holding in place (tests and ``/_sim/holdings``)."""
        self._holdings[(holding.user_id, holding.exchange, holding.tradingsymbol)] = holding
        self._moved(holding.user_id, holding.exchange, holding.tradingsymbol)

    def holding(self, user_id: str, exchange: str, tradingsymbol: str) -> Holding | None:
        """One holding, if any."""
        return self._holdings.get((user_id, exchange, tradingsymbol))

    def holdings_of(self, user_id: str) -> list[Holding]:
        return [h for h in self._holdings.values() if h.user_id == user_id]

    def sold_today(self, holding: Holding) -> int:
        """What of ``holding`` the day's CNC sales took: the sales beyond the day's CNC buys
        (the holding's ``used_quantity``, KITE_API.md §5.2).

        Read from the day's CNC line, whose net the rollover takes out of the holding
        (:meth:`_deliver`), so what the row shows today is what leaves it tomorrow. A sale and
        a buy-back of the same day net out, as India's settlement nets them.
        """
        pos = self.find(holding.user_id, holding.exchange, holding.tradingsymbol, "CNC")
        if pos is None:
            return 0
        return min(max(-pos.quantity, 0), holding.total_quantity)

    def holdings_payload(
        self,
        user_id: str,
        authorised: Callable[[Holding], tuple[int, date | None]] | None = None,
    ) -> list[dict[str, Any]]:
        """``GET /portfolio/holdings`` data, with what ``authorised`` says may be sold today."""
        return [
            h.row(
                self._ltp(h.instrument_token),
                authorised(h) if authorised is not None else (0, None),
                self.sold_today(h),
            )
            for h in self.holdings_of(user_id)
        ]

    def start_day(self, expired: Collection[int] = ()) -> dict[str, Decimal]:
        """Roll every book into the next trading day (see the module docstring).

        ``expired`` holds the tokens of contracts that expired; their lines are settled at the
        last price. Returns, per user, the cash the old day's lines leave behind: realised P&L,
        delivery purchases paid and sales received, expiries settled.
        """
        cash: dict[str, Decimal] = {}
        moved: set[tuple[str, str, str]] = set()
        for holding in self._holdings.values():
            holding.settle()
        lines = self.all_positions()
        self._positions.clear()
        self._by_user.clear()
        for pos in lines:
            close = self._ltp(pos.instrument_token)
            user = pos.user_id
            moved.add((user, pos.exchange, pos.tradingsymbol))
            if pos.product == "CNC" and pos.instrument_token not in expired:
                self._deliver(pos, close)
                # A delivery line is paid for (or paid out) in full: its value, not its P&L.
                released = pos.pnl(close) - pos.quantity * close * pos.multiplier
                cash[user] = cash.get(user, ZERO) + released
                continue
            following = None if pos.instrument_token in expired else pos.carried(close)
            released = pos.pnl(close) - (ZERO if following is None else following.pnl(close))
            cash[user] = cash.get(user, ZERO) + released
            if following is not None:
                line = (user, pos.exchange, pos.tradingsymbol, pos.product)
                self._positions[line] = following
                self._by_user.setdefault(user, []).append(following)
        for held, holding in list(self._holdings.items()):
            if holding.total_quantity <= 0:
                del self._holdings[held]
                moved.add(held)
                continue
            holding.close_price = self._ltp(holding.instrument_token)
            holding.opening_quantity = holding.total_quantity
        for user_id, exchange, tradingsymbol in sorted(moved):
            self._moved(user_id, exchange, tradingsymbol)
        return cash

    def _deliver(self, pos: Position, close: Decimal) -> None:
        """A day's CNC line into holdings: a net buy as T1 quantity, a net sell out of them."""
        net = pos.quantity
        key = (pos.user_id, pos.exchange, pos.tradingsymbol)
        holding = self._holdings.get(key)
        if net > 0:
            price = _avg(pos.day_buy_value, pos.day_buy_quantity, pos.multiplier)
            if holding is None:
                holding = self._holdings[key] = Holding(
                    user_id=pos.user_id,
                    exchange=pos.exchange,
                    tradingsymbol=pos.tradingsymbol,
                    instrument_token=pos.instrument_token,
                    quantity=0,
                    average_price=price,
                    close_price=close,
                    isin=made_up_isin(pos.instrument_token),
                )
            holding.bought(net, price)
        elif net < 0 and holding is not None:
            holding.sold(-net)

    def reset(self) -> None:
        """Flat and empty (``/_sim/reset``)."""
        moved = {(p.user_id, p.exchange, p.tradingsymbol) for p in self._positions.values()}
        moved |= set(self._holdings)
        self._positions.clear()
        self._by_user.clear()
        self._holdings.clear()
        for user_id, exchange, tradingsymbol in moved:
            self._moved(user_id, exchange, tradingsymbol)


__all__ = ["Holding", "Portfolio", "Position", "PositionListener", "made_up_isin"]
