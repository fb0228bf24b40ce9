"""Alerts to the operator (apprise adapter, or logging until one is configured)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    severity: Severity
    title: str
    body: str
    key: str
    """What makes two alerts "the same" for de-duplication and throttling."""
    order_id: str | None = None


class Notifier(Protocol):
    async def notify(self, alert: Alert) -> None:
        """Deliver (or deliberately drop, when throttled) one alert. Never raises."""


__all__ = ["Alert", "Notifier", "Severity"]
