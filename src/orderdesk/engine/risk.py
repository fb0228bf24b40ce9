"""The risk gate: pluggable pre-trade checks, each a small class, configured by ``RiskLimits``.

A check looks at one signal and the desk's current picture (:class:`RiskContext`) and returns
the reason it denies, or ``None``. The gate runs the checks in order and stops at the first
denial; the desk turns that into a ``SignalDenied`` event, an alert and a
:class:`~orderdesk.errors.RiskDenied` for the caller. Checks that need a price or margins fail
closed: a limit that cannot be evaluated denies, because "we could not check" is not "safe".
That includes a broker that does not answer within a few seconds (the desk's context bounds
its reads): the signal is refused at once, saying so, rather than held until it answers.

Asking is not counting. A check that keeps a count (the order rate) is a
:class:`CountingCheck`: its ``check`` only looks, and the gate calls its ``record`` once every
check has let the signal through. So a signal denied by a later check is not counted, and a
signal screened before it waits for approval (``evaluate(..., record=False)``) is counted once,
when it is finally submitted.

The order rate is counted on the desk's clock (the simulator's under ``clock = "simulator"``),
and a restart does not forget it: the strategy's orders of the last minute are in the desk's
book, and its window starts from them (:class:`OrdersSent`).
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol, cast, runtime_checkable

from orderdesk.domain.calendar import IST, SEGMENT_OF, TradingCalendar, as_ist
from orderdesk.domain.contracts import multiplier_of
from orderdesk.domain.day import INTRADAY
from orderdesk.domain.money import to_paise
from orderdesk.domain.protection import KillSwitchCancel
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import Exchange, InstrumentKey, OrderType, Product, Side, Variety
from orderdesk.engine.errors import SessionExpired
from orderdesk.errors import RiskDenied
from orderdesk.ports.clock import Clock

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimits:
    """Pre-trade limits; ``None`` switches a check off. The config maps ``[risk]`` onto this."""

    max_quantity: int | None = None
    max_order_value: Decimal | None = None
    """Rupees: quantity × price (or × last price for market orders)."""
    allowed_exchanges: frozenset[Exchange] | None = None
    allowed_symbols: frozenset[str] | None = None
    """``"NSE:INFY"`` entries, or bare ``"INFY"`` for any exchange."""
    blocked_symbols: frozenset[str] = frozenset()
    """Entries as in ``allowed_symbols``; refused even when allowed (exits included, like the
    allow-list: a blocked symbol is one the user does not want the desk to touch)."""
    max_open_orders: int | None = None
    daily_loss_limit: Decimal | None = None
    """A positive rupee amount: once the day's P&L is at or below its negative, only orders
    that reduce a position are allowed."""
    price_band_percent: Decimal | None = None
    """How far (percent) a limit or trigger price may sit from the last price."""
    check_margin: bool = False
    """Ask the broker what the order would block and compare with the available funds."""
    max_orders_per_minute: int | None = None
    """Per strategy, over a sliding 60-second window."""


class PriceUnreadable(Exception):
    """The broker could not be asked for a last price (a 5xx, a 429, no connection, no answer
    in time): the checks that need it fail closed, saying why, rather than "no last price"."""


class RiskContext(Protocol):
    """What the checks may ask the desk; tests pass small fakes."""

    def open_order_count(self) -> int: ...

    def day_pnl(self) -> Decimal: ...

    def net_position(self, instrument: InstrumentKey, product: Product) -> int:
        """The net quantity held in ``instrument`` and ``product`` alone (the broker keeps a
        position per product: an MIS buy never closes an NRML short); for CNC, with the day's
        delivered stock still held, which a CNC sale draws on first."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: the order rate's, for a context that is
        no :class:`OrdersSent` (a test's small fake)."""
        ...

    async def last_price(self, instrument: InstrumentKey) -> Decimal | None:
        """The last traded price (None: none known for it); :class:`PriceUnreadable` when the
        broker could not be asked, ``SessionExpired`` when it refused the session."""
        ...

    async def required_margin(self, signal: Signal) -> Decimal: ...

    async def available_funds(self, signal: Signal) -> Decimal: ...


@runtime_checkable
class WorkingOrders(Protocol):
    """A :class:`RiskContext` that also knows the orders working at the broker. The desk's
    contexts do; without it a check sees the signal alone (a test's small fake)."""

    def working_with(self, signal: Signal) -> int:
        """What would be working on ``signal``'s side of its instrument and product once it is
        sent: its unfilled quantity (a modify's new quantity less what its order has filled)
        plus the unfilled remainder of every other order working there."""
        ...


@runtime_checkable
class OrdersSent(Protocol):
    """A :class:`RiskContext` that also knows the desk's clock and the orders it has sent. The
    desk's contexts do: the order rate is then counted on the desk's clock, and a window opened
    after a restart starts with the orders the last process sent. Without it (a test's small
    fake) the rate is counted on ``monotonic()``, from the signals recorded alone."""

    def now(self) -> datetime:
        """The desk's clock (the simulator's under ``clock = "simulator"``)."""
        ...

    def sent_since(self, strategy: str, since: datetime) -> list[datetime]:
        """When the orders ``strategy`` sent through the risk gate (``submit``, a basket) at
        or after ``since`` were created, on the desk's clock."""
        ...


class RiskCheck(Protocol):
    """One pre-trade rule. ``name`` appears in the denial, the event and the alert."""

    name: str

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        """The reason to deny ``signal``, or ``None`` to let it through; counts nothing."""


@runtime_checkable
class CountingCheck(RiskCheck, Protocol):
    """A check that counts the signals it has let through (the order rate)."""

    def record(self, signal: Signal, context: RiskContext) -> None:
        """Count ``signal``: called once every check has let it through, never on a screening."""


class KillSwitch:
    """Engaged: no new orders, but the desk's exits and sales of stock held (see
    :class:`KillSwitchCheck`). Shared by the desk and its check."""

    def __init__(self) -> None:
        self.engaged = False
        self.reason = ""
        self.cancel = KillSwitchCancel()
        """What the engagement in force did to the open orders (``cancel_open``): the orders
        a cancel was sent for and those kept, whoever engaged it (an operator, the loss limit,
        which nobody answers). Not in the log: after a restart, or a release, it is empty."""

    def refusal(self) -> str | None:
        """Why nothing new may reach the broker now, or None when the switch is released."""
        if self.engaged:
            return f"the kill switch is engaged ({self.reason or 'no reason given'})"
        return None


@dataclass(slots=True)
class KillSwitchCheck:
    """The switch as a new order meets it: engaged, it refuses every one but a CNC sale of
    stock the account holds, which can only take exposure away. Without that, holdings could
    not be sold through the desk once the switch was engaged, the loss limit's too, which a
    sale of holdings at a loss may itself engage. What is held is the CNC line as
    :func:`_not_reducing` reads it for an exit (the day's opening holdings with today's CNC
    trades, the sales already working counted against it), so a sale beyond it, a short, is
    refused. Reductions in other products go by the desk's exit
    (:class:`KillSwitchExit`)."""

    switch: KillSwitch
    name: str = "kill_switch"

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        refusal = self.switch.refusal()
        if refusal is None or signal.product is not Product.CNC or signal.side is not Side.SELL:
            return refusal
        why = _not_reducing(signal, context)
        if why is None:
            return None
        return f"{refusal}; a CNC sale goes through it only out of stock held: {why}"


@dataclass(slots=True)
class SquareOffCutoff:
    """No fresh MIS/CO order after the broker's square-off time of its segment, until the next
    trading day: the broker refuses them then, and squares off what is open. An after-market
    order (AMO) is for the next session, whose square-off is still ahead: it goes, on a
    weekend or a holiday too."""

    calendar: TradingCalendar
    clock: Clock
    name: str = "square_off"

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        if signal.product not in INTRADAY and signal.variety is not Variety.CO:
            return None
        if signal.variety is Variety.AMO:
            return None
        exchange = signal.instrument.exchange
        now = self.clock.now()
        cutoff = self.calendar.square_off_passed(exchange, now)
        if cutoff is None:
            return None
        # A weekend or a holiday still belongs to the trading day before it, whose square-off
        # has passed: but the true reason is that there is no session today.
        today = as_ist(now).date()
        if not self.calendar.is_trading_day(today):
            return self._no_session(today)
        return (
            f"MIS/CO orders are refused after the broker's square-off at "
            f"{cutoff.astimezone(IST):%H:%M} IST ({SEGMENT_OF[exchange]}); use CNC/NRML, or "
            "wait for the next trading day"
        )

    def _no_session(self, today: date) -> str:
        following = self.calendar.next_trading_day(today)
        closed = "a weekend" if today.weekday() >= 5 else "a market holiday"
        return (
            f"MIS/CO orders wait for the next trading day's session ({following:%a %Y-%m-%d}): "
            f"no intraday position can be opened on {today:%a %Y-%m-%d}, {closed}"
        )


@dataclass(slots=True)
class MaxQuantity:
    limit: int
    name: str = "max_quantity"

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        if signal.quantity > self.limit:
            return f"quantity {signal.quantity} exceeds the limit of {self.limit}"
        return None


@dataclass(slots=True)
class AllowedExchanges:
    exchanges: frozenset[Exchange]
    name: str = "allowed_exchanges"

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        if signal.instrument.exchange not in self.exchanges:
            allowed = ", ".join(sorted(e.value for e in self.exchanges))
            return f"{signal.instrument.exchange} is not an allowed exchange ({allowed})"
        return None


@dataclass(slots=True)
class AllowedSymbols:
    symbols: frozenset[str]
    name: str = "allowed_symbols"

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        if _listed(signal.instrument, self.symbols):
            return None
        return f"{signal.instrument} is not an allowed symbol"


@dataclass(slots=True)
class BlockedSymbols:
    symbols: frozenset[str]
    name: str = "blocked_symbols"

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        if _listed(signal.instrument, self.symbols):
            return f"{signal.instrument} is a blocked symbol"
        return None


def _listed(instrument: InstrumentKey, symbols: frozenset[str]) -> bool:
    """Whether ``symbols`` names ``instrument`` as ``EXCHANGE:SYMBOL`` or as a bare symbol."""
    return str(instrument) in symbols or instrument.tradingsymbol in symbols


@dataclass(slots=True)
class MaxOpenOrders:
    limit: int
    name: str = "max_open_orders"

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        count = context.open_order_count()
        if count >= self.limit:
            return f"{count} orders are open; the limit is {self.limit}"
        return None


async def _reference_price(signal: Signal, context: RiskContext) -> Decimal | None:
    if signal.price is not None:
        return signal.price
    if signal.trigger_price is not None:
        return signal.trigger_price
    return await context.last_price(signal.instrument)


@dataclass(slots=True)
class MaxOrderValue:
    limit: Decimal
    name: str = "max_order_value"

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        try:
            price = await _reference_price(signal, context)
        except PriceUnreadable as exc:
            return f"could not read the last price of {signal.instrument} to value it: {exc}"
        if price is None:
            return f"no price to value {signal.instrument} against the limit"
        # A lot of MCX crude quoted at 5,600 is 100 barrels: 560,000 of exposure, not 5,600.
        value = price * signal.quantity * multiplier_of(signal.instrument)
        if value > self.limit:
            return f"order value {to_paise(value)} exceeds the limit of {self.limit}"
        return None


def _working_with(signal: Signal, context: RiskContext) -> int:
    """What would work on ``signal``'s side of its line once it is sent (see
    :class:`WorkingOrders`); a context that knows no orders has only the signal."""
    if isinstance(context, WorkingOrders):
        return context.working_with(signal)
    return signal.quantity


def _position_words(held: int, signal: Signal) -> str:
    direction = "long" if held > 0 else "short"
    return f"the {direction} {abs(held)} {signal.product} held in {signal.instrument}"


def _beyond(signal: Signal, held: int, context: RiskContext) -> str | None:
    """Why ``signal``, on the other side of the ``held`` position in its line, would take more
    than that position, or None when it would not: the orders already working on its side fill
    against the same position, so they count with it (two sales of one long, both filled,
    leave the account short)."""
    working = _working_with(signal, context)
    if working <= abs(held):
        return None
    already = working - signal.quantity
    if already <= 0:
        return f"{signal.side} {signal.quantity} is more than {_position_words(held, signal)}"
    return (
        f"{signal.side} {signal.quantity} with {already} already working on that side is more "
        f"than {_position_words(held, signal)}; cancel the working orders first"
    )


def _not_reducing(signal: Signal, context: RiskContext) -> str | None:
    """Why ``signal`` is not only a reduction of the position in its instrument and product,
    or None when it is (see :func:`_beyond`)."""
    held = context.net_position(signal.instrument, signal.product)
    if not held:
        return f"nothing is held in {signal.instrument} {signal.product} to reduce"
    if held * signal.side.sign > 0:
        return f"a {signal.side} adds to {_position_words(held, signal)}"
    return _beyond(signal, held, context)


@dataclass(slots=True)
class DailyLossLimit:
    """Past the limit only an order that reduces a position in its own product goes, and only
    as far as that position, counting the orders already working against it."""

    limit: Decimal
    name: str = "daily_loss_limit"

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        pnl = context.day_pnl()
        if pnl > -self.limit:
            return None
        refusal = f"the day's P&L {to_paise(pnl)} is at the loss limit of {self.limit}"
        held = context.net_position(signal.instrument, signal.product)
        if held * signal.side.sign >= 0:
            return refusal  # flat, or on the position's side: plainly new exposure
        beyond = _beyond(signal, held, context)
        if beyond is None:
            return None  # stopping out must stay possible after the loss limit is hit
        return f"{refusal}; only an order that reduces a position goes through: {beyond}"


@dataclass(slots=True)
class KillSwitchExit:
    """The kill switch as the desk's own exit meets it (``StrategyRisk.screen_exit``, in
    place of :class:`KillSwitchCheck`): the switch stops new risk, never the way out, so an
    exit goes through it as long as it only reduces the position in its product, counting the
    orders already working on its side."""

    switch: KillSwitch
    name: str = "kill_switch"

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        refusal = self.switch.refusal()
        if refusal is None:
            return None
        why = _not_reducing(signal, context)
        if why is None:
            return None
        return f"{refusal}; an exit goes through it only to reduce a position: {why}"


@dataclass(slots=True)
class PriceBand:
    """Fat-finger guard: limit and trigger prices must sit near the last traded price."""

    percent: Decimal
    name: str = "price_band"

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        terms = (("price", signal.price), ("trigger", signal.trigger_price))
        prices = [(term, price) for term, price in terms if price is not None]
        if not prices or signal.order_type is OrderType.MARKET:
            return None
        try:
            last = await context.last_price(signal.instrument)
        except PriceUnreadable as exc:
            return (
                f"could not read the last price of {signal.instrument} to check the price "
                f"band: {exc}"
            )
        if last is None or last <= 0:
            return f"no last price for {signal.instrument} to check the price band"
        for term, price in prices:
            distance = abs(price - last) / last * HUNDRED
            if distance > self.percent:
                return (
                    f"{term} {price} is {distance.quantize(Decimal('0.01'))}% from the last "
                    f"price {last}; the band is {self.percent}%"
                )
        return None


@dataclass(slots=True)
class MarginAvailable:
    name: str = "margin"

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        try:
            required = await context.required_margin(signal)
            available = await context.available_funds(signal)
        except SessionExpired:
            raise  # the session's end, not this check's: refused as any signal without one
        except Exception as exc:  # any broker failure: cannot prove the funds are there
            return f"could not check margins: {exc}"
        if required > available:
            return (
                f"the order needs {to_paise(required)} margin; {to_paise(available)} is available"
            )
        return None


@dataclass(slots=True)
class _Window:
    """One strategy's orders in the rate's window, as seconds on its context's clock."""

    dated: bool
    """Seconds on the desk's clock (an :class:`OrdersSent` context), else ``monotonic()``."""
    times: collections.deque[float]

    def now(self, context: RiskContext) -> float:
        if self.dated:
            # Opened on an OrdersSent context: the check is always asked with the same one
            # (the desk's, or its strategy's), and isinstance would cost 9 µs a signal.
            return cast("OrdersSent", context).now().timestamp()
        return context.monotonic()


@dataclass(slots=True)
class OrdersPerMinute:
    """Per strategy, over the last 60 s of the desk's clock. A :class:`CountingCheck`: a
    signal counts when the gate records it, i.e. once every check has let it through and it is
    really submitted.

    A strategy's window opens with the orders it sent in the last minute, from the desk's
    book (:class:`OrdersSent`): a restart, or a crash loop, gives it no fresh minute. From then
    on it counts what the gate records, which includes a signal let through whose order is not
    in the book yet (a basket's legs are admitted before any is placed)."""

    limit: int
    window: float = 60.0
    name: str = "orders_per_minute"
    _seen: dict[str, _Window] = field(default_factory=dict, repr=False)

    async def check(self, signal: Signal, context: RiskContext) -> str | None:
        seen, _now = self._recent(signal.strategy, context)
        if len(seen) >= self.limit:
            return (
                f"strategy {signal.strategy!r} sent {len(seen)} orders in the last minute; "
                f"the limit is {self.limit} a minute"
            )
        return None

    def record(self, signal: Signal, context: RiskContext) -> None:
        seen, now = self._recent(signal.strategy, context)
        seen.append(now)

    def _recent(
        self, strategy: str, context: RiskContext
    ) -> tuple[collections.deque[float], float]:
        """The strategy's orders still in the window, and the time it was read at."""
        window = self._seen.get(strategy)
        if window is None:
            window = self._seen[strategy] = self._opened(strategy, context)
        now = window.now(context)
        seen = window.times
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        return seen, now

    def _opened(self, strategy: str, context: RiskContext) -> _Window:
        """A window for ``strategy``, holding what it sent in the last minute when the context
        knows (once per strategy: the isinstance against a Protocol costs 9 µs)."""
        if not isinstance(context, OrdersSent):
            return _Window(dated=False, times=collections.deque())
        since = context.now() - timedelta(seconds=self.window)
        sent = sorted(at.timestamp() for at in context.sent_since(strategy, since))
        return _Window(dated=True, times=collections.deque(sent))


def checks_for(limits: RiskLimits, switch: KillSwitch) -> list[RiskCheck]:
    """The checks ``limits`` switches on, cheapest first, the stateful rate check last."""
    checks: list[RiskCheck] = [KillSwitchCheck(switch)]
    if limits.allowed_exchanges is not None:
        checks.append(AllowedExchanges(limits.allowed_exchanges))
    if limits.allowed_symbols is not None:
        checks.append(AllowedSymbols(limits.allowed_symbols))
    if limits.blocked_symbols:
        checks.append(BlockedSymbols(limits.blocked_symbols))
    if limits.max_quantity is not None:
        checks.append(MaxQuantity(limits.max_quantity))
    if limits.max_open_orders is not None:
        checks.append(MaxOpenOrders(limits.max_open_orders))
    if limits.daily_loss_limit is not None:
        checks.append(DailyLossLimit(limits.daily_loss_limit))
    if limits.max_order_value is not None:
        checks.append(MaxOrderValue(limits.max_order_value))
    if limits.price_band_percent is not None:
        checks.append(PriceBand(limits.price_band_percent))
    if limits.check_margin:
        checks.append(MarginAvailable())
    if limits.max_orders_per_minute is not None:
        checks.append(OrdersPerMinute(limits.max_orders_per_minute))
    return checks


ORDER_TERMS: tuple[type[RiskCheck], ...] = (
    KillSwitchCheck,
    AllowedExchanges,
    AllowedSymbols,
    BlockedSymbols,
    MaxQuantity,
    MaxOrderValue,
)
"""The checks that judge an order by its own terms (what, how many, how much), not by the desk
at the moment it is sent. They are the ones an order placed later by a trigger (a GTT's leg, an
ATO's basket) can be held to when the trigger is made: open orders, the order rate, the day's
loss, the price band and the margin belong to a moment that may be days away."""

MODIFY_TERMS: tuple[type[RiskCheck], ...] = (*ORDER_TERMS, DailyLossLimit, PriceBand)
"""The checks a working order's new terms are held to before a modify is sent: its own terms
(the kill switch with them: new terms are new risk, but for a sale of stock held), the day's
loss limit (more exposure after it) and the price band (a slipped digit in a new price). Not the
open orders or the order rate (a modify places no order), nor the margin (the order's is
blocked already)."""

EXIT_EXEMPT: tuple[type[RiskCheck], ...] = (
    KillSwitchCheck,
    MaxQuantity,
    MaxOrderValue,
    MaxOpenOrders,
    OrdersPerMinute,
    PriceBand,
    MarginAvailable,
)
"""The checks a desk-made exit (``OrderDesk.exit_position``, and its re-prices) does not pass:
it only takes exposure away, and its quantity is the broker's position, not a typed number, so
the limits on what an order may add would keep a large position open exactly when it must go.
The kill switch is met as :class:`KillSwitchExit` (see :func:`exit_check`): it lets an exit
through only while it reduces the position. The symbol lists and the day's loss limit (which
lets a reducing order through) still apply."""


def exit_check(check: RiskCheck) -> RiskCheck | None:
    """The check a desk-made exit meets in place of ``check``: none for the ones in
    :data:`EXIT_EXEMPT`, the kill switch as :class:`KillSwitchExit`, the others as they are."""
    if isinstance(check, KillSwitchCheck):
        return KillSwitchExit(check.switch)
    return None if isinstance(check, EXIT_EXEMPT) else check


class RiskGate:
    """Runs the checks in order; the first denial wins."""

    def __init__(self, checks: Sequence[RiskCheck]) -> None:
        self.checks = list(checks)
        # Sorted out once: isinstance against a runtime-checkable Protocol inspects the
        # class's members each time, 2.5% of the daemon's time per signal when done per check.
        self._counting = [check for check in self.checks if isinstance(check, CountingCheck)]

    async def evaluate(
        self, signal: Signal, context: RiskContext, *, record: bool = True
    ) -> RiskDenied | None:
        """The first denial, or ``None``; a signal let through is counted by the counting
        checks unless ``record`` is false (a screening: the signal is not submitted yet)."""
        for check in self.checks:
            reason = await check.check(signal, context)
            if reason is not None:
                return RiskDenied(check.name, reason)
        if record:
            for counting in self._counting:
                counting.record(signal, context)
        return None


__all__ = [
    "EXIT_EXEMPT",
    "MODIFY_TERMS",
    "ORDER_TERMS",
    "AllowedExchanges",
    "AllowedSymbols",
    "CountingCheck",
    "DailyLossLimit",
    "KillSwitch",
    "KillSwitchCheck",
    "KillSwitchExit",
    "MarginAvailable",
    "MaxOpenOrders",
    "MaxOrderValue",
    "MaxQuantity",
    "OrdersPerMinute",
    "OrdersSent",
    "PriceBand",
    "RiskCheck",
    "RiskContext",
    "RiskGate",
    "RiskLimits",
    "SquareOffCutoff",
    "WorkingOrders",
    "checks_for",
    "exit_check",
]
