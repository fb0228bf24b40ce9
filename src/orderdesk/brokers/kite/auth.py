"""Kite Connect login: the login URL, the redirect, the token exchange, logout and expiry.

The flow (KITE_API.md §3): the user opens :func:`login_url` in a browser and logs in; Kite
redirects to the app's registered URL with a single-use ``request_token``, which
:class:`CallbackServer` captures on loopback (or :func:`parse_redirect_url` takes from an
address the user pastes); :func:`exchange_request_token` trades it, with the
:func:`checksum` that proves we hold the api_secret, for an access token valid until the next
06:00 IST (:func:`token_expiry`); :func:`invalidate` logs the session out.

Secrets never leave this module in clear except in the request that needs them: the access
token is held as a :class:`~orderdesk.secrets.Secret`, every token and secret seen here is
registered for log redaction, and error messages name the endpoint, never a URL (the logout URL
carries the access token).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from aiohttp import web

from orderdesk.brokers.kite.errors import KiteTransportError, MalformedResponse, error_for
from orderdesk.errors import BrokerAuthError
from orderdesk.logging import register_secret
from orderdesk.secrets import Secret

KITE_LOGIN_ROOT = "https://kite.zerodha.com"
KITE_API_ROOT = "https://api.kite.trade"
KITE_VERSION = "3"
IST = timezone(timedelta(hours=5, minutes=30), "IST")
TOKEN_EXPIRY_IST = time(6, 0)
KITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

_SESSION_ENDPOINT = "session.token"
_LOGOUT_ENDPOINT = "session.logout"


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


def checksum(api_key: str, request_token: str, api_secret: str | Secret) -> str:
    """``hex(SHA-256(api_key + request_token + api_secret))``, proof that we hold the secret."""
    secret = api_secret.reveal() if isinstance(api_secret, Secret) else api_secret
    return hashlib.sha256((api_key + request_token + secret).encode("utf-8")).hexdigest()


def token_expiry(login_time: datetime) -> datetime:
    """The first 06:00 IST strictly after ``login_time``, UTC-aware.

    A naive ``login_time`` is read as IST, because that is how Kite writes it. A login before
    06:00 IST expires the same morning; any later login, the next morning.
    """
    local = (
        login_time.replace(tzinfo=IST) if login_time.tzinfo is None else login_time.astimezone(IST)
    )
    expiry = datetime.combine(local.date(), TOKEN_EXPIRY_IST, tzinfo=IST)
    if expiry <= local:
        expiry += timedelta(days=1)
    return expiry.astimezone(UTC)


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


async def exchange_request_token(
    session: aiohttp.ClientSession,
    api_root: str,
    api_key: str,
    request_token: str,
    api_secret: str | Secret,
) -> Session:
    """Trade a login's ``request_token`` for a :class:`Session` (``POST /session/token``).

    Kite's error envelope becomes the typed error from :mod:`orderdesk.brokers.kite.errors`
    (a stale token or a wrong secret is a ``TokenException``, a ``BrokerAuthError``).
    """
    register_secret(request_token)
    if isinstance(api_secret, str):
        register_secret(api_secret)
    form = {
        "api_key": api_key,
        "request_token": request_token,
        "checksum": checksum(api_key, request_token, api_secret),
    }
    data = await _send(session, "POST", api_root, _SESSION_ENDPOINT, data=form)
    return _parse_session(api_key, data)


async def invalidate(
    session: aiohttp.ClientSession, api_root: str, api_key: str, access_token: str | Secret
) -> bool:
    """Log the API session out (``DELETE /session/token``); Kite web and mobile stay logged in."""
    token = access_token.reveal() if isinstance(access_token, Secret) else access_token
    register_secret(token)
    params = {"api_key": api_key, "access_token": token}
    data = await _send(session, "DELETE", api_root, _LOGOUT_ENDPOINT, params=params)
    return data is True


async def _send(
    session: aiohttp.ClientSession,
    method: str,
    api_root: str,
    endpoint: str,
    *,
    data: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> Any:
    url = api_root.rstrip("/") + "/session/token"
    try:
        async with session.request(
            method, url, data=data, params=params, headers={"X-Kite-Version": KITE_VERSION}
        ) as response:
            body = await response.read()
            status, content_type = response.status, response.content_type
    except (aiohttp.ClientError, TimeoutError) as exc:
        # No "from exc": aiohttp's text can quote the URL, and the logout URL holds the token.
        raise KiteTransportError(
            f"{endpoint}: no usable reply from Kite ({type(exc).__name__})",
            maybe_sent=not isinstance(exc, aiohttp.ClientConnectorError),
        ) from None
    return _decode(endpoint, status, content_type, body)


def _decode(endpoint: str, status: int, content_type: str, body: bytes) -> Any:
    if "json" not in content_type:
        raise error_for(f"HTTP {status} with a {content_type or 'untyped'} body", None, status)
    try:
        payload = json.loads(body)
    except ValueError:
        raise MalformedResponse(endpoint, "body", "not valid JSON", http_status=status) from None
    if not isinstance(payload, dict):
        raise MalformedResponse(endpoint, "body", "not a JSON object", http_status=status)
    error_type = payload.get("error_type")
    if payload.get("status") == "error" or error_type or status >= 400:
        message = payload.get("message")
        raise error_for(
            message if isinstance(message, str) else f"HTTP {status}",
            error_type if isinstance(error_type, str) else None,
            status,
        )
    if "data" not in payload:
        raise MalformedResponse(endpoint, "data", "missing", http_status=status)
    return payload["data"]


def _parse_session(api_key: str, data: Any) -> Session:
    if not isinstance(data, dict):
        raise MalformedResponse(_SESSION_ENDPOINT, "data", "not an object")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise MalformedResponse(_SESSION_ENDPOINT, "access_token", "missing or empty")
    access_token = Secret(token)
    for name in ("public_token", "enctoken", "refresh_token"):
        extra = data.get(name)
        if isinstance(extra, str):
            register_secret(extra)
    user_id = data.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        raise MalformedResponse(_SESSION_ENDPOINT, "user_id", "missing or empty")
    user_name = data.get("user_name")
    login_time = _parse_login_time(data.get("login_time"))
    return Session(
        api_key=api_key,
        user_id=user_id,
        user_name=user_name if isinstance(user_name, str) else "",
        login_time=login_time,
        expires_at=token_expiry(login_time),
        access_token=access_token,
    )


def _parse_login_time(value: object) -> datetime:
    # pykiteconnect tolerates a null login_time; so do we, and take "now" as the login.
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    if not isinstance(value, str):
        raise MalformedResponse(_SESSION_ENDPOINT, "login_time", "not a string")
    try:
        naive = datetime.strptime(value, KITE_TIME_FORMAT)
    except ValueError:
        raise MalformedResponse(
            _SESSION_ENDPOINT, "login_time", f"not {KITE_TIME_FORMAT}: {value!r}"
        ) from None
    return naive.replace(tzinfo=IST).astimezone(UTC)


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
        return self._page("Logged in", "orderdesk has the login. You can close this tab.")

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
    "IST",
    "KITE_API_ROOT",
    "KITE_LOGIN_ROOT",
    "CallbackServer",
    "LoginFailed",
    "Session",
    "checksum",
    "exchange_request_token",
    "invalidate",
    "login_url",
    "parse_redirect_url",
    "token_expiry",
]
