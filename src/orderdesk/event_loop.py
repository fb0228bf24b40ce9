"""The daemon's event loop: uvloop where it is installed, asyncio's own loop elsewhere.

A signal over the API is mostly the event loop's work: two HTTP exchanges (the strategy's
request, the placement at the broker) and the hand-offs between the tasks that serve them.
uvloop (libuv, in C; uvicorn's standard extra beside httptools) does that work for a fifth
less of the daemon's CPU per order than asyncio's pure-Python selector loop (issue 15,
``make bench ARGS=api_path``). It is a dependency wherever it builds (not on Windows), and
the desk behaves the same on either loop: nothing in it reaches into a loop's internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on uvloop when it can be imported."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows, or an install without it
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


__all__ = ["run"]
