"""The engine's timings and limits (risk limits live in :mod:`orderdesk.engine.risk`).

Defaults suit Kite; tests shrink the delays so that resolution and polling run in
milliseconds without changing what they decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from decimal import Decimal
from enum import StrEnum

from orderdesk.domain.calendar import TradingCalendar
from orderdesk.engine.algo_ids import AlgoIds

NSE_FREEZE_QUANTITIES: Mapping[str, int] = {
    "NIFTY": 1800,
    "BANKNIFTY": 900,
    "FINNIFTY": 1800,
    "MIDCPNIFTY": 2800,
    "SENSEX": 1000,
    "BANKEX": 900,
}
"""Exchange freeze limits (units) of index derivatives by underlying, from NSE/BSE circulars.
Kite's instrument dump has no freeze column, so without these an order above the limit would
only be refused by the exchange. They change a few times a year: keep them current."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DayRules:
    """How the desk keeps its trading days (``[trading_day]`` in the config)."""

    calendar: TradingCalendar = field(default_factory=TradingCalendar)
    close_at: time = time(16, 15)
    """IST: the desk closes its day after the exchanges' mass cancel (16:00 for equity and
    derivatives); a day with currency or commodities in its book as long after theirs (17:00,
    23:45). Orders the broker still has working then (evening AMOs) stay open and are settled
    when the next day opens."""
    own_square_off_minutes: int = 0
    """Square off the desk's own MIS/CO positions this many minutes before the broker does
    (0: leave it to the broker; either way an alert says what happened)."""
    square_off_warning: timedelta = timedelta(minutes=10)
    """Warn this long before each segment's broker square-off of the MIS/CO positions it will
    close, while they can still be converted or exited (zero: no warning)."""
    session_warning: timedelta = timedelta(minutes=30)
    """Warn this long before the session expires (06:00 IST)."""
    login_reminder: timedelta = timedelta(minutes=15)
    """On a trading day without a usable session, remind this long before the market opens
    (09:00 for NSE's 09:15; zero: no reminder). The alarm at the opening comes either way."""
    holiday_years: frozenset[int] | None = None
    """The years the calendar's holiday list is known to cover (None: not checked). A day
    opened in a year outside them, or in a December before one, is alerted: an unknown holiday
    looks like a trading day."""


class LossLimitAction(StrEnum):
    """What the desk does the moment the day's loss reaches ``daily_loss_limit``."""

    ALERT = "alert"
    """Alert (new risk is refused by the risk check anyway; exits stay possible)."""
    KILL_SWITCH = "kill_switch"
    """Alert and engage the kill switch: no new orders until a person releases it; the
    desk's exits still go."""
    KILL_SWITCH_AND_CANCEL = "kill_switch_and_cancel"
    """Alert, engage the kill switch and cancel every open order."""


