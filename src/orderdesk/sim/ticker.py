"""The WebSocket ticker: Kite's ``wss://ws.kite.trade`` for the simulator's market.

A client connects with ``?api_key=…&access_token=…`` (bad credentials: HTTP 403 before the
upgrade) at the root path, where Kite serves it (``KiteTicker(root="ws://HOST:PORT")`` asks for
``GET /?api_key=…``, KITE_API.md §10, §12.11), or at ``/ws``. It then speaks Kite's text
protocol — ``subscribe``, ``unsubscribe`` and ``mode`` — and receives binary tick frames,
1-byte heartbeats when idle, and ``{"type": "order", …}`` text messages for its user's order
updates, which carry the postback payload (KITE_API.md §10, §11).

Every connection has one writer task and a set of "dirty" tokens. A price change only marks the
subscribed tokens dirty and wakes the writer; the writer then packs the *current* snapshot of all
of them into one frame. So a burst of changes before the writer runs costs one frame per client,
a slow client gets the latest prices instead of a growing queue, and a subscription is answered
with the current state at once. Order updates go through one fault shaper per user (see
:class:`~orderdesk.sim.postbacks.UpdateShaper`); ``ws_drop`` is rolled per broadcast frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from orderdesk.sim.faults import Faults
from orderdesk.sim.market import MarketData
from orderdesk.sim.postbacks import UpdateShaper
from orderdesk.sim.ticks import HEARTBEAT, FrameEncoder, Mode

log = structlog.get_logger(__name__)

MAX_TOKENS_PER_CONNECTION = 3000
"""Kite's documented limit per WebSocket connection."""


class _Client:
    """One connected socket: its user, subscriptions, and what its writer still has to send."""

    __slots__ = (
        "dirty",
        "heartbeat_due",
        "last_sent",
        "subs",
        "texts",
        "transport",
        "user_id",
        "wake",
        "writer",
        "ws",
    )

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, user_id: str) -> None:
        self.ws = ws
        self.transport = request.transport
        self.user_id = user_id
        self.subs: dict[int, Mode] = {}
        self.dirty: dict[int, None] = {}  # an ordered set: packets go out in change order
        self.texts: deque[str] = deque()
        self.heartbeat_due = False
        self.wake = asyncio.Event()
        self.last_sent = time.monotonic()
        self.writer: asyncio.Task[None] | None = None

    def abort(self) -> None:
        """Cut the TCP connection without a close frame, as a network failure would."""
        if self.transport is not None:
            self.transport.abort()


