"""The fallback notifier: alerts go to the structured log when no apprise URL is configured."""

from __future__ import annotations

import structlog

from orderdesk.ports.notifier import Alert, Severity

log = structlog.get_logger("orderdesk.alerts")

_METHOD: dict[Severity, str] = {
    Severity.INFO: "info",
    Severity.WARNING: "warning",
    Severity.CRITICAL: "critical",
}


class LoggingNotifier:
    """Writes every alert to the log at its severity; never throttles, never raises."""

    async def notify(self, alert: Alert) -> None:
        try:
            emit = getattr(log, _METHOD[alert.severity])
            emit(
                "alert",
                title=alert.title,
                body=alert.body,
                key=alert.key,
                order_id=alert.order_id,
            )
        except Exception:  # noqa: S110 - logging failures must not reach the engine
            pass


__all__ = ["LoggingNotifier"]
