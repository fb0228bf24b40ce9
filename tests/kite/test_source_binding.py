"""Where the Kite adapter's connections leave from: ``[kite] source_address`` binds REST (its own
connections, :mod:`orderdesk.wire`) and the WebSocket (the ticker's aiohttp
session) alike, and ``ip_family`` pins the family on both."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.config import load_config
from orderdesk.brokers.kite.errors import KiteTransportError
from orderdesk.brokers.kite.http import default_session
from orderdesk.errors import ConfigError


@pytest.fixture
async def peers() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback server recording the source address of every request and upgrade."""
    seen: list[str] = []

    async def rest(request: web.Request) -> web.Response:
        seen.append(f"rest {request.remote}")
        return web.json_response({"status": "success", "data": []})

    async def socket(request: web.Request) -> web.WebSocketResponse:
        seen.append(f"ws {request.remote}")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/orders", rest)
    app.router.add_get("/ws", socket)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_rest_and_websocket_leave_from_the_source_address(
    peers: tuple[str, list[str]],
) -> None:
    """With source_address 127.0.0.2 the server sees both the REST call and the upgrade
    come from 127.0.0.2, not the 127.0.0.1 the system would choose."""
    host, seen = peers
    config = load_config({"api_key": "k", "root": f"http://{host}", "source_address": "127.0.0.2"})
    async with KiteRestClient(config, access_token="t") as rest:
        await rest.orders()
    async with default_session(config) as session, session.ws_connect(f"ws://{host}/ws") as ws:
        await ws.receive()
    assert seen == ["rest 127.0.0.2", "ws 127.0.0.2"]


async def test_the_pinned_family_is_the_only_one_tried(
    peers: tuple[str, list[str]], no_backoff: None
) -> None:
    """Pinned to IPv6, a host name whose server listens on IPv4 only is not reached (the
    family is never silently switched); pinned to IPv4 (the default) it is."""
    host, seen = peers
    by_name = host.replace("127.0.0.1", "localhost")
    six = load_config({"api_key": "k", "root": f"http://{by_name}", "ip_family": "ipv6"})
    async with KiteRestClient(six, access_token="t") as rest:
        with pytest.raises(KiteTransportError) as refused:
            await rest.orders()
    assert refused.value.maybe_sent is False
    async with default_session(six) as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.ws_connect(f"ws://{by_name}/ws")
    four = load_config({"api_key": "k", "root": f"http://{by_name}"})
    async with KiteRestClient(four, access_token="t") as rest:
        await rest.orders()
    async with default_session(four) as session, session.ws_connect(f"ws://{by_name}/ws") as ws:
        await ws.receive()
    assert seen == ["rest 127.0.0.1", "ws 127.0.0.1"]


def test_an_address_of_the_other_family_is_refused_at_load() -> None:
    """A root or ws_url given as an IP of the family not pinned could never be reached: the
    config is refused naming the key, instead of every call failing."""
    with pytest.raises(ConfigError) as root:
        load_config({"api_key": "k", "root": "http://127.0.0.1:8765", "ip_family": "ipv6"})
    assert 'root 127.0.0.1 is IPv4 but ip_family is "ipv6"' in str(root.value)
    with pytest.raises(ConfigError) as ws:
        load_config({"api_key": "k", "ws_url": "ws://[::1]:8765/ws"})
    assert 'ws_url ::1 is IPv6 but ip_family is "ipv4"' in str(ws.value)
    assert load_config({"api_key": "k", "root": "http://[::1]:1", "ip_family": "any"})
