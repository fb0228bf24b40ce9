"""The count of suppressed alerts says since when: a desk runs for weeks, and a repeat held
back a week ago must not pass for this morning's."""

from __future__ import annotations

from orderdesk.notify import AppriseNotifier
from orderdesk.notify.throttle import Throttle
from orderdesk.ports.notifier import Alert, Severity
from tests.notify.conftest import AlertSink, FakeClock


def kill_switch() -> Alert:
    return Alert(severity=Severity.CRITICAL, title="Kill switch engaged", body="drill", key="ks")


async def test_the_suppressed_count_says_since_when(sink: AlertSink, clock: FakeClock) -> None:
    """A repeat held back on Monday, the next alert of its key a week later: the count says
    it is a week old rather than passing for this morning's."""
    async with AppriseNotifier(
        [sink.url], throttle_seconds=300, max_per_key=1, clock=clock
    ) as notifier:
        await notifier.notify(kill_switch())
        await notifier.notify(kill_switch())  # suppressed, at 05:46 IST on 1 January
        clock.advance(7 * 86400)
        await notifier.notify(kill_switch())
        await notifier.drain()
    assert len(sink.received) == 2
    assert sink.received[1]["message"] == (
        "drill\n(1 similar alert(s) suppressed since 01 Jan 05:46 IST before this one)"
    )


def test_the_throttle_tells_when_the_first_suppression_was() -> None:
    """The decision carries the monotonic time of the first alert it held back."""
    throttle = Throttle(window_seconds=10, max_per_key=1)
    alert = kill_switch()
    throttle.decide(alert, 0)
    throttle.decide(alert, 3)
    throttle.decide(alert, 5)
    decision = throttle.decide(alert, 604800)
    assert (decision.send, decision.suppressed_before, decision.suppressed_since) == (
        True,
        2,
        3,
    )
    assert throttle.decide(alert, 604900).suppressed_since is None
