"""A failed delivery is tried again for a bounded time, in order, per target; an alert given up
is counted, told by the next delivery that succeeds there and by the doctor's ``alerts`` line;
a drain never waits for a retry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from orderdesk.api.routes_doctor import alerts_check
from orderdesk.notify import AppriseNotifier, TargetStatus
from orderdesk.notify.apprise_notifier import RetryPolicy
from orderdesk.ports.notifier import Alert, Severity
from tests.notify.conftest import AlertSink, FakeClock, serving_sink
from tests.support import eventually

QUICK = RetryPolicy(within_seconds=600, wait_initial=0.01, wait_max=0.05)
"""Retries a test does not wait for; the 600 s bound passes only when the FakeClock is moved."""


@pytest.fixture
async def receiver() -> AsyncIterator[AlertSink]:
    """A second local receiver, which the tests take down (HTTP 503) and bring back."""
    async with serving_sink() as holder:
        yield holder


def kill_switch() -> Alert:
    return Alert(severity=Severity.CRITICAL, title="Kill switch engaged", body="drill", key="ks")


def critical(n: int) -> Alert:
    return Alert(severity=Severity.CRITICAL, title=f"Alarm {n}", body="now", key=f"k{n}")


def only(notifier: AppriseNotifier) -> TargetStatus:
    [status] = notifier.targets()
    return status


async def test_a_failed_delivery_is_retried_until_the_receiver_is_back(
    receiver: AlertSink, clock: FakeClock
) -> None:
    """The walk: receiver down, kill switch engaged, receiver back: the CRITICAL arrives. While
    it waits, the doctor warns that it is not delivered yet; once it is, the line is ok."""
    receiver.up = False
    async with AppriseNotifier([receiver.url], clock=clock, retry=QUICK) as notifier:
        await notifier.notify(kill_switch())
        await eventually(lambda: receiver.refused >= 2, timeout=3, what="a retry")
        status = only(notifier)
        assert (status.waiting, status.waiting_since, status.lost) == (1, clock.now(), 0)
        assert status.failing
        check = alerts_check([status])
        assert check.status == "warn"
        assert "1 alert(s) not delivered yet since 2024-01-01 05:46:40 IST, being retried" in (
            check.summary
        )

        receiver.up = True
        await eventually(lambda: receiver.received, timeout=3, what="the retried alert")
        assert receiver.titles() == ["[CRITICAL] Kill switch engaged"]
        assert "could not be delivered" not in receiver.received[0]["message"]
        await eventually(lambda: not only(notifier).failing, timeout=3, what="recovered")
        status = only(notifier)
        assert (status.waiting, status.lost, status.delivered) == (0, 0, 1)
        assert alerts_check([status]).status == "ok"


async def test_an_alert_past_the_bound_is_counted_and_told_by_the_next_delivery(
    receiver: AlertSink, clock: FakeClock
) -> None:
    """Past ``within_seconds`` the alert is given up; the next delivery that succeeds says how
    many and since when (once), and the doctor keeps warning of the loss after the recovery."""
    receiver.up = False
    async with AppriseNotifier([receiver.url], clock=clock, retry=QUICK) as notifier:
        raised = clock.now()  # 05:46:40 IST
        await notifier.notify(kill_switch())
        await eventually(lambda: receiver.refused >= 1, timeout=3, what="the first failure")
        clock.advance(601)
        await eventually(lambda: only(notifier).lost == 1, timeout=3, what="given up")
        assert only(notifier).waiting == 0

        receiver.up = True
        await notifier.notify(critical(1))
        await notifier.notify(critical(2))
        await eventually(lambda: len(receiver.received) == 2, timeout=3, what="both later ones")
        assert receiver.titles() == ["[CRITICAL] Alarm 1", "[CRITICAL] Alarm 2"]
        assert receiver.received[0]["message"] == (
            "now\n(1 alert(s) could not be delivered here since 05:46 IST: see the dashboard's "
            "alerts)"
        )
        assert receiver.received[1]["message"] == "now"  # told once

        status = only(notifier)
        assert (status.lost, status.first_lost_at, status.failing) == (1, raised, False)
        check = alerts_check([status])
        assert check.status == "warn"
        assert "1 alert(s) could not be delivered since 2024-01-01 05:46:40 IST" in check.summary


async def test_a_down_target_keeps_its_order_and_delays_no_other(
    receiver: AlertSink, sink: AlertSink, clock: FakeClock
) -> None:
    """Three alerts while the first target is down: the second target has all three at once;
    the first, once back, gets them in the order they were raised."""
    receiver.up = False
    async with AppriseNotifier([receiver.url, sink.url], clock=clock, retry=QUICK) as notifier:
        for n in range(3):
            await notifier.notify(critical(n))
        await eventually(lambda: len(sink.received) == 3, timeout=3, what="the working target")
        assert [m["title"] for m in sink.received] == [f"[CRITICAL] Alarm {n}" for n in range(3)]
        assert notifier.targets()[0].waiting == 3
        assert receiver.received == []

        receiver.up = True
        await eventually(lambda: len(receiver.received) == 3, timeout=3, what="the retries")
        assert receiver.titles() == [f"[CRITICAL] Alarm {n}" for n in range(3)]


async def test_a_drain_does_not_wait_for_a_retry(receiver: AlertSink, clock: FakeClock) -> None:
    """With a minute between attempts, closing the notifier gives up the alert being retried
    and tries each queued one once, at once: a clean stop is bounded as before retries."""
    receiver.up = False
    slow = RetryPolicy(within_seconds=600, wait_initial=60, wait_max=60)
    notifier = AppriseNotifier([receiver.url], clock=clock, retry=slow)
    await notifier.notify(critical(1))
    await eventually(lambda: notifier.failed == 1, timeout=3, what="the first failure")
    await notifier.notify(critical(2))

    await asyncio.wait_for(notifier.aclose(), timeout=3)

    status = only(notifier)
    assert (status.failed, status.lost, status.waiting) == (2, 2, 0)
    assert receiver.refused == 2
