"""A lean keep-alive HTTP/1.1 client for one origin: Kite's REST root (or the simulator's), and
the desk's own API for :class:`~orderdesk.client.DeskClient`.

Why hand-written instead of aiohttp: on a signal's path aiohttp's ``ClientSession.request`` was
the largest single cost in the daemon (py-spy), and the strategy pays it again in its own
process. ``make bench ARGS=kite_client`` measured the Kite client's CPU per placement at 290-340
µs on aiohttp against 179-203 µs on this module (three alternating runs each, 2026-12-04; tuning
aiohttp with a dummy cookie jar, a pre-built URL and no auto headers gained nothing). Both uses
need little of what aiohttp offers (one host, no cookies, no redirects, no compression, small
bodies), so this module does only that, with httptools (already a dependency, through uvicorn)
doing the parsing: Content-Length, chunked and read-to-EOF bodies. Streams (the ticker's
WebSocket, the desk's event stream) stay on aiohttp.

The rules that the send path's ``maybe_sent`` depends on (see :mod:`orderdesk.errors`):

- :class:`ConnectTimeout` and :class:`ConnectFailed` are raised only before a byte of the
  request was written: the request cannot have reached the server.
- :class:`ConnectionBroken` is raised once the request may have left (reset, EOF or an
  unreadable reply before a complete one): the server may have acted on it. A pooled
  connection that breaks on reuse is not retried, because the server may have read the request
  before closing.
- A connection goes back to the pool only after a complete reply that allows keep-alive; one
  the server closed while idle (EOF, reset) is dropped at once and never handed out again.

Measured in the project: ``make bench ARGS=kite_client`` (client CPU per placement, one at a
time): 290-340 µs on aiohttp, 179-203 µs here, three runs each side by side on 2026-12-04.

The connect timeout is applied here, and the total timeout too when the caller gives one
(``timeout=``, as ``asyncio.timeout`` around :meth:`Origin.request` would be, for less CPU).
"""

from __future__ import annotations

import asyncio
import heapq
import math
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, cast
from urllib.parse import quote, urlencode, urlsplit

import httptools

DEFAULT_CONTENT_TYPE = "application/octet-stream"
"""What aiohttp's ``response.content_type`` says for a reply without Content-Type."""
MAX_CONNECTIONS = 64
"""Requests in flight at once; more wait for a connection (aiohttp's connector had the same)."""
KEEPALIVE_SECONDS = 15.0
"""An idle connection older than this is closed, not reused (aiohttp's default too): a NAT or
load balancer may have forgotten it without a FIN, and a placement written into such a
connection waits out the total timeout and ends an unknown outcome."""


PATH_SAFE = "/:@!$&'()*+,;=-._~%"
"""Left unquoted in a target's path, as yarl (aiohttp's URLs) left them: ids stay readable."""


def target(path: str, params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None) -> str:
    """A request target for :meth:`Origin.request`: ``path`` quoted, ``params`` as its query."""
    quoted = quote(path, safe=PATH_SAFE)
    return f"{quoted}?{urlencode(params)}" if params else quoted


UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
"""What ``urlencode`` never quotes (urllib's ``_ALWAYS_SAFE``)."""


def form_body(fields: Mapping[str, str] | Sequence[tuple[str, str]]) -> bytes:
    """``urlencode(fields).encode()``, byte for byte, in about a third of its time.

    Hand-written because ``urlencode`` calls ``quote_plus`` twice per field: a placement's form
    (about ten short plain fields) took 10-15 µs there and 3 µs here (timeit, 2026-12-04). A
    pair of plain ``str`` made only of unreserved characters is written as it is; any other
    pair is left to ``urlencode`` itself, so no input is encoded differently (a property test
    holds this function to ``urlencode``).
    """
    return "&".join(
        [
            f"{key}={value}"
            if type(key) is str
            and type(value) is str
            and not (key.strip(UNRESERVED) or value.strip(UNRESERVED))
            else urlencode(((key, value),))
            for key, value in (fields.items() if isinstance(fields, Mapping) else fields)
        ]
    ).encode()


class WireError(Exception):
    """A failed exchange; messages name no URL (a logout's query carries the access token)."""


class ConnectTimeout(WireError):
    """No connection within the connect timeout; nothing was sent."""


class ConnectFailed(WireError):
    """The connection could not be opened (refused, unreachable, DNS, TLS); nothing was sent."""

    def __init__(self, message: str, strerror: str | None) -> None:
        super().__init__(message)
        self.strerror = strerror


class ConnectionBroken(WireError):
    """The connection failed after the request may have been sent, before a complete reply."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    content_type: str
    """The media type without parameters, lowercased, as aiohttp's ``content_type``."""
    body: bytes
    date: str | None
    """The ``Date`` header, for ``orderdesk doctor``'s clock check."""


