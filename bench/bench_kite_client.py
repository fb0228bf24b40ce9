"""Per-order client overhead: orderdesk's async Kite client against the official ``kiteconnect``.

Both clients place the same 1,000 LIMIT orders (far below the market, so they rest) against
``orderdesk sim --no-rate-limits`` running **in its own process** on loopback, so the server's
work is the same for both and does not share this process's CPU or GIL. Each client sends one
order at a time and waits for the reply, as an order desk does for a single strategy.

Two figures per client:

- **client CPU per order**: CPU time this process spent (``time.process_time``) / orders. This
  is the client's own overhead (building the request, HTTP, parsing the reply), independent of
  how fast the simulator answers. The target compares these.
- **wall time per order**: includes the simulator's time and the loopback round trip.

The simulator's books are emptied before every round (its placement cost grows with the book),
and rounds alternate ABBA (official, ours, ours, official, …) so CPU frequency drift is shared
fairly; each figure is the median over rounds. Run with
``.venv/bin/python bench/bench_kite_client.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from kiteconnect import KiteConnect

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.config import KiteConfig
from orderdesk.brokers.kite.http import NoLimits
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side
from orderdesk.ports.broker import PlaceOrder

ROOT = Path(__file__).resolve().parent.parent
ORDERS = 1_000
ROUNDS = 4  # ABBA twice: each client runs 4 × 1,000 orders
API_KEY = "sim_api_key"
API_SECRET = "sim_api_secret"  # noqa: S105 - the simulator's public default
DRIVER = (
    "import sys, typer; from orderdesk.cli import app, _register_commands; "
    "_register_commands(); typer.main.get_group(app)(sys.argv[1:])"
)
FLAGS = ("--no-rate-limits",)
INFY = InstrumentKey.parse("NSE:INFY")


@contextmanager
def _simulator() -> Iterator[str]:
    """``orderdesk sim`` in a subprocess on a free port; yields its REST root."""
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, "sim", "--port", "0", "--tick-interval", "0", *FLAGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=os.environ | {"COLUMNS": "200"},
    )
    try:
        assert proc.stdout is not None
        for _ in range(40):
            match = re.search(r"REST root: (http://\S+)", proc.stdout.readline())
            if match:
                yield match.group(1)
                return
        raise RuntimeError("the simulator did not print its REST root")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


def _login(root: str) -> str:
    """An access token through the simulator's login flow."""
    http = requests.Session()
    reply = http.get(
        root + "/connect/login",
        params={"api_key": API_KEY, "v": "3"},
        allow_redirects=False,
        timeout=10,
    )
    request_token = parse_qs(urlsplit(reply.headers["Location"]).query)["request_token"][0]
    checksum = hashlib.sha256((API_KEY + request_token + API_SECRET).encode()).hexdigest()
    form = {"api_key": API_KEY, "request_token": request_token, "checksum": checksum}
    token: str = http.post(root + "/session/token", data=form, timeout=10).json()["data"][
        "access_token"
    ]
    return token


def _reset(root: str) -> None:
    """Empty the simulator's books (sessions survive), so every round meets the same server."""
    reply = requests.post(root + "/_sim/reset", json={}, timeout=30)
    reply.raise_for_status()


def _measure(fn: Callable[[], None]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``fn()`` in this process."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def _official_round(root: str, token: str, round_no: int) -> tuple[float, float]:
    kite = KiteConnect(API_KEY, access_token=token, root=root)

    def place_all() -> None:
        for i in range(ORDERS):
            kite.place_order(
                variety="regular",
                exchange="NSE",
                tradingsymbol="INFY",
                transaction_type="BUY",
                quantity=1,
                product="CNC",
                order_type="LIMIT",
                price=1400.0,  # rests: below INFY, inside its circuit band
                validity="DAY",
                tag=f"off{round_no}x{i}",
            )

    return _measure(place_all)


def _commands(round_no: int) -> list[PlaceOrder]:
    signal_ = Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1400.00"),
    )
    return [PlaceOrder(f"od{round_no}x{i}", signal_) for i in range(ORDERS)]


def _ours_round(root: str, token: str, round_no: int) -> tuple[float, float]:
    config = KiteConfig(api_key=API_KEY, root=root)
    commands = _commands(round_no)  # built outside the timing: the official side takes kwargs

    async def place_all() -> None:
        async with KiteRestClient(config, access_token=token, limiter=NoLimits()) as kite:
            for command in commands:
                await kite.place_order(command)

    return _measure(lambda: asyncio.run(place_all()))


def run() -> list[dict[str, Any]]:
    """Measure both clients side by side in one run against one simulator process."""
    official: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    with _simulator() as root:
        token = _login(root)
        # Warm both code paths (imports, connection set-up) outside the timed rounds.
        _official_round(root, token, 90)
        _ours_round(root, token, 91)
        _reset(root)
        for round_no in range(ROUNDS):
            pair = [("official", _official_round), ("ours", _ours_round)]
            if round_no % 2:
                pair.reverse()
            for name, fn in pair:
                _reset(root)
                (official if name == "official" else ours).append(fn(root, token, round_no))

    def per_order_us(samples: list[tuple[float, float]], index: int) -> float:
        return statistics.median(s[index] for s in samples) / ORDERS * 1e6

    off_cpu, our_cpu = per_order_us(official, 0), per_order_us(ours, 0)
    off_wall, our_wall = per_order_us(official, 1), per_order_us(ours, 1)
    common = (
        f"{ORDERS:,} LIMIT orders per round, one at a time, median of {ROUNDS} ABBA rounds; "
        "simulator in its own process (orderdesk sim --no-rate-limits), loopback"
    )
    return [
        {
            "name": "Kite client CPU per order, orderdesk / official",
            "value": round(our_cpu / off_cpu, 3),
            "unit": "ratio",
            "target": "<= 0.5",
            "note": f"{common}; orderdesk {our_cpu:.0f} µs vs official {off_cpu:.0f} µs",
        },
        {
            "name": "Kite client CPU per order, orderdesk (orderdesk/wire.py, HTTP/1.1)",
            "value": round(our_cpu),
            "unit": "µs",
            "target": None,
            "note": "process CPU time / orders: request building, HTTP (our keep-alive client "
            "with httptools' parser; on aiohttp, 59bad10, it took 290-340 µs against "
            "179-203 µs, three runs each on 2026-12-04), envelope, pydantic; asyncio's loop",
        },
        {
            "name": "Kite client CPU per order, official kiteconnect 5.2.2 (requests)",
            "value": round(off_cpu),
            "unit": "µs",
            "target": None,
            "note": "process CPU time / orders",
        },
        {
            "name": "Kite place_order wall time, orderdesk / official",
            "value": round(our_wall / off_wall, 3),
            "unit": "ratio",
            "target": None,
            "note": f"includes the simulator's time; orderdesk {our_wall:.0f} µs vs official "
            f"{off_wall:.0f} µs per order",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
