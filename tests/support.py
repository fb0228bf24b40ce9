"""Test helpers shared by the suites: bounded waiting instead of sleeps, a wall clock the test
sets, and the process's logging caught as `orderdesk run --log-json` writes it."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeVar

import structlog

from orderdesk.domain.calendar import IST
from orderdesk.logging import configure_logging, forget_secrets

T = TypeVar("T")


async def eventually(
    probe: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 5.0,
    interval: float = 0.005,
    what: str = "condition",
) -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout`` seconds.

    This is a bounded wait on an observable condition, not a sleep standing in for
    synchronisation: the test proceeds the moment the condition holds.
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        result = probe()
        if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
            result = await result
        last = result  # type: ignore[assignment]
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last={last!r}")
        await asyncio.sleep(interval)


def interruptible() -> None:
    """``preexec_fn`` for a child the test stops with SIGINT, as Ctrl-C does: a suite started
    in the background (``make test &``, nohup) ignores SIGINT, and a child would inherit that
    and never stop."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float = 5.0,
    interval: float = 0.005,
    what: str = "condition",
) -> T:
    """Synchronous twin of :func:`eventually`, for tests that drive threaded clients."""
    deadline = time.monotonic() + timeout
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last={last!r}")
        time.sleep(interval)


@dataclass
class WallClock:
    """IST wall time the test sets; monotonic time is real (the desk's timers use it)."""

    at: datetime

    def now(self) -> datetime:
        return self.at.astimezone(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def set(self, day: date, hour: int, minute: int = 0) -> None:
        self.at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=IST)


@contextlib.contextmanager
def json_logs() -> Iterator[io.StringIO]:
    """The process's logging at DEBUG as JSON lines into a buffer, as ``orderdesk run
    --log-json`` writes it; the root logger, the record factory, structlog and the registered
    secrets are restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    factory = logging.getLogRecordFactory()
    buffer = io.StringIO()
    configure_logging("DEBUG", json=True, stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.setLogRecordFactory(factory)
        structlog.reset_defaults()
        forget_secrets()


class DictSecrets:
    """A secret store in a dict (the adapter reads the access token from it at start)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)
