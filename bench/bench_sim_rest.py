"""REST cost of ``orderdesk sim``: ``GET /orders`` throughput, and placement latency vs book size.

Rate limits are off. The client is aiohttp with a fixed number of requests in flight. Two
set-ups are measured for ``GET /orders`` with 100 orders in the book:

- **subprocess**: the simulator runs as ``orderdesk sim`` in its own process, as users run it;
  on a 2-core machine client and server each get a core. This is the honest figure.
- **in-process**: the simulator on a background thread of the benchmark's own process; client
  and server share one GIL, so this is a lower bound.

**Book scaling**: a fresh in-process simulator (same event loop as the client, so each figure
includes the client's CPU) is seeded with 0, 1,000 and 10,000 resting LIMIT orders spread over
four symbols (placed straight into the exchange, which is the same code path the REST handler
calls, so seeding takes seconds), then placements are timed over HTTP one at a time and 8 in
flight, beside modifications, cancels, reads and a price change. Figures are medians of
per-request latencies; the flatness target compares 10,000 resting orders with none.

Run with ``.venv/bin/python bench/bench_sim_rest.py``.
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
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.order_params import PlaceRequest

ROOT = Path(__file__).resolve().parent.parent
ORDERS_IN_BOOK = 100
CONCURRENCY = 16
DURATION = 3.0
TARGET = 1000.0
API_KEY = "sim_api_key"
API_SECRET = "sim_api_secret"  # noqa: S105 - the simulator's public default
DRIVER = (
    "import sys, typer; from orderdesk.cli import app, _register_commands; "
    "_register_commands(); typer.main.get_group(app)(sys.argv[1:])"
)


async def _login(http: aiohttp.ClientSession, root: str) -> dict[str, str]:
    async with http.get(
        root + "/connect/login", params={"api_key": API_KEY, "v": "3"}, allow_redirects=False
    ) as reply:
        token = parse_qs(urlsplit(reply.headers["Location"]).query)["request_token"][0]
    checksum = hashlib.sha256((API_KEY + token + API_SECRET).encode()).hexdigest()
    form = {"api_key": API_KEY, "request_token": token, "checksum": checksum}
    async with http.post(root + "/session/token", data=form) as reply:
        access = (await reply.json())["data"]["access_token"]
    return {"Authorization": f"token {API_KEY}:{access}", "X-Kite-Version": "3"}


async def _seed(http: aiohttp.ClientSession, root: str, headers: dict[str, str]) -> None:
    for i in range(ORDERS_IN_BOOK):
        form = {
            "exchange": "NSE",
            "tradingsymbol": "INFY",
            "transaction_type": "BUY",
            "quantity": "1",
            "product": "CNC",
            "order_type": "LIMIT",
            "price": "1.00",  # far below the market: the orders rest OPEN
            "tag": f"bench{i}",
        }
        async with http.post(root + "/orders/regular", data=form, headers=headers) as reply:
            assert reply.status == 200, await reply.text()


async def _hammer(root: str) -> tuple[int, float, int]:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:
        headers = await _login(http, root)
        await _seed(http, root, headers)
        async with http.get(root + "/orders", headers=headers) as reply:
            assert len((await reply.json())["data"]) == ORDERS_IN_BOOK
        done = 0
        errors = 0
        stop = time.perf_counter() + DURATION

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < stop:
                async with http.get(root + "/orders", headers=headers) as reply:
                    await reply.read()
                    if reply.status == 200:
                        done += 1
                    else:
                        errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return done, time.perf_counter() - start, errors


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _subprocess_rate() -> tuple[float, int, float]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            DRIVER,
            "sim",
            "--port",
            "0",
            "--tick-interval",
            "0",
            "--no-rate-limits",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=os.environ | {"COLUMNS": "200"},
    )
    try:
        assert proc.stdout is not None
        root = None
        for _ in range(20):
            match = re.search(r"REST root: (http://\S+)", proc.stdout.readline())
            if match:
                root = match.group(1)
                break
        if root is None:
            raise RuntimeError("the simulator did not print its REST root")
        cpu_before = _cpu_seconds(proc.pid)
        done, seconds, errors = asyncio.run(_hammer(root))
        # Includes login and seeding (a few hundred requests): a slight overestimate per GET.
        cpu = _cpu_seconds(proc.pid) - cpu_before
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    return done / seconds, errors, cpu / max(done, 1)


def _in_process_rate() -> tuple[float, int]:
    config = SimConfig(port=0, price_tick_interval=None, rate_limits=False)
    with SimServer.run_in_thread(config) as sim:
        done, seconds, errors = asyncio.run(_hammer(sim.rest_root))
    return done / seconds, errors


BOOK_LEVELS = (0, 1_000, 10_000)
SEED_SYMBOLS = ("INFY", "TCS", "RELIANCE", "HDFCBANK")
SEQUENTIAL = 200
IN_FLIGHT = 8
PER_WORKER = 40
FLATNESS_TARGET = 1.5


def _resting_form(i: int, symbol: str = "SBIN") -> dict[str, str]:
    return {
        "exchange": "NSE",
        "tradingsymbol": symbol,
        "transaction_type": "BUY",
        "quantity": "1",
        "product": "CNC",
        "order_type": "LIMIT",
        "price": "1.00",  # far below the market: the order rests OPEN
        "tag": f"s{i}",
    }


def _seed_book(sim: SimServer, count: int) -> None:
    user = sim.config.user_id
    api_key = sim.config.api_key
    for i in range(count):
        req = PlaceRequest.parse("regular", _resting_form(i, SEED_SYMBOLS[i % len(SEED_SYMBOLS)]))
        sim.exchange.place(user, api_key, req)


async def _timed(
    http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[float, Any]:
    start = time.perf_counter()
    async with http.request(method, url, **kwargs) as reply:
        body = await reply.json()
        assert reply.status == 200, body
    return time.perf_counter() - start, body["data"]


async def _scaling_level(resting: int) -> dict[str, float]:
    """Median latencies (seconds) of each operation with ``resting`` orders in the book."""
    config = SimConfig(port=0, price_tick_interval=None, rate_limits=False)
    out: dict[str, float] = {}
    async with SimServer(config) as sim:
        _seed_book(sim, resting)
        root = sim.rest_root
        headers = {
            "Authorization": f"token {API_KEY}:{sim.issue_access_token()}",
            "X-Kite-Version": "3",
        }
        connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
            place = root + "/orders/regular"
            ids: list[str] = []
            for i in range(20):  # warm the connection pool and code paths
                await _timed(http, "POST", place, data=_resting_form(-i))
            seq = []
            for i in range(SEQUENTIAL):
                took, data = await _timed(http, "POST", place, data=_resting_form(i))
                seq.append(took)
                ids.append(data["order_id"])
            out["place, one at a time"] = statistics.median(seq)

            flight: list[float] = []

            async def worker(w: int) -> None:
                for i in range(PER_WORKER):
                    took, _ = await _timed(http, "POST", place, data=_resting_form(w * 1000 + i))
                    flight.append(took)

            start = time.perf_counter()
            await asyncio.gather(*(worker(w) for w in range(IN_FLIGHT)))
            wall = time.perf_counter() - start
            out[f"place, {IN_FLIGHT} in flight"] = statistics.median(flight)
            out[f"place, {IN_FLIGHT} in flight, wall per order"] = wall / len(flight)

            mods = [
                (await _timed(http, "PUT", f"{place}/{oid}", data={"price": "1.05"}))[0]
                for oid in ids[:50]
            ]
            out["modify"] = statistics.median(mods)
            cancels = [(await _timed(http, "DELETE", f"{place}/{oid}"))[0] for oid in ids[50:100]]
            out["cancel"] = statistics.median(cancels)
            for name, path in (
                ("GET /orders", "/orders"),
                ("GET /trades", "/trades"),
                ("GET /portfolio/positions", "/portfolio/positions"),
                ("GET /user/margins", "/user/margins"),
            ):
                reads = [(await _timed(http, "GET", root + path))[0] for _ in range(20)]
                out[name] = statistics.median(reads)
            # The placement right after a write makes GET /orders re-render: the common pattern.
            after_write = []
            for i in range(20):
                await _timed(http, "POST", place, data=_resting_form(i))
                after_write.append((await _timed(http, "GET", root + "/orders"))[0])
            out["GET /orders after a write"] = statistics.median(after_write)
            moves = []
            for i in range(20):
                # Far above 1.00: nothing crosses, so this is the cost of looking, not filling.
                body = {"NSE:INFY": 1500.0 + (i % 2)}
                moves.append((await _timed(http, "POST", root + "/_sim/prices", json=body))[0])
            out["price change, INFY"] = statistics.median(moves)
    return out


def _book_scaling() -> list[dict[str, Any]]:
    levels = {n: asyncio.run(_scaling_level(n)) for n in BOOK_LEVELS}
    load = os.getloadavg()[0]
    rows: list[dict[str, Any]] = []
    biggest, empty = levels[BOOK_LEVELS[-1]], levels[0]
    for key in ("place, one at a time", f"place, {IN_FLIGHT} in flight"):
        rows.append(
            {
                "name": f"{key}: {BOOK_LEVELS[-1]:,} resting / empty book",
                "value": round(biggest[key] / empty[key], 2),
                "unit": "ratio",
                "target": f"<= {FLATNESS_TARGET}",
                "note": f"median latency {empty[key] * 1e3:.2f} ms empty, "
                f"{biggest[key] * 1e3:.2f} ms at {BOOK_LEVELS[-1]:,}; 1-min load {load:.1f}",
            }
        )
    for key in empty:
        rows.append(
            {
                "name": f"{key}, median latency by resting orders",
                "value": " / ".join(f"{levels[n][key] * 1e3:.2f}" for n in BOOK_LEVELS),
                "unit": "ms",
                "target": None,
                "note": "at " + " / ".join(f"{n:,}" for n in BOOK_LEVELS) + " resting orders; "
                "in-process, client CPU included",
            }
        )
    return rows


def run() -> list[dict[str, Any]]:
    """Measure both set-ups, then placement latency against book size."""
    sub, sub_errors, cpu_per_request = _subprocess_rate()
    inproc, in_errors = _in_process_rate()
    common = f"{ORDERS_IN_BOOK} orders in the book, {CONCURRENCY} in flight, {DURATION:.0f} s"
    return [
        {
            "name": "GET /orders, simulator in its own process",
            "value": round(sub),
            "unit": "requests/s",
            "target": f">= {TARGET:,.0f}/s",
            "note": f"{common}; {sub_errors} non-200 replies",
        },
        {
            "name": "GET /orders, server CPU per request (subprocess)",
            "value": round(cpu_per_request * 1e6),
            "unit": "µs",
            "target": f"<= {1e6 / TARGET:,.0f} µs",
            "note": "CPU time the simulator process used / requests served: the throughput one "
            f"free core would give is {1 / cpu_per_request:,.0f}/s, whatever else loads the box",
        },
        {
            "name": "GET /orders, simulator on a thread of the client's process",
            "value": round(inproc),
            "unit": "requests/s",
            "target": None,
            "note": f"{common}; client and server share one GIL; {in_errors} non-200 replies",
        },
        *_book_scaling(),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
