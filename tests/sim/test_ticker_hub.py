"""The ticker hub on a real socket: auth, subscriptions, coalescing, heartbeats, updates, faults."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from kiteconnect import KiteTicker

from orderdesk.sim.faults import Faults
from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.market import MarketData
from orderdesk.sim.ticker import TickerHub
from orderdesk.sim.ticks import Mode
from tests.support import eventually

TODAY = date(2026, 7, 16)
USERS = {("key", "good"): "AB1234", ("key", "other"): "CD5678"}
INFY, SBIN, TCS, NIFTY = 408065, 779521, 2953217, 256265
PARSER = KiteTicker("api_key", "access_token")


@dataclass
class Client:
    """A raw aiohttp WebSocket client that records everything it receives, with arrival times."""

    ws: aiohttp.ClientWebSocketResponse
    frames: list[list[dict[str, Any]]] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    ended: WSMsgType | None = None
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        async for msg in self.ws:
            self.arrivals.append(time.monotonic())
            if msg.type is WSMsgType.BINARY:
                if len(msg.data) < 2:
                    self.heartbeats.append(time.monotonic())
                else:
                    self.frames.append(PARSER._parse_binary(msg.data))
            elif msg.type is WSMsgType.TEXT:
                self.texts.append(json.loads(msg.data))
        self.ended = WSMsgType.CLOSED

    async def send(self, action: str, value: Any) -> None:
        await self.ws.send_str(json.dumps({"a": action, "v": value}))

    def ticks(self, token: int | None = None) -> list[dict[str, Any]]:
        return [
            t for f in self.frames for t in f if token is None or t["instrument_token"] == token
        ]

    def orders(self) -> list[dict[str, Any]]:
        return [m["data"] for m in self.texts if m["type"] == "order"]


@dataclass
class Env:
    """A hub mounted on a tiny app on 127.0.0.1:0, and its market and faults."""

    url: str
    market: MarketData
    hub: TickerHub
    faults: Faults
    session: aiohttp.ClientSession
    clients: list[Client] = field(default_factory=list)

    async def connect(self, token: str = "good") -> Client:  # noqa: S107 - a test credential
        ws = await self.session.ws_connect(f"{self.url}?api_key=key&access_token={token}")
        client = Client(ws)
        client.task = asyncio.create_task(client.run())
        self.clients.append(client)
        live = len([c for c in self.clients if c.ended is None])
        await eventually(lambda: self.hub.client_count >= live, what="registered")
        return client


async def _env(**hub_options: Any) -> AsyncIterator[Env]:
    master = InstrumentMaster.load(today=TODAY)
    market = MarketData(master, 1, clock=lambda: datetime(2026, 7, 16, 10, 0, 0))
    faults = Faults()
    faults.reset(5)
    hub = TickerHub(market, lambda k, t: USERS.get((k, t)), faults, **hub_options)
    app = web.Application()
    app.router.add_get("/ws", hub.handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    await hub.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as session:
        env = Env(f"ws://127.0.0.1:{port}/ws", market, hub, faults, session)
        try:
            yield env
        finally:
            for client in env.clients:
                await client.ws.close()
            await hub.close()
            for client in env.clients:
                if client.task is not None:
                    await client.task
            await runner.cleanup()


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    """A hub with a fast heartbeat (0.2 s) so idle behaviour is quick to observe."""
    async for e in _env(heartbeat_interval=0.2):
        yield e


async def _until(probe: Callable[[], Any], what: str) -> Any:
    return await eventually(probe, timeout=5.0, what=what)


@pytest.mark.parametrize("query", ["api_key=key&access_token=bad", "api_key=key", ""])
async def test_bad_credentials_are_refused_before_the_upgrade(env: Env, query: str) -> None:
    """A wrong or missing token gets HTTP 403 instead of a WebSocket."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as exc_info:
        await env.session.ws_connect(f"{env.url}?{query}")
    assert exc_info.value.status == 403
    assert env.hub.client_count == 0


