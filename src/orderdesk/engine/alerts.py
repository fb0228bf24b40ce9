"""Alerts: the logging notifier (always one of the desk's channels, beside apprise's and the
dashboard's; see :mod:`orderdesk.notify`), and a guard that never raises.

The engine alerts from deep inside its loops; a notifier that throws (a bad webhook, a full
disk) must never take an order's bookkeeping down with it, so every alert goes through
:class:`Alerts`, which swallows and logs delivery failures.
"""

from __future__ import annotations

import logging

from orderdesk.ports.notifier import Alert, Notifier, Severity

log = logging.getLogger("orderdesk.alerts")

_LEVELS = {
    Severity.INFO: logging.INFO,
    Severity.WARNING: logging.WARNING,
    Severity.CRITICAL: logging.CRITICAL,
}


class LoggingNotifier:
    """A :class:`~orderdesk.ports.notifier.Notifier` that writes each alert to the log."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or log

    async def notify(self, alert: Alert) -> None:
        self._log.log(
            _LEVELS[alert.severity],
            "%s: %s",
            alert.title,
            alert.body,
            extra={"alert_key": alert.key, "order_id": alert.order_id},
        )


class Alerts:
    """The engine's way to raise an alert: build it, deliver it, never fail the caller."""

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    async def raise_(
        self,
        severity: Severity,
        title: str,
        body: str,
        *,
        key: str,
        order_id: str | None = None,
    ) -> None:
        alert = Alert(severity=severity, title=title, body=body, key=key, order_id=order_id)
        try:
            await self._notifier.notify(alert)
        except Exception:
            # The port promises never to raise; a broken adapter still must not stop trading.
            log.exception("notifier failed to deliver %r", alert.title)


__all__ = ["Alerts", "LoggingNotifier"]
