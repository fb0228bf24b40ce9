"""Fixtures for the Kite adapter: a scriptable Kite-like HTTP server on 127.0.0.1, port 0.

``FakeKite`` answers each (method, path) with queued replies (the last one repeats), records
every request it saw, and can hang or drop a connection on purpose. Tests inject a client that
points at it, the way httpx's ``MockTransport`` is injected rather than patched in.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import stamina
from aiohttp import web
from aiohttp.test_utils import TestServer

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.config import KiteConfig

API_KEY = "kitekey"
ACCESS_TOKEN = "tok3n-that-must-not-leak"


@dataclass(frozen=True)
class Reply:
    """One canned answer. ``action`` "hang" never answers; "drop" closes the socket instead."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    action: str = "reply"

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> Reply:
        return cls(status=status, body=json.dumps(payload).encode())

    @classmethod
    def error(cls, status: int, error_type: str, message: str = "nope") -> Reply:
        envelope = {"status": "error", "error_type": error_type, "message": message, "data": None}
        return cls.json(envelope, status)


@dataclass
class Seen:
    """A request as the fake server received it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    form: dict[str, str]
    json: Any


@dataclass
class FakeKite:
    """A scriptable stand-in for api.kite.trade."""

    mocks: Path | None = None
    replies: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    root: str = ""
    ws_frames: list[str] = field(default_factory=list)
    """Text frames sent to each ticker client on ``/ws`` right after it connects."""
    ws_received: list[Any] = field(default_factory=list)

    def on(self, method: str, path: str, *replies: Reply) -> None:
        """Answer ``method path`` with ``replies`` in turn; the last one repeats."""
        self.replies[(method, path)] = list(replies)

    def sample(self, method: str, path: str, name: str) -> None:
        """Answer with a file from the upstream Kite samples, read in place."""
        assert self.mocks is not None, "this test needs the kite_mocks fixture"
        content_type = "text/csv" if name.endswith(".csv") else "application/json"
        body = (self.mocks / name).read_bytes()
        self.on(method, path, Reply(body=body, content_type=content_type))

    def count(self, method: str, path: str) -> int:
        return sum(1 for s in self.seen if s.method == method and s.path == path)

    async def ticker(self, request: web.Request) -> web.StreamResponse:
        """A minimal Kite ticker: push ``ws_frames``, record what the client sends."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        for frame in self.ws_frames:
            await ws.send_str(frame)
        async for message in ws:
            self.ws_received.append(json.loads(message.data))
        return ws

    async def handle(self, request: web.Request) -> web.StreamResponse:
        form: dict[str, str] = {}
        body: Any = None
        if request.content_type == "application/x-www-form-urlencoded":
            form = {k: str(v) for k, v in (await request.post()).items()}
        elif request.content_type == "application/json":
            body = await request.json()
        self.seen.append(
            Seen(
                request.method,
                request.path,
                list(request.query.items()),
                dict(request.headers),
                form,
                body,
            )
        )
        queue = self.replies.get((request.method, request.path))
        if not queue:
            return web.json_response(
                {"status": "error", "error_type": "GeneralException", "message": "Route not found"},
                status=404,
            )
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if reply.action == "hang":
            await self.release.wait()
        if reply.action == "drop":
            assert request.transport is not None
            request.transport.close()
            await self.release.wait()
        return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)


@pytest.fixture
def no_backoff() -> Iterator[None]:
    """stamina's test mode: retries keep their attempt counts but never wait."""
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture
async def fake_kite(request: pytest.FixtureRequest) -> AsyncIterator[FakeKite]:
    """A FakeKite served on 127.0.0.1 at an ephemeral port."""
    mocks = request.getfixturevalue("kite_mocks") if "kite_mocks" in request.fixturenames else None
    fake = FakeKite(mocks=mocks)
    app = web.Application()
    app.router.add_get("/ws", fake.ticker)
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    fake.root = str(server.make_url("")).rstrip("/")
    try:
        yield fake
    finally:
        fake.release.set()
        await server.close()


def kite_config(root: str, **overrides: Any) -> KiteConfig:
    """A config aimed at ``root`` with quick timeouts (429 holds are stamina's: ``no_backoff``
    makes them 0)."""
    options: dict[str, Any] = {
        "api_key": API_KEY,
        "root": root,
        "timeout_seconds": 2.0,
    }
    options.update(overrides)
    return KiteConfig.model_validate(options)


@pytest.fixture
async def kite(fake_kite: FakeKite, no_backoff: None) -> AsyncIterator[KiteRestClient]:
    """A KiteRestClient talking to ``fake_kite`` (rate limits off, stamina waits off)."""
    async with KiteRestClient(kite_config(fake_kite.root), access_token=ACCESS_TOKEN) as client:
        yield client
