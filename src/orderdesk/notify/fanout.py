"""One :class:`Notifier` that hands each alert to several (apprise and the dashboard feed)."""

from __future__ import annotations

import structlog

from orderdesk.ports.notifier import Alert, Notifier

log = structlog.get_logger(__name__)


class FanoutNotifier:
    """Delivers to every notifier in turn; one that raises does not stop the others."""

    def __init__(self, *notifiers: Notifier) -> None:
        self._notifiers = notifiers

    async def notify(self, alert: Alert) -> None:
        for notifier in self._notifiers:
            try:
                await notifier.notify(alert)
            except Exception as exc:  # the port promises never to raise; enforce it here too
                log.warning(
                    "alerts.notifier_failed",
                    notifier=type(notifier).__name__,
                    error=type(exc).__name__,
                )


__all__ = ["FanoutNotifier"]
