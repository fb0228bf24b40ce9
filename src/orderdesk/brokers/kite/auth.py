"""Kite Connect login: the login URL, the redirect, the token exchange, logout and expiry.

The flow (KITE_API.md §3): the user opens :func:`login_url` in a browser and logs in; Kite
redirects to the app's registered URL with a single-use ``request_token``, which
:class:`CallbackServer` captures on loopback (or :func:`parse_redirect_url` takes from an
address the user pasted); the REST client's
:meth:`~orderdesk.brokers.kite.client.KiteRestClient.generate_session` trades it, with the
checksum that proves we hold the api_secret, for an access token valid until the next 06:00 IST
(:func:`orderdesk.domain.calendar.next_token_expiry`), and
:meth:`~orderdesk.brokers.kite.client.KiteRestClient.invalidate_access_token` logs it out.
Those session routes go through the same send path, headers, timeouts and error tree as every
other route (:mod:`orderdesk.brokers.kite.http`); this module only adds what happens in the
browser and on loopback.

:class:`KiteLogin` is the whole conversation as the broker-neutral
:class:`~orderdesk.ports.login.LoginFlow` that ``orderdesk login`` finds through the broker
registry; :func:`exchange_request_token` and :func:`invalidate` are the same two calls for a
caller with only a root and a key (the demo, tests).

Secrets never leave here in clear except in the request that needs them: the access token is
held as a :class:`~orderdesk.secrets.Secret`, every token and secret is registered for log
redaction, and errors name the route, never a URL (the logout URL carries the access token).
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlencode, urlsplit

from aiohttp import web
from pydantic import SecretStr

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.config import KITE_API_ROOT, KITE_LOGIN_ROOT, KiteConfig
from orderdesk.brokers.kite.http import Limiter
from orderdesk.brokers.kite.schemas import SessionData
from orderdesk.domain.calendar import as_ist, next_token_expiry
from orderdesk.errors import BrokerAuthError
from orderdesk.ports.login import LoginSession
from orderdesk.redaction import register_secret
from orderdesk.secrets import Secret


class LoginFailed(BrokerAuthError):
    """The browser login did not produce a usable request token."""


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in Kite session. ``access_token`` prints as ``***``; times are UTC-aware."""

    api_key: str
    user_id: str
    user_name: str
    login_time: datetime
    expires_at: datetime
    access_token: Secret

    def is_expired(self, now: datetime) -> bool:
        """Whether Kite will have invalidated the token at ``now`` (06:00 IST rule)."""
        return now >= self.expires_at


def session_expiry(login_time: datetime) -> datetime:
    """When Kite ends a session that began at ``login_time``: the next 06:00 IST, UTC-aware.

    A naive ``login_time`` is read as IST, because that is how Kite writes it.
    """
    return next_token_expiry(as_ist(login_time)).astimezone(UTC)


def login_url(
    api_key: str,
    root: str = KITE_LOGIN_ROOT,
    redirect_params: Mapping[str, str] | str | None = None,
) -> str:
    """Kite's login page: ``api_key`` first, then ``v=3``, as pykiteconnect builds it.

    ``redirect_params`` (a mapping or an already encoded query string) is echoed back by Kite on
    the redirect, e.g. to carry a state value.
    """
    query = urlencode({"api_key": api_key, "v": "3"})
    if redirect_params:
        encoded = (
            redirect_params if isinstance(redirect_params, str) else urlencode(redirect_params)
        )
        query += "&" + urlencode({"redirect_params": encoded})
    return f"{root.rstrip('/')}/connect/login?{query}"


def _token_from_query(query: Mapping[str, list[str]]) -> str:
    status = (query.get("status") or [""])[0]
    if status != "success":
        raise LoginFailed(
            f"Kite did not complete the login (status={status or 'missing'!r}); log in again"
        )
    token = (query.get("request_token") or [""])[0]
    if not token:
        raise LoginFailed("the redirect carries no request_token; log in again")
    register_secret(token)
    return token


def parse_redirect_url(url: str) -> str:
    """The ``request_token`` from a redirect address the user pasted from the browser.

    Raises :class:`LoginFailed` if the login did not succeed or the token is missing.
    """
    query = parse_qs(urlsplit(url.strip()).query)
    if not query:
        raise LoginFailed(
            "that is not Kite's redirect address: paste the whole address from the browser bar, "
            "including ?request_token=…&status=success"
        )
    return _token_from_query(query)


def _session(api_key: str, data: SessionData) -> Session:
    # pykiteconnect tolerates a null login_time; so do we, and take "now" as the login.
    login_time = data.login_time or datetime.now(UTC).replace(microsecond=0)
    return Session(
        api_key=api_key,
        user_id=data.user_id,
        user_name=data.user_name,
        login_time=login_time,
        expires_at=session_expiry(login_time),
        access_token=Secret(data.access_token.get_secret_value()),
    )


def _secret(value: str | Secret) -> SecretStr:
    return SecretStr(value.reveal() if isinstance(value, Secret) else value)


async def exchange_request_token(
    api_root: str,
    api_key: str,
    request_token: str,
    api_secret: str | Secret,
) -> Session:
    """Trade a login's ``request_token`` for a :class:`Session` (``POST /session/token``).

    Kite's error envelope becomes the typed error from :mod:`orderdesk.brokers.kite.errors`
    (a stale token or a wrong secret is a ``TokenException``, a ``BrokerAuthError``).
    """
    config = KiteConfig(api_key=api_key, root=api_root)
    async with KiteRestClient(config) as rest:
        data = await rest.generate_session(request_token, _secret(api_secret))
    return _session(api_key, data)


