"""Approval mode: signals of some strategies wait for an operator before they reach the desk.

:class:`ApprovalQueue` sits in front of the desk's ``submit``. A signal whose strategy has
``approval = true`` in its ``[strategies.<name>]`` section is first screened by the desk (its
risk checks, as for any signal: a denial is refused at once, never parked) and then parked as
a :class:`PendingSignal`; the operator approves it (then it is submitted, exactly once, and
checked again against the desk as it is then) or rejects it, from the dashboard or
``orderdesk pending``. A pending signal lapses after the
strategy's ``approval_ttl_seconds``, or when its trading day ends, whichever comes first: a
stale trading decision must not execute hours later (or on the next day) because somebody
clicked "approve" on an old screen.

Expiry is checked whenever the queue is read or acted on, so there is no timer to run; the
clock is injected so tests control time.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from orderdesk.config import StrategySettings
from orderdesk.domain.calendar import TradingCalendar, as_ist
from orderdesk.domain.errors import OrderDeskError
from orderdesk.domain.order import Order
from orderdesk.domain.signal import Signal
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.notifier import Alert, Notifier, Severity

Submit = Callable[[Signal], Awaitable[Order]]
Screen = Callable[[Signal], Awaitable[None]]
"""Raises what the desk's ``submit`` would refuse the signal with, placing nothing."""


