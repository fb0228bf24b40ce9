"""What the HTTP API needs from the order desk, as a Protocol.

The API depends on this narrow interface instead of the engine class, so the edge can be tested
with an in-memory fake and the engine can change its internals freely. The engine's
``OrderDesk`` is fitted to it by :mod:`orderdesk.api.desk_adapter` where the names differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, Protocol

from orderdesk.domain.attribution import StrategyBook
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.day import Holding, PositionSnapshot
from orderdesk.domain.events import DayClosed, DayOpened, Event, PositionConverted
from orderdesk.domain.order import Order
from orderdesk.domain.position import Position
from orderdesk.domain.protection import KeptOrder
from orderdesk.domain.reports import Charges, MarginsReport, OrderStatusReport
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import InstrumentKey, OrderType, Product
from orderdesk.ports.broker import ConnectionState, HoldingsAuthorisation
from orderdesk.ports.store import VerifyReport

if TYPE_CHECKING:
    from orderdesk.doctor import Check, Diagnosis  # the engine with it: not for the CLI's imports


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    engaged: bool
    reason: str = ""
    cancelled: tuple[str, ...] = ()
    """Engaging with ``cancel_open``: the open orders a cancel was sent for."""
    kept: tuple[KeptOrder, ...] = ()
    """Engaging with ``cancel_open``: the open orders left working, as they can only reduce a
    position (:mod:`orderdesk.domain.protection`), each with its reason."""


@dataclass(frozen=True, slots=True)
class PositionExit:
    """What an exit did: its order (None: nothing to exit), and the ids of the orders working
    in the line it cancelled first."""

    order: Order | None
    cancelled: tuple[str, ...] = ()
    exposed: tuple[str, ...] = ()
    """Other strategies' orders working in the line the exit leaves without a position behind
    them (each would open one if it filled), in words."""


@dataclass(frozen=True, slots=True)
class ReconcileFinding:
    kind: str
    """E.g. ``external_order``, ``missed_fill``, ``status``, ``position``."""
    order_id: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class ReconcileSummary:
    findings: tuple[ReconcileFinding, ...]
    orders_checked: int
    trades_checked: int
    positions_checked: int


@dataclass(frozen=True, slots=True)
class ReconcileRecord:
    """The latest reconciliation the log holds: when it ran and what it found."""

    at: datetime
    orders_checked: int
    trades_checked: int
    mismatches: int
    findings: tuple[ReconcileFinding, ...]
    """The differences it recorded (at most the latest few)."""


SessionStateName = Literal["valid", "expired", "refused", "missing"]
"""The broker session's state: ``valid``; ``expired`` (the clock passed its end); ``refused``
(the broker refused it); ``missing`` (nobody has logged in yet)."""


@dataclass(frozen=True, slots=True)
class SessionStatus:
    """The broker session as the desk sees it; never the credentials."""

    state: SessionStateName
    expires_at: datetime | None
    since: datetime | None
    """When the current session reached the desk (None before the first)."""
    reason: str = ""

    @property
    def usable(self) -> bool:
        return self.state == "valid"


def health_word(
    connection: ConnectionState | None,
    session: SessionStatus,
    log_problem: str | None,
    *,
    reconciliation_fails: bool = False,
) -> Literal["ok", "degraded"]:
    """``ok`` when the event log can be written, the broker stream is connected (or there is
    none), the broker session is usable and the doctor does not fail the reconciliations
    (``reconciliation_fails``: past its patience the desk is blind to the broker's books);
    what `GET /api/health` and Telegram's ``/status`` both say (the bot's said OK while the log
    could not be written)."""
    stream_up = connection in (None, ConnectionState.CONNECTED)
    healthy = log_problem is None and stream_up and session.usable and not reconciliation_fails
    return "ok" if healthy else "degraded"


class StreamReading(StrEnum):
    """The broker's live stream as every surface reads it (the doctor, `orderdesk status`, the
    bot's /status), each in words of its own."""

    NONE = "none"
    """The broker has no live stream (the paper broker)."""
    IDLE = "idle"
    """No usable session (ended, refused, nobody logged in today): whatever the socket's state,
    it carries nothing and nothing can be polled until a login."""
    CONNECTED = "connected"
    """Connected, with a usable session."""
    DOWN = "down"
    """Not connected while the session is usable: the desk polls the order book meanwhile."""


def stream_reading(connected: bool | None, session_usable: bool) -> StreamReading:
    """The desk's one rule for reading its stream (``connected`` None: the broker has none).
    The session comes first: a socket open past 06:00 IST carries nothing, and one that dropped
    with the token is not polled for (a refused token reads nothing either)."""
    if connected is None:
        return StreamReading.NONE
    if not session_usable:
        return StreamReading.IDLE
    return StreamReading.CONNECTED if connected else StreamReading.DOWN


