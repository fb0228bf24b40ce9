"""The HTTP transport for Kite Connect v3: one pool of keep-alive connections and the send path.

Every call goes down the same three steps:

``_send_with_retry``
    reads (GET) are retried with exponential backoff and jitter (stamina) while
    :func:`orderdesk.errors.is_retryable_read` says so; writes pass straight through, because a
    write whose outcome is unknown must be resolved, not repeated.
``_send_rate_limited``
    takes a slot from the shared :class:`KiteRateLimiter` first. A 429 proves Kite did nothing,
    so the request is re-queued while :func:`orderdesk.errors.is_throttled` says so, up to
    ``rate_limit_requeues`` times: stamina waits ``rate_limit_backoff_seconds``, doubling per
    further 429 up to 30 s, and the same hold is put on the whole endpoint class, because Kite
    throttles the class, not the one request. Order writes (place, modify, cancel) are
    re-queued once at most, after one hold of ``rate_limit_backoff_seconds``: their next 429
    goes to the desk, which sends a placement again itself and answers a modify or cancel with
    "try again" (:data:`_ANSWERED_BY_THE_DESK`). A read with ``patient=False`` is not re-queued.
``_send_once``
    one HTTP exchange under the configured timeout over :mod:`orderdesk.wire`
    (a lean HTTP/1.1 client; aiohttp cost 2-3x its CPU per request, see there). The wire's
    exceptions become :mod:`orderdesk.brokers.kite.errors` here and nowhere else, and Kite's
    envelope is decoded by :func:`decode_reply`.

The client owns its connections, made from the config (``root``, ``source_address``,
``ip_family``, the timeouts); the lifecycle is explicit (``async with``, :class:`ClientState`)
and a closed client is not reused. The WebSocket ticker keeps aiohttp (:func:`default_session`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any, Literal, NamedTuple, Protocol, Self

import aiohttp
import msgspec
import stamina
import structlog
from pydantic import SecretStr

from orderdesk.brokers.kite import routes as r
from orderdesk.brokers.kite.config import KiteConfig
from orderdesk.brokers.kite.errors import (
    DataException,
    KiteTimeout,
    KiteTransportError,
    MalformedResponse,
    TooManyRequests,
    error_for,
)
from orderdesk.brokers.kite.ratelimit import EndpointClass
from orderdesk.errors import is_retryable_read, is_throttled
from orderdesk.first_try import FirstTry
from orderdesk.redaction import register_secret
from orderdesk.wire import (
    ConnectFailed,
    ConnectionBroken,
    ConnectTimeout,
    Origin,
    Trace,
    form_body,
    target,
)

_ANSWERED_BY_THE_DESK = frozenset({r.PLACE_ORDER, r.MODIFY_ORDER, r.CANCEL_ORDER})
"""Order writes whose 429 is re-queued once here, then handed to the desk (see
``_send_rate_limited``)."""

log = structlog.get_logger(__name__)

KITE_VERSION = "3"
USER_AGENT = "orderdesk"
MAX_BACKOFF_SECONDS = 30.0
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class Limiter(Protocol):
    """What the send path needs from :class:`~orderdesk.brokers.kite.ratelimit.KiteRateLimiter`."""

    def slot(
        self, kind: EndpointClass, *, modifies: str | None = None, cancels: str | None = None
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold a slot for exactly one HTTP exchange (it counts from the reply)."""

    def backoff(self, kind: EndpointClass, seconds: float) -> None: ...


class _Unlimited:
    """:meth:`NoLimits.slot`'s slot: waits out the endpoint class's 429 hold, if any.

    A class rather than ``asynccontextmanager``: entering and leaving the generator-based
    one cost about 1.7 µs per request, this about 0.3 (timeit, 2026-12-04)."""

    __slots__ = ("_blocked_until", "_kind")

    def __init__(self, blocked_until: dict[EndpointClass, float], kind: EndpointClass) -> None:
        self._blocked_until = blocked_until
        self._kind = kind

    async def __aenter__(self) -> None:
        until = self._blocked_until.get(self._kind)
        if until is not None:
            delay = until - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class NoLimits:
    """A limiter that grants at once but still honours a 429's backoff (limits switched off)."""

    def __init__(self) -> None:
        self._blocked_until: dict[EndpointClass, float] = {}

    def slot(
        self, kind: EndpointClass, *, modifies: str | None = None, cancels: str | None = None
    ) -> contextlib.AbstractAsyncContextManager[None]:
        return _Unlimited(self._blocked_until, kind)

    def backoff(self, kind: EndpointClass, seconds: float) -> None:
        now = asyncio.get_running_loop().time()
        self._blocked_until[kind] = max(self._blocked_until.get(kind, 0.0), now + seconds)