async def test_subscribe_streams_current_state_in_quote_mode(env: Env) -> None:
    """A bare subscribe answers at once with a quote-mode tick of the current prices."""
    client = await env.connect()
    await client.send("subscribe", [INFY, NIFTY, 999999999])
    ticks = await _until(lambda: len(client.ticks()) >= 2 and client.ticks(), "first ticks")
    by_token = {t["instrument_token"]: t for t in ticks}
    assert set(by_token) == {INFY, NIFTY}
    assert by_token[INFY]["mode"] == "quote"
    assert by_token[INFY]["last_price"] == env.market.last_price(INFY)
    assert by_token[NIFTY]["tradable"] is False


async def test_mode_switches_packets_and_unsubscribe_stops_them(env: Env) -> None:
    """Mode re-labels subscribed tokens (ltp, full); unsubscribed tokens get no further ticks."""
    client = await env.connect()
    await client.send("subscribe", [INFY, SBIN])
    await _until(lambda: len(client.ticks()) >= 2, "subscribe ticks")
    await client.send("mode", ["full", [INFY]])
    await _until(lambda: client.ticks(INFY)[-1]["mode"] == "full", "full tick")
    assert client.ticks(INFY)[-1]["depth"]["sell"][0]["price"] == env.market.last_price(INFY)
    await client.send("mode", ["ltp", [SBIN, TCS]])
    await _until(lambda: client.ticks(SBIN)[-1]["mode"] == "ltp", "ltp tick")
    assert client.ticks(TCS) == []  # mode alone does not subscribe
    await client.send("unsubscribe", [INFY])
    # The server handles messages in order, so by the time the SBIN price arrives, INFY is gone.
    await client.send("mode", ["ltp", [SBIN]])
    seen = len(client.ticks(SBIN))
    await _until(lambda: len(client.ticks(SBIN)) > seen, "mode ack tick")
    infy_before = len(client.ticks(INFY))
    env.market.set_prices({"NSE:INFY": 1601.0, "NSE:SBIN": 851.0})
    await _until(lambda: client.ticks(SBIN)[-1]["last_price"] == 851.0, "SBIN tick")
    assert len(client.ticks(INFY)) == infy_before


async def test_subscriptions_show_each_socket_token_and_mode(env: Env) -> None:
    """subscriptions() reports every live socket's tokens in their current modes, as copies."""
    assert env.hub.subscriptions() == []
    first, second = await env.connect(), await env.connect("other")
    await first.send("subscribe", [INFY, SBIN, 999999999])
    await first.send("mode", ["full", [SBIN]])
    await second.send("subscribe", [TCS])
    await second.send("mode", ["ltp", [TCS]])
    expected = [{INFY: "quote", SBIN: "full"}, {TCS: "ltp"}]

    def largest_first() -> list[dict[int, Mode]]:
        return sorted(env.hub.subscriptions(), key=len, reverse=True)

    await _until(lambda: largest_first() == expected, "both sockets' subscriptions")
    env.hub.subscriptions()[0].clear()  # a copy: the hub's book is untouched
    assert largest_first() == expected
    await first.send("unsubscribe", [INFY])
    await _until(lambda: {SBIN: "full"} in env.hub.subscriptions(), "unsubscribe")
    await first.ws.close()
    await _until(lambda: env.hub.subscriptions() == [{TCS: "ltp"}], "closed socket gone")


async def test_a_burst_of_changes_is_one_frame(env: Env) -> None:
    """Changes made before the writer runs go out as one frame with the latest prices."""
    client = await env.connect()
    await client.send("subscribe", [INFY, SBIN, TCS])
    await client.send("mode", ["full", [INFY, SBIN, TCS]])
    await _until(lambda: {t["mode"] for t in client.ticks()[-3:]} == {"full"}, "full ticks")
    before = len(client.frames)
    env.market.set_prices({"NSE:INFY": 1510.0})
    env.market.set_prices({"NSE:SBIN": 860.0})
    env.market.set_prices({"NSE:INFY": 1520.0, "NSE:TCS": 3111.0})
    frame = await _until(lambda: client.frames[before:] and client.frames[before], "burst")
    assert sorted(t["instrument_token"] for t in frame) == sorted([INFY, SBIN, TCS])
    assert {t["instrument_token"]: t["last_price"] for t in frame}[INFY] == 1520.0
    env.market.set_prices({"NSE:SBIN": 861.0})  # a marker: the next frame must be this one
    await _until(lambda: len(client.frames) > before + 1, "marker")
    assert [t["instrument_token"] for t in client.frames[before + 1]] == [SBIN]


