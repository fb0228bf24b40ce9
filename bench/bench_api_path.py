"""The strategy's path to the wire: a signal over the desk's HTTP API against a bare Kite call.

Two simulators of the same kind run in their own processes (``orderdesk sim --no-rate-limits
--tick-interval 0``, loopback, ephemeral ports):

- **through the desk**: ``orderdesk run`` (a subprocess: Kite adapter, its rate limiter off,
  the default SQLite store, the live ticker) on the first simulator; this process sends it
  resting LIMIT signals with :class:`~orderdesk.client.DeskClient` over one kept-alive
  connection and times each ``submit`` until its reply (the order has been placed at the
  simulator by then, its intent committed before the request left);
- **straight**: the official ``kiteconnect`` client places the same order at the second
  simulator (``KiteConnect(..., root=sim)``), timed per ``place_order``.

Rounds alternate ABBA so both sides share the machine's drift; each side places the same
number of orders, one at a time. The daemon's CPU (user + system of every thread, from
``/proc/<pid>/stat``) is read around the whole run, until the desk has taken its first look at
the last order (it is ``OPEN`` in the desk's book): the work an order causes after its reply
counts too.

Then CPU per order by the size of the day's book: three fresh daemons, each on a simulator of
its own, start with 0, 1,000 and 5,000 orders resting in their books (5,000 is Kite's daily cap;
the books filled through the same API), and take their signals in interleaved rounds (ABC CBA
…), so that the ratio of the full book to the empty one is measured side by side, as the
latency ratio is, not in phases minutes apart on a machine whose speed moves. Each daemon's CPU
is read around the whole interleaved run, until its first look at its last order: its idle
time during the others' rounds (what its book costs at rest) counts against its own orders.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from kiteconnect import KiteConnect

from bench.bench_days import _cpu
from bench.bench_kite_client import API_KEY, API_SECRET, _login, _simulator
from orderdesk.api.schemas import SignalIn
from orderdesk.api_token import read_token
from orderdesk.client import DeskClient
from orderdesk.secrets import ACCESS_TOKEN, FileSecretStore
from orderdesk.secrets import API_SECRET as API_SECRET_NAME
from tests.daemon import running_daemon

ROUNDS = 8
PER_ROUND = 50  # 400 orders a side
WARM_UP = 20
BOOK_SIZES = (0, 1_000, 5_000)
BOOK_ROUNDS = 10
BOOK_PER_ROUND = 100
CPU_ORDERS = BOOK_ROUNDS * BOOK_PER_ROUND
"""Orders each book size takes, one at a time, in rounds of ``BOOK_PER_ROUND``: enough seconds
of them that the looks the desk takes about once a second are the steady state, not the
window's edges."""
FILL_CONCURRENCY = 8
FIRST_LOOK_TIMEOUT = 30.0
FIRST_LOOK_POLL = 0.25
"""Seconds between the bench's looks at the last order, which the daemon's CPU counts too: each
``GET /api/orders/{id}`` cost it 0.35 ms, and the wait for the desk's first look up to 2 s, so at
the 0.05 s this was the bench's own polling took some 13 of the 30 ms a wait cost (about 30 µs
an order over the side-by-side's 400), against 3 ms now."""
SYMBOL = "TATASTEEL"
PRICE = Decimal("160.00")
"""Below the simulator's TATASTEEL (170) so the order rests, inside the day's circuit band (153 to
187), outside which the simulator rejects a LIMIT price as Kite does, and cheap enough that the
5,000-order book plus the measured orders (6,000 CNC buys, ₹9.6 lakh) stay within the
simulator's ₹10 lakh of opening cash: a margin rejection is not the path being measured."""


def _signal(signal_id: str, strategy: str = "bench") -> SignalIn:
    """A resting LIMIT signal with its own id, as a strategy that may resend it sends it."""
    return SignalIn(
        instrument=f"NSE:{SYMBOL}",
        side="BUY",
        quantity=1,
        order_type="LIMIT",
        product="CNC",
        price=PRICE,
        strategy=strategy,
        signal_id=signal_id,
    )


def _daemon_config(folder: Path, sim_root: str, access_token: str) -> Path:
    """A daemon on ``sim_root``: the desk's limiter off, default store, the live ticker."""
    conf = folder / "conf"
    conf.mkdir(parents=True)
    secrets = FileSecretStore(conf / "secrets.json")
    secrets.set(ACCESS_TOKEN, access_token)
    secrets.set(API_SECRET_NAME, API_SECRET)
    ws_url = sim_root.replace("http://", "ws://", 1) + "/ws"
    path = folder / "orderdesk.toml"
    path.write_text(
        f"""
broker = "kite"
data_dir = "{folder / "data"}"
config_dir = "{conf}"

[api]
port = 0

[risk]
price_band_percent = "off"  # the bench's orders rest far below the market on purpose

[trading_day]
enabled = false  # the simulator is always open; the bench runs at any hour

[kite]
api_key = "{API_KEY}"
root = "{sim_root}"
ws_url = "{ws_url}"
rate_limits_enabled = false
"""
    )
    return path


