"""``GET /api/doctor``'s answer: the checks in words, and the facts behind them for scripts."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from orderdesk.doctor import Diagnosis  # the engine with it: not for the CLI's imports
    from orderdesk.notify import TargetStatus


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class CheckOut(_Out):
    name: str
    status: Literal["ok", "warn", "fail"]
    summary: str


class OrderRateOut(_Out):
    this_second: int
    this_minute: int
    today: int | None
    per_second: int
    per_minute: int
    per_day: int


class OrderPathOut(_Out):
    """Where the desk leaves from and what the broker answered the probe."""

    source_address: str | None
    """``[<broker>] source_address`` (None: the system chooses)."""
    ip_family: str
    local_address: str | None
    """The address the probe's connection left from."""
    verdict: Literal["accepted", "refused", "session_refused", "throttled", "unknown"]
    """Whether the broker takes order writes from here: ``session_refused`` when it refused the
    session, ``throttled`` while it throttles order writes (HTTP 429: a passing state), so the
    probe could not tell."""
    probe: str
    answer: str
    broker_time: datetime | None
    order_rate: OrderRateOut


class SessionFactsOut(_Out):
    state: str
    since: datetime | None
    expires_at: datetime | None


class StorageOut(_Out):
    """Where the event log lives (an SQLite file), the room left there, and its backups."""

    event_log: str
    event_log_bytes: int
    free_bytes: int
    backup_dir: str | None
    last_backup: date | None
    """The day of the newest daily backup in ``backup_dir``."""
    last_closed: date | None
    """The last trading day the log has closed."""


class AlertTargetOut(_Out):
    """One ``[alerts] urls`` entry and how its deliveries went (in this run of the desk)."""

    name: str
    """``alerts.urls.<index> <scheme>://<host>``: its place in the list, never its token."""
    failing: bool
    """An alert to it waits to be retried, or its last delivery failed (or did not answer in
    time)."""
    delivered: int
    failed: int
    last_delivered_at: datetime | None
    last_failed_at: datetime | None
    last_error: str | None
    """Why the last failed delivery failed."""
    waiting: int = 0
    """Alerts not delivered yet because a delivery failed (being retried, and those behind)."""
    waiting_since: datetime | None = None
    """When the oldest of them was raised."""
    lost: int = 0
    """Alerts given up on in this run: not delivered within the retry bound, or dropped."""
    first_lost_at: datetime | None = None
    """When the first of them was raised."""

    @classmethod
    def of(cls, status: TargetStatus) -> AlertTargetOut:
        return cls(
            name=status.name,
            failing=status.failing,
            delivered=status.delivered,
            failed=status.failed,
            last_delivered_at=status.last_delivered_at,
            last_failed_at=status.last_failed_at,
            last_error=status.last_error,
            waiting=status.waiting,
            waiting_since=status.waiting_since,
            lost=status.lost,
            first_lost_at=status.first_lost_at,
        )


class DoctorOut(_Out):
    ready: bool
    """Whether trading can work now: no check failed (``orderdesk doctor`` exits 0)."""
    verdict: str = ""
    """The answer in words: "ready to trade", "ready, but the market is closed until …" or
    "NOT ready to trade"."""
    market_open: bool | None = None
    """Whether NSE's market is open now (None: not checked, the desk keeps no trading days)."""
    market_until: datetime | None = None
    """Its close while open, else its next opening (None while open to a broker that takes
    regular orders at any hour: a paper desk with ``[paper] market_hours = "always"``)."""
    broker: str
    checks: list[CheckOut]
    order_path: OrderPathOut | None
    """None when the broker offers no pre-flight (the paper broker), or did not answer it in
    time (``broker_unanswered`` says so)."""
    broker_unanswered: str | None = None
    """Why the broker's checks have no answer: it did not answer them within the doctor's
    time."""
    session: SessionFactsOut
    clock_offset_seconds: float | None
    """The broker's clock minus this machine's (from its Date header)."""
    stream_connected: bool | None
    last_reconciliation: datetime | None
    reconciliation_differences: int | None
    kill_switch_engaged: bool
    storage: StorageOut | None
    """None when the event log is not a file (PostgreSQL)."""
    holidays_missing: list[int] | None
    """The years the exchange holiday list should cover now and does not (None: not
    checked)."""
    alert_targets: list[AlertTargetOut] = []
    """Each ``[alerts] urls`` entry's deliveries and last failure (the ``alerts`` check)."""

    @classmethod
    def of(cls, diagnosis: Diagnosis) -> DoctorOut:
        facts = diagnosis.facts
        preflight = facts.preflight
        path = None
        if preflight is not None:
            rate = preflight.rate
            path = OrderPathOut(
                source_address=preflight.configured_address,
                ip_family=preflight.family,
                local_address=preflight.local_address,
                verdict=preflight.verdict.value,
                probe=preflight.probe,
                answer=preflight.answer,
                broker_time=preflight.broker_time,
                order_rate=OrderRateOut(
                    this_second=rate.this_second,
                    this_minute=rate.this_minute,
                    today=rate.today,
                    per_second=rate.per_second,
                    per_minute=rate.per_minute,
                    per_day=rate.per_day,
                ),
            )
        reconciled = facts.reconciled
        storage = facts.storage
        return cls(
            ready=diagnosis.ready,
            verdict=diagnosis.verdict,
            market_open=None if facts.market is None else facts.market.open,
            market_until=None if facts.market is None else facts.market.until,
            broker=facts.broker,
            checks=[
                CheckOut(name=c.name, status=c.status.value, summary=c.summary)
                for c in diagnosis.checks
            ],
            order_path=path,
            broker_unanswered=facts.broker_unanswered,
            session=SessionFactsOut(
                state=facts.session.state.value,
                since=facts.session.since,
                expires_at=facts.session.expires_at,
            ),
            clock_offset_seconds=diagnosis.clock_offset_seconds,
            stream_connected=facts.stream_connected,
            last_reconciliation=None if reconciled is None else reconciled[0],
            reconciliation_differences=None if reconciled is None else reconciled[1],
            kill_switch_engaged=facts.kill_switch is not None,
            holidays_missing=(
                None if facts.holidays_missing is None else list(facts.holidays_missing)
            ),
            storage=None
            if storage is None
            else StorageOut(
                event_log=str(storage.log),
                event_log_bytes=storage.log_bytes,
                free_bytes=storage.free_bytes,
                backup_dir=None if storage.backup_dir is None else str(storage.backup_dir),
                last_backup=storage.last_backup,
                last_closed=storage.last_closed,
            ),
        )


__all__ = [
    "AlertTargetOut",
    "CheckOut",
    "DoctorOut",
    "OrderPathOut",
    "OrderRateOut",
    "SessionFactsOut",
    "StorageOut",
]
