"""A storm of one alert does not push the others out of the dashboard's list: raised again, an
alert takes its earlier entry's place and counts its repeats."""

from __future__ import annotations

from orderdesk.ports.notifier import Alert, Severity
from tests.api.conftest import Api

CLOSE = Alert(
    severity=Severity.WARNING,
    title="Trading day closed",
    body="2026-12-04: 3 still working",
    key="day:close",
)
LOST = Alert(
    severity=Severity.WARNING,
    title="Broker stream lost",
    body="the live stream disconnected",
    key="stream",
)
BACK = Alert(
    severity=Severity.INFO,
    title="Broker stream connected",
    body="live order updates resumed",
    key="stream",
)


async def test_an_alert_raised_again_replaces_its_entry_and_counts(api: Api) -> None:
    """A stream dropping and coming back a hundred times filled the 50 entries and pushed the
    close's warning out; now it is two entries, each with its count, and the warning stays."""
    await api.alerts.notify(CLOSE)
    for _ in range(100):
        await api.alerts.notify(LOST)
        await api.alerts.notify(BACK)

    async with api.client.get("/api/alerts") as response:
        listed = await response.json()

    assert [(a["title"], a["repeats"]) for a in listed] == [
        ("Broker stream connected", 100),
        ("Broker stream lost", 100),
        ("Trading day closed", 1),
    ]