def _daemon_pid(config: Path) -> int:
    """The pid of this process's ``orderdesk run --config <config>`` child (several may run)."""
    me = str(os.getpid())
    wanted = str(config).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            parent = (entry / "stat").read_text().rpartition(")")[2].split()[1]
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if parent == me and b"run" in command and wanted in command:
                return int(entry.name)
    raise RuntimeError(f"no `orderdesk run --config {config}` child found")


@contextlib.contextmanager
def _daemon(folder: Path, sim_root: str) -> Iterator[tuple[str, str, int]]:
    """``orderdesk run`` on the simulator at ``sim_root``: (API URL, API token, pid)."""
    config = _daemon_config(folder, sim_root, _login(sim_root))
    with running_daemon(config, timeout=60) as url:
        token = read_token(folder / "conf")
        assert token is not None
        yield url, token, _daemon_pid(config)


async def _first_look(desk: DeskClient, order_id: str) -> None:
    """Until the desk has seen ``order_id`` rest at the broker (the look after acceptance)."""
    async with asyncio.timeout(FIRST_LOOK_TIMEOUT):
        # Polled: one order's GET costs the daemon less than its event stream, whose snapshot
        # holds the whole day.
        while (await desk.order(order_id)).status != "OPEN":  # noqa: ASYNC110
            await asyncio.sleep(FIRST_LOOK_POLL)


async def _through_desk(desk: DeskClient, count: int) -> tuple[list[float], str]:
    """Send ``count`` signals one at a time: each one's seconds, and the last order's id."""
    signals = [_signal(uuid.uuid4().hex) for _ in range(count)]
    latencies: list[float] = []
    order_id = ""
    for signal in signals:
        started = time.perf_counter()
        reply = await desk.submit(signal)
        latencies.append(time.perf_counter() - started)
        assert reply.order is not None, reply
        order_id = reply.order.order_id
    return latencies, order_id


def _straight(kite: KiteConnect, count: int, round_no: int) -> list[float]:
    latencies: list[float] = []
    for i in range(count):
        started = time.perf_counter()
        kite.place_order(
            variety="regular",
            exchange="NSE",
            tradingsymbol=SYMBOL,
            transaction_type="BUY",
            quantity=1,
            product="CNC",
            order_type="LIMIT",
            price=float(PRICE),
            validity="DAY",
            tag=f"k{round_no}x{i}",
        )
        latencies.append(time.perf_counter() - started)
    return latencies


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _side_by_side(folder: Path, desk_sim: str, bare_sim: str) -> dict[str, Any]:
    kite = KiteConnect(API_KEY, access_token=_login(bare_sim), root=bare_sim)
    with _daemon(folder, desk_sim) as (url, token, pid):
        async with DeskClient(url, token) as desk:
            await _through_desk(desk, WARM_UP)
            _straight(kite, WARM_UP, 99)
            await _first_look(desk, (await _through_desk(desk, 1))[1])
            ours: list[float] = []
            bare: list[float] = []
            cpu, wall = _cpu(pid), time.perf_counter()
            last = ""
            for round_no in range(ROUNDS):
                sides = ["desk", "bare"] if round_no % 2 == 0 else ["bare", "desk"]
                for side in sides:
                    if side == "desk":
                        latencies, last = await _through_desk(desk, PER_ROUND)
                        ours += latencies
                    else:
                        bare += _straight(kite, PER_ROUND, round_no)
            await _first_look(desk, last)
            cpu, wall = _cpu(pid) - cpu, time.perf_counter() - wall
    return {"ours": ours, "bare": bare, "cpu": cpu, "wall": wall}


async def _fill_book(desk: DeskClient, count: int) -> None:
    """``count`` more resting orders in the desk's book, several in flight at once."""
    gate = asyncio.Semaphore(FILL_CONCURRENCY)

    async def one() -> None:
        async with gate:
            await desk.submit(_signal(uuid.uuid4().hex, "filler"))

    await asyncio.gather(*(one() for _ in range(count)))


