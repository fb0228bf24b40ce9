"""Issue 14's update path, before and after, measured side by side in one run.

The version before the issue's work (``b786ff2``) is checked out into a temporary git worktree;
each measurement runs in a process of its own per version (``bench/_update_path_probe.py`` with
``PYTHONPATH=<tree>/src:<tree>``), rounds alternating which version goes first (B A, A B, B A),
and the medians over rounds are compared. *After* is this tree's
HEAD, checked out the same way (edits in progress are not measured).

- **order updates applied**: bench_engine's workload unchanged — 2,000 orders × 5 reports as the
  stream delivers them, 4 of them with a trade read (an in-memory trade book), SQLite WAL
  synchronous=FULL with group commit, collector settled after start-up. Target ≥ 20,000/s.
- **signal → request on the wire**: ``desk.submit()`` until the Kite adapter has written the
  placement (the REST wire's ``Trace.written``; aiohttp's ``on_request_chunk_sent`` in versions
  before REST left aiohttp), 1,000 resting INFY limit orders one after
  another, memory store (indexed by stream, as SQLite's is: the tests' store scans every row on
  each submit), rate limits off, collector settled after start as ``orderdesk run`` does — as
  bench_engine's row, but with the simulator in its own process (as Kite is: its work is not
  the desk's) — first quiet, then while a stream of
  2,000 order updates/s enters the desk where the broker's stream does. The stream is about
  2,500 SBIN orders the desk placed and the simulator then filled without telling it; per order
  it says RECEIVED, OPEN, OPEN again (a socket and a postback say the same) and COMPLETE, so a
  quarter of the updates show a fill the desk has no trade for and it reads the trade from the
  simulator over REST (about 500 reads/s on the adapter's session). The adapter polls instead
  of streaming here (the simulator's own pushes would bring the fills), so the socket's
  decoding is not in this load. Targets, while the stream flows: p50 < 1 ms, p99 < 2 ms. A
  run in which the machine's load held the stream below 90 % of its rate (or let fewer than 500
  signals through) measured something else: it is left out, and one more pair is run.
- **tick delivery while trade reads are slow**: the simulator in the probe's process, a
  running desk on the Kite adapter (ticker stream, LTP subscription to INFY), a 2,000-share
  SBIN buy that fills about 1 % per SBIN price change (one report with a trade to read every
  0.24 s); 150 INFY price changes 20 ms apart, each timed from ``market.set_prices`` until its
  ``PriceTick`` leaves ``KiteBroker.events()`` (into the desk's tracker), first without faults,
  then with ``latency_ms`` at 200 on every REST reply. Target: unchanged, read here as the
  median with the fault at most 1.5× the median without it (or within 1 ms of it).

Run with ``make bench ARGS=update_path``. Figures from a shared 2-core machine: the medians of
three rounds are what it allows; the ratios are the point.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "bench" / "_update_path_probe.py"
BEFORE = "b786ff2"
"""The last commit before issue 14's work began."""
ROUNDS = 3
MEASURES = ("updates", "wire", "ticks")
PROBE_TIMEOUT = 180
STREAM_RATE = 2000
"""The probe's stream of order updates per second (its STREAM_RATE)."""
KEPT_PACE = 0.9
MIN_SIGNALS = 500
EXTRA_WIRE_PAIRS = 1
"""Wire runs added (one per version) while a version has fewer than ROUNDS that kept pace."""

