"""Order-update delivery: the update's payload, the postback sender, and the fault shaper the
sender shares with the ticker.

Kite POSTs each order update of an app's own orders to its registered ``postback_url`` as a raw
JSON body carrying ``checksum = sha256(order_id + order_timestamp + api_secret)`` (KITE_API.md
§11). :class:`PostbackSender` does the same, fire-and-forget on the running loop. The ticker's
``{"type": "order"}`` messages carry the same payload (§10), so both take it from one builder,
:func:`order_update_payload` (via :meth:`PostbackSender.payload`).

Real updates arrive late, twice or out of order; :class:`UpdateShaper` makes that happen on
purpose, from the shared :class:`~orderdesk.sim.faults.Faults` switches ``update_delay_ms``,
``update_duplicate`` and ``update_reorder``, drawing only from ``faults.rng`` so that a seeded run
repeats. The ticker keeps one shaper per user, the sender one for all.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import aiohttp
import structlog

from orderdesk.sim.faults import Faults

log = structlog.get_logger(__name__)

T = TypeVar("T")

REORDER_HOLD_S = 0.5
"""How long an update held back for reordering waits for a successor before going out anyway."""


class UpdateShaper(Generic[T]):
    """Delivers a stream of updates through the update faults, in a deterministic way.

    Per update it draws (only for switches that are on) whether to hold it back until after the
    next one and whether to send it twice; a delay then applies to everything, keeping the
    shaped order. Without a running event loop there is nothing to schedule on, so updates go
    straight through.
    """

    def __init__(
        self, faults: Faults, deliver: Callable[[T], None], *, hold_s: float = REORDER_HOLD_S
    ) -> None:
        self._faults = faults
        self._deliver = deliver
        self._hold_s = hold_s
        self._held: list[T] = []
        self._hold_timer: asyncio.TimerHandle | None = None
        self._queue: deque[tuple[float, T]] = deque()
        self._drain_task: asyncio.Task[None] | None = None

    def push(self, item: T) -> None:
        """Accept one update."""
        faults = self._faults
        reorder = faults.roll(faults.update_reorder)
        batch = [item, item] if faults.roll(faults.update_duplicate) else [item]
        loop = _running_loop()
        if loop is None:
            self._emit([*batch, *self._take_held()], None)
            return
        if reorder and not self._held:
            self._held = batch
            self._hold_timer = loop.call_later(self._hold_s, self._release_held)
            return
        self._emit([*batch, *self._take_held()], loop)

    def _take_held(self) -> list[T]:
        held, self._held = self._held, []
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None
        return held

    def _release_held(self) -> None:
        self._hold_timer = None
        self._emit(self._take_held(), _running_loop())

    def _emit(self, items: list[T], loop: asyncio.AbstractEventLoop | None) -> None:
        delay = self._faults.update_delay_ms / 1000.0
        if loop is None or (delay <= 0 and not self._queue):
            for item in items:
                self._deliver(item)
            return
        due = loop.time() + delay
        self._queue.extend((due, item) for item in items)
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = loop.create_task(self._drain(), name="sim-update-delay")

    async def _drain(self) -> None:
        # One FIFO worker keeps delayed updates in order (call_later gives no tie-break order).
        loop = asyncio.get_running_loop()
        while self._queue:
            due, item = self._queue[0]
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)  # the injected delay itself, not a synchronisation
            self._queue.popleft()
            self._deliver(item)

    def flush(self) -> None:
        """Deliver everything held back or waiting, now (used at shutdown)."""
        if self._drain_task is not None:
            self._drain_task.cancel()
            self._drain_task = None
        pending = [item for _, item in self._queue]
        self._queue.clear()
        for item in [*pending, *self._take_held()]:
            self._deliver(item)

    async def close(self) -> None:
        """Stop without delivering what is still held or delayed."""
        self._take_held()
        self._queue.clear()
        task, self._drain_task = self._drain_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def postback_checksum(order_id: str, order_timestamp: str, api_secret: str) -> str:
    """Kite's postback checksum: hex SHA-256 of order id, order timestamp and the api secret."""
    return hashlib.sha256((order_id + order_timestamp + api_secret).encode()).hexdigest()


