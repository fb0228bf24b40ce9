"""Simulator ticker throughput: full-mode ticks per second to one subscriber of 500 instruments.

End to end on loopback: the bench process runs the simulator's market and ticker hub on an aiohttp
server and steps every price once per shipped frame; a separate process runs a plain aiohttp
WebSocket client that subscribes to all 500 instruments in full mode and counts the packets it
receives, walking every frame's length prefixes (and checking each is a 184-byte full packet).
The figure is packets received over a bounded window after the first frame, median of rounds.
Price steps, snapshots, encoding, the socket and the client's reading are all inside it.
Run with ``.venv/bin/python bench/bench_sim_ticks.py``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime
from typing import Any

from aiohttp import web

from orderdesk.sim.faults import Faults
from orderdesk.sim.instruments import Instrument, InstrumentMaster, make_token
from orderdesk.sim.market import MarketData
from orderdesk.sim.ticker import TickerHub
from orderdesk.sim.ticks import FrameEncoder, Mode

INSTRUMENTS = 500
WINDOW_S = 2.0
ROUNDS = 3
TARGET = 100_000

CLIENT = r"""
import asyncio, json, struct, sys, time
import aiohttp

async def main(url, tokens, window):
    count = struct.Struct(">H").unpack_from
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, max_msg_size=0) as ws:
            await ws.send_str(json.dumps({"a": "subscribe", "v": tokens}))
            await ws.send_str(json.dumps({"a": "mode", "v": ["full", tokens]}))
            packets = frames = wrong = 0
            first = None
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.BINARY or len(msg.data) < 2:
                    continue
                now = time.perf_counter()
                data = msg.data
                if first is None:
                    # Count from the first full-mode frame: frames sent between "subscribe"
                    # (quote mode) and "mode" carry 44-byte packets and answer the subscription.
                    if count(data, 2)[0] == 184:
                        first = now
                    continue
                n = count(data, 0)[0]
                offset = 2
                for _ in range(n):
                    length = count(data, offset)[0]
                    wrong += length != 184
                    offset += 2 + length
                packets += n
                frames += 1
                if now - first >= window:
                    break
            print(json.dumps({"packets": packets, "frames": frames, "wrong": wrong,
                              "seconds": now - first}), flush=True)

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])))
"""


def _master() -> InstrumentMaster:
    """500 NSE equities priced ₹500–₹3,000 so nearly every step moves every price."""
    rows = []
    for n in range(INSTRUMENTS):
        exchange_token = 50_000 + n
        rows.append(
            Instrument(
                instrument_token=make_token(exchange_token, 1),
                exchange_token=exchange_token,
                tradingsymbol=f"BENCH{n:03d}",
                name=f"BENCH {n}",
                last_price=500.0 + 5 * n,
                expiry="",
                strike=0.0,
                tick_size=0.05,
                lot_size=1,
                instrument_type="EQ",
                segment="NSE",
                exchange="NSE",
            )
        )
    return InstrumentMaster(rows)


async def _round(seed: int) -> dict[str, Any]:
    master = _master()
    market = MarketData(master, seed, clock=lambda: datetime(2026, 7, 16, 10, 0, 0))
    faults = Faults()
    hub = TickerHub(market, lambda key, token: "AB1234", faults)
    app = web.Application()
    app.router.add_get("/ws", hub.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    await hub.start()
    url = f"ws://127.0.0.1:{runner.addresses[0][1]}/ws?api_key=k&access_token=t"
    tokens = [i.instrument_token for i in master]
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLIENT,
        url,
        json.dumps(tokens),
        str(WINDOW_S),
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    result_line = asyncio.create_task(child.stdout.readline())
    steps = 0
    moved = 0
    cpu = 0.0
    try:
        while not result_line.done():
            if not hub.client_count:
                await asyncio.sleep(0.001)  # the client is still starting up
                continue
            # One step per frame: the next step waits until the writer has shipped the last one,
            # so no step is coalesced away and every price change is a tick on the wire.
            shipped = hub.frames_sent
            if not steps:
                cpu = time.process_time()
            moved += len(market.step())
            steps += 1
            while hub.frames_sent == shipped and not result_line.done():  # noqa: ASYNC110
                await asyncio.sleep(0)  # one loop turn: the writer runs in between
        cpu = time.process_time() - cpu
        result: dict[str, Any] = json.loads(result_line.result())
    finally:
        await child.wait()
        await hub.close()
        await runner.cleanup()
    result["steps"] = steps
    result["server_cpu_per_tick_us"] = cpu / max(moved, 1) * 1e6
    result["steps_per_frame"] = steps / max(hub.frames_sent, 1)
    result["moved_per_step"] = moved / max(steps, 1)
    return result


def _encode_only() -> float:
    """Packets per second for snapshot + encode alone (steps untimed, no socket), best of 5."""
    master = _master()
    market = MarketData(master, 1, clock=lambda: datetime(2026, 7, 16, 10, 0, 0))
    tokens = [i.instrument_token for i in master]
    encoder = FrameEncoder()
    best = 0.0
    for _ in range(5):
        elapsed = 0.0
        frames = 40
        for _ in range(frames):
            market.step()  # fresh snapshots, as after a price step
            started = time.perf_counter()
            encoder.encode([(market.snapshot(t), Mode.FULL) for t in tokens])
            elapsed += time.perf_counter() - started
        best = max(best, frames * len(tokens) / elapsed)
    return best


def run() -> list[dict[str, Any]]:
    """Median end-to-end ticks/s over rounds, plus frame shape and encode-only throughput."""
    rounds = [asyncio.run(_round(seed)) for seed in range(ROUNDS)]
    for r in rounds:
        if r["wrong"]:
            raise AssertionError(f"{r['wrong']} packets were not 184-byte full packets")
    rates = [r["packets"] / r["seconds"] for r in rounds]
    median = statistics.median(rates)
    best = max(rounds, key=lambda r: r["packets"] / r["seconds"])
    per_frame = best["packets"] / max(best["frames"], 1)
    workload = (
        f"{INSTRUMENTS} NSE instruments, full mode, 1 subscriber, {WINDOW_S:.0f} s window, "
        f"median of {ROUNDS} rounds (all: {', '.join(f'{x:,.0f}' for x in rates)})"
    )
    return [
        {
            "name": "sim_ticks_full_e2e_per_s",
            "value": round(median),
            "unit": "ticks/s",
            "target": f">= {TARGET:,}",
            "note": f"market.step() → TickerHub → loopback → aiohttp client; {workload}",
        },
        {
            "name": "sim_ticks_server_cpu_per_tick",
            "value": round(statistics.median(r["server_cpu_per_tick_us"] for r in rounds), 2),
            "unit": "µs/tick",
            "target": f"<= {1e6 / TARGET:.0f}",
            "note": (
                "server process CPU time (step + snapshot + encode + send) per tick shipped, "
                "median of rounds: capacity on an unloaded core, independent of other load"
            ),
        },
        {
            "name": "sim_ticks_packets_per_frame",
            "value": round(per_frame, 1),
            "unit": "packets/frame",
            "target": None,
            "note": (
                f"{best['frames'] / best['seconds']:,.0f} frames/s; "
                f"{best['moved_per_step']:.0f} of {INSTRUMENTS} prices move per step; "
                f"{best['steps_per_frame']:.2f} steps per frame"
            ),
        },
        {
            "name": "sim_ticks_encode_only_per_s",
            "value": round(_encode_only()),
            "unit": "ticks/s",
            "target": None,
            "note": "snapshot + FrameEncoder.encode of 500 full packets, no socket (best of 5)",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: {row['value']:,} {row['unit']} ({row['target']}) — {row['note']}")
