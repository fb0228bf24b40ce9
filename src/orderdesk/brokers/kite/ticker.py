"""The Kite ticker WebSocket client: live ticks and order updates that survive a flaky link.

Three layers, as in ib_async's connection → decoder → state split:

- **connection** (:class:`KiteTicker`'s run loop): one aiohttp WebSocket at a time, a heartbeat
  watchdog (no frame for ``heartbeat_timeout`` seconds means the link is dead), reconnection
  with exponential backoff and jitter by stamina while :func:`orderdesk.errors.is_reconnectable`
  says so, and a fatal stop when the upgrade is refused with HTTP 403 (the access token is
  invalid or expired; retrying cannot help). A dropped connection counts as the first failure
  of its outage, so even a server that accepts and closes at once is reconnected to no faster
  than every ``backoff_initial`` seconds.
- **decoder** (:func:`decode_text` and :func:`orderdesk.brokers.kite.ticks.parse_frame`): pure
  functions from frames to :data:`TickerEvent` values.
- **state**: the subscription book (token → mode), restored on every connection, and the event
  queue the consumer reads with ``async for event in ticker.events()``.

After every successful connection the client re-sends each subscription in its mode and then
runs the injected ``gap_fill()`` coroutine (a REST read of the order book, owned by the REST
side), retrying it with the same backoff while :func:`orderdesk.errors.is_retryable_read` says
so, so that an order update pushed while the socket was down is still seen (a refused session
ends the tries: the new session's ticker fills the gap when it connects). Updates that arrive
on the socket during the gap-fill may duplicate what the gap-fill reads; consumers apply
updates monotonically, so that is harmless.

aiohttp's WebSocket client is used, not ``websockets``: aiohttp is already the REST
dependency (one HTTP stack, one set of timeouts, proxies and TLS settings), and it was also the
cheaper receiver in a throwaway measurement (websockets 17.4 installed outside the project; an
aiohttp server on loopback streaming 20,000 frames of ten full packets, five alternating
rounds): about 25 µs per frame through aiohttp against 75 µs through websockets, server cost
included in both.

The access token travels in the URL's query string, so the URL is never logged or put into an
exception; aiohttp's own handshake errors print the URL, so they are translated ``from None``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any, Final, Self, TypeAlias

import aiohttp
import stamina
import structlog
from yarl import URL

# The fatal errors live in the adapter's error tree; re-exported here for callers of the ticker.
from orderdesk.brokers.kite.errors import (
    KiteTransportError,
    TickerError,
    TickerGaveUpError,
    TickerTokenError,
)
from orderdesk.brokers.kite.ticks import Mode, Tick, TickFrameError, parse_frame
from orderdesk.errors import is_reconnectable, is_retryable_read

__all__ = [
    "Connected",
    "Disconnected",
    "GapFillFailed",
    "GapFilled",
    "KiteTicker",
    "OrderUpdated",
    "ServerError",
    "ServerMessage",
    "TickerConfig",
    "TickerError",
    "TickerEvent",
    "TickerGaveUpError",
    "TickerState",
    "TickerTokenError",
    "TicksReceived",
    "decode_text",
]

log = structlog.get_logger(__name__)

MAX_TOKENS_PER_CONNECTION: Final = 3000  # Kite's documented per-connection limit


# --- configuration -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TickerConfig:
    """Where to connect and how patiently. Defaults follow Kite's docs and official clients."""

    url: str = "wss://ws.kite.trade"
    """Base URL without query; the credentials are appended at connect time."""
    heartbeat_timeout: float = 5.0
    """Seconds without any frame after which the link is declared dead (Go and JS use 5 s)."""
    connect_timeout: float = 30.0
    backoff_initial: float = 1.0
    """Seconds before the first retry (stamina's ``wait_initial``)."""
    backoff_factor: float = 2.0
    """Each further wait is this many times the one before (stamina's ``wait_exp_base``)."""
    backoff_max: float = 60.0
    """No wait is longer (stamina's ``wait_max``)."""
    backoff_jitter: float = 0.1
    """Each wait gets a random extra of up to this fraction of ``backoff_initial`` (stamina's
    jitter is added, not multiplied, so it is measured against the first wait)."""
    max_reconnects: int | None = None
    """Consecutive failed attempts before giving up with TickerGaveUpError; None = never."""

    def __post_init__(self) -> None:
        if self.heartbeat_timeout <= 0 or self.connect_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.backoff_initial < 0 or self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_initial must be >= 0 and <= backoff_max")
        if self.backoff_factor < 1 or not 0 <= self.backoff_jitter < 1:
            raise ValueError("backoff_factor must be >= 1 and backoff_jitter in [0, 1)")
        if self.max_reconnects is not None and self.max_reconnects < 0:
            raise ValueError("max_reconnects must be >= 0")

    def retrying(
        self, on: Callable[[Exception], bool], attempts: int | None = None
    ) -> AsyncIterator[stamina.Attempt]:
        """stamina's retry context with this config's waits, retrying while ``on`` says so."""
        return stamina.retry_context(
            on=on,
            attempts=attempts,
            timeout=None,
            wait_initial=self.backoff_initial,
            wait_max=self.backoff_max,
            wait_exp_base=self.backoff_factor,
            wait_jitter=self.backoff_jitter * self.backoff_initial,
        )


# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connected:
    """A connection is up and every subscription has been re-sent; ``connection`` counts from 1."""

    connection: int


@dataclass(frozen=True, slots=True)
class Disconnected:
    """A connection ended or an attempt failed; the client will retry unless it stopped."""

    reason: str


@dataclass(frozen=True, slots=True)
class TicksReceived:
    """The ticks of one binary frame, in wire order."""

    ticks: tuple[Tick, ...]


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """An order update as Kite sent it (the raw order dict; mapping.py turns it into a report)."""

    order: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ServerError:
    """An ``error`` text message from Kite; the connection stays up."""

    message: str


@dataclass(frozen=True, slots=True)
class ServerMessage:
    """A ``message`` text message from Kite (informational)."""

    message: str


@dataclass(frozen=True, slots=True)
class GapFilled:
    """The gap-fill after connection ``connection`` completed."""

    connection: int


@dataclass(frozen=True, slots=True)
class GapFillFailed:
    """A gap-fill attempt raised; it is retried with backoff while the connection lasts."""

    connection: int
    error: Exception


TickerEvent: TypeAlias = (
    Connected
    | Disconnected
    | TicksReceived
    | OrderUpdated
    | ServerError
    | ServerMessage
    | GapFilled
    | GapFillFailed
)


# --- decoder -----------------------------------------------------------------------------------


def _as_text(data: Any) -> str:
    return data if isinstance(data, str) else json.dumps(data)


def decode_text(text: str) -> TickerEvent | None:
    """Turn one text frame into an event; ``None`` for anything not worth surfacing.

    Order updates with empty data are dropped (as the official client drops them); unknown
    types and malformed JSON yield ``None`` rather than tearing the connection down.
    """
    try:
        message = json.loads(text)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    kind, data = message.get("type"), message.get("data")
    if kind == "order":
        return OrderUpdated(data) if isinstance(data, dict) and data else None
    if kind == "error":
        return ServerError(_as_text(data))
    if kind == "message":
        return ServerMessage(_as_text(data))
    return None


# --- the client --------------------------------------------------------------------------------


class TickerState(StrEnum):
    """Lifecycle of a :class:`KiteTicker`; CLOSED and FAILED are final."""

    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    WAITING = "waiting"
    """Between attempts, in the backoff wait."""
    CLOSED = "closed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class _Stop:
    error: Exception | None


async def _no_gap_fill() -> None:
    """The default hook: nothing to reconcile (a ticks-only consumer)."""


def _tokens(tokens: Iterable[int]) -> list[int]:
    out = list(dict.fromkeys(tokens))  # de-duplicate, keep order
    for token in out:
        if isinstance(token, bool) or not isinstance(token, int) or not 0 <= token < 2**32:
            raise ValueError(f"instrument token must be an unsigned 32-bit int, got {token!r}")
    return out


