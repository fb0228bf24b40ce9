"""orderdesk.event_loop.run: the daemon's loop is uvloop where it is installed."""

from __future__ import annotations

import asyncio
import sys

import pytest

from orderdesk import event_loop


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not a dependency on Windows")
def test_the_daemon_runs_on_uvloop() -> None:
    assert event_loop.run(_loop_module()).startswith("uvloop")


def test_an_error_propagates_and_the_loop_is_closed() -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    async def fail() -> None:
        seen.append(asyncio.get_running_loop())
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        event_loop.run(fail())
    assert seen[0].is_closed()