class ClientState(StrEnum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


FAMILIES = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6, "any": socket.AF_UNSPEC}
"""``[kite] ip_family`` → the socket address family connections are pinned to."""


def default_session(config: KiteConfig | None = None) -> aiohttp.ClientSession:
    """One pooled session with keep-alive and a DNS cache; Kite is a single host.

    The ticker's; REST has its own connections (:func:`origin`). With a ``config``, every
    connection leaves from its ``source_address`` and only on its ``ip_family``, as REST's do:
    since 1 April 2026 Kite accepts order writes only from the IPs registered with the app, and
    a dual-stack host left to itself may leave on the family nobody registered (KITE_API.md
    §14.2).
    """
    if config is None:
        connector = aiohttp.TCPConnector(limit=64, ttl_dns_cache=300)
    else:
        local = None if config.source_address is None else (config.source_address, 0)
        connector = aiohttp.TCPConnector(
            limit=64, ttl_dns_cache=300, family=FAMILIES[config.ip_family], local_addr=local
        )
    return aiohttp.ClientSession(connector=connector)


def origin(config: KiteConfig, trace: Trace | None = None) -> Origin:
    """REST's connection pool to ``config.root``, leaving from ``source_address`` on
    ``ip_family`` like the ticker's session (KITE_API.md §14.2)."""
    local = None if config.source_address is None else (config.source_address, 0)
    return Origin(
        config.root,
        connect_timeout=config.connect_timeout_seconds,
        family=FAMILIES[config.ip_family],
        local_addr=local,
        trace=trace,
    )


Form = Mapping[str, str] | Sequence[tuple[str, str]]
"""A form's fields; pairs when a name repeats (``isin`` and ``quantity`` of an authorisation)."""


class _Request(NamedTuple):
    """One call on its way down the send path, immutable.

    A NamedTuple rather than a frozen dataclass, whose ``__init__`` sets each of the
    fields through ``object.__setattr__``: 2.0 µs per request against 0.3 (timeit, 2026-12-04).
    """

    route: r.Route
    path: str
    params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None
    form: Form | None = None
    body: Any = None
    modifies: str | None = None
    cancels: str | None = None
    hide_cause: bool = False
    """The request carries a secret in its URL; keep the transport's exception out of the
    chain (the wire's errors name no URL, but a chained OSError's text is not ours to vouch for)."""
    observe: Observation | None = None
    """Filled in with what the reply's headers showed (``orderdesk doctor``'s probe); None for
    every other request, which pays nothing for it."""
    patient: bool = True
    """False: a 429 or a failed read is the answer, neither re-queued nor tried again (the
    doctor's checks, which report what the broker says now)."""


@dataclass(slots=True)
class Observation:
    """What one HTTP exchange showed besides its body: the reply's ``Date`` header, and when
    it was sent and answered (epoch seconds)."""

    date: str | None = None
    sent_at: float | None = None
    answered_at: float | None = None


class _RowsEnvelope(msgspec.Struct):
    """A successful reply whose ``data`` is a list, its rows left undecoded."""

    status: Literal["success"]
    data: list[msgspec.Raw]
    error_type: Any = None


_decode_rows = msgspec.json.Decoder(_RowsEnvelope).decode


