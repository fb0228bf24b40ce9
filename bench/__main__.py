"""Run the benchmark modules and write their results into BENCHMARKS.md.

Each module's section sits between HTML comment markers, so running a subset replaces only those
sections and keeps the others (with the date they were measured).
"""

from __future__ import annotations

import importlib
import os
import platform
import re
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "BENCHMARKS.md"
HEADER = """# Benchmarks

Produced by `make bench` (which runs `uv run --frozen python -m bench`); one section per
`bench/bench_*.py` module. Each section names the command that produced it and when. Ratios are
measured side by side in one run on the same machine; absolute figures vary with load.
"""


def _modules(selected: list[str]) -> list[str]:
    names = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    if not selected:
        return names
    wanted = {s if s.startswith("bench_") else f"bench_{s}" for s in selected}
    unknown = wanted - set(names)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have {names}")
    return [n for n in names if n in wanted]


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _section(name: str, results: list[dict[str, Any]], seconds: float, error: str | None) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"<!-- begin {name} -->",
        f"## {name.removeprefix('bench_')}",
        "",
        f"Command: `make bench ARGS={name.removeprefix('bench_')}` — measured {stamp} on "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, took {seconds:.1f} s.",
        "",
    ]
    if error:
        lines += ["**Failed:**", "", "```", error.strip(), "```"]
    else:
        lines += ["| measure | value | unit | target | note |", "|---|---:|---|---|---|"]
        for r in results:
            lines.append(
                f"| {r['name']} | {_format(r['value'])} | {r.get('unit', '')} "
                f"| {r.get('target') or ''} | {r.get('note') or ''} |"
            )
    lines += ["", f"<!-- end {name} -->"]
    return "\n".join(lines)


def _merge(existing: str, sections: dict[str, str]) -> str:
    kept: dict[str, str] = {}
    for match in re.finditer(r"<!-- begin (\S+) -->.*?<!-- end \1 -->", existing, re.S):
        kept[match.group(1)] = match.group(0)
    kept.update(sections)
    return HEADER + "\n" + "\n\n".join(kept[k] for k in sorted(kept)) + "\n"


def main(argv: list[str]) -> int:
    sections: dict[str, str] = {}
    failed = False
    for name in _modules(argv):
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        error = None
        results: list[dict[str, Any]] = []
        try:
            module = importlib.import_module(f"bench.{name}")
            results = module.run()
        except Exception:
            error = traceback.format_exc()
            failed = True
        seconds = time.perf_counter() - started
        for r in results:
            print(f"   {r['name']}: {_format(r['value'])} {r.get('unit', '')}")
        if error:
            print(error, file=sys.stderr)
        sections[name] = _section(name, results, seconds, error)
    existing = OUTPUT.read_text() if OUTPUT.exists() else ""
    OUTPUT.write_text(_merge(existing, sections))
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
