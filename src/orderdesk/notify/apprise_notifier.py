"""Alerts through apprise: any apprise URL (Telegram, e-mail, ntfy, Slack, desktop, JSON…).

apprise's ``notify`` blocks on the network, so deliveries run off the event loop:
:meth:`AppriseNotifier.notify` only decides (severity, then the
:class:`~orderdesk.notify.throttle.Throttle`) and enqueues, so a slow or dead alert channel never
stalls the order engine. Each URL is a target of its own: its own apprise client, queue and
delivery thread, in order, each delivery given at most ``timeout_seconds``. A target that hangs
or fails holds up only itself, never another target or the engine. Nothing here raises to the
caller; a failed delivery is logged naming the target (``alerts.urls.1 json://host:port``, never
a token), and each target's last failure is kept for the health page and ``orderdesk doctor``
(:func:`alert_targets`).

A failed delivery is tried again, after waits that grow (:class:`RetryPolicy`), for as long as
the alert is younger than ``within_seconds``; the alerts behind it wait, so each target keeps
their order. An alert that could not be delivered in that time (or found its target's queue
full) is given up and counted, and the next delivery that succeeds on that target says how many
and since when, so an operator never misses an alert without word of it. While the notifier
drains (a clean stop), nothing waits to be retried: each queued alert gets one attempt, as
before retries existed.

apprise URLs embed credentials (bot tokens, passwords, webhook tokens in the path), so they never
appear in this object's repr, in logs or in errors: every part of a URL that may be secret is
registered with the log redaction before apprise sees it
(:mod:`orderdesk.notify.url_secrets`).

The notifier takes its own :class:`AppriseOptions` rather than the app's config model: adapters
sit below the config, and the composition root (:mod:`orderdesk.runtime`) maps ``[alerts]``
onto them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, Self

import structlog

from orderdesk.domain.calendar import as_ist
from orderdesk.notify.throttle import Throttle
from orderdesk.notify.url_secrets import register_url_secrets, target_name
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.notifier import Alert, Severity
from orderdesk.redaction import redact

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
"""Deliveries waiting for one target beyond this are dropped (and counted): alerts must not eat
memory."""

DELIVERY_TIMEOUT = 30.0
"""Seconds one delivery to one target may take before it counts as failed (apprise's own HTTP
timeouts are 4 s to connect and 4 s to read, so this is for a channel that hangs past them)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How a target tries a failed delivery again.

    Written here rather than with stamina (which the engine and the Kite adapter use): the
    bound is the alert's age on the notifier's clock, not the time since a retry block began
    (alerts queued behind a failing one have been waiting too); the backoff belongs to the
    target, carried from one alert to the next while it is down; and a drain must end a wait
    at once, where stamina's sleeps end only by cancelling the task that holds the queue. No
    jitter: one desk retries one receiver, there is no herd to spread.
    """

    within_seconds: float = 600.0
    """An alert not delivered this long after it was raised is given up (and counted)."""
    wait_initial: float = 2.0
    """Seconds before the first retry; each further wait doubles, up to ``wait_max``."""
    wait_max: float = 60.0

    def __post_init__(self) -> None:
        if self.within_seconds < 0:
            raise ValueError("within_seconds must not be negative")
        if not 0 < self.wait_initial <= self.wait_max:
            raise ValueError("wait_initial must be above 0 and at most wait_max")


@dataclass(frozen=True, slots=True, kw_only=True)
class AppriseOptions:
    """What an :class:`AppriseNotifier` is told: where alerts go and how many of them."""

    urls: tuple[str, ...] = field(default=(), repr=False)
    """apprise URLs (Telegram, e-mail, ntfy, Slack, desktop…); they hold credentials."""
    min_severity: Severity = Severity.WARNING
    throttle_seconds: float = 300.0
    max_per_key: int = 3
    """At most this many messages per alert key within the throttle window."""
    timeout_seconds: float = DELIVERY_TIMEOUT
    """At most this long for one delivery to one target; then it counts as failed."""
    retry: RetryPolicy = RetryPolicy()
    """How long, and how often, a failed delivery is tried again."""

    def __post_init__(self) -> None:
        if self.throttle_seconds < 0:
            raise ValueError("throttle_seconds must not be negative")
        if self.max_per_key < 1:
            raise ValueError("max_per_key must be at least 1")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be above 0")


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """One alert target's deliveries, as the health page and ``orderdesk doctor`` tell them."""

    name: str
    """``alerts.urls.<index> <scheme>://<host>``: never the URL's token or path."""
    delivered: int
    failed: int
    last_delivered_at: datetime | None
    last_failed_at: datetime | None
    last_error: str | None
    """Why the last failed delivery failed (redacted)."""
    last_failed: bool = False
    """Its last delivery failed (or did not answer in time)."""
    waiting: int = 0
    """Alerts not delivered yet because a delivery failed: the one being retried and those
    queued behind it."""
    waiting_since: datetime | None = None
    """When the oldest of them was raised."""
    lost: int = 0
    """Alerts given up on since the notifier started: not delivered within the retry bound, or
    dropped from a full queue."""
    first_lost_at: datetime | None = None
    """When the first of them was raised."""

    @property
    def failing(self) -> bool:
        """An alert waits to be retried, or its last delivery failed (told by the target, not
        by comparing times: a clock may give both the same)."""
        return self.waiting > 0 or self.last_failed

    @property
    def troubled(self) -> bool:
        """Something the operator should hear of: it is failing, or it has lost alerts."""
        return self.failing or self.lost > 0


