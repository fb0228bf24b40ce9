"""The throttle's pure decisions: de-duplication, per-key caps, window expiry."""

from __future__ import annotations

import pytest

from orderdesk.notify.throttle import Decision, Throttle
from orderdesk.ports.notifier import Alert, Severity


def alert(key: str = "k", body: str = "b", order_id: str | None = None) -> Alert:
    return Alert(severity=Severity.WARNING, title="t", body=body, key=key, order_id=order_id)


def test_duplicate_within_window_is_suppressed() -> None:
    """The same alert twice inside the window is sent once."""
    throttle = Throttle(window_seconds=10, max_per_key=5)
    assert throttle.decide(alert(), 0).send
    assert not throttle.decide(alert(), 5).send


def test_duplicate_after_window_is_sent_with_count() -> None:
    """After the window the duplicate goes out and reports what was held back."""
    throttle = Throttle(window_seconds=10, max_per_key=5)
    throttle.decide(alert(), 0)
    throttle.decide(alert(), 1)
    throttle.decide(alert(), 2)
    assert throttle.decide(alert(), 10) == Decision(send=True, suppressed_before=2)


def test_cap_per_key_counts_distinct_alerts() -> None:
    """Distinct alerts of one key stop after max_per_key within the window."""
    throttle = Throttle(window_seconds=10, max_per_key=2)
    sent = [throttle.decide(alert(body=str(n)), n * 0.1).send for n in range(10)]
    assert sent == [True, True] + [False] * 8


def test_zero_cap_is_refused() -> None:
    """A cap below one would silence everything, so it is a programming error."""
    with pytest.raises(ValueError, match="max_per_key") as exc_info:
        Throttle(window_seconds=1, max_per_key=0)
    assert "at least 1" in str(exc_info.value)
