"""The desk's clock following the simulator's (``clock = "simulator"``): days in seconds.

``orderdesk sim`` keeps its own clock, which a test (or a person trying the desk) moves with
``POST /_sim/clock`` to cross a trading day, a 06:00 token expiry or a weekend in a second. A desk
on the wall clock would then disagree with its broker about the day, the token's end and the
square-off. With ``clock = "simulator"`` in the config, ``orderdesk run`` reads how far the
simulator's clock runs ahead of real time (``GET /_sim/clock``, exact to the microsecond) when it
starts and every :data:`FOLLOW_SECONDS` after, and keeps its own clock that far ahead, so it
crosses each milestone when the simulator does. It reads as a named follower, so a clock move
waits for its next read before the simulator runs the milestones the move crossed
(:mod:`orderdesk.sim.followers`): the broker's square-off, say, reaches a desk that already has
the square-off's time. Monotonic time stays real: it only paces timers.

Only a simulator on loopback answers ``/_sim/*`` (real Kite has no such route), so the setting is
refused unless the broker is ``kite`` with a loopback ``root``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import aiohttp
import structlog

from orderdesk.api.server import is_loopback
from orderdesk.errors import ConfigError

FOLLOW_SECONDS = 0.2
"""How often the simulator's clock is read again: well under the desk's own clock loop."""

log = structlog.get_logger(__name__)


def simulator_root(broker: str, options: dict[str, object]) -> str:
    """The simulator's REST root the desk's clock may follow; ``ConfigError`` otherwise."""
    root = str(options.get("root") or "")
    needs = 'clock = "simulator" follows `orderdesk sim`: it needs broker = "kite" with a '
    needs += 'loopback [kite] root (the simulator\'s, e.g. root = "http://127.0.0.1:8765")'
    if broker != "kite":
        raise ConfigError(f"{needs}; this config's broker is {broker!r}")
    if not root:
        raise ConfigError(f"{needs}; [kite] has no root (nor ORDERDESK_KITE__ROOT)")
    if not is_loopback(urlsplit(root).hostname or ""):
        raise ConfigError(f"{needs}; [kite] root {root!r} is not on this machine")
    return root.rstrip("/")


class SimulatorTime:
    """A :class:`~orderdesk.ports.clock.Clock` running as far ahead of real time as the
    simulator at ``root`` does; use as ``async with`` (the first read happens on entry)."""

    def __init__(self, root: str, *, every: float = FOLLOW_SECONDS) -> None:
        self._url = f"{root}/_sim/clock"
        self._follower = uuid.uuid4().hex
        self._every = every
        self._offset = timedelta()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def monotonic(self) -> float:
        return time.monotonic()

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        try:
            await self._read()
        except (aiohttp.ClientError, TimeoutError, KeyError, TypeError, ValueError) as exc:
            await self._session.close()
            raise ConfigError(
                f'clock = "simulator": no simulator clock at {self._url} '
                f"({type(exc).__name__}: {exc}); is `orderdesk sim` running there?"
            ) from None
        self._task = asyncio.create_task(self._follow(), name="orderdesk-simulator-time")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def _read(self) -> None:
        assert self._session is not None
        async with self._session.get(self._url, params={"follower": self._follower}) as response:
            response.raise_for_status()
            body = await response.json()
        self._offset = timedelta(seconds=float(body["data"]["offset_seconds"]))

    async def _follow(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self._every)
            try:
                await self._read()
            except (aiohttp.ClientError, TimeoutError, KeyError, TypeError, ValueError) as exc:
                # The last offset stands; say so once, not five times a second.
                if not failing:
                    log.warning("sim_time.unreadable", url=self._url, error=repr(exc))
                failing = True
            else:
                failing = False


__all__ = ["FOLLOW_SECONDS", "SimulatorTime", "simulator_root"]