class Sender(Protocol):
    """The blocking send the worker thread performs (apprise's ``Apprise.notify`` shape)."""

    def __call__(self, *, title: str, body: str, notify_type: str) -> bool: ...


def apprise_sender(urls: Sequence[str]) -> Sender:
    """A :class:`Sender` backed by one ``apprise.Apprise`` holding ``urls``.

    Every secret-looking part of each URL is registered with the log redaction first, by the
    URL's shape and then by what apprise's private form of it masks.
    """
    for url in urls:
        register_url_secrets(url)
    import apprise

    client = apprise.Apprise()
    for index, url in enumerate(urls):
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None or not client.add(plugin):
            # The URL itself may hold a token: name only its place, scheme and host name.
            log.warning("alerts.bad_url", target=target_name(index, url))
            continue
        register_url_secrets(url, plugin)

    def send(*, title: str, body: str, notify_type: str) -> bool:
        return bool(client.notify(title=title, body=body, notify_type=notify_type))

    return send


def render(
    alert: Alert,
    suppressed_before: int,
    suppressed_since: datetime | None = None,
    now: datetime | None = None,
) -> tuple[str, str]:
    """Title and body as the operator reads them; the order id is always in the body, and
    the suppressed count says since when (the day too, when that was not ``now``'s day)."""
    title = f"[{alert.severity.value.upper()}] {alert.title}"
    lines = [alert.body]
    if alert.order_id and alert.order_id not in alert.body:
        lines.append(f"order: {alert.order_id}")
    if suppressed_before:
        lines.append(
            f"({suppressed_before} similar alert(s) suppressed{_since(suppressed_since, now)}"
            " before this one)"
        )
    return title, "\n".join(lines)


def _since(when: datetime | None, now: datetime | None) -> str:
    """`` since HH:MM IST`` (`` since 21 Dec HH:MM IST`` on another day than ``now``)."""
    if when is None:
        return ""
    local = as_ist(when)
    if now is not None and as_ist(now).date() == local.date():
        return f" since {local:%H:%M} IST"
    return f" since {local:%d %b %H:%M} IST"


@dataclass(frozen=True, slots=True)
class _Message:
    title: str
    body: str
    notify_type: str


@dataclass(slots=True)
class _Queued:
    """One alert waiting for one target: when it was raised, and until when it is tried."""

    message: _Message
    raised_at: datetime | None
    deadline: float
    """The notifier clock's monotonic seconds after which it is given up."""
    attempts: int = 0


def lost_note(count: int, since: datetime | None, now: datetime | None) -> str:
    """The line a delivered alert carries about the ones its target lost before it."""
    return (
        f"({count} alert(s) could not be delivered here{_since(since, now)}: see the "
        "dashboard's alerts)"
    )


