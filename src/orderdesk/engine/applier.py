"""Applying the broker's stream in batches: many orders' updates, one append.

Every update the stream delivers is decided by its order's state machine and written to the
durable log before it is applied. Deciding each update in a task of its own — a lock, a future
and a suspended coroutine per update, thousands of them alive while they wait for their commit —
cost more than the decisions and the log together, most of it in the garbage collector's walks
over those tasks (``make bench ARGS=engine``). So updates wait in one lane per order, and the
applier takes the next update of every order that has one, decides them together and writes
them in one append (:meth:`Recorder.decide_many`). An order's next update is taken only once
its previous one is recorded, since it must be decided against that outcome.

Updates that need an await of their own step aside, and their order's lane waits meanwhile:

- a report showing more filled than the recorded fills first reads the order's trades; the
  report and its fills are then decided together, in the next batch;
- an update for an order whose lock someone else holds (a placement in flight, a command,
  reconciliation) goes through the tracker one by one, and so do a report for an order nobody
  knows (an external order, to adopt) and a fill for an order not bound yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderdesk.domain.errors import InvalidTransition
from orderdesk.domain.order import Order
from orderdesk.domain.reports import Fill, OrderStatusReport
from orderdesk.engine.book import OrderBook
from orderdesk.engine.recorder import Decide, Recorder
from orderdesk.engine.trades import TradeReader, record_fills, report_with_fills

log = logging.getLogger(__name__)

MAX_QUEUED = 5_000
"""Updates waiting in lanes; beyond this the stream is read no faster than they commit."""
MAX_BATCH = 2_000
"""Orders decided together and written in one append."""

OrderUpdate = OrderStatusReport | Fill
Spawn = Callable[[Coroutine[Any, Any, None]], None]


@dataclass(slots=True)
class _Read:
    """A report whose trades have been read, ready to be decided with them."""

    order: Order
    report: OrderStatusReport
    fills: list[Fill]
    problems: list[InvalidTransition] = field(default_factory=list)


class StreamApplier:
    """The lanes between the broker's stream and the order log; see the module docstring."""

    def __init__(
        self,
        book: OrderBook,
        recorder: Recorder,
        trades: TradeReader,
        one_by_one: Callable[[OrderUpdate], Coroutine[Any, Any, None]],
        spawn: Spawn,
    ) -> None:
        self.book = book
        self.recorder = recorder
        self.trades = trades
        self.clock = recorder.clock
        self._one_by_one = one_by_one
        self._spawn = spawn
        self._lanes: dict[str, deque[tuple[Order, OrderUpdate]]] = {}
        self._queued = 0
        self._runnable: deque[str] = deque()
        """Orders with a lane whose next update can be taken now, in the order they got one."""
        self._out: set[str] = set()
        """Orders with an update taken and not yet recorded (their lanes wait)."""
        self._ready: list[_Read] = []
        self._room = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """The applier is taking or recording updates (an update out for a read or a one-by-one
        decision is a task of the tracker's, which wakes the applier when it is done)."""
        return self._task is not None

    async def put(self, update: OrderUpdate) -> None:
        """Queue ``update`` in its order's lane; waits only while ``MAX_QUEUED`` are queued."""
        while self._queued >= MAX_QUEUED:
            self._room.clear()
            await self._room.wait()
        if isinstance(update, Fill):
            order = self.book.by_broker_id.get(update.broker_order_id)
        else:
            order = self.book.find(update)
        if order is None:
            self._spawn(self._one_by_one(update))  # to adopt, or a fill waiting for its order
            return
        order_id = order.order_id
        lane = self._lanes.get(order_id)
        if lane is None:
            lane = self._lanes[order_id] = deque()
            if order_id not in self._out:
                self._runnable.append(order_id)
                self._wake()
        lane.append((order, update))
        self._queued += 1

    async def idle(self) -> None:
        """Wait until the applier has nothing runnable left and has stopped."""
        while self._task is not None:
            await asyncio.wait([self._task])

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # -- the applier ---------------------------------------------------------------------------

    def _wake(self) -> None:
        if self._task is None and (self._runnable or self._ready):
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="orderdesk-stream-applier"
            )

    async def _run(self) -> None:
        try:
            while self._runnable or self._ready:
                now = self.clock.now()
                reads = self._take_ready()
                batch = self._take_runnable(now, MAX_BATCH - len(reads))
                if self._queued < MAX_QUEUED:
                    self._room.set()
                if reads or batch:
                    await self._record(reads, batch)
        finally:
            if self._task is asyncio.current_task():
                self._task = None

    def _take_ready(self) -> list[_Read]:
        reads: list[_Read] = []
        for read in self._ready:
            if self.recorder.lock(read.order.order_id).locked():
                self._step_aside(read.order.order_id, self._decide_alone(read))
            else:
                reads.append(read)
        self._ready.clear()
        return reads

    def _take_runnable(self, now: datetime, room: int) -> list[tuple[Order, Decide]]:
        batch: list[tuple[Order, Decide]] = []
        runnable, lanes = self._runnable, self._lanes
        while runnable and len(batch) < room:
            order_id = runnable.popleft()
            lane = lanes[order_id]
            order, update = lane.popleft()
            if not lane:
                del lanes[order_id]
            self._queued -= 1
            self._out.add(order_id)
            if self.recorder.lock(order_id).locked():
                self._step_aside(order_id, self._one_by_one(update))
            elif isinstance(update, OrderStatusReport) and self.trades.lagging(
                order, update.filled_quantity
            ):
                self._spawn(self._read(order, update))
            else:
                batch.append((order, _decision(update, now)))
        return batch

    async def _record(self, reads: list[_Read], batch: list[tuple[Order, Decide]]) -> None:
        now = self.clock.now()
        items = [
            (read.order, report_with_fills(read.report, read.fills, now, read.problems))
            for read in reads
        ]
        items += batch
        still_out: set[str] = set()
        try:
            outcomes = await self.recorder.decide_many(items)
            for read, outcome in zip(reads, outcomes, strict=False):
                if outcome.refused is not None and read.fills:
                    # The report contradicts what we hold; its trades are facts all the same.
                    decision = self.recorder.decide(read.order, record_fills(read.fills, now))
                    self._step_aside(read.order.order_id, _discard(decision))
                    still_out.add(read.order.order_id)
                await self.trades.settle(read.order, read.problems)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Lost here, not at the broker: polling and reconciliation read them again.
            log.exception("could not record %d broker updates", len(items))
        finally:
            for order, _ in items:
                if order.order_id not in still_out:
                    self._release(order.order_id)

    # -- stepping aside ------------------------------------------------------------------------

    def _release(self, order_id: str) -> None:
        """``order_id``'s taken update is recorded: its lane may go on."""
        self._out.discard(order_id)
        if order_id in self._lanes:
            self._runnable.append(order_id)
            self._wake()

    def _step_aside(self, order_id: str, work: Coroutine[Any, Any, None]) -> None:
        self._spawn(self._aside(order_id, work))

    async def _aside(self, order_id: str, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        finally:
            self._release(order_id)

    async def _read(self, order: Order, report: OrderStatusReport) -> None:
        """Read the trades ``report`` implies; the order stays out until they are recorded."""
        try:
            fills = await self.trades.read(report.broker_order_id)
        except BaseException:
            self._release(order.order_id)
            raise
        self._ready.append(_Read(order, report, fills))
        self._wake()

    async def _decide_alone(self, read: _Read) -> None:
        # The order's lock is taken (a command, say): wait for it like any other decision.
        await self.trades.apply_report(read.order, read.report, read.fills)


async def _discard(work: Coroutine[Any, Any, object]) -> None:
    await work


def _decision(update: OrderUpdate, at: datetime) -> Decide:
    if isinstance(update, Fill):
        return lambda order: order.on_fill(update, at)
    return lambda order: order.on_report(update, at)


__all__ = ["MAX_BATCH", "MAX_QUEUED", "OrderUpdate", "StreamApplier"]