async def invalidate(api_root: str, api_key: str, access_token: str | Secret) -> bool:
    """Log the API session out (``DELETE /session/token``); Kite web and mobile stay logged in."""
    config = KiteConfig(api_key=api_key, root=api_root)
    token = _secret(access_token)
    async with KiteRestClient(config, access_token=token) as rest:
        return await rest.invalidate_access_token()


class KiteLogin:
    """Kite's daily login as the :class:`~orderdesk.ports.login.LoginFlow` capability.

    Each exchange opens a REST client of its own (the login runs before, and apart from, any
    broker) over the same transport as every other call; ``limiter`` is that of
    :class:`~orderdesk.brokers.kite.http.KiteHttp`, for tests.
    """

    name = "kite"

    def __init__(
        self,
        config: KiteConfig,
        *,
        limiter: Limiter | None = None,
    ) -> None:
        self.config = config
        self._limiter = limiter

    def __repr__(self) -> str:
        return f"KiteLogin(root={self.config.root!r})"

    def login_url(self) -> str:
        return login_url(self.config.api_key, root=self.config.login_page_root())

    def redirect_catcher(self, port: int) -> CallbackServer:
        return CallbackServer(port=port)

    def request_token(self, redirect_url: str) -> str:
        return parse_redirect_url(redirect_url)

    def _rest(self, access_token: str | None = None) -> KiteRestClient:
        return KiteRestClient(self.config, access_token=access_token, limiter=self._limiter)

    async def open_session(self, request_token: str, api_secret: str) -> LoginSession:
        async with self._rest() as rest:
            try:
                data = await rest.generate_session(request_token, SecretStr(api_secret))
            except BrokerAuthError as exc:
                if "checksum" not in str(exc).lower():
                    raise
                # Kite's words name its field, not the cause: the checksum is made with the
                # api_secret, so a wrong secret (or one of another app) is what it means.
                raise BrokerAuthError(
                    f"{exc.message} The checksum is made with the api_secret: is it this "
                    "app's (`orderdesk login --ask-secret` stores it again)?",
                    http_status=exc.http_status,
                    error_type=exc.error_type,
                ) from None
        session = _session(self.config.api_key, data)
        return LoginSession(
            user_id=session.user_id,
            user_name=session.user_name,
            started=session.login_time,
            expires_at=session.expires_at,
            credentials=session.access_token.reveal(),
        )

    async def end_session(self, credentials: str) -> None:
        async with self._rest(credentials) as rest:
            await rest.invalidate_access_token()

    def session_expiry(self, started: datetime) -> datetime:
        return session_expiry(started)


_DONE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>orderdesk</title></head>
<body><h1>{title}</h1><p>{text}</p></body></html>
"""


class CallbackServer:
    """A one-shot HTTP server on loopback that catches Kite's redirect after login.

    Any path is accepted, so whatever redirect URL is registered in the Kite app works as long
    as host and port match (``http://127.0.0.1:5000/…`` by default). The first request carrying
    ``status``/``request_token`` resolves :meth:`wait`, with the token or with
    :class:`LoginFailed`; later ones are answered but change nothing. Other requests (a
    browser's ``/favicon.ico``) get 404. Access logging is off: the request line holds the token.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 5000) -> None:
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._result: asyncio.Future[str] | None = None

    @property
    def url(self) -> str:
        """``http://host:port/`` once started (the real port when 0 was asked for)."""
        return f"http://{self.host}:{self.port}/"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind and serve; raises ``OSError`` if the port is taken."""
        if self._runner is not None:
            raise RuntimeError("the callback server is already running")
        self._result = asyncio.get_running_loop().create_future()
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        # With port 0 the OS picked one; the runner knows which.
        self.port = int(runner.addresses[0][1])

    async def wait(self) -> str:
        """The captured ``request_token``, or :class:`LoginFailed` if the login failed.

        Waits as long as it takes; bound it with ``asyncio.timeout`` (a person is typing).
        """
        if self._result is None:
            raise RuntimeError("start the callback server first")
        return await asyncio.shield(self._result)

    async def close(self) -> None:
        """Stop serving; a pending :meth:`wait` is cancelled."""
        result = self._result
        if result is not None and not result.done():
            result.cancel()
        elif result is not None and not result.cancelled():
            result.exception()  # mark a failure nobody awaited as seen, so asyncio stays quiet
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        query = {key: request.query.getall(key) for key in request.query}
        if "request_token" not in query and "status" not in query:
            raise web.HTTPNotFound()
        result = self._result
        if result is None or result.done():
            return self._page(
                "Already done", "This login was already handled. You can close this tab."
            )
        try:
            token = _token_from_query(query)
        except LoginFailed as exc:
            result.set_exception(exc)
            return self._page("Login failed", str(exc), status=400)
        result.set_result(token)
        # Not "Logged in": the token is exchanged for a session after this page (with the
        # api_secret, which can be wrong); the terminal says how that ends.
        return self._page(
            "Login received",
            "orderdesk has the request token and is completing the login: the terminal says "
            "whether it worked. You can close this tab.",
        )

    @staticmethod
    def _page(title: str, text: str, status: int = 200) -> web.Response:
        body = _DONE_PAGE.format(title=html.escape(title), text=html.escape(text))
        return web.Response(
            text=body,
            status=status,
            content_type="text/html",
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )


__all__ = [
    "KITE_API_ROOT",
    "KITE_LOGIN_ROOT",
    "CallbackServer",
    "KiteLogin",
    "LoginFailed",
    "Session",
    "exchange_request_token",
    "invalidate",
    "login_url",
    "parse_redirect_url",
    "session_expiry",
]