class TickerHub:
    """Serves ``GET /ws`` and upgrades at ``/``: authenticates, tracks subscriptions, streams
    ticks and updates.

    ``authenticate(api_key, access_token)`` returns the user id or ``None``. The hub listens to
    the market's price changes from construction; :meth:`start` begins heartbeats and must run
    on the loop that serves the sockets.
    """

    def __init__(
        self,
        market: MarketData,
        authenticate: Callable[[str, str], str | None],
        faults: Faults,
        *,
        heartbeat_interval: float = 1.0,
        max_tokens: int = MAX_TOKENS_PER_CONNECTION,
    ) -> None:
        self._market = market
        self._authenticate = authenticate
        self._faults = faults
        self._heartbeat_interval = heartbeat_interval
        self._max_tokens = max_tokens
        self._clients: set[_Client] = set()
        self._shapers: dict[str, UpdateShaper[str]] = {}
        self._encoder = FrameEncoder()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self.frames_sent = 0
        market.add_price_listener(self._on_prices)

    def __repr__(self) -> str:
        return f"TickerHub({len(self._clients)} clients)"

    @property
    def client_count(self) -> int:
        """How many sockets are connected now."""
        return len(self._clients)

    def subscriptions(self) -> list[dict[int, Mode]]:
        """Each connected socket's subscriptions (token → mode), as copies, in no set order.

        Read-only, for tests and operators checking that a client restored its subscriptions
        after a reconnect.
        """
        return [dict(client.subs) for client in self._clients]

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind to the running loop and start the heartbeat task."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        if self._heartbeat_task is None:
            self._heartbeat_task = asyncio.create_task(self._heartbeats(), name="sim-ticker-hb")

    async def close(self) -> None:
        """Stop heartbeats and close every socket (code 1001, "going away")."""
        task, self._heartbeat_task = self._heartbeat_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for shaper in self._shapers.values():
            await shaper.close()
        self._shapers.clear()
        clients = list(self._clients)
        for client in clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.ws.close(code=1001), timeout=1.0)
            client.abort()
        for client in clients:
            await self._stop_writer(client)

    def drop_all(self) -> int:
        """Abort every socket at once (the ``ws_drop_now`` fault); returns how many."""
        clients = list(self._clients)
        for client in clients:
            client.abort()
        return len(clients)

    # -- the socket ---------------------------------------------------------------------------

    async def handle_at_root(self, request: web.Request) -> web.StreamResponse:
        """The root path's handler: a WebSocket upgrade is the ticker, as on Kite; anything else
        is the 404 the root path answered before it served the ticker."""
        if request.method != "GET" or request.headers.get("Upgrade", "").lower() != "websocket":
            raise web.HTTPNotFound()
        return await self.handle(request)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The ``GET /ws`` handler: 403 on bad credentials, else serve the socket until it ends."""
        api_key = request.query.get("api_key", "")
        access_token = request.query.get("access_token", "")
        user_id = self._authenticate(api_key, access_token) if api_key and access_token else None
        if user_id is None:
            raise web.HTTPForbidden(text="Invalid `api_key` or `access_token`.")
        ws = web.WebSocketResponse(autoping=True, compress=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        client = _Client(ws, request, user_id)
        self._clients.add(client)
        client.writer = asyncio.create_task(self._writer(client), name="sim-ticker-writer")
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    self._on_message(client, msg.data)
        finally:
            self._clients.discard(client)
            await self._stop_writer(client)
        return ws

    async def _stop_writer(self, client: _Client) -> None:
        task, client.writer = client.writer, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _on_message(self, client: _Client, text: str) -> None:
        try:
            message = json.loads(text)
            action = message["a"]
            value = message["v"]
        except (ValueError, KeyError, TypeError):
            self._send_text(client, _error("Invalid message."))
            return
        if action == "subscribe" and isinstance(value, list):
            self._subscribe(client, value)
        elif action == "unsubscribe" and isinstance(value, list):
            for token in value:
                client.subs.pop(token, None)
                client.dirty.pop(token, None)
        elif action == "mode" and isinstance(value, list) and len(value) == 2:
            self._set_mode(client, value[0], value[1])
        else:
            self._send_text(client, _error(f"Invalid action {action!r}."))

    def _subscribe(self, client: _Client, tokens: list[Any]) -> None:
        # A bare subscribe streams in quote mode; Kite ignores tokens it does not know.
        refused = 0
        for token in tokens:
            if not isinstance(token, int) or token not in self._market or token in client.subs:
                continue
            if len(client.subs) >= self._max_tokens:
                refused += 1
                continue
            client.subs[token] = Mode.QUOTE
            client.dirty[token] = None
        if refused:
            self._send_text(
                client,
                _error(f"Subscription limit of {self._max_tokens} instruments reached."),
            )
        client.wake.set()

    def _set_mode(self, client: _Client, mode: Any, tokens: Any) -> None:
        try:
            new_mode = Mode(mode)
        except ValueError:
            self._send_text(client, _error(f"Invalid mode {mode!r}."))
            return
        if not isinstance(tokens, list):
            return
        for token in tokens:
            if isinstance(token, int) and token in client.subs:
                client.subs[token] = new_mode
                client.dirty[token] = None
        client.wake.set()

    def _send_text(self, client: _Client, text: str) -> None:
        client.texts.append(text)
        client.wake.set()

    # -- broadcasting -------------------------------------------------------------------------

    def _on_prices(self, tokens: list[int]) -> None:
        """Price listener: mark subscribed tokens dirty and wake their writers."""
        loop = self._loop
        if loop is None or not self._clients:
            return
        if threading.get_ident() != self._loop_thread:
            loop.call_soon_threadsafe(self._on_prices, tokens)
            return
        for client in self._clients:
            subs = client.subs
            if not subs:
                continue
            dirty = client.dirty
            marked = False
            for token in tokens:
                if token in subs:
                    dirty[token] = None
                    marked = True
            if marked:
                client.wake.set()

    async def _writer(self, client: _Client) -> None:
        ws = client.ws
        market = self._market
        try:
            while not ws.closed:
                await client.wake.wait()
                client.wake.clear()
                sent = False
                while client.texts:
                    await ws.send_str(client.texts.popleft())
                    sent = True
                if client.dirty:
                    subs = client.subs
                    tokens, client.dirty = client.dirty, {}
                    frame = self._encoder.encode(
                        (market.snapshot(t), subs[t]) for t in tokens if t in subs
                    )
                    if frame:
                        if self._faults.roll(self._faults.ws_drop):
                            client.abort()
                            return
                        self.frames_sent += 1  # counted when handed over, before any drain
                        await ws.send_bytes(frame)
                        sent = True
                if client.heartbeat_due and not sent:
                    await ws.send_bytes(HEARTBEAT)
                    sent = True
                client.heartbeat_due = False
                if sent:
                    client.last_sent = time.monotonic()
        except (ConnectionError, RuntimeError) as exc:
            # The peer went away mid-send; the handler's receive loop ends and cleans up.
            log.debug("ticker writer stopped", error=type(exc).__name__)

    async def _heartbeats(self) -> None:
        period = self._heartbeat_interval / 4
        while True:
            await asyncio.sleep(period)  # a timer, not a synchronisation
            faults = self._faults
            if faults.ws_drop_now:
                faults.ws_drop_now = False
                self.drop_all()
            threshold = time.monotonic() - self._heartbeat_interval * 0.75
            for client in self._clients:
                if client.last_sent <= threshold:
                    client.heartbeat_due = True
                    client.wake.set()

    # -- order updates ------------------------------------------------------------------------

    def publish_order_update(self, user_id: str, order: dict[str, Any]) -> None:
        """Send ``{"type": "order", "data": order}`` to that user's sockets, through the faults."""
        shaper = self._shapers.get(user_id)
        if shaper is None:
            shaper = self._shapers[user_id] = UpdateShaper(
                self._faults, functools.partial(self._deliver, user_id)
            )
        text = json.dumps({"type": "order", "data": order}, separators=(",", ":"), default=str)
        shaper.push(text)

    def _deliver(self, user_id: str, text: str) -> None:
        for client in self._clients:
            if client.user_id == user_id:
                self._send_text(client, text)


def _error(message: str) -> str:
    return json.dumps({"type": "error", "data": message})


__all__ = ["MAX_TOKENS_PER_CONNECTION", "TickerHub"]