@dataclass(frozen=True, slots=True)
class DayRecord:
    """One trading day of the log: its opening checkpoint and, once closed, its close."""

    opened: DayOpened
    closed: DayClosed | None
    orders: int | None = None
    """How many orders the day's detail lists (those created during it), when known without
    reading them back: a past day's, from its close and the orders created after it. None:
    the list of days reads the day's orders to count them."""

    @property
    def day(self) -> date:
        return self.opened.day


@dataclass(frozen=True, slots=True)
class LossLimits:
    """The daily loss limits in force and the P&L they are held against: past its limit, the
    desk (or a strategy) refuses new risk and lets exits through."""

    limit: Decimal | None
    """The desk's limit in rupees (None: off)."""
    day_pnl: Decimal
    """The day's P&L, as the limit reads it: today's trades and carried positions from the
    previous close."""
    strategies: Mapping[str, Decimal]
    """Each strategy's own limit, where it has one (held against its own P&L)."""

    @property
    def reached(self) -> bool:
        return self.limit is not None and self.day_pnl <= -self.limit

    def strategy_reached(self, strategy: str, pnl: Decimal) -> bool:
        """Whether ``strategy``, at ``pnl`` (its own), is at its own loss limit."""
        own = self.strategies.get(strategy)
        return own is not None and pnl <= -own


