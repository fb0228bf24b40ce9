"""Running the API under uvicorn inside the daemon's event loop, on a checked address.

The socket is bound here, before uvicorn starts, so the real port is known at once (port 0 in
tests) and a bind failure surfaces as an error from :func:`serve_api` instead of a log line.

A stop (SIGTERM, Ctrl-C, :meth:`ApiServer.stop`) is graceful for the requests in flight. The
event streams end (``app.state.stopping`` is set, which :mod:`orderdesk.api.events` follows) and
a new request is answered ``desk_closed`` (transient: send it again once the desk is back),
while a signal, modify or cancel being carried out is let finish, for up to ``stop_grace``
seconds: the longest one broker request may take. Then uvicorn closes. One still running is
cut and answered ``desk_closed`` saying its outcome is unknown, never with uvicorn's bare 500.
The desk and its broker session outlive all this (:mod:`orderdesk.runtime` stops the API first).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from types import TracebackType
from typing import Self

import structlog
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderdesk.api.errors import desk_closed_response
from orderdesk.errors import ConfigError

log = structlog.get_logger(__name__)

STARTUP_TIMEOUT = 10.0
STOP_GRACE_SECONDS = 10.0
"""How long a stopping server lets requests in flight finish, unless told: Kite's request
timeout (7 s by default) and a margin for the log's writes around the broker's answer."""
CUT_AFTER_SECONDS = 1
"""After the grace, uvicorn's own wait before it cancels what still runs (whole seconds)."""
STOPPING = (
    "the desk is stopping and takes no new requests; send it again once `orderdesk run` is "
    "back (a signal with the same signal id)"
)
CUT = (
    "the desk stopped before this request finished: its outcome is unknown. Send it again "
    "once `orderdesk run` is back, a signal with the same signal id (the desk answers with "
    "the order if it was placed), or read the order to see whether it was changed"
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def check_bind(host: str, *, allow_remote: bool) -> str | None:
    """Refuse a non-loopback address unless allowed; when allowed, return the warning to show."""
    if is_loopback(host):
        return None
    if not allow_remote:
        raise ConfigError(
            f"api.host: {host} is not a loopback address; set api.allow_remote = true to "
            "expose the order desk to the network"
        )
    return (
        f"the API listens on {host}, reachable from other machines: anyone holding the token "
        "can trade; put it behind TLS"
    )


class StopGate:
    """The app as uvicorn serves it, with the stop's rules (the module's docstring): once
    ``stopping`` is set a new request is answered ``desk_closed``, and one cut at the grace's
    end before its answer began is answered ``desk_closed`` too, not with a bare 500."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self.stopping = asyncio.Event()
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def running(self) -> int:
        """Requests being carried out (an event stream counts until it ends)."""
        return self._running

    async def idle(self) -> None:
        """Return once no request is being carried out."""
        await self._idle.wait()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if self.stopping.is_set():
            await desk_closed_response(STOPPING)(scope, receive, send)
            return
        self._running += 1
        self._idle.clear()
        try:
            await self._carry_out(scope, receive, send)
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()

    async def _carry_out(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, watched)
        except asyncio.CancelledError:
            # uvicorn cancels what still runs after the grace, and would log a traceback and
            # answer a bare 500. The order's intent was in the log before the broker was asked,
            # so the same signal id sent again finds what became of it: say so.
            if started or not self.stopping.is_set():
                raise
            log.warning("api.request_cut", method=scope["method"], path=scope["path"])
            await desk_closed_response(CUT)(scope, receive, send)


class _Server(uvicorn.Server):
    """uvicorn, whose shutdown (a signal it caught, or :meth:`ApiServer.stop`) first drains the
    gate: ``stopping`` set, so the event streams end and new requests are answered
    ``desk_closed`` while the listening socket stays open; then up to ``grace`` seconds for the
    requests in flight. uvicorn's own shutdown follows, cutting what still runs after
    :data:`CUT_AFTER_SECONDS`."""

    def __init__(self, config: uvicorn.Config, gate: StopGate, grace: float) -> None:
        super().__init__(config)
        self._gate = gate
        self._grace = grace

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self._drain()
        await super().shutdown(sockets)

    async def _drain(self) -> None:
        """Set ``stopping``, then wait for the requests in flight: up to the grace, or until a
        second Ctrl-C (uvicorn's ``force_exit``), looked at every 0.1 s as uvicorn does."""
        self._gate.stopping.set()
        if self._gate.running:
            log.info("api.stopping", requests_in_flight=self._gate.running)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._grace
        while not self.force_exit and loop.time() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._gate.idle(), min(deadline - loop.time(), 0.1))
                return


class ApiServer:
    """A running API: its port, and :meth:`stop` (or ``async with``) to shut it down."""

    def __init__(self, server: uvicorn.Server, task: asyncio.Task[None], host: str, port: int):
        self.server = server
        self._task = task
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        self.server.should_exit = True
        await self._task

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and
    # accepted connections inherit it. Without it uvicorn's header and body went out in two
    # sends and the client's delayed ACK held the second: 45 ms per kept-alive request
    # against 2 ms, measured side by side (issue 15).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"api: cannot listen on {host}:{port} ({exc.strerror})") from None
    sock.setblocking(False)
    return sock


def check_port(host: str, port: int) -> None:
    """Refuse now (:class:`~orderdesk.errors.ConfigError`) a fixed ``port`` that cannot be
    listened on, before a desk makes its store, lock and token: a start refused later, at the
    bind, left them behind in folders it had just made. Port 0 (the system's choice) always
    binds. Another process may still take the port before the desk binds it; that start is
    refused then, as before."""
    if port:
        _bind(host, port).close()


async def serve_api(
    app: FastAPI,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    allow_remote: bool = False,
    stop_grace: float = STOP_GRACE_SECONDS,
) -> ApiServer:
    """Start serving ``app``; returns once uvicorn has run the app's startup. On stop, requests
    in flight are let finish for ``stop_grace`` seconds (see the module's docstring)."""
    warning = check_bind(host, allow_remote=allow_remote)
    if warning:
        log.warning("api.remote_bind", message=warning)
    sock = _bind(host, port)
    gate = StopGate(app)
    app.state.stopping = gate.stopping  # the event streams end on it (orderdesk.api.events)
    config = uvicorn.Config(
        gate,
        # httptools, uvicorn's standard extra: h11, the pure-Python default, took a tenth of
        # the daemon's CPU per signal (py-spy, make bench ARGS=api_path; issue 15).
        http="httptools",
        # uvicorn rewrote each request's client and scheme from X-Forwarded-* headers sent by
        # a trusted (by default loopback) proxy. Nothing in the API reads either, it answers
        # the same behind a TLS proxy, and the rewrite cost each signal 8 µs of CPU (103
        # against 95 µs, the app called as uvicorn calls it; medians of five runs; issue 15).
        proxy_headers=False,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=CUT_AFTER_SECONDS,
    )
    server = _Server(config, gate, stop_grace)
    # uvicorn captures SIGINT/SIGTERM while it serves and re-raises them once it has shut
    # down, so the daemon's own handlers still see them, after the API has closed cleanly.
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT
    # uvicorn offers no "started" event; poll its flag, bounded, and fail if serve() ended.
    while not server.started:
        if task.done():
            sock.close()
            await task
            raise ConfigError("api: the server stopped during startup")
        if asyncio.get_running_loop().time() > deadline:
            server.should_exit = True
            raise ConfigError("api: the server did not start in time")
        await asyncio.sleep(0.01)
    return ApiServer(server, task, host, sock.getsockname()[1])


__all__ = [
    "STOP_GRACE_SECONDS",
    "ApiServer",
    "StopGate",
    "check_bind",
    "check_port",
    "is_loopback",
    "serve_api",
]
