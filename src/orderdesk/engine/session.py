"""The broker session as the desk sees it: usable, about to expire, or gone.

Kite ends every access token at 06:00 IST and a person logs in again each morning
(KITE_API.md §14.1). The desk learns that a session is gone two ways: the clock passes its
expiry, or the broker refuses a call (the first refusal). Either way new signals are refused
*before* anything is written, so their signal ids stay unused and the same signal succeeds
once the login has reached the desk (:meth:`OrderDesk.renew_session`).

The expiry comes from the broker adapter (Kite: the next 06:00 IST). A session whose start the
desk did not see (a token read from the secret store at start-up) is assumed to last until the
next expiry after the desk first saw it: an upper bound, since a token from the day before is
refused at the first call and that refusal ends it at once.

Whoever sees a refusal (placement, polling, the stream) tells the watch (:meth:`refused`); the
desk's clock loop records and alerts each loss once (:meth:`take_lost`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from orderdesk.domain.calendar import as_ist


class SessionState(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    """The clock passed the session's expiry."""
    REFUSED = "refused"
    """The broker refused it (expired early, logged out elsewhere, or never valid)."""
    MISSING = "missing"
    """The broker had no session to start with (nobody has logged in yet)."""


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What the desk tells about its session (never the credentials)."""

    state: SessionState
    expires_at: datetime | None
    since: datetime | None
    """When the current session reached the desk (None before the first)."""
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
        self._reason = "no broker session yet"
        self._warning = warning
        self._warned_for: datetime | None = None
        self._lost: str | None = None

    def info(self, now: datetime) -> SessionInfo:
        self.check(now)
        return SessionInfo(self._state, self._expires_at, self._since, self._reason)

    def started(self, now: datetime, expires_at: datetime | None) -> None:
        """A session is in place from ``now`` until ``expires_at`` (None: it does not expire)."""
        self._state = SessionState.VALID
        self._since = now
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

    @property
    def usable(self) -> bool:
        return self._state is SessionState.VALID

    @property
    def reason(self) -> str:
        """Why the session is not usable, as of the last look at the clock ("" while it is)."""
        return self._reason


__all__ = ["SessionInfo", "SessionState", "SessionWatch"]
