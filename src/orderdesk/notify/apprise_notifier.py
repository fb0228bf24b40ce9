"""Alerts through apprise: any apprise URL (Telegram, e-mail, ntfy, Slack, desktop, JSON…).

apprise's ``notify`` blocks on the network, so deliveries run in a worker thread, one at a time
and in order, behind a queue: :meth:`AppriseNotifier.notify` only decides (severity, then the
:class:`~orderdesk.notify.throttle.Throttle`) and enqueues, so a slow or dead alert channel never
stalls the order engine. Nothing here raises to the caller; a failed delivery is logged.

apprise URLs embed credentials (bot tokens, passwords), so they never appear in this object's
repr, in logs or in errors: only their count and schemes do.

The notifier takes its own :class:`AppriseOptions` rather than the app's config model: adapters
sit below the config, and the composition root (:mod:`orderdesk.runtime`) maps ``[alerts]``
onto them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self

import structlog

from orderdesk.notify.throttle import Throttle
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.notifier import Alert, Severity

log = structlog.get_logger(__name__)

SEVERITY_RANK: dict[Severity, int] = {
    Severity.INFO: 0,
    Severity.WARNING: 1,
    Severity.CRITICAL: 2,
}

_NOTIFY_TYPE: dict[Severity, str] = {
    # apprise's own words; "failure" is what its channels render as an error (red, ❌).
    Severity.INFO: "info",
    Severity.WARNING: "warning",
    Severity.CRITICAL: "failure",
}

MAX_QUEUED = 100
"""Deliveries waiting beyond this are dropped (and counted): alerts must not eat memory."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AppriseOptions:
    """What an :class:`AppriseNotifier` is told: where alerts go and how many of them."""

    urls: tuple[str, ...] = field(default=(), repr=False)
    """apprise URLs (Telegram, e-mail, ntfy, Slack, desktop…); they hold credentials."""
    min_severity: Severity = Severity.WARNING
    throttle_seconds: float = 300.0
    max_per_key: int = 3
    """At most this many messages per alert key within the throttle window."""

    def __post_init__(self) -> None:
        if self.throttle_seconds < 0:
            raise ValueError("throttle_seconds must not be negative")
        if self.max_per_key < 1:
            raise ValueError("max_per_key must be at least 1")


class Sender(Protocol):
    """The blocking send the worker thread performs (apprise's ``Apprise.notify`` shape)."""

    def __call__(self, *, title: str, body: str, notify_type: str) -> bool: ...


def apprise_sender(urls: Sequence[str]) -> Sender:
    """A :class:`Sender` backed by one ``apprise.Apprise`` holding ``urls``."""
    import apprise

    client = apprise.Apprise()
    for url in urls:
        if not client.add(url):
            # The URL itself may hold a token: name only its scheme.
            scheme = url.partition("://")[0] or "?"
            log.warning("alerts.bad_url", scheme=scheme)

    def send(*, title: str, body: str, notify_type: str) -> bool:
        return bool(client.notify(title=title, body=body, notify_type=notify_type))

    return send


def render(alert: Alert, suppressed_before: int) -> tuple[str, str]:
    """Title and body as the operator reads them; the order id is always in the body."""
    title = f"[{alert.severity.value.upper()}] {alert.title}"
    lines = [alert.body]
    if alert.order_id and alert.order_id not in alert.body:
        lines.append(f"order: {alert.order_id}")
    if suppressed_before:
        lines.append(f"({suppressed_before} similar alert(s) suppressed before this one)")
    return title, "\n".join(lines)


class AppriseNotifier:
    """The :class:`~orderdesk.ports.notifier.Notifier` that delivers through apprise.

    ``sender`` replaces apprise in tests that want to count calls without a server; by default
    the apprise client is built from ``urls``. Use ``async with`` (or :meth:`aclose`) so queued
    alerts are delivered before the process ends; :meth:`drain` waits for the queue to empty.
    """

    def __init__(
        self,
        urls: Sequence[str],
        min_severity: Severity = Severity.WARNING,
        throttle_seconds: float = 300.0,
        max_per_key: int = 3,
        clock: Clock | None = None,
        *,
        sender: Sender | None = None,
    ) -> None:
        self._schemes = sorted({url.partition("://")[0] for url in urls})
        self._min_rank = SEVERITY_RANK[Severity(min_severity)]
        self._clock: Clock = clock or SystemClock()
        self._throttle = Throttle(window_seconds=throttle_seconds, max_per_key=max_per_key)
        self._sender_factory: Callable[[], Sender] = (
            (lambda: sender) if sender is not None else (lambda: apprise_sender(urls))
        )
        self._sender: Sender | None = None
        self._enabled = bool(urls) or sender is not None
        self._queue: asyncio.Queue[tuple[str, str, str]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        """Alerts refused by severity, throttling or a full queue."""

    @classmethod
    def from_options(cls, options: AppriseOptions, clock: Clock | None = None) -> Self:
        """The notifier ``options`` describe."""
        return cls(
            options.urls,
            min_severity=options.min_severity,
            throttle_seconds=options.throttle_seconds,
            max_per_key=options.max_per_key,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"AppriseNotifier(channels={len(self._schemes)}, schemes={self._schemes})"

    async def notify(self, alert: Alert) -> None:
        """Decide and enqueue ``alert``; returns at once and never raises."""
        try:
            self._enqueue(alert)
        except Exception as exc:  # the port promises never to raise
            log.error("alerts.enqueue_failed", error=type(exc).__name__)

    def _enqueue(self, alert: Alert) -> None:
        if not self._enabled or SEVERITY_RANK[alert.severity] < self._min_rank:
            self.dropped += 1
            return
        decision = self._throttle.decide(alert, self._clock.monotonic())
        if not decision.send:
            self.dropped += 1
            return
        queue = self._ensure_worker()
        if queue.qsize() >= MAX_QUEUED:
            self.dropped += 1
            log.warning("alerts.queue_full", key=alert.key)
            return
        title, body = render(alert, decision.suppressed_before)
        queue.put_nowait((title, body, _NOTIFY_TYPE[alert.severity]))

    def _ensure_worker(self) -> asyncio.Queue[tuple[str, str, str]]:
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._deliver_forever(self._queue))
        return self._queue

    async def _deliver_forever(self, queue: asyncio.Queue[tuple[str, str, str]]) -> None:
        while True:
            title, body, notify_type = await queue.get()
            try:
                await asyncio.to_thread(self._send, title, body, notify_type)
            finally:
                queue.task_done()

    def _send(self, title: str, body: str, notify_type: str) -> None:
        # Runs in the worker thread; every failure stays here.
        try:
            if self._sender is None:
                self._sender = self._sender_factory()
            ok = self._sender(title=title, body=body, notify_type=notify_type)
        except Exception as exc:  # a broken channel must not break the desk
            ok = False
            log.warning("alerts.delivery_error", error=type(exc).__name__)
        if ok:
            self.delivered += 1
        else:
            self.failed += 1
            log.warning("alerts.delivery_failed", schemes=self._schemes)

    async def drain(self) -> None:
        """Wait until every queued alert has been handed to apprise."""
        if self._queue is not None and self._worker is not None and not self._worker.done():
            await self._queue.join()

    async def aclose(self) -> None:
        """Deliver what is queued, then stop the worker."""
        await self.drain()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()


__all__ = [
    "SEVERITY_RANK",
    "AppriseNotifier",
    "AppriseOptions",
    "Sender",
    "apprise_sender",
    "render",
]
