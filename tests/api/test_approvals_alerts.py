"""Every signal parked for approval reaches the phone, and so does its lapse: the alerts go
through the throttle the apprise notifier applies, as in a running desk."""

from __future__ import annotations

from orderdesk.approvals import ApprovalQueue, PendingSignal
from orderdesk.config import StrategySettings
from orderdesk.notify.throttle import Throttle
from orderdesk.ports.notifier import Alert
from tests.api.fakes import FakeDesk
from tests.domain.builders import signal
from tests.notify.conftest import FakeClock
from tests.support import eventually

CAREFUL = {"careful": StrategySettings(approval=True, approval_ttl_seconds=300)}


class ThrottledPhone:
    """What gets past the default throttle (3 alerts per key in 300 s), as AppriseNotifier
    decides it."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self._throttle = Throttle(window_seconds=300, max_per_key=3)
        self.delivered: list[Alert] = []

    async def notify(self, alert: Alert) -> None:
        if self._throttle.decide(alert, self._clock.monotonic()).send:
            self.delivered.append(alert)


def titled(phone: ThrottledPhone, title: str) -> list[Alert]:
    return [alert for alert in phone.delivered if alert.title == title]


async def test_every_parked_signal_and_its_lapse_reach_the_phone() -> None:
    """Six signals parked within five minutes are each told (the fourth on used to be dropped
    by the throttle), and each that lapses undecided is told once, naming it, its strategy and
    why."""
    clock = FakeClock()
    desk = FakeDesk()
    phone = ThrottledPhone(clock)
    queue = ApprovalQueue(
        desk.submit, CAREFUL, screen=desk.screen, clock=clock, notifier=phone, check_every=0.005
    )
    parked: list[PendingSignal] = []
    for n in range(6):
        item = await queue.submit(signal(strategy="careful", signal_id=f"s-{n}"))
        assert isinstance(item, PendingSignal)
        parked.append(item)
        clock.advance(40)
    waiting = titled(phone, "Signal awaiting approval")
    assert [a.body.split("(")[1].split(")")[0] for a in waiting] == [p.approval_id for p in parked]
    await queue.approve(parked[0].approval_id)
    clock.advance(300)  # past every expiry
    await eventually(
        lambda: len(titled(phone, "Parked signal lapsed")) == 5, what="five lapse alerts"
    )
    told = titled(phone, "Parked signal lapsed")
    for item, alert in zip(parked[1:], told, strict=True):
        assert item.approval_id in alert.body
        assert alert.body.startswith("careful: ")
        assert "not approved within 300 s" in alert.body
    await queue.close()
    assert len(titled(phone, "Parked signal lapsed")) == 5  # once each, never again


async def test_signals_dropped_at_stop_are_told_in_one_alert_not_each() -> None:
    """The desk stopping lapses what waits: one alert names them all, none is told twice."""
    clock = FakeClock()
    desk = FakeDesk()
    phone = ThrottledPhone(clock)
    queue = ApprovalQueue(desk.submit, CAREFUL, screen=desk.screen, clock=clock, notifier=phone)
    for n in range(2):
        await queue.submit(signal(strategy="careful", signal_id=f"s-{n}"))
    await queue.close()
    assert [a.title for a in phone.delivered[2:]] == ["Parked signals dropped"]