async def _by_book_size(folder: Path, sims: dict[int, str]) -> dict[int, tuple[float, float]]:
    """Daemon CPU seconds per order, and the p50 latency, at each book size, interleaved."""
    results: dict[int, tuple[float, float]] = {}
    with contextlib.ExitStack() as daemons:
        started = {
            size: daemons.enter_context(_daemon(folder / f"book-{size}", sims[size]))
            for size in BOOK_SIZES
        }
        async with contextlib.AsyncExitStack() as clients:
            desks: dict[int, DeskClient] = {}
            for size, (url, token, _pid) in started.items():
                desks[size] = await clients.enter_async_context(DeskClient(url, token))
                await _fill_book(desks[size], size)
                # Settled: the filler's first looks are done before the clocks start.
                await _first_look(desks[size], (await _through_desk(desks[size], 1))[1])
            cpu = {size: _cpu(pid) for size, (_url, _token, pid) in started.items()}
            latencies: dict[int, list[float]] = {size: [] for size in BOOK_SIZES}
            last: dict[int, str] = {}
            for round_no in range(BOOK_ROUNDS):
                for size in BOOK_SIZES if round_no % 2 == 0 else BOOK_SIZES[::-1]:
                    taken, last[size] = await _through_desk(desks[size], BOOK_PER_ROUND)
                    latencies[size] += taken
            for size in BOOK_SIZES:
                await _first_look(desks[size], last[size])
                spent = _cpu(started[size][2]) - cpu[size]
                results[size] = (spent / CPU_ORDERS, statistics.median(latencies[size]))
    return results


def run() -> list[dict[str, Any]]:
    """Both paths in one run, then the daemon's CPU per order by book size."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-api-path-") as tmp,
        _simulator() as desk_sim,
        _simulator() as bare_sim,
    ):
        folder = Path(tmp)
        pair = asyncio.run(_side_by_side(folder / "pair", desk_sim, bare_sim))
    with (
        tempfile.TemporaryDirectory(prefix="bench-api-path-") as tmp,
        _simulator() as empty_sim,
        _simulator() as small_sim,
        _simulator() as full_sim,
    ):
        sims = dict(zip(BOOK_SIZES, (empty_sim, small_sim, full_sim), strict=True))
        sizes = asyncio.run(_by_book_size(Path(tmp), sims))

    ours, bare = pair["ours"], pair["bare"]
    ours_p50, bare_p50 = statistics.median(ours), statistics.median(bare)
    ratio = ours_p50 / bare_p50
    cpu_per_order = pair["cpu"] / len(ours)
    common = (
        f"{ROUNDS} ABBA rounds of {PER_ROUND} resting LIMIT orders a side ({len(ours)} each), "
        "one at a time; each side its own `orderdesk sim --no-rate-limits` process"
    )
    empty, full = sizes[0][0], sizes[BOOK_SIZES[-1]][0]
    rows: list[dict[str, Any]] = [
        {
            "name": "signal through the desk's API / official client straight, p50",
            "value": round(ratio, 2),
            "unit": "ratio",
            "target": "<= 1.5",
            "note": f"{common}; desk {ours_p50 * 1e3:.2f} ms vs straight {bare_p50 * 1e3:.2f} ms",
        },
        {
            "name": "signal through the desk's API (DeskClient, kept-alive), p50",
            "value": round(ours_p50 * 1e3, 2),
            "unit": "ms",
            "target": None,
            "note": "POST /api/signals until the reply: intent committed, order placed at the "
            "simulator, answer back; `orderdesk run` with the Kite adapter (limiter off), "
            "default SQLite store, live ticker",
        },
        {
            "name": "signal through the desk's API, p99",
            "value": round(_percentile(ours, 0.99) * 1e3, 2),
            "unit": "ms",
            "target": None,
            "note": "same run",
        },
        {
            "name": "official kiteconnect straight to the simulator, p50",
            "value": round(bare_p50 * 1e3, 2),
            "unit": "ms",
            "target": None,
            "note": "KiteConnect(..., root=sim).place_order, kiteconnect 5.2.2 (requests), "
            "same rounds",
        },
        {
            "name": "official kiteconnect straight to the simulator, p99",
            "value": round(_percentile(bare, 0.99) * 1e3, 2),
            "unit": "ms",
            "target": None,
            "note": "same run",
        },
        {
            "name": "daemon CPU per order",
            "value": round(cpu_per_order * 1e3, 3),
            "unit": "ms",
            "target": "<= 1",
            "note": f"user + system of every daemon thread over the interleaved run "
            f"({pair['wall']:.1f} s) until its first look at the last order, / "
            f"{len(ours)} orders; idle time between desk rounds included",
        },
    ]
    for size, (cpu, p50) in sizes.items():
        rows.append(
            {
                "name": f"daemon CPU per order, {size:,} orders in the book",
                "value": round(cpu * 1e3, 3),
                "unit": "ms",
                "target": "<= 1",
                "note": f"{CPU_ORDERS} signals one at a time to a fresh daemon whose day "
                f"already held {size:,} resting orders, in {BOOK_ROUNDS} rounds interleaved "
                f"with the other book sizes' daemons, until its first look at the last; "
                f"p50 {p50 * 1e3:.2f} ms",
            }
        )
    rows.append(
        {
            "name": f"daemon CPU per order, {BOOK_SIZES[-1]:,} in the book / empty",
            "value": round(full / empty, 2),
            "unit": "ratio",
            "target": "<= 1.2",
            "note": "the rows above",
        }
    )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
