"""Full-mode tick parsing: orderdesk's parser against the official kiteconnect parser.

Both parsers see the same frames in the same process. Runs alternate (official, ours, ours with
the dict view, then the next round in reverse order) so that CPU frequency drift and cache warmth
are shared fairly; each figure is the median over rounds. Run with
``.venv/bin/python bench/bench_ticks.py``.
"""

from __future__ import annotations

import random
import statistics
import struct
import time
from collections.abc import Callable

from kiteconnect import KiteTicker

from orderdesk.brokers.kite.ticks import parse_frame

PACKETS_PER_FRAME = 50
FRAMES = 100
ROUNDS = 7


def _full_packet(rng: random.Random) -> bytes:
    """A plausible full packet: NSE equity token, prices near ₹1,500, five depth levels a side."""
    token = (rng.randrange(1, 1 << 20) << 8) | 1
    price = rng.randrange(100_000, 200_000)
    head = struct.pack(
        ">16I",
        token,
        price,
        rng.randrange(1, 500),
        price,
        rng.randrange(10**7),
        rng.randrange(10**6),
        rng.randrange(10**6),
        price - 500,
        price + 700,
        price - 900,
        price - 100,
        1_700_000_000 + rng.randrange(10**6),
        0,
        0,
        0,
        1_700_000_000 + rng.randrange(10**6),
    )
    depth = b"".join(
        struct.pack(">IIH2x", rng.randrange(1, 5000), price + step * 5, rng.randrange(1, 40))
        for step in (-1, -2, -3, -4, -5, 1, 2, 3, 4, 5)
    )
    return head + depth


def _frames(seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    frames = []
    for _ in range(FRAMES):
        packets = [_full_packet(rng) for _ in range(PACKETS_PER_FRAME)]
        body = b"".join(struct.pack(">H", len(p)) + p for p in packets)
        frames.append(struct.pack(">H", len(packets)) + body)
    return frames


def _ticks_per_second(parse: Callable[[bytes], object], frames: list[bytes]) -> float:
    start = time.perf_counter()
    for frame in frames:
        parse(frame)
    elapsed = time.perf_counter() - start
    return len(frames) * PACKETS_PER_FRAME / elapsed


def run() -> list[dict[str, object]]:
    """Measure and return the figures as ``{name, value, unit, target, note}`` rows."""
    frames = _frames()
    official = KiteTicker("k", "t")  # never connects; only its parser is used

    def ours_dicts(frame: bytes) -> object:
        return [tick.to_kite_dict() for tick in parse_frame(frame)]

    contenders: dict[str, Callable[[bytes], object]] = {
        "official": official._parse_binary,
        "ours": parse_frame,
        "ours_dicts": ours_dicts,
    }
    # Sanity before timing: both parsers agree on the bench frames (beyond the unit tests).
    assert len(parse_frame(frames[0])) == len(official._parse_binary(frames[0]))

    samples: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders)
    for round_ in range(ROUNDS):
        for name in order if round_ % 2 == 0 else reversed(order):
            samples[name].append(_ticks_per_second(contenders[name], frames))
    med = {name: statistics.median(values) for name, values in samples.items()}
    # Ratios per round (same round = same machine state), then the median of those.
    ratio = statistics.median(
        o / k for o, k in zip(samples["ours"], samples["official"], strict=True)
    )
    ratio_dicts = statistics.median(
        o / k for o, k in zip(samples["ours_dicts"], samples["official"], strict=True)
    )
    workload = f"{FRAMES} frames x {PACKETS_PER_FRAME} full packets, median of {ROUNDS} rounds"
    return [
        {
            "name": "ticks_full_official_per_s",
            "value": round(med["official"]),
            "unit": "ticks/s",
            "target": None,
            "note": f"kiteconnect 5.2.2 KiteTicker._parse_binary; {workload}",
        },
        {
            "name": "ticks_full_ours_per_s",
            "value": round(med["ours"]),
            "unit": "ticks/s",
            "target": None,
            "note": "parse_frame → FullTick tuples (integer prices, epoch times; lazy rest)",
        },
        {
            "name": "ticks_full_speedup",
            "value": round(ratio, 1),
            "unit": "x",
            "target": ">= 10",
            "note": "ours / official, per-round ratio, median; same frames, alternating order",
        },
        {
            "name": "ticks_full_dict_view_speedup",
            "value": round(ratio_dicts, 2),
            "unit": "x",
            "target": None,
            "note": "parse_frame + to_kite_dict() on every tick (the full official-shaped "
            "dict, UTC datetimes) / official; the cost of asking for everything eagerly",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