def order_update_payload(order: dict[str, Any], *, app_id: int, api_secret: str) -> dict[str, Any]:
    """Kite's order-update payload: the order object plus ``app_id``, ``unfilled_quantity`` (if
    the order does not say) and ``checksum`` (KITE_API.md §11, ``kite-mocks/postback.json``).

    Building it from its own result gives the same payload: the checksum depends only on the
    order id and timestamp.
    """
    body = dict(order)
    body.setdefault("app_id", app_id)
    body.setdefault("unfilled_quantity", order.get("pending_quantity", 0))
    body["checksum"] = postback_checksum(
        str(order.get("order_id", "")), str(order.get("order_timestamp") or ""), api_secret
    )
    return body


class PostbackSender:
    """POSTs order updates to the configured URL with Kite's checksum; a no-op without a URL.

    ``send`` is fire-and-forget: bodies queue for one worker task on the running loop (whose
    reference the sender keeps), which POSTs them one after another; a failed POST is logged and
    counted, never retried or raised. The secret is used for checksums only and appears in no
    log or repr.
    """

    def __init__(
        self,
        url: str | None,
        api_secret: str,
        session_factory: Callable[[], aiohttp.ClientSession] | None = None,
        *,
        faults: Faults | None = None,
        app_id: int,
        timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self._secret = api_secret
        self._session_factory = session_factory or aiohttp.ClientSession
        self._session: aiohttp.ClientSession | None = None
        self._app_id = app_id
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._outbox: deque[dict[str, Any]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._shaper: UpdateShaper[dict[str, Any]] = UpdateShaper(
            faults or Faults(), self._post_later
        )
        self.sent = 0
        self.failed = 0

    def __repr__(self) -> str:
        return f"PostbackSender(url={self.url!r})"

    def payload(self, order: dict[str, Any]) -> dict[str, Any]:
        """The body Kite would send for this order update (``app_id`` and ``checksum`` added):
        :func:`order_update_payload` with this sender's app id and secret."""
        return order_update_payload(order, app_id=self._app_id, api_secret=self._secret)

    def send(self, order_payload: dict[str, Any]) -> None:
        """Queue one update for POSTing (through the update faults)."""
        if self.url is None:
            return
        self._shaper.push(self.payload(order_payload))

    def _post_later(self, body: dict[str, Any]) -> None:
        # One worker POSTs in sequence, so the shaped order is the order the receiver sees.
        loop = _running_loop()
        if loop is None:
            log.warning("postback dropped: no running event loop", order_id=body.get("order_id"))
            return
        self._outbox.append(body)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._work(), name="sim-postbacks")

    async def _work(self) -> None:
        while self._outbox:
            await self._post(self._outbox.popleft())

    async def _post(self, body: dict[str, Any]) -> None:
        if self.url is None:
            raise RuntimeError("postback without a URL")  # send() checks; this is a bug
        if self._session is None:
            self._session = self._session_factory()
        try:
            async with self._session.post(self.url, json=body, timeout=self._timeout) as reply:
                await reply.read()
                if reply.status >= 400:
                    raise aiohttp.ClientResponseError(
                        reply.request_info, (), status=reply.status, message=reply.reason or ""
                    )
            self.sent += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.failed += 1
            log.warning(
                "postback failed",
                order_id=body.get("order_id"),
                error=type(exc).__name__,
                status=getattr(exc, "status", None),
            )

    async def drain(self) -> None:
        """Wait until every POST queued so far has been attempted (tests, shutdown)."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)

    async def close(self) -> None:
        """Stop shaping, finish in-flight POSTs, and close the HTTP session."""
        await self._shaper.close()
        await self.drain()
        if self._session is not None:
            await self._session.close()
            self._session = None


__all__ = [
    "REORDER_HOLD_S",
    "PostbackSender",
    "UpdateShaper",
    "order_update_payload",
    "postback_checksum",
]
