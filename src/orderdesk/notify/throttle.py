"""The decision half of alerting: which alerts go out, which are folded into a later one.

Kept apart from delivery so it is pure and fast to test: no apprise, no threads, only a clock.

Two rules, applied per alert ``key`` over a window of ``window_seconds``:

- **de-duplication** — an alert identical to one already sent in the window (same key, title,
  body and order id) is dropped;
- **throttling** — at most ``max_per_key`` alerts of one key go out per window.

What is dropped is counted, and the next alert of that key that does go out says how many were
suppressed and since when, so an outage produces a few messages that still tell the whole story.
The "since" matters: a desk runs for weeks, and a key quiet since the last suppression would
otherwise tell, on Monday, of Monday a week ago as if it had just happened.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from orderdesk.ports.notifier import Alert


@dataclass(slots=True)
class _KeyState:
    sent_at: deque[float] = field(default_factory=deque)
    fingerprints: dict[tuple[str, str, str | None], float] = field(default_factory=dict)
    suppressed: int = 0
    first_suppressed_at: float | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to send, and how many earlier alerts of the same key were held back."""

    send: bool
    suppressed_before: int = 0
    suppressed_since: float | None = field(default=None, compare=False)
    """When the first of them was held back (the same monotonic seconds as ``now``): words
    for the note, not part of the decision, so two decisions alike compare equal."""


class Throttle:
    """Per-key de-duplication and rate limiting over a sliding window (monotonic seconds)."""

    def __init__(self, *, window_seconds: float, max_per_key: int) -> None:
        if max_per_key < 1:
            raise ValueError("max_per_key must be at least 1")
        self._window = window_seconds
        self._max = max_per_key
        self._keys: dict[str, _KeyState] = {}
        self._swept = float("-inf")

    def decide(self, alert: Alert, now: float) -> Decision:
        """Record ``alert`` at time ``now`` and say whether it should be delivered."""
        self._sweep(now)
        state = self._keys.setdefault(alert.key, _KeyState())
        self._expire(state, now)
        fingerprint = (alert.title, alert.body, alert.order_id)
        if fingerprint in state.fingerprints or len(state.sent_at) >= self._max:
            state.suppressed += 1
            if state.first_suppressed_at is None:
                state.first_suppressed_at = now
            return Decision(send=False)
        state.sent_at.append(now)
        state.fingerprints[fingerprint] = now
        decision = Decision(
            send=True,
            suppressed_before=state.suppressed,
            suppressed_since=state.first_suppressed_at,
        )
        state.suppressed, state.first_suppressed_at = 0, None
        return decision

    def _sweep(self, now: float) -> None:
        """Forget, once a window, the keys with nothing sent in it and nothing held back: keys
        of one thing each (a parked signal's id) would otherwise pile up for the process's
        life."""
        if now - self._swept < self._window:
            return
        self._swept = now
        for key, state in list(self._keys.items()):
            self._expire(state, now)
            if not state.sent_at and not state.suppressed:
                del self._keys[key]

    def _expire(self, state: _KeyState, now: float) -> None:
        horizon = now - self._window
        while state.sent_at and state.sent_at[0] <= horizon:
            state.sent_at.popleft()
        for fingerprint, at in list(state.fingerprints.items()):
            if at <= horizon:
                del state.fingerprints[fingerprint]


__all__ = ["Decision", "Throttle"]