class DeskService(Protocol):
    """The desk as the API drives it. Errors are orderdesk's own (see :mod:`orderdesk.errors`)."""

    async def submit(self, signal: Signal) -> Order:
        """Place ``signal``; raises ``RiskDenied`` or ``ValidationError`` when it is refused."""

    async def screen(self, signal: Signal) -> None:
        """Refuse ``signal`` now as ``submit`` would (``RiskDenied``, ``ValidationError``,
        ``SessionExpired``…, recorded and alerted alike), placing and counting nothing: what a
        signal that is to wait for approval goes through first."""

    async def modify(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
    ) -> Order: ...

    async def cancel(self, order_id: str) -> Order: ...

    async def cancel_all(self) -> Sequence[Order]:
        """Ask to cancel every open order; returns the orders a cancel was sent for."""

    async def exit_position(
        self,
        instrument: InstrumentKey,
        *,
        product: Product,
        strategy: str,
        reprice_after: float | None = None,
        max_reprices: int | None = None,
        band_percent: Decimal | None = None,
        cancel_working: bool = True,
    ) -> PositionExit:
        """Flatten the net position with an escalated exit (``order`` None: nothing to exit);
        the escalation's settings default to ``[exit]``'s. ``cancel_working``: first cancel
        the orders working in the line (the account's exit: all; a strategy's: its own), each
        confirmed ended; one that cannot be raises ``ExitBlocked`` and nothing is placed."""

    def orders(self) -> Sequence[Order]:
        """Today's orders (every order, when the desk keeps no trading days)."""

    def order(self, order_id: str) -> Order:
        """An order of any day; raises a ``LookupError`` when the desk has none by this id."""

    def event_log_problem(self) -> str | None:
        """Why the event log cannot be written (or read) now, its password never shown; None
        while it can be."""

    def children(self, order_id: str) -> Sequence[Order]:
        """Today's children of a sliced order (empty for any other order)."""

    def positions(self) -> Sequence[Position]:
        """Today's positions; carried ones start at the previous close (Kite's m2m), and CNC
        sales out of the day's holdings are valued from it too (not as shorts)."""

    def day_positions(self) -> Sequence[PositionSnapshot]:
        """Today's positions as the open day's figures read them: after the day's close, a
        position in a contract that expired with it reads realised, as the close recorded it;
        while a close the desk missed waits, an open quantity without a price is estimated.
        Every view of the live positions (``GET /api/positions``, the stream's status, a
        conversion's answer) shows these, so it agrees with the list of days."""

    def settled_contracts(self) -> Collection[InstrumentKey]:
        """The contracts :meth:`day_positions` reads settled (expired with the open day: its
        segment's close has passed, while the day is open again for an evening segment too): a
        strategy's share of one reads settled too."""

    def strategies(self) -> Mapping[str, StrategyBook]:
        """Each strategy's orders and P&L from its own fills, as the positions are valued."""

    def kill_switch(self) -> KillSwitchState: ...

    def loss_limits(self) -> LossLimits:
        """The day's P&L against the desk's loss limit, and each strategy's own limit."""

    async def set_kill_switch(
        self, engaged: bool, reason: str, *, cancel_open: bool = False
    ) -> KillSwitchState: ...

    def broker_connection(self) -> ConnectionState | None:
        """The live stream's state, or ``None`` when the broker has no stream."""

    def subscribe(self) -> AsyncIterator[Event]:
        """Events recorded from now on; registered before the first ``__anext__``."""

    async def reconcile(self) -> ReconcileSummary:
        """Compare local orders, fills and positions with the broker's now."""

    def session(self) -> SessionStatus: ...

    async def renew_session(self, access_token: str) -> SessionStatus:
        """Hand a fresh access token to the running desk; raises ``NoBrokerSession`` when the
        broker has no session to renew (the paper broker)."""

    def now(self) -> datetime:
        """The desk's time: the wall clock, or the simulator's with ``clock = "simulator"``.
        What the API stamps and counts against, so that its figures agree with the desk's."""

    def trading_day(self) -> date | None:
        """The trading day the desk has open (None without days, or before the first)."""

    def close_waits(self) -> bool:
        """Whether the open day's close is due and was missed: it waits for the broker (a
        login), and the day's figures are estimates until then."""

    def days(self) -> Sequence[DayRecord]:
        """Every trading day in the log, oldest first (today's included once opened); a past
        closed day's with its count of orders, so that listing the days reads none back."""

    def day_orders(self, day: date) -> Sequence[Order]:
        """The orders of trading day ``day`` (today's: the live ones)."""

    async def orders_of_days(self, days: Sequence[date]) -> list[Sequence[Order]]:
        """The orders of each of these trading days, in their order (today's: the live ones;
        none for a day the log does not hold). Earlier days are read back from the log away
        from the event loop, so a range of months does not stand the desk still."""

    def day_conversions(self, day: date | None) -> Sequence[PositionConverted]:
        """The position conversions made during trading day ``day``, in log order (None:
        every one in the log; none for a day the log does not hold)."""

    def holdings(self) -> Sequence[Holding]:
        """Delivered stock as the broker showed it when today's trading day opened; raises
        :class:`~orderdesk.errors.NotOffered` when the broker keeps none (the paper broker)."""

    async def authorise_holdings(
        self, quantities: Mapping[InstrumentKey, int | None]
    ) -> HoldingsAuthorisation:
        """Ask the broker for the day's authorisation to sell these holdings (a quantity of
        None: the whole holding as the day opened with it; none named: every holding); raises
        :class:`~orderdesk.errors.NotOffered` when the broker has no such thing."""

    async def convert_position(
        self,
        instrument: InstrumentKey,
        old: Product,
        new: Product,
        *,
        quantity: int | None,
        overnight: bool,
    ) -> PositionConversion:
        """Convert the position in ``instrument`` from ``old`` to ``new`` at the broker (all it
        has to convert when ``quantity`` is None; the side is the position's); returns what
        was converted. :class:`~orderdesk.domain.errors.ValidationError` when the desk's
        position cannot give it, :class:`~orderdesk.errors.NotOffered` for a broker without
        conversions, the broker's error when it refuses."""

    async def doctor(self, *, placed_today: int = 0) -> Diagnosis:
        """The pre-flight (:mod:`orderdesk.doctor`): asks the broker's pre-flight now, when it
        offers one, and adds what the desk knows. ``placed_today``: the placements the broker
        answered today as the desk counted them, the refused ones too, which the broker's book
        (the pre-flight's count) does not list while the broker counts them all the same."""

    # -- what the dashboard shows besides orders and positions ----------------------------------

    def recent_events(self, limit: int) -> Sequence[Event]:
        """The latest ``limit`` events of the log, oldest first (the page's history on load)."""

    async def order_events(self, order_id: str) -> Sequence[Event]:
        """Every event of one order, oldest first: its timeline from signal to fill (the news
        the desk has applied included, whose commit may be riding with the next one)."""

    async def margins(self) -> MarginsReport:
        """Funds and margins as the broker reports them now."""

    async def order_charges(self, reports: Sequence[OrderStatusReport]) -> list[Charges]:
        """The charges of these executed orders, one per report in order, from the broker's
        calculator; raises :class:`~orderdesk.errors.NotOffered` when the broker has none."""

    def last_reconciliation(self) -> ReconcileRecord | None:
        """The newest reconciliation in the log, or None before the first."""

    def reconciliation_failing(self) -> Check | None:
        """The doctor's reconciliation check while the latest pass failed (warn, or fail once
        they have kept failing); None while it succeeded, or before the first."""

    def verify_log(self) -> VerifyReport:
        """Walk the event log's hash chain now."""

    async def record_command(
        self, operator: str, command: str, outcome: str, params: str = ""
    ) -> None:
        """Write an operator's decision that leaves no other trace in the log (a rejected
        signal) as ``OperatorCommandHandled``."""


__all__ = [
    "DayRecord",
    "DeskService",
    "KillSwitchState",
    "LossLimits",
    "PositionExit",
    "ReconcileFinding",
    "ReconcileRecord",
    "ReconcileSummary",
    "SessionStateName",
    "SessionStatus",
    "StreamReading",
    "health_word",
    "stream_reading",
]
