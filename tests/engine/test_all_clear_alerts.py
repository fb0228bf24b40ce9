"""An alert that reached the operator's channel is followed there by its all-clear: "Broker
stream connected" and "Broker session renewed" were INFO, which `[alerts] min_severity =
"warning"` keeps off the channel, so "Broker stream lost" or "Broker session ended" stayed the
last word on the phone long after the stream or the login was back."""

from __future__ import annotations

from orderdesk.engine import OrderDesk
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier
from tests.support import eventually


def severity_of(notifier: RecordingNotifier, title: str) -> list[Severity]:
    return [a.severity for a in notifier.alerts if a.title == title]


async def test_the_streams_return_is_told_as_far_as_its_loss(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await eventually(lambda: desk.stream_connected)
        assert severity_of(notifier, "Broker stream connected") in ([], [Severity.INFO])
        broker.disconnect()
        await eventually(lambda: severity_of(notifier, "Broker stream lost"))
        broker.reconnect()
        await eventually(lambda: desk.stream_connected)
        back = await eventually(lambda: severity_of(notifier, "Broker stream connected"))
    assert back[-1] is Severity.WARNING


async def test_a_renewal_after_an_alerted_end_is_a_warning_and_a_plain_one_info(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await desk.renew_session("early")  # nothing ended: news for the log and the dashboard
        assert severity_of(notifier, "Broker session renewed") == [Severity.INFO]
        broker.token_dead = True
        broker.disconnect()
        # The desk polls the book while the stream is down: the broker refuses the session.
        await eventually(lambda: severity_of(notifier, "Broker session ended"))
        broker.token_dead = False
        await desk.renew_session("fresh")
    assert severity_of(notifier, "Broker session renewed") == [Severity.INFO, Severity.WARNING]