def _in_thread(work: Callable[[], tuple[bool, str]], name: str) -> asyncio.Future[tuple[bool, str]]:
    """Run ``work`` in a daemon thread of its own, its result a future of the running loop.

    Not the loop's executor: a delivery that hangs would hold one of its shared threads (and
    the process's exit, which joins them); a daemon thread holds nothing but itself.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[tuple[bool, str]] = loop.create_future()

    def settle(result: tuple[bool, str]) -> None:
        if not future.done():  # not given up on meanwhile
            future.set_result(result)

    def run() -> None:
        result = work()
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, result)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


class _Target:
    """One alert URL: its own sender, queue and delivery, so it can hold up only itself."""

    def __init__(
        self,
        name: str,
        factory: Callable[[], Sender],
        *,
        timeout: float,
        clock: Clock,
        retry: RetryPolicy,
    ) -> None:
        self.name = name
        self._factory = factory
        self._sender: Sender | None = None
        self._timeout = timeout
        self._clock = clock
        self._retry = retry
        self._queue: asyncio.Queue[_Queued] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._hanging: asyncio.Future[tuple[bool, str]] | None = None
        """A delivery given up on (timed out) whose thread has not returned yet."""
        self._backoff: float | None = None
        """The last wait between attempts while the target is down; None while it is not."""
        self._next_try_at = 0.0
        """While it is down: the clock's monotonic seconds before which nothing is tried."""
        self._retrying: _Queued | None = None
        """The alert whose delivery failed and is being tried again."""
        self._draining = 0
        self._hurry: asyncio.Event | None = None
        """Set while the notifier drains: a retry's wait ends, and nothing is retried."""
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        """Alerts refused by a full queue (counted in ``lost`` too)."""
        self.lost = 0
        self._first_lost_at: datetime | None = None
        self._unnoted = 0
        """Alerts lost since the last delivery that told of them."""
        self._unnoted_since: datetime | None = None
        self._last_delivered_at: datetime | None = None
        self._last_failed_at: datetime | None = None
        self._last_error: str | None = None

    def status(self) -> TargetStatus:
        retrying = self._retrying
        waiting = 0
        if retrying is not None:
            waiting = 1 + (self._queue.qsize() if self._queue is not None else 0)
        return TargetStatus(
            name=self.name,
            delivered=self.delivered,
            failed=self.failed,
            last_delivered_at=self._last_delivered_at,
            last_failed_at=self._last_failed_at,
            last_error=self._last_error,
            last_failed=self._backoff is not None,
            waiting=waiting,
            waiting_since=retrying.raised_at if retrying is not None else None,
            lost=self.lost,
            first_lost_at=self._first_lost_at,
        )

    def put(self, message: _Message, key: str) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._deliver_forever(self._queue))
        queued = _Queued(message, self._now(), self._clock.monotonic() + self._retry.within_seconds)
        if self._queue.qsize() >= MAX_QUEUED:
            self.dropped += 1
            self._lose(queued)
            log.warning("alerts.queue_full", target=self.name, key=key)
            return
        self._queue.put_nowait(queued)

    async def _deliver_forever(self, queue: asyncio.Queue[_Queued]) -> None:
        while True:
            queued = await queue.get()
            try:
                await self._deliver_in_time(queued)
            except Exception as exc:  # a broken channel must not stop its worker
                with contextlib.suppress(Exception):
                    self._failure(f"{type(exc).__name__}: {exc}")
                    self._lose(queued)
            finally:
                self._retrying = None
                queue.task_done()

    async def _deliver_in_time(self, queued: _Queued) -> None:
        """Deliver ``queued``, trying again after each failure while its bound allows; or
        give it up, counted for the next delivery to tell."""
        while True:
            if self._backoff is not None and not await self._waited(queued):
                log.warning(
                    "alerts.delivery_given_up",
                    target=self.name,
                    title=queued.message.title,
                    attempts=queued.attempts,
                )
                self._lose(queued)
                return
            queued.attempts += 1
            noted = self._unnoted
            message = queued.message
            if noted:
                note = lost_note(noted, self._unnoted_since, self._now())
                message = replace(message, body=f"{message.body}\n{note}")
            if await self._deliver(message):
                self._backoff = None
                self._unnoted -= noted
                if not self._unnoted:
                    self._unnoted_since = None
                return
            wait = self._retry.wait_initial if self._backoff is None else self._backoff * 2
            self._backoff = min(wait, self._retry.wait_max)
            self._next_try_at = self._clock.monotonic() + self._backoff

    async def _waited(self, queued: _Queued) -> bool:
        """Wait out the backoff before the next attempt at ``queued``; False when it is to be
        given up instead: its bound has passed, or the notifier drains and it had its try."""
        self._retrying = queued
        hurry = self._hurry_event()
        if not hurry.is_set():
            until = min(self._next_try_at, queued.deadline)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hurry.wait(), max(0.0, until - self._clock.monotonic()))
        if hurry.is_set():
            return queued.attempts == 0  # draining: one attempt each, as without retries
        return self._clock.monotonic() < queued.deadline

    async def _deliver(self, message: _Message) -> bool:
        hanging = self._hanging
        if hanging is not None and not hanging.done():
            # One thread per target at most: wait for the one that hangs, then give up again.
            await asyncio.wait({hanging}, timeout=self._timeout)
            if not hanging.done():
                self._failure(
                    f"an earlier delivery has not returned after {self._timeout:g}s; not sent"
                )
                return False
        self._hanging = None
        future = _in_thread(lambda: self._send(message), f"orderdesk-alert {self.name}")
        try:
            ok, error = await asyncio.wait_for(asyncio.shield(future), self._timeout)
        except TimeoutError:
            self._hanging = future
            self._failure(f"no answer within {self._timeout:g}s")
            return False
        if ok:
            self.delivered += 1
            self._last_delivered_at = self._now()
        else:
            self._failure(error)
        return ok

    def _send(self, message: _Message) -> tuple[bool, str]:
        # Runs in the target's thread; every failure stays here.
        try:
            if self._sender is None:
                self._sender = self._factory()
            ok = self._sender(
                title=message.title, body=message.body, notify_type=message.notify_type
            )
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return ok, "" if ok else "the channel did not take it (see apprise's warning)"

    def _failure(self, error: str) -> None:
        error = redact(error)[:300]
        self.failed += 1
        self._last_failed_at = self._now()
        self._last_error = error
        log.warning("alerts.delivery_failed", target=self.name, error=error)

    def _lose(self, queued: _Queued) -> None:
        """Count ``queued`` as never delivered here: for the doctor, and the next delivery."""
        self.lost += 1
        self._unnoted += 1
        if self._first_lost_at is None:
            self._first_lost_at = queued.raised_at
        if self._unnoted_since is None:
            self._unnoted_since = queued.raised_at

    def _now(self) -> datetime | None:
        try:
            return self._clock.now()
        except Exception:  # a clock that cannot tell must not cost the delivery its count
            return None

    def _hurry_event(self) -> asyncio.Event:
        # Made on first use, inside the running loop (the target is built outside one).
        if self._hurry is None:
            self._hurry = asyncio.Event()
        return self._hurry

    async def drain(self) -> None:
        """Wait until the queue is empty, no alert waiting for a retry meanwhile: one that
        failed is given up, each other gets one attempt."""
        if self._queue is None or self._worker is None or self._worker.done():
            return
        hurry = self._hurry_event()
        self._draining += 1
        hurry.set()
        try:
            await self._queue.join()
        finally:
            self._draining -= 1
            if not self._draining:
                hurry.clear()

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None


