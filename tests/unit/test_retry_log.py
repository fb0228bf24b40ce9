"""A retry block that only waits to look again (the engine's ``NotYet``) is logged at DEBUG,
an error's retry at WARNING: after a crash the waits were most of the desk's log."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import stamina

from orderdesk.engine.retry import NotYet
from orderdesk.logging import configure_logging


@pytest.fixture
def log(restored: None) -> Iterator[io.StringIO]:
    hooks = stamina.instrumentation.get_on_retry_hooks()
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    yield stream
    stamina.instrumentation.set_on_retry_hooks(hooks)


async def retried_once(error: Exception) -> None:
    """A block failing once with ``error``, then succeeding (no waiting: stamina's waits are
    0 here)."""
    failed = False
    async for attempt in stamina.retry_context(
        on=type(error), attempts=2, wait_initial=0, wait_max=0, wait_jitter=0
    ):
        with attempt:
            if not failed:
                failed = True
                raise error


async def test_a_wait_to_look_again_is_debug_and_an_error_a_warning(log: io.StringIO) -> None:
    await retried_once(NotYet())
    assert "retry_scheduled" not in log.getvalue()
    await retried_once(ConnectionResetError("reset by peer"))
    (line,) = [line for line in log.getvalue().splitlines() if "retry_scheduled" in line]
    assert "warning" in line.lower()
    assert "ConnectionResetError" in line
