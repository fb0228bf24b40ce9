"""AppriseNotifier against a real local apprise target: bursts collapse, content survives."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orderdesk.config import AlertSettings
from orderdesk.notify import AppriseNotifier, AppriseOptions
from orderdesk.ports.notifier import Alert, Severity
from orderdesk.runtime import alert_options
from tests.notify.conftest import AlertSink, FakeClock
from tests.support import eventually


def failure(order_id: str, reason: str = "Insufficient funds") -> Alert:
    return Alert(
        severity=Severity.CRITICAL,
        title="Order rejected",
        body=f"broker refused the order: {reason}",
        key="order_rejected",
        order_id=order_id,
    )


async def test_identical_burst_sends_one_message(sink: AlertSink, clock: FakeClock) -> None:
    """100 identical failures within the window reach the channel exactly once."""
    async with AppriseNotifier([sink.url], clock=clock) as notifier:
        for _ in range(100):
            await notifier.notify(failure("od1234567890abcdefgh"))
        await notifier.drain()
    assert len(sink.received) == 1
    message = sink.received[0]
    assert "od1234567890abcdefgh" in message["message"]
    assert "Insufficient funds" in message["message"]
    assert message["type"] == "failure"


async def test_burst_of_one_key_is_capped_and_each_names_order_and_reason(
    sink: AlertSink, clock: FakeClock
) -> None:
    """100 failures of one kind for different orders send at most max_per_key messages."""
    async with AppriseNotifier([sink.url], max_per_key=3, clock=clock) as notifier:
        for n in range(100):
            await notifier.notify(failure(f"od{n:018d}"))
        await notifier.drain()
    assert 1 <= len(sink.received) <= 3
    for n, message in enumerate(sink.received):
        assert f"od{n:018d}" in message["message"]
        assert "Insufficient funds" in message["message"]
    assert notifier.dropped == 100 - len(sink.received)


async def test_after_the_window_the_next_alert_reports_what_was_suppressed(
    sink: AlertSink, clock: FakeClock
) -> None:
    """Once the window passes, the next alert goes out and counts the suppressed ones."""
    async with AppriseNotifier(
        [sink.url], throttle_seconds=60, max_per_key=1, clock=clock
    ) as notifier:
        for _ in range(10):
            await notifier.notify(failure("odA"))
        clock.advance(61)
        await notifier.notify(failure("odA"))
        await notifier.drain()
    assert len(sink.received) == 2
    assert "9 similar alert(s) suppressed" in sink.received[1]["message"]


async def test_alerts_below_min_severity_are_not_sent(sink: AlertSink, clock: FakeClock) -> None:
    """An INFO alert is dropped when the minimum severity is WARNING."""
    async with AppriseNotifier([sink.url], min_severity=Severity.WARNING, clock=clock) as n:
        await n.notify(Alert(severity=Severity.INFO, title="hi", body="fyi", key="k"))
        await n.notify(Alert(severity=Severity.WARNING, title="careful", body="w", key="k"))
        await n.drain()
    assert [m["title"] for m in sink.received] == ["[WARNING] careful"]


async def test_different_keys_are_throttled_independently(
    sink: AlertSink, clock: FakeClock
) -> None:
    """A storm of one key does not silence an alert of another key."""
    async with AppriseNotifier([sink.url], max_per_key=1, clock=clock) as notifier:
        for n in range(20):
            await notifier.notify(failure(f"od{n}"))
        await notifier.notify(
            Alert(severity=Severity.CRITICAL, title="Broker down", body="socket", key="broker")
        )
        await notifier.drain()
    titles = [m["title"] for m in sink.received]
    assert titles == ["[CRITICAL] Order rejected", "[CRITICAL] Broker down"]


async def test_a_broken_channel_never_raises(clock: FakeClock) -> None:
    """A sender that raises is counted as failed; notify itself returns normally."""

    def explode(*, title: str, body: str, notify_type: str) -> bool:
        raise ConnectionError("smtp down")

    async with AppriseNotifier([], sender=explode, clock=clock) as notifier:
        await notifier.notify(failure("odX"))
        await notifier.drain()
    assert notifier.failed == 1
    assert notifier.delivered == 0


async def test_unreachable_target_counts_a_failure(clock: FakeClock) -> None:
    """A json:// target nobody listens on fails quietly instead of raising."""
    async with AppriseNotifier(["json://127.0.0.1:9/"], clock=clock) as notifier:
        await notifier.notify(failure("odY"))
        await eventually(lambda: notifier.failed == 1, what="the failed delivery")


def test_repr_hides_the_urls() -> None:
    """The notifier's repr names channel schemes, never URLs that may hold tokens."""
    notifier = AppriseNotifier(["tgram://123456:SECRETBOTTOKEN/987"])
    assert "SECRETBOTTOKEN" not in repr(notifier)
    assert "tgram" in repr(notifier)


async def test_from_options_sets_severity_and_cap(sink: AlertSink, clock: FakeClock) -> None:
    """The notifier's own options set the minimum severity and the per-key cap."""
    options = AppriseOptions(urls=(sink.url,), min_severity=Severity.CRITICAL, max_per_key=1)
    async with AppriseNotifier.from_options(options, clock=clock) as notifier:
        await notifier.notify(Alert(severity=Severity.WARNING, title="w", body="w", key="k"))
        await notifier.notify(failure("od1"))
        await notifier.notify(failure("od2"))
        await notifier.drain()
    assert [m["message"] for m in sink.received] == [failure("od1").body + "\norder: od1"]


def test_runtime_maps_the_alerts_section_onto_the_options() -> None:
    """The composition root turns ``[alerts]`` into AppriseOptions, field by field."""
    settings = AlertSettings(
        urls=["json://127.0.0.1:9/a"],
        min_severity="critical",
        throttle_seconds=60,
        max_per_key=2,
    )

    options = alert_options(settings)

    assert options == AppriseOptions(
        urls=("json://127.0.0.1:9/a",),
        min_severity=Severity.CRITICAL,
        throttle_seconds=60.0,
        max_per_key=2,
    )


def test_options_hide_urls_and_refuse_nonsense() -> None:
    """The options' repr leaves out the URLs (they hold tokens); a cap below one is refused."""
    options = AppriseOptions(urls=("tgram://123456:SECRETBOTTOKEN/987",))

    with pytest.raises(ValueError, match="max_per_key must be at least 1"):
        AppriseOptions(max_per_key=0)

    assert "SECRETBOTTOKEN" not in repr(options)


def test_the_notify_package_does_not_import_the_app_config() -> None:
    """notify/ sits below the config: importing it alone does not load orderdesk.config."""
    code = "import sys, orderdesk.notify; print('orderdesk.config' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"
