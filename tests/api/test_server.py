"""Where the API may listen: loopback by default, anything else only when allowed on purpose."""

from __future__ import annotations

import asyncio
import socket

import pytest

from orderdesk.api import check_bind, create_app, serve_api
from orderdesk.errors import ConfigError
from tests.api.conftest import TOKEN
from tests.api.fakes import FakeDesk

ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - the address these tests prove is refused


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.5"])
def test_loopback_needs_no_flag(host: str) -> None:
    """Loopback addresses are accepted silently."""
    assert check_bind(host, allow_remote=False) is None


@pytest.mark.parametrize("host", [ALL_INTERFACES, "192.168.1.10", "desk.example"])
def test_remote_bind_is_refused_without_the_flag(host: str) -> None:
    """A non-loopback address without api.allow_remote is a configuration error naming it."""
    with pytest.raises(ConfigError) as exc_info:
        check_bind(host, allow_remote=False)
    assert "api.allow_remote" in str(exc_info.value)
    assert host in str(exc_info.value)


def test_remote_bind_with_the_flag_comes_with_a_warning() -> None:
    """Allowed remote binding returns the warning the CLI prints."""
    warning = check_bind(ALL_INTERFACES, allow_remote=True)
    assert warning is not None
    assert "reachable from other machines" in warning


async def test_serve_api_refuses_a_remote_host_before_binding() -> None:
    """serve_api applies the same rule, so the daemon cannot skip it."""
    app = create_app(FakeDesk(), token=TOKEN)
    with pytest.raises(ConfigError) as exc_info:
        await serve_api(app, ALL_INTERFACES, 0)
    assert "not a loopback address" in str(exc_info.value)


async def test_serve_api_reports_its_port_and_stops() -> None:
    """Port 0 picks a free port, reported on the handle; stop() ends the server."""
    app = create_app(FakeDesk(), token=TOKEN)
    async with await serve_api(app) as server:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"


async def test_accepted_connections_send_without_delay() -> None:
    """The API's connections carry TCP_NODELAY, so a response's header and body are not held
    back by the client's delayed ACK (issue 15: 45 ms per kept-alive request without it)."""
    app = create_app(FakeDesk(), token=TOKEN)
    async with await serve_api(app) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(b"GET /api/health HTTP/1.1\r\nHost: desk\r\n\r\n")
            await writer.drain()
            assert (await reader.readline()).startswith(b"HTTP/1.1 ")
            [connection] = server.server.server_state.connections
            accepted = connection.transport.get_extra_info("socket")
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            writer.close()
            await writer.wait_closed()
