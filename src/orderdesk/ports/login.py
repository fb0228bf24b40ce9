"""An optional capability of a broker adapter: the login a person does before the broker runs.

Some brokers hand out sessions that only a person can open. Kite's access token lasts until the
next 06:00 IST; each morning someone logs in in a browser, Kite redirects to the app's
registered address with a single-use request token, and the adapter trades that token (proving
it holds the app's secret) for the day's session. :class:`LoginFlow` is that conversation, as
``orderdesk login`` and ``orderdesk logout`` drive it::

    flow.login_url()  ──browser──►  redirect  ──►  flow.redirect_catcher(port).wait()
                                                   (or flow.request_token(pasted address))
                                                        │ request token
                                                        ▼
                   flow.open_session(request_token, api_secret)  ──►  LoginSession
                   flow.end_session(credentials)                      (logout)

It is the other half of :class:`~orderdesk.ports.broker.SessionControl`: that one hands a
session to a broker that is already running; this one opens the session in the first place,
with no broker running at all. An adapter offers the flow through the broker registry
(:func:`orderdesk.brokers.create_login_flow`), so the CLI never imports the adapter; a broker
whose sessions need no person (``paper``) offers none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginSession:
    """What a login produced: who logged in, when the session ends, and its credentials.

    ``credentials`` is what a running broker takes through
    :meth:`~orderdesk.ports.broker.SessionControl.renew_session` and what the secret store keeps
    (Kite: the access token). It is left out of the repr; the adapter has already registered it
    for log redaction.
    """

    user_id: str
    user_name: str
    started: datetime
    """When the broker says the session began (UTC-aware)."""
    expires_at: datetime | None
    """When the broker ends it (UTC-aware); ``None`` if it keeps it until a logout."""
    credentials: str = field(repr=False)


class RedirectCatcher(Protocol):
    """A one-shot loopback server that catches the browser's redirect after a login."""

    @property
    def url(self) -> str:
        """The address it serves (with the real port once started)."""

    async def start(self) -> None:
        """Bind and serve; raises ``OSError`` if the port is taken."""

    async def wait(self) -> str:
        """The request token the redirect carried; ``BrokerAuthError`` if the login failed.

        Waits as long as it takes (a person is typing): bound it with ``asyncio.timeout``.
        """

    async def close(self) -> None:
        """Stop serving; a pending :meth:`wait` is cancelled."""


@runtime_checkable
class LoginFlow(Protocol):
    """How a person opens and ends a broker session before any broker runs.

    Every network call may raise the broker-neutral errors of :mod:`orderdesk.errors`: a refused
    token or secret is a ``BrokerAuthError``, a broker that cannot be reached a
    ``BrokerTransportError``. Secrets never appear in their messages.
    """

    def login_url(self) -> str:
        """The page the person opens in a browser to log in."""

    def redirect_catcher(self, port: int) -> RedirectCatcher:
        """A server for ``127.0.0.1:port`` that catches the broker's redirect after the login."""

    def request_token(self, redirect_url: str) -> str:
        """The request token from a redirect address the person pasted from the browser.

        Raises ``BrokerAuthError`` if the address tells of a failed login or carries no token.
        """

    async def open_session(self, request_token: str, api_secret: str) -> LoginSession:
        """Trade a login's single-use ``request_token`` for a session, proving the secret."""

    async def end_session(self, credentials: str) -> None:
        """Log the session out at the broker.

        ``BrokerAuthError`` means the broker had ended it already; ``BrokerTransportError`` that
        it could not be told (keep the credentials and try again).
        """

    def session_expiry(self, started: datetime) -> datetime | None:
        """When a session that began at ``started`` ends (Kite: the next 06:00 IST)."""


__all__ = ["LoginFlow", "LoginSession", "RedirectCatcher"]