async def test_one_step_is_one_frame_per_client(env: Env) -> None:
    """A market step with many moved instruments reaches each client as a single frame."""
    tokens = [i.instrument_token for i in list(InstrumentMaster.load(today=TODAY))[:60]]
    first, second = await env.connect(), await env.connect()
    for client in (first, second):
        await client.send("subscribe", tokens)
        await _until(lambda c=client: len(c.ticks()) >= len(tokens), "initial ticks")
    counts = [len(first.frames), len(second.frames)]
    moved = env.market.step()
    assert len(moved) > 10
    for client, count in zip((first, second), counts, strict=True):
        await _until(lambda c=client, n=count: len(c.frames) > n, "step frame")
        frame = client.frames[count]
        assert sorted(t["instrument_token"] for t in frame) == sorted(set(moved) & set(tokens))


async def test_heartbeats_keep_an_idle_link_alive(env: Env) -> None:
    """With nothing to stream the server sends 1-byte frames at least once per interval."""
    client = await env.connect()
    await _until(lambda: len(client.heartbeats) >= 4, "heartbeats")
    gaps = [b - a for a, b in zip(client.arrivals, client.arrivals[1:], strict=False)]
    assert max(gaps) < 0.2 + 0.15  # interval plus scheduling slack


async def test_default_heartbeat_is_one_second() -> None:
    """The hub's default heartbeat interval meets the ≤ 1 s requirement."""
    async for env in _env():
        assert env.hub._heartbeat_interval == 1.0


async def test_order_updates_reach_only_their_user(env: Env) -> None:
    """An order update is a text frame {"type": "order"} on that user's sockets alone."""
    mine, also_mine = await env.connect(), await env.connect()
    other = await env.connect("other")
    env.hub.publish_order_update("AB1234", {"order_id": "1", "status": "COMPLETE"})
    env.hub.publish_order_update("CD5678", {"order_id": "2", "status": "OPEN"})
    await _until(lambda: mine.orders() and also_mine.orders() and other.orders(), "updates")
    assert mine.orders() == also_mine.orders() == [{"order_id": "1", "status": "COMPLETE"}]
    assert other.orders() == [{"order_id": "2", "status": "OPEN"}]


async def test_duplicate_fault_sends_updates_twice(env: Env) -> None:
    """With update_duplicate = 1 every update arrives twice, in order."""
    client = await env.connect()
    env.faults.update_duplicate = 1.0
    for n in range(3):
        env.hub.publish_order_update("AB1234", {"order_id": str(n)})
    await _until(lambda: len(client.orders()) >= 6, "duplicates")
    assert [o["order_id"] for o in client.orders()] == ["0", "0", "1", "1", "2", "2"]


async def test_reorder_fault_swaps_neighbours_and_releases_the_last(env: Env) -> None:
    """With update_reorder = 1 each update follows its successor; a lone one still comes out."""
    client = await env.connect()
    env.faults.update_reorder = 1.0
    for n in range(3):
        env.hub.publish_order_update("AB1234", {"order_id": str(n)})
    await _until(lambda: len(client.orders()) >= 3, "reordered")
    assert [o["order_id"] for o in client.orders()] == ["1", "0", "2"]