class Trace(Protocol):
    """Observes exchanges (benchmarks stamp when a placement reached the socket)."""

    def written(self, method: str, target: str) -> None: ...

    def answered(self, method: str, target: str, status: int) -> None: ...


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection carrying one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        """Set for good once the connection ends or must not carry another exchange."""
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Reply] | None = None
        self._body: list[bytes] = []
        self._content_type = DEFAULT_CONTENT_TYPE
        self._date: str | None = None
        self._framed = False
        self._until_eof = False

    # -- asyncio.Protocol ---------------------------------------------------------------------

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.closed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop may call this after create_connection has returned the same transport, and
        # its transports are not asyncio.Transport subclasses (hence the cast).
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            # Bytes nobody asked for: the connection's state is unknown, so it is not reused.
            self.abort()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionBroken(f"unreadable reply ({type(exc).__name__})"))
            self.abort()

    def eof_received(self) -> bool:
        self.closed = True
        if self._waiter is not None and self._until_eof:
            self.on_message_complete()  # a reply without length ends with the connection
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        reason = type(exc).__name__ if exc is not None else "closed by the server"
        self._fail(ConnectionBroken(f"connection lost before a complete reply ({reason})"))

    # -- httptools callbacks ------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.lower()
        if key == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            self._content_type = media.decode("latin-1") or DEFAULT_CONTENT_TYPE
        elif key == b"date":
            self._date = value.decode("latin-1")
        elif key in (b"content-length", b"transfer-encoding"):
            self._framed = True

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        self._until_eof = not self._framed and status >= 200 and status not in (204, 304)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        reply = Reply(
            self._parser.get_status_code(), self._content_type, b"".join(self._body), self._date
        )
        if self._until_eof or not self._parser.should_keep_alive():
            self.closed = True  # Connection: close (or HTTP/1.0): not to be reused
            if self.transport is not None:
                self.transport.close()
        self._body = []
        self._content_type = DEFAULT_CONTENT_TYPE
        self._date = None
        self._framed = self._until_eof = False
        if waiter is not None and not waiter.done():
            waiter.set_result(reply)

    # -- use ----------------------------------------------------------------------------------

    def send(self, data: bytes, waiter: asyncio.Future[Reply]) -> None:
        assert self.transport is not None
        self._waiter = waiter
        self.transport.write(data)

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, error: WireError) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


