"""The broker session as the desk sees it: usable, about to expire, or gone.

Kite ends every access token at 06:00 IST and a person logs in again each morning
(KITE_API.md §14.1). The desk learns that a session is gone two ways: the clock passes its
expiry, or the broker refuses a call (the first refusal). Either way new signals are refused
*before* anything is written, so their signal ids stay unused and the same signal succeeds
once the login has reached the desk (:meth:`OrderDesk.renew_session`).

The expiry comes from the broker adapter (Kite: the next 06:00 IST). A session whose login the
desk did not see (a token read from the secret store at start-up) is given the next expiry after
the desk first saw it. That is the token's own expiry whenever the token still works (Kite ends a
token at the first 06:00 after its login, and a working token's login came after the last
06:00); a token that no longer works (yesterday's) is refused at the first call, which ends the
session at once. So an expiry is told only while the session is usable, or once the clock has
passed it (expired); a refused session has none, only the moment of the refusal. ``since`` is
when the session took its present state, never a login time the desk did not see.

Whoever sees a refusal (placement, polling, the stream) tells the watch (:meth:`refused`); the
desk's clock loop records and alerts each loss once (:meth:`take_lost`): one CRITICAL "Broker
session ended" that says to log in. What follows from the loss (the stream stopping, polls
refused) is not alerted again while the watch knows the session ended (:meth:`ended`).
Each session the desk takes is a new :attr:`generation`, so the alerts of one session's end are
never taken for repeats of the last one's.

A session's end is told once, but a trading day without a session is a day lost: with trading
days kept, the watch also says when a trading day finds no usable session (:meth:`login_due`),
once before its market opens and once at the opening, and the words of a session's end name the
morning the next login is needed when the end falls on a day that does not trade
(:func:`login_morning`): Kite's session ends at the next 06:00, so a login on a holiday cannot
open the trading day after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from orderdesk.domain.calendar import IST, TradingCalendar, as_ist


class SessionState(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    """The clock passed the session's expiry."""
    REFUSED = "refused"
    """The broker refused it (expired early, logged out elsewhere, or never valid)."""
    MISSING = "missing"
    """The broker had no session to start with (nobody has logged in yet)."""


class LoginCall(StrEnum):
    """What the desk tells on a trading day it has no usable session for."""

    REMINDER = "reminder"
    """Before the market opens: the login is due now."""
    AT_OPEN = "open"
    """The market is open and signals are refused."""


@dataclass(frozen=True, slots=True)
class LoginDue:
    """A call to log in, due now, for ``day``, whose market opens at ``opens`` (IST)."""

    call: LoginCall
    day: date
    opens: datetime


