"""Mark-to-market: keep the live stream subscribed to what the desk holds or works.

Positions show unrealised P&L only if ticks arrive for their instruments, and a broker streams
prices only for instruments it was asked for. The desk asks for the instruments of its open
orders and positions at start, and for each new order's instrument as it is created. Requests
are coalesced (a burst of signals is one subscribe call); an instrument the broker does not
know (``ValueError``) is logged once and not asked for again, one that failed for a transient
reason is asked for again with the next order in it. Subscriptions are never dropped: a flat
position's instrument is usually traded again the same day, and streams are cheap next to
a missed tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from orderdesk.domain.values import InstrumentKey
from orderdesk.ports.broker import Broker

log = logging.getLogger(__name__)


class PriceWatch:
    """Subscribes the broker's stream to instruments once, in batches, in the background."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.subscribed: set[InstrumentKey] = set()
        self.refused: set[InstrumentKey] = set()
        self._pending: set[InstrumentKey] = set()
        self._task: asyncio.Task[None] | None = None

    def want(self, instruments: Iterable[InstrumentKey]) -> None:
        """Make sure ``instruments`` are (or will shortly be) streamed."""
        new = set(instruments) - self.subscribed - self.refused - self._pending
        if not new:
            return
        self._pending |= new
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._flush(), name="price-subscriptions"
            )

    async def _flush(self) -> None:
        while self._pending:
            batch = sorted(self._pending, key=str)
            self._pending.clear()
            try:
                await self.broker.subscribe_prices(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                # One instrument the broker does not know must not cost the others their ticks.
                for instrument in batch:
                    await self._one(instrument)
            else:
                self.subscribed.update(batch)

    async def _one(self, instrument: InstrumentKey) -> None:
        try:
            await self.broker.subscribe_prices([instrument])
        except asyncio.CancelledError:
            raise
        except ValueError as exc:
            self.refused.add(instrument)
            log.warning("no live prices for %s: %s", instrument, exc)
        except Exception as exc:
            # Transient (the broker is unreachable): the next order in it asks again.
            log.warning("subscribing %s failed: %s: %s", instrument, type(exc).__name__, exc)
        else:
            self.subscribed.add(instrument)

    async def idle(self) -> None:
        """Wait until every requested subscription was sent (tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


__all__ = ["PriceWatch"]