class _Deadlines:
    """Fails with ``TimeoutError`` the reply futures whose deadline passed, on one loop timer
    armed for the earliest deadline, rather than one timer per exchange.

    Why by hand: in a loop of requests on loopback (2026-12-04), ``asyncio.timeout`` around
    each added 8-14 µs of CPU per request on asyncio's loop and 4-6 on uvloop, a ``call_at``
    per exchange cancelled at its reply about 8 and 2-4 (the handle, its cancel, the loop's heap
    work), and this about 1 on either: almost every exchange is answered in time, so its entry
    is only pushed, and dropped once it reaches the front. An expired exchange ends as under
    ``asyncio.timeout``: when the loop's timer for its deadline fires (entries are expired
    against the deadline the timer was set for, so a timer that fires a hair early, as uvloop's
    millisecond ones may, does not put them off).
    """

    __slots__ = ("_armed_for", "_entries", "_timer")

    def __init__(self) -> None:
        self._entries: list[tuple[float, int, asyncio.Future[Reply]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = math.inf

    def add(
        self, loop: asyncio.AbstractEventLoop, deadline: float, waiter: asyncio.Future[Reply]
    ) -> None:
        entries = self._entries
        while entries and entries[0][2].done():  # answered (or failed) before its deadline
            heapq.heappop(entries)
        # id() breaks ties between equal deadlines: futures do not compare.
        heapq.heappush(entries, (deadline, id(waiter), waiter))
        if deadline < self._armed_for:
            if self._timer is not None:
                self._timer.cancel()
            self._arm(loop, deadline)

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        self._armed_for = deadline
        self._timer = loop.call_at(deadline, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        due, self._timer, self._armed_for = self._armed_for, None, math.inf
        entries = self._entries
        while entries and (entries[0][0] <= due or entries[0][2].done()):
            waiter = heapq.heappop(entries)[2]
            if not waiter.done():
                waiter.set_exception(TimeoutError())
        if entries:
            self._arm(loop, entries[0][0])

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._armed_for = None, math.inf
        self._entries.clear()


class Origin:
    """A pool of keep-alive connections to one ``scheme://host[:port]``.

    ``family`` and ``local_addr`` pin where connections leave from (``[kite] ip_family`` and
    ``source_address``: Kite accepts order writes only from registered IPs, KITE_API.md §14.2).
    """

    def __init__(
        self,
        root: str,
        *,
        connect_timeout: float,
        family: int = socket.AF_UNSPEC,
        local_addr: tuple[str, int] | None = None,
        trace: Trace | None = None,
        keepalive: float = KEEPALIVE_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        parts = urlsplit(root)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) root: {root!r}")
        self._tls = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        default_port = self._port == (443 if self._tls else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._prefix = parts.path.rstrip("/")
        self._host_line = f"Host: {host if default_port else f'{host}:{self._port}'}\r\n"
        self._connect_timeout = connect_timeout
        self._family = family
        self._local_addr = local_addr
        self._trace = trace
        self._keepalive = keepalive
        self._ssl: ssl.SSLContext | None = None
        self._idle: list[_Connection] = []
        self._all: set[_Connection] = set()
        self._slots = asyncio.Semaphore(max_connections)
        self._deadlines = _Deadlines()
        self._closed = False

    @property
    def connections_opened(self) -> int:
        """Connections open now (idle or in use)."""
        return sum(1 for c in self._all if c.open)

    async def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - cheaper than asyncio.timeout, see _exchange
    ) -> Reply:
        """One exchange: ``target`` is the path (and query) under the root.

        ``timeout`` (seconds) bounds all of it, waiting for a free connection, connecting and
        the reply, and ends it with ``TimeoutError``, as ``asyncio.timeout`` around the call.
        """
        if self._closed:
            raise RuntimeError("this connection pool is closed")
        lines = [f"{method} {self._prefix}{target} HTTP/1.1\r\n", self._host_line]
        lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body) if body else 0}\r\n")
        lines.append("\r\n")
        data = "".join(lines).encode("latin-1")
        if body:
            data += body
        loop = asyncio.get_running_loop()
        if timeout is None:
            return await self._exchange(loop, method, target, data, None)
        deadline = loop.time() + timeout
        if self._slots.locked():
            # Every connection is busy: asyncio's timeout bounds the wait and the rest.
            async with asyncio.timeout_at(deadline):
                return await self._exchange(loop, method, target, data, None)
        return await self._exchange(loop, method, target, data, deadline)

    async def _exchange(
        self,
        loop: asyncio.AbstractEventLoop,
        method: str,
        target: str,
        data: bytes,
        deadline: float | None,
    ) -> Reply:
        """Send ``data`` and wait for the reply, by ``deadline`` (loop time) if one is given.

        The deadline fails the reply's future (:class:`_Deadlines`, for its CPU) rather than
        cancelling the task as ``asyncio.timeout`` does; the caller sees the same
        ``TimeoutError`` at the same moment. Connecting is bounded by ``asyncio.timeout``.
        """
        async with self._slots:
            conn = self._reusable()
            if conn is None:
                if deadline is None:
                    conn = await self._connect()
                else:
                    async with asyncio.timeout_at(deadline):
                        conn = await self._connect()
            waiter: asyncio.Future[Reply] = loop.create_future()
            if deadline is not None:
                self._deadlines.add(loop, deadline, waiter)
            try:
                conn.send(data, waiter)
                if self._trace is not None:
                    self._trace.written(method, target)
                reply = await waiter
            except BaseException:
                conn.abort()  # mid-exchange (cancelled, timed out, broken): state unknown
                self._all.discard(conn)
                raise
            if conn.open:
                conn.idle_since = loop.time()
                self._idle.append(conn)
            else:
                self._all.discard(conn)
        if self._trace is not None:
            self._trace.answered(method, target, reply.status)
        return reply

    def _reusable(self) -> _Connection | None:
        if not self._idle:
            return None
        now = asyncio.get_running_loop().time()
        while self._idle:
            conn = self._idle.pop()  # the most recent: least likely to have been timed out
            transport = conn.transport
            if conn.open and transport is not None and not transport.is_closing():
                if now - conn.idle_since < self._keepalive:
                    return conn
                conn.abort()
            self._all.discard(conn)
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        if self._tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        try:
            async with asyncio.timeout(self._connect_timeout):
                transport, conn = await loop.create_connection(
                    _Connection,
                    self._host,
                    self._port,
                    family=self._family,
                    local_addr=self._local_addr,
                    ssl=self._ssl,
                    server_hostname=self._host if self._tls else None,
                )
        except TimeoutError:
            raise ConnectTimeout(f"no connection within {self._connect_timeout}s") from None
        except OSError as exc:  # refused, unreachable, DNS (gaierror), TLS (SSLError)
            raise ConnectFailed(
                f"cannot connect ({exc.strerror or type(exc).__name__})", exc.strerror
            ) from exc
        conn.transport = transport
        if self._closed:
            conn.abort()
            raise RuntimeError("this connection pool is closed")
        self._all.add(conn)
        return conn

    async def close(self) -> None:
        """Close every connection, idle or in use; the pool cannot be used again."""
        self._closed = True
        self._deadlines.close()
        self._idle.clear()
        for conn in list(self._all):
            conn.abort()
        self._all.clear()
        await asyncio.sleep(0)  # let the transports' connection_lost run


__all__ = [
    "UNRESERVED",
    "ConnectFailed",
    "ConnectTimeout",
    "ConnectionBroken",
    "Origin",
    "Reply",
    "Trace",
    "WireError",
    "form_body",
]
