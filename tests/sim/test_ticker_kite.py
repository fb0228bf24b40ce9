"""The official KiteTicker against the real simulator: all modes match /quote, and order updates.

The official ticker runs on Twisted, whose reactor can start only once per process, so it runs
here in a child process that relays its callbacks as JSON lines; the test drives it over stdin.
The child's zone is IST so the client's local-time datetimes compare with the quotes' IST text.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kiteconnect import KiteConnect

from orderdesk.sim.app import SimServer
from tests.support import wait_until

from .conftest import SimControl

CHILD = r"""
import json, sys, threading
from kiteconnect import KiteTicker
from twisted.internet import reactor

api_key, access_token, root = sys.argv[1:4]
lock = threading.Lock()

def emit(event, **data):
    with lock:
        sys.stdout.write(json.dumps({"event": event, **data}, default=str) + "\n")
        sys.stdout.flush()

kws = KiteTicker(api_key, access_token, root=root, reconnect_max_tries=5)
kws.on_connect = lambda ws, response: emit("connect")
kws.on_ticks = lambda ws, ticks: emit("ticks", ticks=ticks)
kws.on_order_update = lambda ws, data: emit("order", data=data)
kws.on_close = lambda ws, code, reason: emit("close", code=code, reason=str(reason))
kws.on_error = lambda ws, code, reason: emit("error", code=code, reason=str(reason))
kws.connect(threaded=True)
for line in sys.stdin:
    command = json.loads(line)
    if command["a"] == "subscribe":
        reactor.callFromThread(kws.subscribe, command["v"])
    elif command["a"] == "mode":
        reactor.callFromThread(kws.set_mode, command["v"][0], command["v"][1])
emit("bye")
"""

INFY, SBIN, RELIANCE, NIFTY = 408065, 779521, 738561, 256265


class Child:
    """The official ticker in a subprocess: commands in, callback events out."""

    def __init__(self, api_key: str, access_token: str, root: str) -> None:
        env = dict(os.environ, TZ="IST-05:30", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, api_key, access_token, root],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.events: list[dict[str, Any]] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.append(json.loads(line))

    def send(self, action: str, value: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"a": action, "v": value}) + "\n")
        self.proc.stdin.flush()

    def of(self, event: str) -> list[dict[str, Any]]:
        return [e for e in list(self.events) if e["event"] == event]

    def last_tick(self, token: int) -> dict[str, Any] | None:
        for event in reversed(self.of("ticks")):
            for tick in reversed(event["ticks"]):
                if tick["instrument_token"] == token:
                    return dict(tick)
        return None

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._reader.join(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def child(sim_thread: SimServer, kite: KiteConnect) -> Iterator[Child]:
    """The official ticker connected to the simulator with the logged-in client's token."""
    c = Child(sim_thread.config.api_key, kite.access_token, sim_thread.ws_url)
    try:
        wait_until(lambda: c.of("connect"), timeout=30, what="KiteTicker connect")
        yield c
    finally:
        c.stop()


def _price_is(child: Child, token: int, price: float, mode: str) -> dict[str, Any] | None:
    tick = child.last_tick(token)
    if tick and tick["last_price"] == price and tick["mode"] == mode:
        return tick
    return None


def test_ticks_in_every_mode_match_quote(
    child: Child, kite: KiteConnect, simctl: SimControl
) -> None:
    """Full, quote and ltp ticks (and an index's full tick) carry what /quote says right then."""
    child.send("subscribe", [INFY, SBIN, RELIANCE, NIFTY])
    child.send("mode", ["full", [INFY, NIFTY]])
    child.send("mode", ["ltp", [SBIN]])
    simctl.prices({"NSE:INFY": 1510.5, "NSE:SBIN": 861.2, "NSE:RELIANCE": 1405.0})
    full = wait_until(lambda: _price_is(child, INFY, 1510.5, "full"), timeout=10, what="full")
    ltp = wait_until(lambda: _price_is(child, SBIN, 861.2, "ltp"), timeout=10, what="ltp")
    quoted = wait_until(lambda: _price_is(child, RELIANCE, 1405.0, "quote"), what="quote")
    index = wait_until(lambda: child.last_tick(NIFTY), what="index tick")
    keys = ["NSE:INFY", "NSE:SBIN", "NSE:RELIANCE", "NSE:NIFTY 50"]
    quote = kite.quote(keys)

    infy = quote["NSE:INFY"]
    assert full["tradable"] is True
    assert full["volume_traded"] == infy["volume"]
    assert full["average_traded_price"] == infy["average_price"]
    assert full["last_traded_quantity"] == infy["last_quantity"]
    assert full["total_buy_quantity"] == infy["buy_quantity"]
    assert full["total_sell_quantity"] == infy["sell_quantity"]
    assert full["ohlc"] == infy["ohlc"]
    assert full["oi"] == infy["oi"]
    assert full["exchange_timestamp"] == str(infy["timestamp"])
    assert full["last_trade_time"] == str(infy["last_trade_time"])
    for side in ("buy", "sell"):
        assert [(d["price"], d["quantity"], d["orders"]) for d in full["depth"][side]] == [
            (d["price"], d["quantity"], d["orders"]) for d in infy["depth"][side]
        ]
    assert ltp == {"tradable": True, "mode": "ltp", "instrument_token": SBIN, "last_price": 861.2}
    assert quote["NSE:SBIN"]["last_price"] == 861.2
    assert quoted["ohlc"] == quote["NSE:RELIANCE"]["ohlc"]
    assert quoted["volume_traded"] == quote["NSE:RELIANCE"]["volume"]
    assert "depth" not in quoted
    assert index["tradable"] is False
    assert index["mode"] == "full"
    assert index["last_price"] == quote["NSE:NIFTY 50"]["last_price"]
    assert index["ohlc"] == quote["NSE:NIFTY 50"]["ohlc"]


def test_order_update_reaches_on_order_update(
    child: Child, kite: KiteConnect, simctl: SimControl
) -> None:
    """A MARKET order placed over REST comes back through on_order_update as COMPLETE."""
    simctl.prices({"NSE:INFY": 1502.5})
    order_id = kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=2,
        product="CNC",
        order_type="MARKET",
        market_protection=-1,
    )
    update = wait_until(
        lambda: [
            e["data"]
            for e in child.of("order")
            if e["data"]["order_id"] == order_id and e["data"]["status"] == "COMPLETE"
        ],
        timeout=10,
        what="order update",
    )[0]
    assert update["filled_quantity"] == 2
    assert update["average_price"] == 1502.5
    assert update["user_id"] == kite.profile()["user_id"]


def test_bad_token_is_refused(sim_thread: SimServer) -> None:
    """The official ticker with a wrong token sees its upgrade refused with 403, never connects."""
    c = Child(sim_thread.config.api_key, "wrong-token", sim_thread.ws_url)
    try:
        errors = wait_until(lambda: c.of("error"), timeout=30, what="refusal")
        assert "403" in errors[0]["reason"]
        assert not c.of("connect")
        assert sim_thread.ticker.client_count == 0
    finally:
        c.stop()
