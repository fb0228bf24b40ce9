"""A stopping desk hands the alerts still queued for ``[alerts] urls`` to their channels: the
notifier was never drained, so an alert raised as the desk stopped (or just before) reached
the log and the dashboard's feed but never the operator's phone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orderdesk.config import AlertSettings, ApiSettings, Settings, TradingDaySettings
from orderdesk.ports.notifier import Severity
from orderdesk.runtime import open_runtime
from tests.notify.conftest import AlertSink


@pytest.fixture(autouse=True)
def _no_desk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings are the test's alone: no ``ORDERDESK_*`` override from the shell."""
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            monkeypatch.delenv(name)


async def test_an_alert_raised_as_the_desk_stops_is_delivered(
    sink: AlertSink, tmp_path: Path
) -> None:
    settings = Settings(
        broker="paper",
        data_dir=tmp_path / "data",
        config_dir=tmp_path / "config",
        api=ApiSettings(port=0),
        trading_day=TradingDaySettings(enabled=False),
        alerts=AlertSettings(urls=[sink.url]),
    )
    async with open_runtime(settings, serve=False) as runtime:
        # The last thing before the stop: queued for the channel, not yet delivered.
        await runtime.desk.alerts.raise_(
            Severity.CRITICAL, "Drill at the stop", "said last", key="drill"
        )
    titles = [message["title"] for message in sink.received]
    assert "[CRITICAL] Drill at the stop" in titles
