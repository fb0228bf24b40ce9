"""The apprise adapter for the :class:`~orderdesk.ports.notifier.Notifier` port.

When no alert URL is configured the desk uses the engine's ``LoggingNotifier`` instead (see
:mod:`orderdesk.engine.alerts`); this package does not import the engine, as adapters sit below
it.
"""

from __future__ import annotations

from orderdesk.notify.apprise_notifier import (
    AppriseNotifier,
    AppriseOptions,
    RetryPolicy,
    TargetStatus,
    alert_targets,
)
from orderdesk.notify.fanout import FanoutNotifier
from orderdesk.notify.throttle import Decision, Throttle

__all__ = [
    "AppriseNotifier",
    "AppriseOptions",
    "Decision",
    "FanoutNotifier",
    "RetryPolicy",
    "TargetStatus",
    "Throttle",
    "alert_targets",
]