def login_morning(calendar: TradingCalendar, day: date) -> str:
    """When the login that opens the next trading day is due, said on ``day``, a day that does
    not trade (a session ending on it, one refused during it): that trading day's morning, not
    now, since a session from a login before its start ends before it (Kite's, at 06:00)."""
    following = calendar.next_trading_day(day)
    closed = "a weekend" if day.weekday() >= 5 else "a market holiday"
    return (
        f"{day:%a %Y-%m-%d} is not a trading day ({closed}): log in on {following:%a %Y-%m-%d}, "
        f"the next trading day, after {calendar.day_start:%H:%M} IST (`orderdesk login`); a "
        "login before then gives a session that ends before that day begins"
    )


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What the desk tells about its session (never the credentials)."""

    state: SessionState
    expires_at: datetime | None
    """When the session ends (valid) or ended (expired); None when that is not known: it does
    not expire, it was refused, or nobody has logged in."""
    since: datetime | None
    """When the session took its present state: reached the desk (valid), was first refused by
    the broker (refused), passed its expiry (expired); None while missing."""
    reason: str = ""

    @property
    def usable(self) -> bool:
        return self.state is SessionState.VALID


class SessionWatch:
    """Holds the session's state and expiry; the desk asks it before every signal."""

    def __init__(self, *, warning: timedelta) -> None:
        self._state = SessionState.MISSING
        self._expires_at: datetime | None = None
        self._since: datetime | None = None
        self._ended_at: datetime | None = None
        """When the broker first refused the session (while REFUSED)."""
        self._reason = "no broker session yet"
        self._warning = warning
        self._warned_for: datetime | None = None
        self._lost: str | None = None
        self._generation = 0
        self._called: dict[LoginCall, date] = {}
        """The trading day each call to log in was last made for (once a day each)."""

    @property
    def generation(self) -> int:
        """How many sessions the desk has taken (0 before the first): the alerts of each
        session's end and renewal carry it in their key."""
        return self._generation

    def ended(self, now: datetime) -> bool:
        """The session was refused or expired: its loss is (or is about to be) alerted."""
        self.check(now)
        return self._state in (SessionState.REFUSED, SessionState.EXPIRED)

    def info(self, now: datetime) -> SessionInfo:
        self.check(now)
        state = self._state
        if state is SessionState.REFUSED:
            # The expiry was reckoned from when the desk took the token (the login is unseen):
            # true of a token that works, but this one is refused, and the refusal is its end.
            return SessionInfo(state, None, self._ended_at, self._reason)
        if state is SessionState.EXPIRED:
            return SessionInfo(state, self._expires_at, self._expires_at, self._reason)
        if state is SessionState.MISSING:
            return SessionInfo(state, None, None, self._reason)
        return SessionInfo(state, self._expires_at, self._since, self._reason)

    def started(self, now: datetime, expires_at: datetime | None) -> None:
        """A session is in place from ``now`` until ``expires_at`` (None: it does not expire)."""
        self._state = SessionState.VALID
        self._generation += 1
        self._since = now
        self._ended_at = None
        self._expires_at = None if expires_at is None else expires_at.astimezone(UTC)
        self._reason = ""
        self._warned_for = None
        self._lost = None

    def missing(self, reason: str) -> None:
        self._state = SessionState.MISSING
        self._reason = reason

    def refused(self, reason: str, now: datetime) -> bool:
        """The broker refused the session; True if it was thought usable until now.

        A refusal after the session's expiry *is* the expiry, and is told as such (whichever of
        the clock or a refused call noticed it first).
        """
        if self.check(now):
            return True
        was_usable = self._state is SessionState.VALID
        if self._state not in (SessionState.MISSING, SessionState.EXPIRED):
            self._state = SessionState.REFUSED
            self._reason = reason
        if was_usable:
            self._ended_at = now
            self._lost = reason
        return was_usable

    def take_lost(self) -> str | None:
        """Why the session was lost since the last call (once per loss), or None."""
        lost, self._lost = self._lost, None
        return lost

    def check(self, now: datetime) -> bool:
        """Move to EXPIRED once the clock passes the expiry; True when that happens now."""
        if (
            self._state is SessionState.VALID
            and self._expires_at is not None
            and now >= self._expires_at
        ):
            self._state = SessionState.EXPIRED
            expired = as_ist(self._expires_at)  # the hour Kite names (06:00), not 00:30 UTC
            self._reason = f"the session expired at {expired:%Y-%m-%d %H:%M} IST"
            self._lost = self._reason
            return True
        return False

    def warning_due(self, now: datetime) -> datetime | None:
        """The expiry to warn about, once per session, when it is within the warning time."""
        expires = self._expires_at
        if (
            self._state is SessionState.VALID
            and expires is not None
            and self._warned_for != expires
            and expires - self._warning <= now < expires
        ):
            self._warned_for = expires
            return expires
        return None

    def login_due(
        self, now: datetime, calendar: TradingCalendar, *, remind_before: timedelta
    ) -> LoginDue | None:
        """The call to log in due at ``now``, each once a trading day, while the session is not
        usable: a reminder from ``remind_before`` ahead of the market's opening (none when it
        is zero, and never before the day begins: a session from an earlier login ends at its
        start), and a call at the opening, until the close.

        None on a day that does not trade, and for a call whose time came before the session
        ended: its end, alerted as it happened, said to log in already (a session refused at
        11:00 is one alarm, not two). A call skipped so is not made later that day."""
        self.check(now)
        if self.usable:
            return None
        local = as_ist(now)
        day = local.date()
        if not calendar.is_trading_day(day):
            return None
        opening, closing = calendar.market_hours(day)
        opens = datetime.combine(day, opening, tzinfo=IST)
        remind = max(opens - remind_before, calendar.starts_at(day))
        if opens <= local < datetime.combine(day, closing, tzinfo=IST):
            call, from_ = LoginCall.AT_OPEN, opens
        elif remind_before and remind <= local < opens:
            call, from_ = LoginCall.REMINDER, remind
        else:
            return None
        if self._called.get(call) == day:
            return None
        self._called[call] = day
        ended = self.info(now).since
        if ended is not None and ended >= from_:
            return None
        return LoginDue(call, day, opens)

    @property
    def usable(self) -> bool:
        return self._state is SessionState.VALID

    @property
    def reason(self) -> str:
        """Why the session is not usable, as of the last look at the clock ("" while it is)."""
        return self._reason


__all__ = [
    "LoginCall",
    "LoginDue",
    "SessionInfo",
    "SessionState",
    "SessionWatch",
    "login_morning",
]
