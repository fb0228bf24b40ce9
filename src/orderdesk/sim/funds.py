"""Funds: what the simulated account holds, blocks and can still spend (``/user/margins``).

``net = live_balance = cash − debits`` as in Kite's sample; debits are the margin blocked by open
positions and working orders plus unrealised losses, less realised profit.

Each user starts with ``opening_cash``. Cash changes only when a trading day ends: the rollover
(:mod:`orderdesk.sim.days`) credits what the old day's position lines leave behind — realised
P&L, delivery purchases paid and sales received, expiries settled — as the lines themselves
are carried at their average price or leave the book. So yesterday's realised P&L is in
``cash`` this morning and no longer in ``m2m_realised``; it counts once. Holdings are not
margin and their price moves never reach the funds, as on Kite; nor does stock sold out of them:
the day's CNC sale of held stock shows in Kite's positions as a short, but it needs no margin and
its price moves are not a loss. Its value is ``holding_sales``; the cash comes with the
rollover. (Zerodha's notes speak of part of a sale's credit being usable on the day itself: how
much, and whether ``net`` shows it, is UNVERIFIED, so the simulator credits none early.)

Charges (brokerage, STT or CTT, exchange and SEBI fees, GST, stamp duty) leave the cash at the
rollover too, as Zerodha's ledger posts the day's contract note: each executed order charged as
the contract note (``/charges/orders``) charges it, on its filled quantity at its average price,
the day's sum rounded to the paisa. A scrip's CNC quantity both bought and sold in the day is
charged as MIS, as the desk asks the contract note for it (the exchange nets the day's trades:
:func:`~orderdesk.domain.charge_schedule.squared_off`, the earliest orders of each side first,
an order matched in part in two lines at its average price), and a scrip whose day's CNC sales
exceed its CNC buys (stock sold from holdings) pays the DP charge once
(:func:`~orderdesk.domain.charge_schedule.dp_charges`). An option held into its expiry pays for its
settlement as the contract note's exercise line charges it (STT on an exercised one's
intrinsic value, brokerage and its GST, :func:`~orderdesk.domain.charge_schedule.exercise_charges`).
Until then nothing shows them: Kite's intraday
``live_balance`` and ``net`` do not reflect charges before the ledger posts them, so a day's
charges first appear as the next morning's lower ``opening_balance``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from orderdesk.domain.charge_schedule import (
    ScheduledCharges,
    dp_charges,
    sold_from_holdings,
    squared_off,
)
from orderdesk.sim.exchange import Exchange
from orderdesk.sim.margins import (
    charges_due,
    contract_kind,
    contract_kind_by_symbol,
    exercise_due,
    order_margin,
)
from orderdesk.sim.orders import Order, Product, money
from orderdesk.sim.portfolio import Portfolio, Position
from orderdesk.sim.ports import InstrumentLookup, PriceSource

ZERO = Decimal(0)
PAISA = Decimal("0.01")


class Funds:
    """Cash and margin use per user, derived from the portfolio and the order book."""

    def __init__(
        self,
        *,
        opening_cash: Decimal,
        exchange: Exchange,
        portfolio: Portfolio,
        instruments: InstrumentLookup,
        prices: PriceSource,
    ) -> None:
        self.opening_cash = opening_cash
        self._cash: dict[str, Decimal] = {}
        self._exchange = exchange
        self._portfolio = portfolio
        self._instruments = instruments
        self._prices = prices

    def cash(self, user_id: str) -> Decimal:
        """The user's cash balance (the opening cash until a day has ended)."""
        return self._cash.get(user_id, self.opening_cash)

    def credit(self, amounts: Mapping[str, Decimal]) -> None:
        """Add (or, when negative, take) money to each user's cash (the rollover)."""
        for user_id, amount in amounts.items():
            self._cash[user_id] = self.cash(user_id) + amount

    def debit_day_charges(self, expiring: Collection[int] = ()) -> None:
        """Take the charges of the old day's executed orders off each user's cash, and those of
        its options settled at expiry (``expiring``: the tokens of the contracts that expired
        with it), at the rollover, before the book empties and those contracts delist."""
        due: dict[str, Decimal] = {}
        delivered: dict[tuple[str, str, str], list[Order]] = {}
        for order in self._exchange.all_orders():
            if not order.filled_quantity:
                continue
            if order.product == Product.CNC:
                scrip = (order.user_id, order.exchange, order.tradingsymbol)
                delivered.setdefault(scrip, []).append(order)
                continue
            due[order.user_id] = due.get(order.user_id, ZERO) + self._charges_of(order)
        for (user_id, _, _), orders in delivered.items():
            due[user_id] = due.get(user_id, ZERO) + self._delivery_charges_of(orders)
        for pos in self._portfolio.all_positions():
            exercise = self._exercise_of(pos) if pos.instrument_token in expiring else None
            if exercise is not None:
                due[pos.user_id] = due.get(pos.user_id, ZERO) + exercise.total
        # The ledger posts in paise.
        self.credit({user: -amount.quantize(PAISA, ROUND_HALF_UP) for user, amount in due.items()})

    def _delivery_charges_of(self, orders: list[Order]) -> Decimal:
        """One scrip's executed CNC orders of the day: what the day squared off as intraday
        (MIS), the rest as delivery, and the DP charge when it sold from holdings."""
        orders = sorted(orders, key=_traded_at)
        lines = [(order.is_buy, order.filled_quantity) for order in orders]
        due = ZERO
        for order, matched in zip(orders, squared_off(lines), strict=True):
            if matched:
                due += self._charges_of(order, Product.MIS, matched)
            if matched < order.filled_quantity:
                due += self._charges_of(order, Product.CNC, order.filled_quantity - matched)
        return due + dp_charges().total if sold_from_holdings(lines) else due

    def _charges_of(
        self, order: Order, product: str | None = None, quantity: int | None = None
    ) -> Decimal:
        """An executed order's charges, as the contract note reckons them (``product`` and
        ``quantity``: a part of it, charged in that product)."""
        inst = self._instruments.by_token(order.instrument_token)
        kind = (
            contract_kind(inst)
            if inst is not None
            else contract_kind_by_symbol(order.exchange, order.tradingsymbol)
        )
        return charges_due(
            order.exchange,
            order.tradingsymbol,
            kind,
            buy=order.is_buy,
            product=str(product or order.product),
            quantity=order.filled_quantity if quantity is None else quantity,
            price=order.average_price,
        ).total

    def _exercise_of(self, pos: Position) -> ScheduledCharges | None:
        """What ``pos``, held open into its contract's expiry, pays as it settles at its final
        settlement price (its last price since the derivatives' close)."""
        inst = self._instruments.by_token(pos.instrument_token)
        if inst is None:
            return None
        settlement = Decimal(str(self._prices.last_price(pos.instrument_token)))
        return exercise_due(inst, quantity=pos.quantity, settlement_price=settlement)

    def reset(self) -> None:
        """Every user back to the opening cash (``/_sim/reset``)."""
        self._cash.clear()

    def _usage(self, user_id: str) -> dict[str, Decimal]:
        span = exposure = premium = var = realised = unrealised = holding_sales = ZERO
        for pos in self._portfolio.positions_of(user_id):
            ltp = Decimal(str(self._prices.last_price(pos.instrument_token)))
            row = pos.net_row(ltp)
            realised += Decimal(str(row["realised"]))
            sold_held = self._sold_from_holdings(pos)
            if sold_held:
                holding_sales += sold_held * pos.day_sell_value / pos.day_sell_quantity
                continue  # stock already owned: no margin, and its moves are not a loss
            unrealised += Decimal(str(row["unrealised"]))
            inst = self._instruments.by_token(pos.instrument_token)
            if inst is None or pos.quantity == 0:
                continue
            m = order_margin(
                inst,
                buy=pos.quantity > 0,
                product=pos.product,
                quantity=abs(pos.quantity),
                price=pos.average_price(),
            )
            span += m.span
            exposure += m.exposure
            premium += m.option_premium
            var += m.var
        blocked_orders = self._exchange.blocked_margin(user_id)
        return {
            "span": span,
            "exposure": exposure,
            "option_premium": premium,
            "var": var + blocked_orders,
            "realised": realised,
            "unrealised": unrealised,
            "holding_sales": holding_sales,
        }

    def _sold_from_holdings(self, pos: Position) -> int:
        """The part of a CNC line's short that is held stock sold (all of it, or 0)."""
        if pos.product != Product.CNC or pos.quantity >= 0:
            return 0
        held = self._portfolio.holding(pos.user_id, pos.exchange, pos.tradingsymbol)
        if held is None or held.total_quantity < -pos.quantity:
            # Not covered: margined as any short. The exchange refuses such a CNC sale
            # (HoldingException), so only a conversion to CNC can leave one.
            return 0
        return -pos.quantity

    def available(self, user_id: str) -> Decimal:
        """What the user can still block for a new order."""
        return self.cash(user_id) - self._debits(self._usage(user_id))

    def _debits(self, usage: dict[str, Decimal]) -> Decimal:
        blocked = usage["span"] + usage["exposure"] + usage["option_premium"] + usage["var"]
        return blocked - usage["realised"] - min(usage["unrealised"], ZERO)

    def segment(self, user_id: str, segment: str) -> dict[str, Any]:
        """One segment object of ``/user/margins`` (commodity is enabled but unused)."""
        if segment == "commodity":
            usage = dict.fromkeys(("span", "exposure", "option_premium", "var"), ZERO)
            usage |= {"realised": ZERO, "unrealised": ZERO, "holding_sales": ZERO}
            cash = ZERO
        else:
            usage = self._usage(user_id)
            cash = self.cash(user_id)
        debits = self._debits(usage)
        net = cash - debits
        return {
            "enabled": True,
            "net": money(net),
            "available": {
                "adhoc_margin": 0,
                "cash": money(cash),
                "opening_balance": money(cash),
                "live_balance": money(net),
                "collateral": 0,
                "intraday_payin": 0,
            },
            "utilised": {
                "debits": money(debits),
                "exposure": money(usage["exposure"]),
                "m2m_realised": money(usage["realised"]),
                "m2m_unrealised": money(usage["unrealised"]),
                "option_premium": money(usage["option_premium"]),
                "payout": 0,
                "span": money(usage["span"]),
                "holding_sales": money(usage["holding_sales"]),
                "turnover": 0,
                "liquid_collateral": 0,
                "stock_collateral": 0,
                "delivery": money(usage["var"]),
            },
        }


def _traded_at(order: Order) -> tuple[datetime, datetime, str]:
    """When ``order`` traded, as the desk orders its fills: the exchange's time of its last
    fill, else its placement."""
    return (order.exchange_update_timestamp or order.placed_at, order.placed_at, order.order_id)


__all__ = ["Funds"]