def decode_reply(route: r.Route, status: int, content_type: str, body: bytes) -> Any:
    """Kite's reply → the envelope's ``data`` (or CSV text), or the typed error it describes.

    A :attr:`~orderdesk.brokers.kite.routes.Reply.ROWS` route's successful reply gives its rows
    as raw JSON (``msgspec.Raw``): checking the envelope without decoding the rows took 5 ms for
    a book of 6,000 orders (4.7 MB) against 39 ms to decode it whole. Anything else (an error,
    ``data`` not a list) is read as any reply is."""
    name = route.name
    if route.reply is r.Reply.ROWS and status < 400 and "json" in content_type:
        try:
            envelope = _decode_rows(body)
        except msgspec.DecodeError:  # a ValidationError too: read it the general way below
            pass
        else:
            if not envelope.error_type:
                return envelope.data
    if "json" in content_type:
        try:
            # msgspec rather than json: the same values in half the time, which a read of a
            # day's order book spends most of its CPU on (27 -> 14 ms for 5,000 rows). It
            # refuses NaN and Infinity, which Kite never sends and JSON does not allow.
            payload = msgspec.json.decode(body)
        except ValueError:  # msgspec.DecodeError is one
            if status >= 400:
                raise error_for(f"HTTP {status} with unreadable JSON", None, status) from None
            raise MalformedResponse(name, "body", "not valid JSON", http_status=status) from None
        if not isinstance(payload, dict):
            if status >= 400:
                raise error_for(f"HTTP {status} without an error envelope", None, status)
            raise MalformedResponse(name, "body", "not a JSON object", http_status=status)
        error_type = payload.get("error_type")
        if payload.get("status") == "error" or error_type or status >= 400:
            message = payload.get("message")
            raise error_for(
                message if isinstance(message, str) else f"HTTP {status}",
                error_type if isinstance(error_type, str) else None,
                status,
            )
        if "data" not in payload:
            raise MalformedResponse(name, "data", "missing", http_status=status)
        return payload["data"]
    if route.reply is r.Reply.CSV and status < 400 and "csv" in content_type:
        return body.decode("utf-8")
    if status >= 500:
        # A gateway's HTML page: Kite never saw or never answered the request properly.
        kind = content_type or "untyped"
        raise DataException(
            f"Kite answered HTTP {status} with a {kind} body instead of JSON",
            http_status=status,
            error_type=None,
        )
    if status >= 400:
        raise error_for(f"HTTP {status} with a {content_type or 'untyped'} body", None, status)
    raise MalformedResponse(
        name, "content-type", f"expected JSON, got {content_type or 'none'!r}", http_status=status
    )