class Slicing(StrEnum):
    """Who splits an order above the exchange's freeze quantity (``[engine] slicing``)."""

    KITE = "kite"
    """The broker, in one placement (Kite's autoslice), where the adapter offers it; brokers
    without it (paper) get the desk's own slicing."""
    DESK = "desk"
    """The desk: one placement per slice, each a child order of its own id."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExitPolicy:
    """How ``exit_position`` makes sure an exit fills (``[exit]``; per call in the API/CLI).

    A protected MARKET exit rests as a LIMIT at its protected price when the market runs past
    it, and then never fills while the loss grows. So: not filled within ``reprice_after``
    seconds, its price moves to ``band_percent`` beyond the last price (through the market,
    within the band the broker's protection allows, clamped to the circuit limits), up to
    ``max_reprices`` times; still not filled, a CRITICAL alert. Each step is in the log."""

    reprice_after: float = 5.0
    max_reprices: int = 3
    band_percent: Decimal = Decimal(2)

    def __post_init__(self) -> None:
        if self.reprice_after <= 0:
            raise ValueError("reprice_after must be positive seconds")
        if self.max_reprices < 0:
            raise ValueError("max_reprices cannot be negative")
        if not 0 < self.band_percent <= 100:
            raise ValueError("band_percent must be above 0 and at most 100")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskConfig:
    """How patient the desk is, and how often it looks."""

    max_modifications: int = 25
    """Kite refuses the 26th modification of an order; we refuse it first, clearly."""

    resolve_first_delay: float = 0.5
    """Seconds between an unknown placement outcome and the first look at the order book:
    a request that did reach the broker needs a moment to appear there."""
    resolve_interval: float = 0.5
    resolve_max_interval: float = 5.0
    resolve_absences: int = 2
    """Clean order-book reads without the tag needed before absence counts as proven."""
    resolve_min_age: float = 1.0
    """Absence is proof only this long after the failure (a slow request may still land)."""
    resolve_max_lookups: int = 30
    """Lookups per resolution round; then the order stays unresolved, alerted, for the
    reconciliation timer to pick up."""
    max_submit_attempts: int = 8
    """Sends of one client order id after proven absences; beyond that a person decides."""
    late_order_window: float = 30.0
    """Seconds an order may take to appear in the broker's book after the broker said it
    could not tell whether it placed it (Kite's "Order request timed out"), or after the desk
    stopped mid-send and lost whatever the broker said: absence proves nothing before. Kite's
    users saw such orders appear "seconds later" (KITE_API.md §14.2) and the simulator delays
    them up to 10 s; 30 s leaves room for that, a slow book read and one more look at the
    longest interval (``resolve_max_interval``). Orders that sit in PUT ORDER REQ RECEIVED are
    in the book already, so they need no window. Longer only delays the verdict: an unsure
    placement is then given up as not placed (never sent again), an interrupted one re-sent
    (while ``resend_within`` allows)."""
    resend_within: float = 60.0
    """Seconds from an order's intent (its ``OrderCreated``, on the desk's clock) within which
    a placement proven absent is still sent again under its id: one a stop interrupted, one
    whose reply never came, one that never left. Older, it ends ``REJECTED`` as not placed,
    alerted, never sent: a MARKET buy asked for at 10:00 is another trade when a restart at
    14:00 sends it, and a strategy may have moved on. 60 s covers a quick restart, or a lost
    reply, plus ``late_order_window``; a value below that window sends again only requests that
    never left. With trading days kept (``days``), an intent of an earlier trading day, or an
    intraday one (MIS, CO) past the broker's square-off, is never sent again whatever its age."""

    rate_limit_backoff: float = 0.2
    rate_limit_max_backoff: float = 5.0
    rate_limit_give_up: float = 300.0
    """A 429 proves nothing was placed; after this long of them the order is given up."""
    command_attempts: int = 4
    """Tries of a modify or cancel through transport errors (both are safe to repeat)."""
    command_backoff: float = 0.2

    max_queued_news: int = 5_000
    """Updates of the live stream waiting to be recorded; beyond this the stream is read no
    faster than they commit (backpressure, nothing dropped)."""
    trades_timeout: float = 2.0
    """How long a report that shows more filled quantity than our fills waits for the order's
    trades before it is recorded without them (the fills then follow in the background)."""
    trades_attempts: int = 3
    """Further reads of an order's trades when they lag its filled quantity; after that the
    fills are left to reconciliation."""
    trades_backoff: float = 0.25

    poll_interval: float = 1.0
    """How often the order book is polled while the live stream is down."""
    stream_down_alerts: tuple[float, ...] = (60.0, 300.0, 1800.0)
    """Seconds after which a live stream that stays down is alerted again, the first as a
    warning, the later ones as critical (polling stands in for it meanwhile)."""
    first_look: float = 1.0
    """An order still ACCEPTED this long after the broker took it makes the desk read the book:
    Kite pushes nothing when an order merely starts resting (OPEN, TRIGGER PENDING)."""
    look_singly: int = 4
    """At most this many orders awaiting their first look are read one by one (each one's
    history, which costs the same whatever the day's book holds); more than that, and the whole
    book is read once instead. Kite allows 10 such reads a second; the first look comes about
    once a second, so 4 leave room for everything else."""
    quiet_after: float = 15.0
    """An open order with no news for this long makes the desk poll even with the stream up."""
    reconcile_interval: float | None = 60.0
    """Seconds between background reconciliations (None: only at start and on request)."""
    trigger_interval: float | None = 10.0
    """Seconds between reads of the broker's GTTs and alerts while the desk has one live:
    nothing pushes a simple alert's firing, or a fired GTT whose order the broker refused
    (None: only with the reconciliation)."""

    leg_timeout: float = 10.0
    """How long a basket waits for its hedge legs, or a target order for its predecessor."""
    load_instruments: bool = True
    """Fetch the instrument master at start for freeze limits, lot and tick sizes."""
    freeze_quantities: Mapping[str, int] = field(
        default_factory=lambda: dict(NSE_FREEZE_QUANTITIES)
    )
    """Freeze limits of futures and options by underlying name, for instruments whose master
    row carries none (a freeze limit in the row wins)."""
    on_loss_limit: LossLimitAction = LossLimitAction.ALERT
    clock_interval: float = 1.0
    """Seconds between looks at the clock: the session's expiry, the day's milestones."""
    days: DayRules | None = None
    """Keep trading days (open, close, checkpoints, square-off cut-offs); None: an always-open
    desk with no day lifecycle (tests, and paper trading at any hour)."""
    slicing: Slicing = Slicing.KITE
    """Who splits an order above the freeze quantity (see :class:`Slicing`)."""
    exit: ExitPolicy = field(default_factory=ExitPolicy)
    """How ``exit_position`` escalates an exit that does not fill."""
    algo_ids: AlgoIds = field(default_factory=AlgoIds)
    """The exchange algo id sent with each strategy's placements (see :mod:`.algo_ids`)."""


__all__ = [
    "NSE_FREEZE_QUANTITIES",
    "DayRules",
    "DeskConfig",
    "ExitPolicy",
    "LossLimitAction",
    "Slicing",
]
