"""Running the API under uvicorn inside the daemon's event loop, on a checked address.

The socket is bound here, before uvicorn starts, so the real port is known at once (port 0 in
tests) and a bind failure surfaces as an error from :func:`serve_api` instead of a log line.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from types import TracebackType
from typing import Self

import structlog
import uvicorn
from fastapi import FastAPI

from orderdesk.errors import ConfigError

log = structlog.get_logger(__name__)

STARTUP_TIMEOUT = 10.0


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


async def serve_api(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, *, allow_remote: bool = False
) -> ApiServer:
    """Start serving ``app``; returns once uvicorn has run the app's startup."""
    warning = check_bind(host, allow_remote=allow_remote)
    if warning:
        log.warning("api.remote_bind", message=warning)
    sock = _bind(host, port)
    config = uvicorn.Config(
        app,
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
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
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


__all__ = ["ApiServer", "check_bind", "is_loopback", "serve_api"]
