"""An alert target that fails is told where the operator looks: the health detail names it (by
its place and host, never its token) with its last failure, and the doctor has an ``alerts``
line that warns about it without making the desk "not ready"."""

from __future__ import annotations

from typing import Any

from orderdesk.notify import AppriseNotifier
from orderdesk.ports.notifier import Alert, Severity
from tests.api.conftest import Api
from tests.support import eventually

DEAD = "json://127.0.0.1:9/hooks/HealthHookToken4242"
"""Nobody listens on port 9: every delivery fails at once."""
NAME = "alerts.urls.0 json://127.0.0.1:9"


async def _get(api: Api, path: str) -> Any:
    async with api.client.get(path) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_a_failing_alert_target_shows_in_health_and_doctor(api: Api) -> None:
    async with AppriseNotifier([DEAD]) as notifier:
        await notifier.notify(
            Alert(severity=Severity.CRITICAL, title="Kill switch engaged", body="x", key="k")
        )
        await eventually(lambda: notifier.failed == 1, what="the failed delivery")

        detail = await _get(api, "/api/health/detail")
        doctor = await _get(api, "/api/doctor")

    [target] = [t for t in detail["alerts"] if t["name"] == NAME]
    assert target["failing"] is True
    assert (target["delivered"], target["failed"]) == (0, 1)
    assert target["last_failed_at"] is not None
    assert target["last_error"]
    checks = {c["name"]: c for c in doctor["checks"]}
    assert checks["alerts"]["status"] == "warn"
    assert f"{NAME}: last delivery failed" in checks["alerts"]["summary"]
    assert NAME in [t["name"] for t in doctor["alert_targets"]]
    assert "HealthHookToken4242" not in str(detail) + str(doctor)
