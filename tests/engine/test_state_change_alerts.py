"""Alerts that tell a change of state reach the operator's channel at every change, and a
refused session is one CRITICAL alert, not one per part of the desk that noticed it.

Through the real :class:`AppriseNotifier` (its throttle: a 300 s window, three per key) with a
recording sender in place of apprise, and its clock standing still: everything happens "within
the window"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial

import pytest

from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.errors import SessionExpired
from orderdesk.notify import AppriseNotifier, FanoutNotifier
from orderdesk.ports.broker import ConnectionState, ConnectionStateChanged
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import AUTH, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.notify.conftest import FakeClock
from tests.support import eventually


@dataclass
class Pushes:
    """What reached the alert channel (apprise's send), title by title."""

    titles: list[str] = field(default_factory=list)

    def __call__(self, *, title: str, body: str, notify_type: str) -> bool:
        self.titles.append(title)
        return True


def ended(notifier: RecordingNotifier, times: int) -> bool:
    return notifier.titles(Severity.CRITICAL).count("Broker session ended") == times


@pytest.fixture
def pushes() -> Pushes:
    return Pushes()


@pytest.fixture
async def channel(pushes: Pushes) -> AsyncIterator[AppriseNotifier]:
    # The notifier's clock stands still: every alert falls in one throttle window.
    async with AppriseNotifier(
        [], throttle_seconds=300, max_per_key=3, clock=FakeClock(), sender=pushes
    ) as notifier:
        yield notifier


async def test_kill_switch_on_off_on_off_within_the_window_is_four_pushes(
    broker: FakeBroker,
    store: MemoryStore,
    notifier: RecordingNotifier,
    channel: AppriseNotifier,
    pushes: Pushes,
) -> None:
    """Each change of the switch is pushed; engaging it again while engaged (nothing changed,
    same reason) is a true repeat and is not."""
    fanout = FanoutNotifier(notifier, channel)
    async with OrderDesk(broker, store, notifier=fanout, config=FAST, limits=RiskLimits()) as desk:
        await desk.engage_kill_switch("drill")
        await desk.release_kill_switch("drill over")
        await desk.engage_kill_switch("drill")
        await desk.engage_kill_switch("drill")  # already engaged: not a change
        await desk.release_kill_switch("drill over")
        await channel.drain()
    kill = [t for t in pushes.titles if "Kill switch" in t]
    assert kill == [
        "[CRITICAL] Kill switch engaged",
        "[WARNING] Kill switch released",
        "[CRITICAL] Kill switch engaged",
        "[WARNING] Kill switch released",
    ]


async def test_a_session_lost_again_after_a_login_is_pushed_again(
    broker: FakeBroker,
    store: MemoryStore,
    notifier: RecordingNotifier,
    channel: AppriseNotifier,
    pushes: Pushes,
) -> None:
    """Ended (refused), renewed, ended again for the same reason within the window: the second
    end is a new session's end, pushed as the first was."""
    fanout = FanoutNotifier(notifier, channel)
    async with OrderDesk(broker, store, notifier=fanout, config=FAST, limits=RiskLimits()) as desk:
        for n in range(2):
            broker.script = [AUTH]
            with pytest.raises(SessionExpired):
                await desk.submit(signal(signal_id=f"tok{n}"))
            await eventually(partial(ended, notifier, n + 1), what=f"end {n + 1} alerted")
            await desk.renew_session("fresh-login-token")
        await channel.drain()
    assert pushes.titles.count("[CRITICAL] Broker session ended") == 2


async def test_a_refused_session_is_one_critical_alert(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The token dies: the stream drops, the order-book poll is refused, the stream stops for
    the refused token. One CRITICAL alert says the session ended and to log in; the refusal and
    the stream's stop are not alerted apart."""
    handled: list[ConnectionStateChanged] = []
    async with OrderDesk(
        broker, store, notifier=notifier, config=FAST, limits=RiskLimits()
    ) as desk:
        tracker = desk.tracker
        on_connection = tracker.on_connection

        async def watched(change: ConnectionStateChanged) -> None:
            await on_connection(change)
            handled.append(change)

        tracker.on_connection = watched  # type: ignore[method-assign]
        await eventually(lambda: desk.stream_connected, what="stream up")
        broker.token_dead = True
        broker.disconnect()  # the stream drops; polling starts and is refused
        await eventually(lambda: not desk.session.usable, what="the refused poll")
        broker.push(
            ConnectionStateChanged(
                state=ConnectionState.STOPPED,
                detail="the access token was refused",
                token_refused=True,
            )
        )
        await eventually(
            lambda: any(c.state is ConnectionState.STOPPED for c in handled),
            what="the stream's stop handled",
        )
        await eventually(
            lambda: "Broker session ended" in notifier.titles(Severity.CRITICAL),
            what="the session's end alerted",
        )
        await desk.idle()
    [ended] = [a for a in notifier.alerts if a.severity is Severity.CRITICAL]
    assert ended.title == "Broker session ended"
    assert "`orderdesk login`" in ended.body
    assert "Broker session refused" not in notifier.titles()
    assert "Broker stream stopped" not in notifier.titles()


async def test_a_stream_that_stops_for_another_reason_is_still_alerted(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """With the session valid, a stream that gives up is a CRITICAL of its own."""
    await eventually(lambda: desk.stream_connected, what="stream up")
    broker.push(ConnectionStateChanged(state=ConnectionState.STOPPED, detail="gave up"))
    await eventually(
        lambda: "Broker stream stopped" in notifier.titles(Severity.CRITICAL),
        what="the stop alerted",
    )
    assert desk.session.usable
