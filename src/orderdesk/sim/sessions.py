"""Login and session state: request tokens, access tokens and their expiry.

A request token is issued by the login redirect and exchanged once; an access token lives until
the next 06:00 IST on the simulated clock, or until logout. Tokens are random (``secrets``), not
seeded: they are credentials and nothing in a run's outcome depends on their value.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from orderdesk.domain.calendar import next_token_expiry
from orderdesk.sim.clock import SimClock
from orderdesk.sim.envelope import InputError, TokenError

REQUEST_TOKEN_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Session:
    """One logged-in session; ``repr`` never shows the tokens."""

    user_id: str
    api_key: str
    access_token: str
    public_token: str
    login_time: datetime
    expires_at: datetime

    def __repr__(self) -> str:
        return f"Session(user_id={self.user_id!r}, expires_at={self.expires_at!s})"


class SessionStore:
    """Issues, checks and revokes tokens for the one simulated user (or a few, for tests)."""

    def __init__(self, api_key: str, api_secret: str, clock: SimClock) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._clock = clock
        self._request_tokens: dict[str, tuple[str, datetime]] = {}
        self._sessions: dict[str, Session] = {}

    def __repr__(self) -> str:
        return f"SessionStore(api_key={self._api_key!r}, sessions={len(self._sessions)})"

    @property
    def api_key(self) -> str:
        """The one api_key this simulator accepts."""
        return self._api_key

    def issue_request_token(self, user_id: str) -> str:
        """A fresh single-use request token, as the login redirect carries."""
        token = secrets.token_hex(16)
        self._request_tokens[token] = (user_id, self._clock.now() + REQUEST_TOKEN_LIFETIME)
        return token

    def exchange(self, api_key: str, request_token: str, checksum: str) -> Session:
        """Trade a request token for a session, checking Kite's SHA-256 checksum."""
        if api_key != self._api_key:
            raise InputError("Invalid `api_key`.")
        expected = hashlib.sha256(
            (api_key + request_token + self._api_secret).encode("utf-8")
        ).hexdigest()
        if not hmac.compare_digest(expected, checksum):
            raise TokenError("Invalid `checksum`.")
        entry = self._request_tokens.pop(request_token, None)
        if entry is None or entry[1] < self._clock.now():
            raise TokenError("Token is invalid or has expired.")
        return self.open_session(entry[0])

    def open_session(self, user_id: str) -> Session:
        """Create a session directly (tests that skip the login dance)."""
        now = self._clock.now().replace(microsecond=0)
        session = Session(
            user_id=user_id,
            api_key=self._api_key,
            access_token=secrets.token_hex(16),
            public_token=secrets.token_hex(16),
            login_time=now,
            expires_at=next_token_expiry(now),
        )
        self._sessions[session.access_token] = session
        return session

    def authenticate(self, api_key: str, access_token: str) -> Session | None:
        """The live session for these credentials, or ``None`` if unknown, revoked or expired."""
        if api_key != self._api_key:
            return None
        session = self._sessions.get(access_token)
        if session is None:
            return None
        if self._clock.now() >= session.expires_at:
            del self._sessions[access_token]
            return None
        return session

    def user_for(self, api_key: str, access_token: str) -> str | None:
        """``authenticate`` reduced to the user id (the ticker's callback shape)."""
        session = self.authenticate(api_key, access_token)
        return None if session is None else session.user_id

    def revoke(self, api_key: str, access_token: str) -> bool:
        """Log a session out; True if it existed."""
        if api_key != self._api_key:
            raise InputError("Invalid `api_key`.")
        return self._sessions.pop(access_token, None) is not None

    def clear(self) -> None:
        """Forget every token (``/_sim/reset``)."""
        self._request_tokens.clear()
        self._sessions.clear()


__all__ = ["Session", "SessionStore"]