SIMULATOR = r"""
import asyncio, json, sys
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

async def main():
    config = SimConfig(host="127.0.0.1", port=0, seed=5, rate_limits=False,
                       price_tick_interval=None)
    async with SimServer(config) as sim:
        print(json.dumps({"rest_root": sim.rest_root, "ws_url": sim.ws_url,
                          "api_key": config.api_key, "api_secret": config.api_secret,
                          "access_token": sim.issue_access_token()}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


def _env(tree: Path) -> dict[str, str]:
    return os.environ | {
        "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}",
        "UPDATE_PATH_TREE": str(tree),
    }


@contextlib.contextmanager
def _simulator(tree: Path) -> Iterator[dict[str, str]]:
    """``tree``'s simulator in a process of its own (one for every run; each run resets it)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tree,
        env=_env(tree),
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # its read returns and it shuts down
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def _worktree(commit: str) -> Iterator[Path]:
    """``commit`` checked out into a temporary git worktree, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"orderdesk-{commit}-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), commit],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True
            )
            subprocess.run(["git", "worktree", "prune"], cwd=ROOT, capture_output=True)


def _probe(tree: Path, measure: str, args: dict[str, Any]) -> dict[str, Any]:
    load = os.getloadavg()[0]  # what else the shared machine was doing as the run began
    done = subprocess.run(
        [sys.executable, str(PROBE), measure, json.dumps(args)],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(
            f"{measure} on {tree} failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
            f"{done.stderr[-4000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    result["load"] = load
    return result


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


Runs = dict[str, list[dict[str, Any]]]


def _median(runs: list[dict[str, Any]], pick: Callable[[dict[str, Any]], float]) -> float:
    return statistics.median(pick(run) for run in runs)


def _all(runs: list[dict[str, Any]], pick: Callable[[dict[str, Any]], float], fmt: str) -> str:
    return ", ".join(format(pick(run), fmt) for run in runs)


def _verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def _updates_rows(runs: Runs) -> list[dict[str, Any]]:
    def rate(run: dict[str, Any]) -> float:
        return float(run["rate"])

    def per_cpu(run: dict[str, Any]) -> float:
        return float(run["per_cpu_second"])

    def pause(run: dict[str, Any]) -> float:
        return float(run["longest_pause_ms"])

    after, before = _median(runs["after"], rate), _median(runs["before"], rate)
    cpu_after, cpu_before = _median(runs["after"], per_cpu), _median(runs["before"], per_cpu)
    return [
        {
            "name": "order updates applied, after",
            "value": round(after),
            "unit": "updates/s",
            "target": ">= 20000",
            "note": f"{_verdict(after >= 20_000)}; median of {len(runs['after'])} runs "
            f"({_all(runs['after'], rate, ',.0f')}); bench_engine's workload (2,000 orders × 5 "
            "reports, 4 with a trade read; SQLite WAL, synchronous=FULL, group commit; "
            f"collector settled), entering through {runs['after'][0]['entry']}; longest "
            f"collector pause {_median(runs['after'], pause):.1f} ms (median of runs: "
            f"{_all(runs['after'], pause, '.1f')})",
        },
        {
            "name": "order updates applied, before",
            "value": round(before),
            "unit": "updates/s",
            "target": None,
            "note": f"median of {len(runs['before'])} runs ({_all(runs['before'], rate, ',.0f')})"
            f", the same workload entering through {runs['before'][0]['entry']}; longest "
            f"collector pause {_median(runs['before'], pause):.1f} ms "
            f"({_all(runs['before'], pause, '.1f')})",
        },
        {
            "name": "order updates applied, after / before",
            "value": round(after / before, 3),
            "unit": "ratio",
            "target": None,
            "note": f"per CPU-second (process CPU, all threads): after {cpu_after:,.0f}, before "
            f"{cpu_before:,.0f} updates/CPU-s, {cpu_after / cpu_before:.2f}×",
        },
    ]


def _kept_pace(run: dict[str, Any]) -> bool:
    """A wire run measured what the target names: the stream near its rate, enough signals."""
    return run["stream_rate"] >= KEPT_PACE * STREAM_RATE and run["loaded_n"] >= MIN_SIGNALS


def _wire_rows(all_runs: Runs) -> list[dict[str, Any]]:
    def pick(key: str) -> Callable[[dict[str, Any]], float]:
        return lambda run: float(run[key])

    # Runs in which a loaded machine held the stream well below its rate measured something
    # else; they are left out (and counted) while each version keeps at least one.
    runs = {v: [r for r in rs if _kept_pace(r)] or rs for v, rs in all_runs.items()}
    dropped = {v: len(all_runs[v]) - len(runs[v]) for v in runs}
    rows = []
    medians = {
        (version, key): _median(runs[version], pick(key))
        for version in ("after", "before")
        for key in ("loaded_p50_us", "loaded_p99_us", "quiet_p50_us", "quiet_p99_us")
    }
    load = runs["after"] + runs["before"]
    rates = [r["stream_rate"] for r in load]
    reads = [r["read_rate"] for r in load]
    stream = (
        f"stream {min(rates):,.0f}–{max(rates):,.0f} updates/s with {min(reads):,.0f}–"
        f"{max(reads):,.0f} trade reads/s while measured"
    )
    shortest = min(int(r["loaded_n"]) for r in load)
    if any(dropped.values()):
        stream += (
            f"; left out as the stream fell below {KEPT_PACE:.0%} of its rate or fewer than "
            f"{MIN_SIGNALS} signals were measured: {dropped['after']} after, "
            f"{dropped['before']} before"
        )
    busy = {
        version: f"desk process CPU {_median(runs[version], pick('quiet_cpu_share')):.0%} of "
        f"a core quiet, {_median(runs[version], pick('loaded_cpu_share')):.0%} with the stream, "
        f"of which the cycle collector {_median(runs[version], pick('gc_share')):.1%} "
        f"(longest pass {_median(runs[version], pick('gc_longest_ms')):.1f} ms, median of runs)"
        for version in ("after", "before")
    }
    for q, target in (("50", 1000), ("99", 2000)):
        key = f"loaded_p{q}_us"
        after, before = medians[("after", key)], medians[("before", key)]
        quiet_after = medians[("after", f"quiet_p{q}_us")]
        quiet_before = medians[("before", f"quiet_p{q}_us")]
        rows += [
            {
                "name": f"signal → request on the wire, 2,000 updates/s flowing, p{q}, after",
                "value": round(after),
                "unit": "µs",
                "target": f"< {target}",
                "note": f"{_verdict(after < target)}; median of runs "
                f"({_all(runs['after'], pick(key), ',.0f')}); quiet (no stream, same run): "
                f"{quiet_after:,.0f} µs; {stream}; at least {shortest} signals per run"
                + (f"; {busy['after']}" if q == "50" else ""),
            },
            {
                "name": f"signal → request on the wire, 2,000 updates/s flowing, p{q}, before",
                "value": round(before),
                "unit": "µs",
                "target": None,
                "note": f"median of runs ({_all(runs['before'], pick(key), ',.0f')}); quiet: "
                f"{quiet_before:,.0f} µs" + (f"; {busy['before']}" if q == "50" else ""),
            },
            {
                "name": f"signal → request on the wire, 2,000 updates/s flowing, p{q}, "
                "after / before",
                "value": round(after / before, 3),
                "unit": "ratio",
                "target": None,
                "note": f"quiet after / before: {quiet_after / quiet_before:.2f}",
            },
        ]
    checks = [
        f"{r['fills_recorded']:,} of {r['stream_updates'] // 4:,} stream orders' fills recorded, "
        f"{r['trade_reads']:,} trade reads"
        for r in load
    ]
    unsent = sum(len(r["unsent"]) for r in load)
    if unsent:
        checks.append(f"{unsent} placements never written (counted as never arriving)")
    rows[0]["note"] += f"; every run: {'; '.join(sorted(set(checks)))}"
    return rows


def _ticks_rows(runs: Runs) -> list[dict[str, Any]]:
    def at(latency: str, key: str) -> Callable[[dict[str, Any]], float]:
        return lambda run: float(run["phases"][latency][key])

    med = {
        (version, latency, key): _median(runs[version], at(latency, key))
        for version in ("after", "before")
        for latency in ("0", "200")
        for key in ("p50_ms", "p99_ms", "lost", "trade_reads")
    }
    rows = []
    for version in ("after", "before"):
        slow, fast = med[(version, "200", "p50_ms")], med[(version, "0", "p50_ms")]
        slow99, fast99 = med[(version, "200", "p99_ms")], med[(version, "0", "p99_ms")]
        met = slow <= max(1.5 * fast, fast + 1.0)
        lost = sum(int(run["phases"]["200"]["lost"]) for run in runs[version])
        rows.append(
            {
                "name": f"tick latency, trade reads at 200 ms, median, {version}",
                "value": round(slow, 2),
                "unit": "ms",
                "target": "unchanged" if version == "after" else None,
                "note": (f"{_verdict(met)}; " if version == "after" else "")
                + f"median of runs ({_all(runs[version], at('200', 'p50_ms'), '.2f')}); "
                f"p99 {slow99:.2f} ms ({_all(runs[version], at('200', 'p99_ms'), '.2f')}); "
                f"without the fault, same runs: median {fast:.2f} ms, p99 {fast99:.2f} ms; "
                f"{lost} ticks not delivered within 3 s; "
                f"{med[(version, '200', 'trade_reads')]:.0f} trade reads per phase",
            }
        )
        rows.append(
            {
                "name": f"tick latency, trade reads at 200 ms / none, median, {version}",
                "value": round(slow / fast, 2),
                "unit": "ratio",
                "target": "<= 1.5" if version == "after" else None,
                "note": f"p99: {slow99 / fast99:.2f}",
            }
        )
    after, before = med[("after", "200", "p50_ms")], med[("before", "200", "p50_ms")]
    rows.append(
        {
            "name": "tick latency, trade reads at 200 ms, median, after / before",
            "value": round(after / before, 4),
            "unit": "ratio",
            "target": None,
            "note": f"p99 after / before: "
            f"{med[('after', '200', 'p99_ms')] / med[('before', '200', 'p99_ms')]:.4f}; "
            f"without the fault: median "
            f"{med[('after', '0', 'p50_ms')] / med[('before', '0', 'p50_ms')]:.2f}",
        }
    )
    return rows


def run() -> list[dict[str, Any]]:
    runs: dict[str, Runs] = {m: {"before": [], "after": []} for m in MEASURES}
    head = _git("rev-parse", "--short", "HEAD")
    # After is the committed code: others' edits in progress in this tree are not measured.
    uncommitted = bool(_git("status", "--porcelain", "--", "src"))
    with _worktree(BEFORE) as before, _worktree(head) as after, _simulator(after) as sim:
        trees = {"before": before, "after": after}
        for round_no in range(ROUNDS):
            order = ["before", "after"] if round_no % 2 == 0 else ["after", "before"]
            for measure in MEASURES:
                for version in order:
                    result = _probe(trees[version], measure, {"sim": sim})
                    runs[measure][version].append(result)
                    print(f"   round {round_no + 1} {measure} {version}", flush=True)
        wire = runs["wire"]
        for extra in range(EXTRA_WIRE_PAIRS):
            if all(sum(map(_kept_pace, wire[v])) >= ROUNDS for v in wire):
                break
            for version in ("before", "after") if extra % 2 else ("after", "before"):
                wire[version].append(_probe(trees[version], "wire", {"sim": sim}))
                print(f"   extra wire {version}", flush=True)
    loads = [run["load"] for by in runs.values() for v in by.values() for run in v]
    rows = [*_updates_rows(runs["updates"]), *_wire_rows(runs["wire"])]
    rows += _ticks_rows(runs["ticks"])
    rows.append(
        {
            "name": "versions",
            "value": f"{BEFORE} → {head}",
            "unit": "",
            "target": None,
            "note": f"each in a temporary git worktree: before {BEFORE}, the last commit before "
            f"issue 14's work; after {head}, this tree's HEAD"
            + (" (uncommitted changes in src/ were not measured)" if uncommitted else "")
            + f"; 1-minute load average {min(loads):.1f}–{max(loads):.1f} as runs began"
            + f"; {ROUNDS} rounds, each measure run once per version per round in its own process, "
            "the order alternating (before first in rounds 1 and 3)",
        }
    )
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: {row['value']} {row['unit']} ({row['target']}) — {row['note']}")