_LIVE: weakref.WeakSet[AppriseNotifier] = weakref.WeakSet()


def alert_targets() -> list[TargetStatus]:
    """The alert targets of this process's apprise notifiers, each with its last failure."""
    return [status for notifier in list(_LIVE) for status in notifier.targets()]


class AppriseNotifier:
    """The :class:`~orderdesk.ports.notifier.Notifier` that delivers through apprise.

    ``sender`` replaces apprise in tests that want to count calls without a server (one target
    named ``sender``); by default each of ``urls`` is a target with its own apprise client. Use
    ``async with`` (or :meth:`aclose`) so queued alerts are delivered before the process ends;
    :meth:`drain` waits for the queues to empty.
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
        timeout_seconds: float = DELIVERY_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        for url in urls:
            # At once, before anything (apprise, urllib3) can log the URL.
            register_url_secrets(url)
        self._schemes = sorted({url.partition("://")[0] for url in urls})
        self._min_rank = SEVERITY_RANK[Severity(min_severity)]
        self._clock: Clock = clock or SystemClock()
        self._throttle = Throttle(window_seconds=throttle_seconds, max_per_key=max_per_key)
        policy = retry or RetryPolicy()
        if sender is not None:
            self._targets = [
                _Target(
                    "sender",
                    lambda: sender,
                    timeout=timeout_seconds,
                    clock=self._clock,
                    retry=policy,
                )
            ]
        else:
            self._targets = [
                _Target(
                    target_name(index, url),
                    _factory(url),
                    timeout=timeout_seconds,
                    clock=self._clock,
                    retry=policy,
                )
                for index, url in enumerate(urls)
            ]
        self._enabled = bool(self._targets)
        self.dropped = 0
        """Alerts refused by severity or throttling (a full target queue: :meth:`targets`)."""
        if self._enabled:
            _LIVE.add(self)

    @classmethod
    def from_options(cls, options: AppriseOptions, clock: Clock | None = None) -> Self:
        """The notifier ``options`` describe."""
        return cls(
            options.urls,
            min_severity=options.min_severity,
            throttle_seconds=options.throttle_seconds,
            max_per_key=options.max_per_key,
            clock=clock,
            timeout_seconds=options.timeout_seconds,
            retry=options.retry,
        )

    def __repr__(self) -> str:
        return f"AppriseNotifier(channels={len(self._schemes)}, schemes={self._schemes})"

    @property
    def delivered(self) -> int:
        """Deliveries that reached a target (one alert to two targets: two)."""
        return sum(target.delivered for target in self._targets)

    @property
    def failed(self) -> int:
        """Deliveries that failed or timed out, over all targets."""
        return sum(target.failed for target in self._targets)

    def targets(self) -> list[TargetStatus]:
        """Each target's deliveries, last failure, and the alerts it has not delivered."""
        return [target.status() for target in self._targets]

    async def notify(self, alert: Alert) -> None:
        """Decide and enqueue ``alert`` for every target; returns at once and never raises."""
        try:
            self._enqueue(alert)
        except Exception as exc:  # the port promises never to raise
            log.error("alerts.enqueue_failed", error=type(exc).__name__)

    def _enqueue(self, alert: Alert) -> None:
        if not self._enabled or SEVERITY_RANK[alert.severity] < self._min_rank:
            self.dropped += 1
            return
        monotonic = self._clock.monotonic()
        decision = self._throttle.decide(alert, monotonic)
        if not decision.send:
            self.dropped += 1
            return
        now = since = None
        if decision.suppressed_since is not None:
            with contextlib.suppress(Exception):  # a clock that cannot tell costs the "since"
                now = self._clock.now()
                since = now - timedelta(seconds=monotonic - decision.suppressed_since)
        title, body = render(alert, decision.suppressed_before, since, now)
        message = _Message(title, body, _NOTIFY_TYPE[alert.severity])
        for target in self._targets:
            target.put(message, alert.key)

    async def drain(self) -> None:
        """Wait until every queued alert has been handed to each target (or timed out); an
        alert waiting to be retried is given up meanwhile, so this never waits for a retry."""
        await asyncio.gather(*(target.drain() for target in self._targets))

    async def aclose(self) -> None:
        """Deliver what is queued, then stop the workers."""
        await self.drain()
        for target in self._targets:
            await target.stop()
        _LIVE.discard(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()


def _factory(url: str) -> Callable[[], Sender]:
    return lambda: apprise_sender([url])


__all__ = [
    "DELIVERY_TIMEOUT",
    "SEVERITY_RANK",
    "AppriseNotifier",
    "AppriseOptions",
    "RetryPolicy",
    "Sender",
    "TargetStatus",
    "alert_targets",
    "apprise_sender",
    "lost_note",
    "render",
]
