"""REST throughput of ``orderdesk sim``: ``GET /orders`` with 100 orders in the book.

Rate limits are off. The client is aiohttp with a fixed number of requests in flight. Two
set-ups are measured:

- **subprocess**: the simulator runs as ``orderdesk sim`` in its own process, as users run it;
  on a 2-core machine client and server each get a core. This is the honest figure.
- **in-process**: the simulator on a background thread of the benchmark's own process; client
  and server share one GIL, so this is a lower bound.

Run with ``.venv/bin/python bench/bench_sim_rest.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

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


def run() -> list[dict[str, Any]]:
    """Measure both set-ups."""
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
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