async def test_delay_fault_holds_updates_back_in_order(env: Env) -> None:
    """update_delay_ms delays every update by at least that long and keeps their order."""
    client = await env.connect()
    env.faults.update_delay_ms = 150.0
    started = time.monotonic()
    for n in range(3):
        env.hub.publish_order_update("AB1234", {"order_id": str(n)})
    await _until(lambda: len(client.orders()) >= 3, "delayed")
    assert time.monotonic() - started >= 0.15
    assert [o["order_id"] for o in client.orders()] == ["0", "1", "2"]


async def test_ws_drop_closes_a_socket_on_broadcast(env: Env) -> None:
    """With ws_drop = 1 the next tick frame cuts the connection instead of arriving."""
    client = await env.connect()
    await client.send("subscribe", [INFY])
    await _until(lambda: client.ticks(INFY), "first tick")
    env.faults.ws_drop = 1.0
    env.market.set_prices({"NSE:INFY": 1555.0})
    await _until(lambda: client.ended is not None, "drop")
    assert [t["last_price"] for t in client.ticks(INFY)] == [1500.0]
    assert client.ws.close_code != 1000
    await _until(lambda: env.hub.client_count == 0, "deregistered")


async def test_drop_all_and_ws_drop_now(env: Env) -> None:
    """drop_all() cuts every socket; the ws_drop_now switch does it once and resets itself."""
    await env.connect()
    await env.connect("other")
    assert env.hub.drop_all() == 2
    await _until(lambda: all(c.ended for c in env.clients), "dropped")
    late = await env.connect()
    env.faults.ws_drop_now = True
    await _until(lambda: late.ended is not None, "one-shot drop")
    assert env.faults.ws_drop_now is False


async def test_bad_messages_get_an_error_text(env: Env) -> None:
    """Unparseable messages, unknown actions and modes are answered with {"type": "error"}."""
    client = await env.connect()
    await client.ws.send_str("not json")
    await client.send("dance", [])
    await client.send("mode", ["turbo", [INFY]])
    await _until(lambda: len(client.texts) >= 3, "errors")
    assert [m["type"] for m in client.texts] == ["error"] * 3
    assert all(isinstance(m["data"], str) for m in client.texts)


async def test_subscription_limit_per_connection() -> None:
    """Tokens beyond the per-connection limit are refused with an error message."""
    async for env in _env(max_tokens=2):
        client = await env.connect()
        await client.send("subscribe", [INFY, SBIN, TCS])
        await _until(lambda c=client: c.texts and len(c.ticks()) >= 2, "limit")
        assert client.texts[0]["type"] == "error"
        assert {t["instrument_token"] for t in client.ticks()} == {INFY, SBIN}


async def test_price_change_from_another_thread_is_delivered(env: Env) -> None:
    """A price set from a worker thread still reaches subscribers via the hub's loop."""
    client = await env.connect()
    await client.send("subscribe", [INFY])
    await _until(lambda: client.ticks(INFY), "first tick")
    await asyncio.get_running_loop().run_in_executor(
        None, env.market.set_prices, {"NSE:INFY": 1499.0}
    )
    await _until(lambda: client.ticks(INFY)[-1]["last_price"] == 1499.0, "threaded tick")


async def test_a_new_trading_day_ticks_yesterdays_last_price_as_the_close(env: Env) -> None:
    """When the market starts a new day, subscribers get a tick whose close, open, high and low
    are the previous day's last price, with the day's volume back at zero."""
    client = await env.connect()
    await client.send("subscribe", [INFY])
    await client.send("mode", ["full", [INFY]])
    await _until(lambda: client.ticks(INFY) and client.ticks(INFY)[-1]["mode"] == "full", "full")
    env.market.set_prices({"NSE:INFY": 1555.5})
    env.market.record_trade(INFY, 10, 1555.5)
    env.market.start_day(date(2026, 7, 17))
    tick = await _until(
        lambda: [t for t in client.ticks(INFY) if t["ohlc"]["close"] == 1555.5], "the new close"
    )
    assert tick[-1]["ohlc"] == dict.fromkeys(("open", "high", "low", "close"), 1555.5)
    assert tick[-1]["volume_traded"] == 0
    assert tick[-1]["change"] == 0
