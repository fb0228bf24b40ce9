"""Each alert URL is delivered on its own: one that never answers holds up only itself, and its
failure is told by its place and host (log line, ``TargetStatus``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from orderdesk.notify import AppriseNotifier
from orderdesk.ports.notifier import Alert, Severity
from tests.notify.conftest import AlertSink, FakeClock
from tests.support import eventually


@dataclass
class Hole:
    """A loopback server that accepts connections and never answers them."""

    port: int = 0
    connections: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    server: asyncio.Server | None = None

    def url(self, read_timeout: int = 60) -> str:
        # apprise's own read timeout (rto) raised past the test: only the notifier gives up.
        return f"json://127.0.0.1:{self.port}/hole?rto={read_timeout}&cto={read_timeout}"

    def shut(self) -> None:
        """Close the server and every connection it holds: the hung requests fail at once."""
        if self.server is not None:
            self.server.close()
        for writer in self.writers:
            writer.close()


@pytest.fixture
async def hole() -> AsyncIterator[Hole]:
    holder = Hole()

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        holder.connections += 1
        holder.writers.append(writer)
        while await reader.read(65536):
            pass

    holder.server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    holder.port = holder.server.sockets[0].getsockname()[1]
    try:
        yield holder
    finally:
        holder.shut()


def critical(n: int) -> Alert:
    return Alert(severity=Severity.CRITICAL, title=f"Alarm {n}", body="now", key=f"k{n}")


async def test_a_target_that_never_answers_does_not_delay_the_others(
    hole: Hole, sink: AlertSink, clock: FakeClock
) -> None:
    """The dead target first in the list: the working one receives all three alerts, in order,
    while the dead one's first delivery is still unanswered (nothing failed, nothing given up
    on yet). Once the dead one's connections drop, its failures are counted against it alone."""
    notifier = AppriseNotifier([hole.url(), sink.url], clock=clock)
    for n in range(3):
        await notifier.notify(critical(n))

    await eventually(lambda: len(sink.received) == 3, what="all three at the working target")
    assert [m["title"] for m in sink.received] == [f"[CRITICAL] Alarm {n}" for n in range(3)]
    await eventually(lambda: notifier.targets()[1].delivered == 3, what="three counted")
    await eventually(lambda: hole.connections == 1, what="the dead target's first request")
    dead, working = notifier.targets()
    assert hole.connections == 1  # the dead target's first delivery is still hanging…
    assert (dead.delivered, dead.failed) == (0, 0)  # …and was not given up on
    assert (working.name, working.delivered, working.failed) == (
        f"alerts.urls.1 json://127.0.0.1:{sink.url.split(':')[2].split('/')[0]}",
        3,
        0,
    )

    hole.shut()
    await notifier.aclose()
    dead, working = notifier.targets()
    assert (dead.name, dead.failed, dead.delivered) == (
        f"alerts.urls.0 json://127.0.0.1:{hole.port}",
        3,
        0,
    )
    assert dead.failing
    assert dead.last_failed_at == clock.now()
    assert not working.failing


async def test_a_delivery_past_the_timeout_fails_and_is_told(
    hole: Hole, sink: AlertSink, clock: FakeClock
) -> None:
    """A target that hangs past ``timeout_seconds`` counts a failure saying so; the next alert
    to it waits for the hung one rather than stacking threads, and fails the same way."""
    from orderdesk.notify import alert_targets

    async with AppriseNotifier([hole.url()], clock=clock, timeout_seconds=0.2) as notifier:
        await notifier.notify(critical(1))
        await eventually(lambda: notifier.failed == 1, what="the first timeout")
        [status] = notifier.targets()
        assert status.failing
        assert status.last_error == "no answer within 0.2s"
        assert status in alert_targets()  # where the health page and the doctor look
        await notifier.notify(critical(2))
        await eventually(lambda: notifier.failed == 2, what="the second")
        [status] = notifier.targets()
        assert status.last_error is not None
        assert "earlier delivery has not returned" in status.last_error
        assert hole.connections == 1  # one hung thread per target at most
        hole.shut()
    assert notifier.targets()[0] not in alert_targets()  # closed: no longer told
