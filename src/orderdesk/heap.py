"""Keeping the garbage collector's full passes short in a long-running desk.

CPython's cycle collector walks every tracked object on a full pass. Start-up loads much that
then lives for the whole session — the interpreter's modules, the broker's instrument master,
the replayed order book — and left in the collector's view it is walked again on every full
pass, in the middle of whatever the desk is doing. :func:`settle_after_start` collects once and
freezes what survived (:func:`gc.freeze`), so later passes walk only what the session itself
created. It also lets more allocations pass between young collections: a batch of updates
keeps its decisions alive until its commit returns, and with CPython's default of 700 they
were promoted, walked again and again, and set off the full passes. Measured side by side in
``make bench ARGS=engine`` (see BENCHMARKS.md): the longest pause and the update throughput,
settled and not.

The cost: an object frozen here that later ends up in an unreachable cycle is never freed. What
start-up leaves behind is long-lived by nature, so that is a small, bounded amount.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000
"""Allocations between young collections (CPython's default is 700)."""


def settle_after_start() -> None:
    """Collect, freeze the survivors out of all later collections, and collect the young
    generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


__all__ = ["settle_after_start"]
