"""Alert adapters for the :class:`~orderdesk.ports.notifier.Notifier` port."""

from __future__ import annotations

from orderdesk.config import AlertSettings
from orderdesk.notify.apprise_notifier import AppriseNotifier
from orderdesk.notify.logging_notifier import LoggingNotifier
from orderdesk.notify.throttle import Decision, Throttle
from orderdesk.ports.clock import Clock
from orderdesk.ports.notifier import Notifier, Severity


def build_notifier(settings: AlertSettings, clock: Clock | None = None) -> Notifier:
    """apprise when alert URLs are configured, else the log."""
    if not settings.urls:
        return LoggingNotifier()
    return AppriseNotifier(
        settings.urls,
        min_severity=Severity(settings.min_severity),
        throttle_seconds=settings.throttle_seconds,
        max_per_key=settings.max_per_key,
        clock=clock,
    )


__all__ = ["AppriseNotifier", "Decision", "LoggingNotifier", "Throttle", "build_notifier"]
