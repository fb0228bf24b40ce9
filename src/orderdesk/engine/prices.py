"""Mark-to-market: keep the live stream subscribed to what the desk holds or works.

Positions show unrealised P&L only if ticks arrive for their instruments, and a broker streams
prices only for instruments it was asked for. The desk asks for the instruments of its open
orders and positions at start and on every turn of its clock loop, and for each new order's
instrument as it is created. Requests are coalesced (a burst of signals is one subscribe call);
an instrument the broker does not know (``ValueError``) is logged once and not asked for again,
one that failed for a transient reason is asked for again at the next request and logged once
until it succeeds. Subscriptions are never dropped: a flat position's instrument is usually
traded again the same day, and streams are cheap next to a missed tick.

Without a usable broker session (before the morning login, after the token's 06:00 expiry)
nothing is asked for. Every request would fail (Kite's ticker is closed for a refused token),
a warning per instrument at every turn of the clock loop until the login, or be lost (a Kite
adapter started without a token has no ticker yet, and the one the login starts never heard of
it). The instruments wait for the login instead, which the log says once. A broker
that refuses the session mid-request (``BrokerAuthError``: the desk has not noticed the loss
yet) puts the instruments to wait the same way. The first request the broker takes after a wait
says that the subscriptions resumed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from orderdesk.domain.values import InstrumentKey
from orderdesk.engine.session import SessionWatch
from orderdesk.errors import BrokerAuthError
from orderdesk.ports.broker import Broker

log = logging.getLogger(__name__)


class PriceWatch:
    """Subscribes the broker's stream to instruments once, in batches, in the background."""

    def __init__(self, broker: Broker, session: SessionWatch | None = None) -> None:
        self.broker = broker
        self.session = session
        """Asked before each request; without one the session is taken as usable."""
        self.subscribed: set[InstrumentKey] = set()
        self.refused: set[InstrumentKey] = set()
        self.waiting: set[InstrumentKey] = set()
        """Wanted while there was no usable session: asked for once there is one."""
        self._pending: set[InstrumentKey] = set()
        self._failing: set[InstrumentKey] = set()
        """Failed for a transient reason, already logged: not logged again until subscribed."""
        self._said_waiting = False
        self._task: asyncio.Task[None] | None = None

    def want(self, instruments: Iterable[InstrumentKey]) -> None:
        """Make sure ``instruments`` are (or will shortly be) streamed."""
        new = set(instruments) - self.subscribed - self.refused - self._pending
        if self.session is not None and not self.session.usable:
            self._wait(new, self.session.reason)
            return
        new |= self.waiting
        self.waiting.clear()
        if not new:
            return
        self._pending |= new
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._flush(), name="price-subscriptions"
            )

    def _wait(self, instruments: set[InstrumentKey], reason: str) -> None:
        """Keep ``instruments`` for the login; say so once per wait."""
        self.waiting |= instruments
        if self.waiting and not self._said_waiting:
            self._said_waiting = True
            log.warning(
                "price subscriptions wait for the broker session (%s): %d instrument(s) are "
                "subscribed once a login reaches the desk",
                reason or "no session",
                len(self.waiting),
            )

    async def _flush(self) -> None:
        while self._pending:
            batch = sorted(self._pending, key=str)
            self._pending.clear()
            try:
                await self._send(batch)
            except BrokerAuthError as exc:
                unanswered = set(batch) | self._pending
                self._pending.clear()
                self._wait(unanswered - self.subscribed - self.refused, exc.message)
                return
            if self._said_waiting:
                self._said_waiting = False
                log.info("price subscriptions resumed: the broker took them with its session")

    async def _send(self, batch: list[InstrumentKey]) -> None:
        """Subscribe ``batch``, one at a time if the broker refuses it; ``BrokerAuthError``
        when it refuses the session (no instrument's fault: they wait as a whole)."""
        try:
            await self.broker.subscribe_prices(batch)
        except (asyncio.CancelledError, BrokerAuthError):
            raise
        except Exception:
            # One instrument the broker does not know must not cost the others their ticks.
            for instrument in batch:
                await self._one(instrument)
        else:
            self.subscribed.update(batch)
            self._failing.difference_update(batch)

    async def _one(self, instrument: InstrumentKey) -> None:
        try:
            await self.broker.subscribe_prices([instrument])
        except (asyncio.CancelledError, BrokerAuthError):
            raise
        except ValueError as exc:
            self.refused.add(instrument)
            self._failing.discard(instrument)
            log.warning("no live prices for %s: %s", instrument, exc)
        except Exception as exc:
            # Transient (the broker is unreachable): the next request asks again, quietly.
            if instrument not in self._failing:
                self._failing.add(instrument)
                log.warning(
                    "subscribing %s failed: %s: %s; asking again until it succeeds",
                    instrument,
                    type(exc).__name__,
                    exc,
                )
        else:
            self.subscribed.add(instrument)
            self._failing.discard(instrument)

    async def idle(self) -> None:
        """Wait until every requested subscription was sent (tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


__all__ = ["PriceWatch"]
