"""Per-strategy risk limits, applied in addition to the desk-wide ones.

A strategy with its own :class:`~orderdesk.engine.risk.RiskLimits` gets the same checks, but
each sees a :class:`StrategyRiskContext`: open orders, the day's P&L and net positions counted
from that strategy's orders and its share of the positions carried into the day (from the
previous close, as the desk's loss limit counts them), with the broker's square-off and the
orders placed outside the desk closing what it held, and its own orders closing what they
reduce of ``external``'s (:mod:`orderdesk.domain.attribution`; prices and margins are the
desk's). A denial keeps the check's name and says
that it was the strategy's limit. The kill switch stays desk-wide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from orderdesk.domain.attribution import (
    StrategyBook,
    attribute,
    is_account_exit,
    is_own_square_off,
)
from orderdesk.domain.calendar import TradingCalendar
from orderdesk.domain.order import Order
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import InstrumentKey, Product
from orderdesk.engine.book import OrderBook
from orderdesk.engine.context import working_with
from orderdesk.engine.risk import (
    MODIFY_TERMS,
    ORDER_TERMS,
    CountingCheck,
    KillSwitch,
    KillSwitchCheck,
    OrdersPerMinute,
    OrdersSent,
    RiskCheck,
    RiskContext,
    RiskGate,
    RiskLimits,
    checks_for,
    exit_check,
)
from orderdesk.errors import RiskDenied


class StrategyRiskContext:
    """The desk's :class:`RiskContext` narrowed to one strategy's orders and fills (and the
    broker's square-offs of its intraday positions, told apart by ``calendar``)."""

    def __init__(
        self,
        strategy: str,
        book: OrderBook,
        desk: RiskContext,
        calendar: TradingCalendar | None = None,
    ) -> None:
        self.strategy = strategy
        self._book = book
        self._desk = desk
        self._calendar = calendar
        self._sent = desk if isinstance(desk, OrdersSent) else None
        """The desk's context as an :class:`OrdersSent` (the desk's is one): its clock (past
        whose square-off a share the account is flat in is crossed) and the orders sent,
        which the strategy's own order rate is counted from."""

    def _books(self, *, all_strategies: bool = False) -> dict[str, StrategyBook]:
        """The strategy's book (with ``all_strategies``, every strategy's: how the day's
        delivered stock is shared among them needs them all)."""
        holdings = (self._book.holdings or {}).values()
        return attribute(
            self._book.orders.values(),
            self._book.last_prices,
            holdings,
            self._calendar,
            strategy=None if all_strategies else self.strategy,
            carried=self._book.carried,
            shares=self._book.shares,
            conversions=self._book.conversions,
            now=self._sent.now() if self._sent is not None else None,
        )

    def _own_book(self) -> StrategyBook:
        return self._books().get(self.strategy) or StrategyBook(self.strategy)

    def open_order_count(self) -> int:
        return self._book.open_by_strategy[self.strategy]

    def day_pnl(self) -> Decimal:
        return self._own_book().pnl

    def net_position(self, instrument: InstrumentKey, product: Product) -> int:
        """Its own position in the line (its fills and carried share). For CNC the day's
        delivered stock counts as the exit and the P&L count it: the strategy's sale out of it
        is no short (buying it back reduces nothing), and the stock no strategy has sold yet
        is there for any to sell, as the strategies draw on it in the order their sales come."""
        holding = (self._book.holdings or {}).get(instrument)
        if product is not Product.CNC or holding is None or not holding.total:
            position = self._own_book().positions.positions.get((instrument, product))
            return position.quantity if position is not None else 0
        books = self._books(all_strategies=True)
        key = (instrument, product)
        drawn = sum(line.held for b in books.values() if (line := b.positions.positions.get(key)))
        unsold = holding.total - drawn
        own = books.get(self.strategy)
        position = own.positions.positions.get(key) if own is not None else None
        if position is None:
            return unsold
        return position.quantity + position.from_holdings + unsold

    def working_with(self, signal: Signal) -> int:
        # Its own orders, and the desk's exits and square-offs of the whole line, whose
        # fills close the strategies' positions there as well.
        return working_with(signal, self._book, self._fills_its_positions)

    def _fills_its_positions(self, order: Order) -> bool:
        return (
            order.signal.strategy == self.strategy
            or is_account_exit(order)
            or is_own_square_off(order)
        )

    def monotonic(self) -> float:
        return self._desk.monotonic()

    def now(self) -> datetime:
        return self._desk_sent().now()

    def sent_since(self, strategy: str, since: datetime) -> list[datetime]:
        return self._desk_sent().sent_since(strategy, since)

    def _desk_sent(self) -> OrdersSent:
        if self._sent is None:
            raise TypeError(
                f"{type(self._desk).__name__} is no OrdersSent: a strategy's own order rate is "
                "counted on the desk's clock, from the orders it sent"
            )
        return self._sent

    async def last_price(self, instrument: InstrumentKey) -> Decimal | None:
        return await self._desk.last_price(instrument)

    async def required_margin(self, signal: Signal) -> Decimal:
        return await self._desk.required_margin(signal)

    async def available_funds(self, signal: Signal) -> Decimal:
        return await self._desk.available_funds(signal)


@dataclass(slots=True)
class StrategyCheck:
    """One of a strategy's own checks: asks its strategy's context, names the strategy."""

    inner: RiskCheck
    context: StrategyRiskContext
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.inner.name

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        reason = await self.inner.check(signal, self.context)
        return None if reason is None else f"strategy {self.context.strategy}: {reason}"

    def record(self, signal: Signal, context: RiskContext) -> None:
        """Count the signal in the strategy's own check, if that one counts."""
        if isinstance(self.inner, CountingCheck):
            self.inner.record(signal, self.context)


def _unwrapped(check: RiskCheck) -> RiskCheck:
    """The check itself: a strategy's own check is the desk's kind of check, scoped."""
    return check.inner if isinstance(check, StrategyCheck) else check


def _is_rate(check: RiskCheck) -> bool:
    return isinstance(_unwrapped(check), OrdersPerMinute)


ScreenKind = Literal["terms", "modify", "exit"]


def _kept_if(kind: tuple[type[RiskCheck], ...]) -> Callable[[RiskCheck], RiskCheck | None]:
    return lambda check: check if isinstance(_unwrapped(check), kind) else None


def _for_exit(check: RiskCheck) -> RiskCheck | None:
    """The check an exit meets in place of ``check`` (``risk.exit_check``), a strategy's own
    one still scoped to it."""
    inner = _unwrapped(check)
    instead = exit_check(inner)
    return check if instead is inner else instead


_SCREENS: dict[ScreenKind, Callable[[RiskCheck], RiskCheck | None]] = {
    "terms": _kept_if(ORDER_TERMS),
    "modify": _kept_if(MODIFY_TERMS),
    "exit": _for_exit,
}
"""What each screening makes of each check, by the desk's kind of check (see ``risk``): the
check itself, another in its place, or None to leave it out."""


class StrategyRisk:
    """The desk's checks plus, for a strategy that has them, its own scoped checks."""

    def __init__(
        self,
        gate: RiskGate,
        limits: Mapping[str, RiskLimits],
        book: OrderBook,
        context: RiskContext,
        calendar: TradingCalendar | None = None,
    ) -> None:
        """``calendar``: the desk's trading days, which tell the broker's square-off apart
        (None: the desk keeps no days, and takes no order for one)."""
        self.gate = gate
        self._gates: dict[str, RiskGate] = {}
        self._screens: dict[tuple[str, ScreenKind], RiskGate] = {}
        self.own: dict[str, list[RiskCheck]] = {}
        for strategy, strategy_limits in limits.items():
            scoped = StrategyRiskContext(strategy, book, context, calendar)
            self.own[strategy] = [
                StrategyCheck(check, scoped)
                for check in checks_for(strategy_limits, KillSwitch())
                if not isinstance(check, KillSwitchCheck)  # the desk's switch is the switch
            ]

    def checks_for(self, strategy: str) -> Sequence[RiskCheck]:
        """Desk-wide checks, then the strategy's; the rate checks last of all (a denial then
        names the limit a person set, not the rate that follows from it)."""
        own = self.own.get(strategy)
        if not own:
            return self.gate.checks
        combined = [*self.gate.checks, *own]
        return [c for c in combined if not _is_rate(c)] + [c for c in combined if _is_rate(c)]

    async def evaluate(
        self, signal: Signal, context: RiskContext, *, record: bool = True
    ) -> RiskDenied | None:
        """The desk's and the strategy's checks; ``record=False`` screens without counting."""
        return await self._gate(signal.strategy).evaluate(signal, context, record=record)

    async def screen_terms(self, signal: Signal, context: RiskContext) -> RiskDenied | None:
        """Only the checks that judge an order by its own terms (``risk.ORDER_TERMS``), the
        desk's and the strategy's, counting nothing: for an order a trigger will place later."""
        return await self._screen(signal.strategy, "terms").evaluate(signal, context, record=False)

    async def screen_modify(self, signal: Signal, context: RiskContext) -> RiskDenied | None:
        """The checks new terms for a working order are held to (``risk.MODIFY_TERMS``), the
        desk's and the strategy's, counting nothing: ``signal`` is the order's with the new
        terms."""
        return await self._screen(signal.strategy, "modify").evaluate(signal, context, record=False)

    async def screen_exit(self, signal: Signal, context: RiskContext) -> RiskDenied | None:
        """Every check but those a desk-made exit is exempt from (``risk.EXIT_EXEMPT``), the
        desk's and the strategy's, counting nothing (an exit is not the strategy's order); the
        kill switch lets it through while it only reduces the position
        (``risk.KillSwitchExit``)."""
        return await self._screen(signal.strategy, "exit").evaluate(signal, context, record=False)

    def _screen(self, strategy: str, kind: ScreenKind) -> RiskGate:
        gate = self._screens.get((strategy, kind))
        if gate is None:
            screened = (_SCREENS[kind](check) for check in self.checks_for(strategy))
            checks = [check for check in screened if check is not None]
            gate = self._screens[strategy, kind] = RiskGate(checks)
        return gate

    def _gate(self, strategy: str) -> RiskGate:
        # One gate per strategy, made once: making it per signal cost 4% of the daemon's time.
        gate = self._gates.get(strategy)
        if gate is None:
            gate = self._gates[strategy] = (
                RiskGate(self.checks_for(strategy)) if self.own.get(strategy) else self.gate
            )
        return gate


__all__ = ["StrategyCheck", "StrategyRisk", "StrategyRiskContext"]