class ApprovalState(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    """Submitted to the desk; ``order_id`` names the order."""
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    """Approved, but the desk refused it (risk check, kill switch…); ``reason`` says why."""


@dataclass(slots=True)
class PendingSignal:
    """One signal awaiting (or having had) an operator's decision."""

    approval_id: str
    signal: Signal
    received_at: datetime
    expires_at: datetime
    deadline: float
    """Monotonic seconds after which the signal lapses (``expires_at`` is for people)."""
    state: ApprovalState = ApprovalState.PENDING
    decided_at: datetime | None = None
    reason: str | None = None
    order_id: str | None = None
    settled: asyncio.Event = field(default_factory=asyncio.Event, repr=False, compare=False)
    """Set once the story ends: rejected, lapsed, or approved and then submitted (``order_id``)
    or refused by the desk (``FAILED``)."""


class ApprovalNotFound(OrderDeskError, LookupError):
    """No signal with this approval id is known (or it has left the history)."""

    def __init__(self, approval_id: str) -> None:
        super().__init__(f"no pending signal {approval_id!r}")
        self.approval_id = approval_id


class ApprovalClosed(OrderDeskError):
    """The signal was already decided, or it expired, so it cannot be decided again."""

    def __init__(
        self, approval_id: str, state: ApprovalState, *, message: str | None = None
    ) -> None:
        super().__init__(message or f"signal {approval_id} is {state.value.lower()}, not pending")
        self.approval_id = approval_id
        self.state = state


class NotApproved(OrderDeskError):
    """A parked signal ended without an order: rejected, lapsed, or refused by the desk when
    approved; ``state`` and ``reason`` say which."""

    def __init__(self, item: PendingSignal) -> None:
        super().__init__(
            f"signal {item.approval_id} was not placed: {item.state.value.lower()}"
            + (f" ({item.reason})" if item.reason else "")
        )
        self.approval_id = item.approval_id
        self.state = item.state
        self.reason = item.reason


class SignalDecided(ApprovalClosed):
    """A parked signal sent again after it was rejected, lapsed or refused: it waits for no
    one, and the same id will not be parked again (a new signal needs a new id)."""

    def __init__(self, signal_id: str, item: PendingSignal) -> None:
        reason = f": {item.reason}" if item.reason else ""
        super().__init__(
            item.approval_id,
            item.state,
            message=f"signal {signal_id!r} was {item.state.value.lower()} "
            f"({item.approval_id}{reason}); a new signal needs a new id",
        )


def _words(item: PendingSignal) -> str:
    """A parked signal as an alert names it."""
    signal = item.signal
    return (
        f"{signal.strategy}: {signal.side} {signal.quantity} {signal.instrument} "
        f"({item.approval_id})"
    )


class ApprovalQueue:
    """Parks signals of strategies that need approval; passes the others straight through."""

    def __init__(
        self,
        submit: Submit,
        strategies: Mapping[str, StrategySettings],
        *,
        screen: Screen,
        clock: Clock | None = None,
        notifier: Notifier | None = None,
        history: int = 200,
        calendar: TradingCalendar | None = None,
    ) -> None:
        self._submit = submit
        self._screen = screen
        self._strategies = dict(strategies)
        self._clock: Clock = clock or SystemClock()
        self._calendar = calendar
        """The desk's trading days (None: it keeps none): a signal lapses with its day."""
        self._notifier = notifier
        self._history = history
        self._items: OrderedDict[str, PendingSignal] = OrderedDict()
        self._by_signal: dict[tuple[str, str], str] = {}

    def needs_approval(self, signal: Signal) -> bool:
        policy = self._strategies.get(signal.strategy)
        return policy is not None and policy.approval

    async def submit(self, signal: Signal) -> Order | PendingSignal:
        """Submit now, or park the signal when its strategy asks for approval.

        A signal to be parked is screened first, so one the desk would deny (over a limit,
        kill switch engaged…) is refused now with the desk's own error rather than waiting
        for an operator only to be refused at the approval.
        """
        if not self.needs_approval(signal):
            return await self._submit(signal)
        self._expire()
        if signal.signal_id is not None:
            # The same signal sent twice (a strategy retrying) waits once, like the desk's
            # own idempotency for placed orders.
            known = self._by_signal.get((signal.strategy, signal.signal_id))
            if known is not None and known in self._items:
                item = self._items[known]
                if item.state is ApprovalState.PENDING:
                    return item
                if item.state is ApprovalState.APPROVED:
                    return await self._submit(signal)  # the desk answers with its order
                raise SignalDecided(signal.signal_id, item)
        await self._screen(signal)
        item = self._park(signal)
        await self._warn(
            "Signal awaiting approval",
            f"{_words(item)}, expires {as_ist(item.expires_at):%H:%M:%S} IST",
            key="approval_pending",
        )
        return item

    def _park(self, signal: Signal) -> PendingSignal:
        ttl = self._strategies[signal.strategy].approval_ttl_seconds
        now = self._clock.now()
        item = PendingSignal(
            approval_id="ap" + secrets.token_hex(6),
            signal=signal,
            received_at=now,
            expires_at=now + timedelta(seconds=ttl),
            deadline=self._clock.monotonic() + ttl,
        )
        self._items[item.approval_id] = item
        if signal.signal_id is not None:
            self._by_signal[(signal.strategy, signal.signal_id)] = item.approval_id
        self._trim()
        return item

    def pending(self) -> list[PendingSignal]:
        """Signals still waiting, oldest first."""
        self._expire()
        return [item for item in self._items.values() if item.state is ApprovalState.PENDING]

    def recent(self) -> list[PendingSignal]:
        """Every signal the queue remembers (pending and decided), oldest first."""
        self._expire()
        return list(self._items.values())

    def get(self, approval_id: str) -> PendingSignal:
        self._expire()
        item = self._items.get(approval_id)
        if item is None:
            raise ApprovalNotFound(approval_id)
        return item

    async def approve(self, approval_id: str) -> Order:
        """Submit the parked signal; the desk's refusals propagate (and are recorded)."""
        item = self._open(approval_id)
        # Decided before the await, so a second click while the desk works cannot submit twice.
        self._decide(item, ApprovalState.APPROVED)
        try:
            order = await self._submit(item.signal)
        except Exception as exc:
            item.state = ApprovalState.FAILED
            item.reason = str(exc)
            raise
        else:
            item.order_id = order.order_id
        finally:
            item.settled.set()
        return order

    def reject(self, approval_id: str, reason: str = "") -> PendingSignal:
        item = self._open(approval_id)
        self._decide(item, ApprovalState.REJECTED)
        item.reason = reason or "rejected by the operator"
        item.settled.set()
        return item

    async def wait(self, approval_id: str) -> PendingSignal:
        """Wait until the parked signal's story ends (see :attr:`PendingSignal.settled`).

        For strategy code that embeds the desk (:meth:`orderdesk.runtime.Runtime.submit`),
        while the operator decides on the dashboard or with ``orderdesk pending``; a signal
        nobody decides lapses at its deadline.
        """
        item = self.get(approval_id)
        while not item.settled.is_set():
            if item.state is not ApprovalState.PENDING:
                await item.settled.wait()  # approved: the desk is submitting it
                continue
            try:
                async with asyncio.timeout(max(item.deadline - self._clock.monotonic(), 0.0)):
                    await item.settled.wait()
            except TimeoutError:
                self._expire()
        return item

    async def close(self) -> None:
        """The desk stops. Parked signals are kept nowhere else, so each ends ``EXPIRED`` (a
        waiter is told) and one alert names them: their strategies send them again to the next
        desk, and nobody approves a signal that is gone."""
        dropped = self.pending()
        for item in dropped:
            self._decide(item, ApprovalState.EXPIRED)
            item.reason = "the desk stopped before a decision"
            item.settled.set()
        if dropped:
            await self._warn(
                "Parked signals dropped",
                f"the desk stopped with {len(dropped)} signal(s) awaiting approval: "
                f"{', '.join(map(_words, dropped))}; their strategies must send them again",
                key="approval_dropped",
            )

    async def _warn(self, title: str, body: str, *, key: str) -> None:
        if self._notifier is not None:
            await self._notifier.notify(
                Alert(severity=Severity.WARNING, title=title, body=body, key=key)
            )

    def _open(self, approval_id: str) -> PendingSignal:
        item = self.get(approval_id)
        if item.state is not ApprovalState.PENDING:
            raise ApprovalClosed(approval_id, item.state)
        return item

    def _decide(self, item: PendingSignal, state: ApprovalState) -> None:
        item.state = state
        item.decided_at = self._clock.now()

    def _expire(self) -> None:
        now = self._clock.monotonic()
        today = self._calendar.trading_day_of(self._clock.now()) if self._calendar else None
        for item in self._items.values():
            if item.state is not ApprovalState.PENDING:
                continue
            if now >= item.deadline:
                reason = "approval window elapsed"
            elif self._calendar and self._calendar.trading_day_of(item.received_at) != today:
                reason = "its trading day ended"
            else:
                continue
            self._decide(item, ApprovalState.EXPIRED)
            item.reason = reason
            item.settled.set()

    def _trim(self) -> None:
        # Forget the oldest decided signals; pending ones are kept whatever the history size.
        excess = len(self._items) - self._history
        for approval_id in [
            k for k, v in self._items.items() if v.state is not ApprovalState.PENDING
        ]:
            if excess <= 0:
                break
            item = self._items.pop(approval_id)
            if item.signal.signal_id is not None:
                self._by_signal.pop((item.signal.strategy, item.signal.signal_id), None)
            excess -= 1


__all__ = [
    "ApprovalClosed",
    "ApprovalNotFound",
    "ApprovalQueue",
    "ApprovalState",
    "NotApproved",
    "PendingSignal",
    "Screen",
    "SignalDecided",
    "Submit",
]
