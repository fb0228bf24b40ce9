"""Prometheus metrics in the text exposition format, written by hand.

Five numbers do not justify ``prometheus_client`` and its global registry: counters are fed by
the desk's event stream (:meth:`Metrics.observe`), gauges are read from the desk at scrape
time. Counters count from the start of this process, as Prometheus expects (``rate()`` copes
with restarts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from orderdesk.api.desk import DeskService
from orderdesk.domain.events import Event, SignalDenied
from orderdesk.domain.status import OrderStatus
from orderdesk.ports.broker import ConnectionState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, help_text: str, samples: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]


class Metrics:
    """Counters fed by events; :meth:`render` adds the gauges read from the desk."""

    def __init__(self) -> None:
        self.events = 0
        self.denied: Counter[str] = Counter()

    def observe(self, event: Event) -> None:
        self.events += 1
        if isinstance(event, SignalDenied):
            self.denied[event.check] += 1

    def render(self, desk: DeskService, *, pending_approvals: int = 0) -> str:
        by_status = Counter(order.status for order in desk.orders())
        connected = desk.broker_connection() is ConnectionState.CONNECTED
        lines = [
            *_family(
                "orderdesk_orders",
                "gauge",
                "Orders known to the desk, by status.",
                (f'orderdesk_orders{{status="{s.value}"}} {by_status[s]}' for s in OrderStatus),
            ),
            *_family(
                "orderdesk_signals_denied_total",
                "counter",
                "Signals refused by a risk check, by check.",
                (
                    f'orderdesk_signals_denied_total{{check="{_escape(check)}"}} {count}'
                    for check, count in sorted(self.denied.items())
                ),
            ),
            *_family(
                "orderdesk_events_appended_total",
                "counter",
                "Events recorded in the event log since this process started.",
                [f"orderdesk_events_appended_total {self.events}"],
            ),
            *_family(
                "orderdesk_broker_connection_up",
                "gauge",
                "1 when the broker's live stream is connected.",
                [f"orderdesk_broker_connection_up {int(connected)}"],
            ),
            *_family(
                "orderdesk_kill_switch_engaged",
                "gauge",
                "1 while the kill switch refuses new orders.",
                [f"orderdesk_kill_switch_engaged {int(desk.kill_switch().engaged)}"],
            ),
            *_family(
                "orderdesk_pending_approvals",
                "gauge",
                "Signals waiting for an operator's approval.",
                [f"orderdesk_pending_approvals {pending_approvals}"],
            ),
        ]
        return "\n".join(lines) + "\n"


__all__ = ["CONTENT_TYPE", "Metrics"]