class KiteHttp:
    """Connections, lifecycle, credentials and the send path, without any endpoint.

    :class:`~orderdesk.brokers.kite.client.KiteRestClient` adds the endpoints on top.
    """

    def __init__(
        self,
        config: KiteConfig,
        *,
        access_token: SecretStr | str | None = None,
        limiter: Limiter | None = None,
        trace: Trace | None = None,
    ) -> None:
        self._config = config
        self._root = config.root
        self._limiter: Limiter = limiter or NoLimits()
        self._trace = trace
        self._wire: Origin | None = None
        self._token: SecretStr | None = None
        self._headers: dict[str, str] = {}
        self._anonymous: dict[str, str] = {}
        self.set_access_token(access_token)
        self.state = ClientState.NEW

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={self._root!r}, state={self.state.value})"

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Create the connection pool (connections open on first use). Idempotent while open."""
        if self.state is ClientState.CLOSED:
            raise RuntimeError(f"this {type(self).__name__} is closed; create a new one")
        if self.state is ClientState.NEW:
            self._wire = origin(self._config, self._trace)
            self.state = ClientState.OPEN

    async def close(self) -> None:
        """Close every connection; the client cannot be reopened."""
        if self.state is not ClientState.CLOSED:
            self.state = ClientState.CLOSED
            if self._wire is not None:
                await self._wire.close()

    def set_access_token(self, token: SecretStr | str | None) -> None:
        """Use ``token`` from now on (after a new login); ``None`` sends no Authorization."""
        if isinstance(token, str):
            token = SecretStr(token)
        if token is not None:
            # Log redaction masks a value only once it knows it; a bare token in any message
            # (not just in headers or query strings) is then replaced with ***.
            register_secret(token.get_secret_value())
        self._token = token
        self._anonymous = {"X-Kite-Version": KITE_VERSION, "User-Agent": USER_AGENT}
        self._headers = dict(self._anonymous)
        if token is not None:
            api_key = self._config.api_key
            self._headers["Authorization"] = f"token {api_key}:{token.get_secret_value()}"

    # -- the send path ------------------------------------------------------------------------

    async def _call(
        self,
        route: r.Route,
        *,
        path: Mapping[str, str] | None = None,
        params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
        form: Form | None = None,
        body: Any = None,
        modifies: str | None = None,
        cancels: str | None = None,
        hide_cause: bool = False,
        observe: Observation | None = None,
        patient: bool = True,
    ) -> Any:
        if self.state is not ClientState.OPEN:
            raise RuntimeError(
                f"{type(self).__name__} is {self.state.value}; use it inside 'async with'"
            )
        request = _Request(
            route,
            route.path.format(**path) if path else route.path,
            params,
            form,
            body,
            modifies,
            cancels,
            hide_cause,
            observe,
            patient,
        )
        if not route.is_read or not patient:
            # Writes are never retried (see the module docstring): no retry layer to pass.
            return await self._send_rate_limited(request)
        return await self._send_with_retry(request)

    async def _send_with_retry(self, request: _Request) -> Any:
        async for attempt in FirstTry(
            on=is_retryable_read,
            attempts=self._config.read_attempts,
            timeout=None,
            wait_initial=0.1,
            wait_max=2.0,
            wait_jitter=0.2,
        ):
            with attempt:
                return await self._send_rate_limited(request)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def _send_rate_limited(self, request: _Request) -> Any:
        # The first send outside stamina, as orderdesk.first_try does it: only a 429 enters
        # the retry loop, as that loop's first attempt (below), so the 429's hold is put on the
        # endpoint class with that attempt's wait.
        try:
            return await self._send_in_slot(request)
        except TooManyRequests as exc:
            throttled: TooManyRequests | None = exc
        kind = request.route.kind
        requeues = self._config.rate_limit_requeues
        if not request.patient:
            requeues = 0
        elif request.route in _ANSWERED_BY_THE_DESK:
            # The desk sends a placement again itself after a 429, answering the signal
            # meanwhile (engine/placement.py), and answers a modify or cancel with "try again":
            # held here for all re-queues (121 s at the defaults), each outwaited its sender's
            # 60 s. One re-queue covers Kite's one-second window.
            requeues = min(requeues, 1)
        async for attempt in stamina.retry_context(
            on=is_throttled,
            attempts=requeues + 1,
            timeout=None,
            wait_initial=self._config.rate_limit_backoff_seconds,
            wait_max=MAX_BACKOFF_SECONDS,
            wait_jitter=0.0,
        ):
            with attempt:
                try:
                    if throttled is not None:
                        error, throttled = throttled, None
                        raise error
                    return await self._send_in_slot(request)
                except TooManyRequests:
                    if attempt.num <= requeues:
                        # Without jitter, stamina's next wait is exact (0 in its test mode).
                        hold = attempt.next_wait
                        self._limiter.backoff(kind, hold)
                        log.warning(
                            "kite.rate_limited", endpoint=request.route.name, hold_seconds=hold
                        )
                    raise
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def _send_in_slot(self, request: _Request) -> Any:
        # The slot spans the exchange: Kite counts a request on arrival, which is never later
        # than its reply, so counting from the reply keeps every window within the limit
        # whatever the latency (bench_ratelimit: 0 429s at 9.65/s; counting from the grant let
        # 1-12 of 100 through as 429s on a loaded machine).
        async with self._limiter.slot(
            request.route.kind, modifies=request.modifies, cancels=request.cancels
        ):
            return await self._send_once(request)

    async def _send_once(self, request: _Request) -> Any:
        route = request.route
        wire = self._wire
        if wire is None:  # pragma: no cover - open() guarantees the pool
            raise RuntimeError("no connections")
        headers = self._headers if route.authenticated else self._anonymous
        data: bytes | None = None
        if request.form is not None:
            data = form_body(request.form)
            headers = {**headers, "Content-Type": FORM}
        elif request.body is not None:
            data = json.dumps(request.body).encode()  # the bytes aiohttp's json= sent
            headers = {**headers, "Content-Type": JSON}
        path = target(request.path, request.params)
        observe = request.observe
        if observe is not None:
            observe.sent_at = time.time()
        try:
            reply = await wire.request(
                route.method, path, headers, data, timeout=self._config.timeout_seconds
            )
        except ConnectTimeout as exc:
            error: KiteTransportError = KiteTimeout(
                f"{route.name}: could not connect to Kite within "
                f"{self._config.connect_timeout_seconds}s",
                maybe_sent=False,
            )
            cause: BaseException = exc
        except TimeoutError as exc:
            error = KiteTimeout(
                f"{route.name}: no reply from Kite within {self._config.timeout_seconds}s"
            )
            cause = exc
        except ConnectFailed as exc:
            # The connection never opened, so the request cannot have reached Kite.
            error = KiteTransportError(
                f"{route.name}: cannot connect to Kite ({exc.strerror or 'connection failed'})",
                maybe_sent=False,
            )
            cause = exc
        except ConnectionBroken as exc:
            error = KiteTransportError(
                f"{route.name}: the connection failed before a complete reply ({exc})"
            )
            cause = exc
        else:
            if observe is not None:
                observe.answered_at = time.time()
                observe.date = reply.date
            return decode_reply(route, reply.status, reply.content_type, reply.body)
        if request.hide_cause:
            raise error from None
        raise error from cause


__all__ = [
    "FAMILIES",
    "ClientState",
    "KiteHttp",
    "Limiter",
    "NoLimits",
    "Observation",
    "decode_reply",
    "default_session",
    "origin",
]