class KiteTicker:
    """A reconnecting Kite ticker client; use as ``async with`` and read ``events()``.

    ``session`` is injected (and not closed here). ``gap_fill`` is awaited after every
    successful connection, including the first. One consumer should read :meth:`events`; a
    fatal error (:class:`TickerTokenError`, :class:`TickerGaveUpError`) is raised from it after
    the events before it, and from :meth:`wait`.
    """

    def __init__(
        self,
        api_key: str,
        access_token: str,
        *,
        session: aiohttp.ClientSession,
        gap_fill: Callable[[], Awaitable[None]] = _no_gap_fill,
        config: TickerConfig | None = None,
    ) -> None:
        self._api_key = api_key
        self._access_token = access_token
        self._session = session
        self._gap_fill = gap_fill
        self._config = config or TickerConfig()
        self._modes: dict[int, Mode] = {}
        self._queue: asyncio.Queue[TickerEvent | _Stop] = asyncio.Queue()
        self._send_lock = asyncio.Lock()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._state = TickerState.NEW
        self._error: Exception | None = None

    def __repr__(self) -> str:
        # Deliberately without the URL's query and the credentials.
        return (
            f"KiteTicker(url={self._config.url!r}, state={self._state.value}, "
            f"subscriptions={len(self._modes)})"
        )

    @property
    def state(self) -> TickerState:
        """Where the client is in its lifecycle."""
        return self._state

    @property
    def subscriptions(self) -> dict[int, Mode]:
        """A copy of the subscription book: instrument token → mode."""
        return dict(self._modes)

    # lifecycle

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def start(self) -> None:
        """Start connecting in the background; a ticker starts once."""
        if self._state is not TickerState.NEW:
            raise RuntimeError(f"ticker cannot start from state {self._state.value}")
        self._state = TickerState.CONNECTING
        self._task = asyncio.create_task(self._run(), name="kite-ticker")

    async def close(self) -> None:
        """Stop for good: cancel the run loop, close the socket, end :meth:`events`."""
        if self._state not in (TickerState.CLOSED, TickerState.FAILED):
            self._state = TickerState.CLOSED
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._queue.put_nowait(_Stop(self._error))

    async def wait(self) -> None:
        """Wait until the client stops; raise the fatal error if it stopped on one."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)
        if self._error is not None:
            raise self._error

    async def events(self) -> AsyncIterator[TickerEvent]:
        """Every event in arrival order; ends after :meth:`close`, raises on a fatal error."""
        while True:
            item = await self._queue.get()
            if isinstance(item, _Stop):
                self._queue.put_nowait(item)  # later readers see the end too
                if item.error is not None:
                    raise item.error
                return
            yield item

    # subscriptions

    async def subscribe(self, tokens: Iterable[int], mode: Mode = Mode.QUOTE) -> None:
        """Subscribe instruments in ``mode``; remembered and restored on every reconnect."""
        wanted = _tokens(tokens)
        self._check_open()
        if len(self._modes.keys() | wanted) > MAX_TOKENS_PER_CONNECTION:
            raise ValueError(f"Kite allows {MAX_TOKENS_PER_CONNECTION} instruments per connection")
        async with self._send_lock:
            for token in wanted:
                self._modes[token] = mode
            await self._send_subscription(wanted, mode)

    def restore(self, subscriptions: Mapping[int, Mode]) -> None:
        """Take over another ticker's subscription book (a new session's ticker, before it
        starts): every connection sends the book, so nothing else is needed."""
        if self._state is not TickerState.NEW:
            raise RuntimeError("subscriptions are restored before the ticker starts")
        self._modes.update(subscriptions)

    async def set_mode(self, mode: Mode, tokens: Iterable[int]) -> None:
        """Switch already-subscribed instruments to ``mode``."""
        wanted = _tokens(tokens)
        self._check_open()
        unknown = [t for t in wanted if t not in self._modes]
        if unknown:
            raise ValueError(f"not subscribed: {unknown}")
        async with self._send_lock:
            for token in wanted:
                self._modes[token] = mode
            await self._send({"a": "mode", "v": [mode.value, wanted]})

    async def unsubscribe(self, tokens: Iterable[int]) -> None:
        """Stop streaming instruments and forget them for future reconnects."""
        wanted = _tokens(tokens)
        self._check_open()
        async with self._send_lock:
            for token in wanted:
                self._modes.pop(token, None)
            await self._send({"a": "unsubscribe", "v": wanted})

    def _check_open(self) -> None:
        if self._state in (TickerState.CLOSED, TickerState.FAILED):
            raise RuntimeError(f"ticker is {self._state.value}")

    async def _send_subscription(self, tokens: list[int], mode: Mode) -> None:
        # Subscribe first: Kite only re-labels tokens that are already subscribed.
        await self._send({"a": "subscribe", "v": tokens})
        await self._send({"a": "mode", "v": [mode.value, tokens]})

    async def _send(self, message: dict[str, Any]) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            return  # recorded in the book; the next connection sends it
        try:
            await ws.send_str(json.dumps(message, separators=(",", ":")))
        except (ConnectionError, aiohttp.ClientError):
            # The socket died under us; the read loop notices and reconnects, and the
            # resubscription sends this again from the book.
            log.debug("ticker.send_failed", action=message["a"])

    # connection

    def _emit(self, event: TickerEvent) -> None:
        self._queue.put_nowait(event)

    async def _run(self) -> None:
        connection = 0
        dropped: KiteTransportError | None = None
        try:
            while True:
                ws = await self._reconnect(dropped)
                connection += 1
                reason = await self._serve(ws, connection)
                self._disconnected(reason)
                dropped = KiteTransportError(f"ticker: {reason}")
        except TickerError as exc:
            self._fail(exc)
        except Exception as exc:
            # A bug, not a network condition: stop loudly rather than spin.
            log.exception("ticker.crashed")
            self._fail(exc)

    async def _reconnect(
        self, dropped: KiteTransportError | None
    ) -> aiohttp.ClientWebSocketResponse:
        """A new connection, tried until one opens, retried by stamina with the config's waits.

        ``dropped`` (how the last connection ended) counts as the outage's first failure, so
        the first attempt after it waits ``backoff_initial``. ``max_reconnects`` counts failed
        connection attempts in a row; a refused token (:class:`TickerTokenError`) is never
        retried (:func:`~orderdesk.errors.is_reconnectable`).
        """
        limit = self._config.max_reconnects
        attempts = None if limit is None else limit + 1 + (dropped is not None)
        failures = 0
        try:
            async for attempt in self._config.retrying(is_reconnectable, attempts):
                with attempt:
                    if dropped is not None:
                        error, dropped = dropped, None
                        self._state = TickerState.WAITING
                        raise error
                    self._state = TickerState.CONNECTING
                    try:
                        return await self._connect()
                    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                        failures += 1
                        reason = f"connect failed: {type(exc).__name__}"
                        self._disconnected(reason)
                        self._state = TickerState.WAITING
                        # aiohttp's text may quote the URL, and the URL holds the access token.
                        raise KiteTransportError(f"ticker: {reason}", maybe_sent=False) from None
        except KiteTransportError as exc:
            raise TickerGaveUpError(f"gave up after {failures} failed connection attempts") from exc
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _disconnected(self, reason: str) -> None:
        log.warning("ticker.disconnected", url=self._config.url, reason=reason)
        self._emit(Disconnected(reason))

    def _fail(self, exc: Exception) -> None:
        self._error = exc
        self._state = TickerState.FAILED
        self._queue.put_nowait(_Stop(exc))

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        url = URL(self._config.url).with_query(
            api_key=self._api_key, access_token=self._access_token
        )
        try:
            async with asyncio.timeout(self._config.connect_timeout):
                return await self._session.ws_connect(
                    url, headers={"X-Kite-Version": "3"}, autoping=True
                )
        except aiohttp.WSServerHandshakeError as exc:
            # str(exc) contains the URL and so the access token: keep only the status.
            if exc.status == 403:
                raise TickerTokenError(
                    "Kite refused the ticker connection (HTTP 403): the access token is invalid "
                    "or expired",
                    http_status=403,
                    error_type="TokenException",
                ) from None
            raise aiohttp.ClientError(f"handshake refused with HTTP {exc.status}") from None

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse, connection: int) -> str:
        gap_fill = None
        try:
            async with self._send_lock:
                self._ws = ws
                by_mode: dict[Mode, list[int]] = {}
                for token, mode in self._modes.items():
                    by_mode.setdefault(mode, []).append(token)
                for mode, tokens in by_mode.items():
                    await self._send_subscription(tokens, mode)
            self._state = TickerState.CONNECTED
            log.info("ticker.connected", url=self._config.url, connection=connection)
            self._emit(Connected(connection))
            gap_fill = asyncio.create_task(self._gap_fill_until_done(connection))
            return await self._read(ws)
        finally:
            self._ws = None
            if gap_fill is not None:
                gap_fill.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await gap_fill
            await ws.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        timeout = self._config.heartbeat_timeout
        while True:
            try:
                msg = await ws.receive(timeout=timeout)
            except TimeoutError:
                return f"no frame for {timeout}s (heartbeat watchdog)"
            if msg.type is aiohttp.WSMsgType.BINARY:
                self._on_binary(msg.data)
            elif msg.type is aiohttp.WSMsgType.TEXT:
                event = decode_text(msg.data)
                if event is not None:
                    self._emit(event)
            elif msg.type is aiohttp.WSMsgType.ERROR:
                return f"socket error: {type(msg.data).__name__}"
            elif msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                return f"closed by server (code {ws.close_code})"

    def _on_binary(self, frame: bytes) -> None:
        try:
            ticks = parse_frame(frame)
        except TickFrameError as exc:
            log.warning("ticker.bad_frame", error=str(exc))
            return
        if ticks:  # heartbeats (1-byte frames) only feed the watchdog
            self._emit(TicksReceived(tuple(ticks)))

    async def _gap_fill_until_done(self, connection: int) -> None:
        """Run the gap-fill until it succeeds, retried with the config's waits while
        :func:`~orderdesk.errors.is_retryable_read` says so (it is a REST read); each failure
        is reported as :class:`GapFillFailed`. Cancelled when the connection ends."""
        try:
            async for attempt in self._config.retrying(is_retryable_read):
                with attempt:
                    try:
                        await self._gap_fill()
                    except Exception as exc:
                        log.warning(
                            "ticker.gap_fill_failed", error=type(exc).__name__, attempt=attempt.num
                        )
                        self._emit(GapFillFailed(connection, exc))
                        raise
        except Exception as exc:
            # Refused (a dead token) or a bug: trying again on this connection cannot help.
            log.error("ticker.gap_fill_abandoned", error=type(exc).__name__)
            return
        self._emit(GapFilled(connection))
