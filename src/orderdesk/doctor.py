"""``orderdesk doctor``: can this desk trade right now, and if not, what must a person fix?

The pre-flight a careful user runs each morning, in checks a trader can read. Each check is
``ok``, ``warn`` (trading works, but look) or ``fail`` (an order would not get through, or
should not be sent); the desk is ready when nothing fails.

- **address**: the address and family connections leave from (Kite's static-IP rule, KITE_API.md
  §14.2: since 1 April 2026 orders are refused from an IP not registered with the app).
- **orders from this address**: the broker's answer to a probe that cannot change anything
  (the adapter says which; Kite's is in :mod:`orderdesk.brokers.kite.preflight`).
- **session**: valid, how old, when it expires (Kite's end at 06:00 IST).
- **order rate**: orders this second / minute / day against the broker's 10 / 400 / 5,000.
- **clock**: the offset of this machine's clock to the broker's ``Date`` header, which has
  whole seconds, so an offset within a second is not worth a word; beyond 30 s the desk's
  day boundaries (close, square-off, session expiry) would be wrong.
- **stream**, **reconciliation**, **kill switch**: what the desk itself knows. Reconciliations
  failing (a broker adapter's error on every pass) warn, and fail once
  :data:`RECONCILE_FAIL_PASSES` have failed in a row: the desk cannot see the broker's books.
  Without a session no pass is made, which the session's check tells.
- **loss limit**: the day's P&L against the desk's daily loss limit; past it new risk is refused
  (exits still go) whether or not the kill switch is engaged, so it fails the doctor as the
  switch does.
- **market**: whether NSE's market is open, and until when; closed (a weekend, a holiday, outside
  its hours) is a warning: the desk is ready, but regular orders wait for the next opening.
- **holidays**: whether the exchange holiday list covers this year (and in December the next).
- **event log**: whether the log can be read and written (a PostgreSQL server stopped, a
  disk full): the desk records each order before it sends it, so without the log it sends
  nothing. The reason is shown with any database password hidden.
- **disk**: the room left where the event log is (an SQLite store): on a full disk the desk
  can record, and so send, nothing.
- **backups**: whether the last closed day has its daily backup (``[store] backup_dir``).
- **private files**: whether the event log's files, every file in its backup folders, the
  secrets file and the desk's log file are their owner's alone: the desk creates them
  ``0600``, but a file an older orderdesk (or a copy by hand) created keeps the mode it was
  given, readable by every user of the machine. A secrets file others could read warns to
  rotate what is in it.

Pure: :func:`assess` takes what was gathered and a ``now``; the API gathers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from orderdesk.api.desk import StreamReading, stream_reading
from orderdesk.domain.calendar import as_ist
from orderdesk.engine.reconcile import ReconciliationFailure
from orderdesk.engine.session import SessionInfo, SessionState
from orderdesk.ports.preflight import Preflight, Verdict
from orderdesk.redaction import redact

CLOCK_OK = 2.0
"""Seconds of offset to the broker's clock that pass without a word (its Date has whole
seconds, and the round trip blurs a little more)."""
CLOCK_FAIL = 30.0
"""Seconds of offset beyond which the desk's day boundaries would be wrong."""
RATE_WARN = 0.8
"""The share of an order-rate limit beyond which the doctor warns."""
DISK_FAIL = 100 * 2**20
"""Bytes free where the log is below which the doctor fails: a day of 400 orders writes about
2 MB to the log, but the machine's other writers (its logs, other programs) share the disk."""
DISK_WARN = 2**30
"""Bytes free below which the doctor warns."""
RECONCILE_FAIL_PASSES = 3
"""Full reconciliations failing in a row past which the doctor fails (before, it warns). One
fails for a moment's cause (a timeout, a 5xx, a book read mid-change) and the next pass, an
interval on, mends it; a cause still there at the third is not passing by itself, and by then
the desk has been blind to the broker's books (fills it missed, orders placed outside it) for
about three intervals: three minutes at the default 60 s."""


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    summary: str


@dataclass(frozen=True, slots=True)
class Storage:
    """Where the event log lives (an SQLite file), the room left there, and its backups."""

    log: Path
    log_bytes: int
    """The log's file and its WAL."""
    free_bytes: int
    """Free on the log's file system, for this user."""
    backup_dir: Path | None
    """``[store] backup_dir`` (None: no daily backups)."""
    last_backup: date | None
    """The day of the newest daily backup there."""
    last_closed: date | None
    """The last trading day the log has closed."""
    open_to_others: tuple[tuple[Path, int], ...] = ()
    """The files checked (the log's, its backups', ``secrets_file`` and ``log_file``) that
    users other than the owner may read or write, each with its permission bits."""
    secrets_file: Path | None = None
    """The secrets file checked with them (None: there is none)."""
    log_file: Path | None = None
    """The desk's log file (``log_file``) checked with them (None: there is none)."""


@dataclass(frozen=True, slots=True)
class Market:
    """NSE's market at the doctor's ``now``: open until ``until`` (its close), or closed until
    ``until`` (its next opening); open with ``until`` None to a broker that takes regular
    orders at any hour (a paper broker told to)."""

    open: bool
    until: datetime | None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the desk gathered for the doctor."""

    broker: str
    preflight: Preflight | None
    """None when the broker offers no pre-flight (the paper broker)."""
    session: SessionInfo
    stream_connected: bool | None
    reconciled: tuple[datetime, int] | None
    """When the last full reconciliation finished, and how many differences it found."""
    kill_switch: str | None
    """The kill switch's reason when it is engaged; None when released."""
    now: datetime
    storage: Storage | None = None
    """None: the log is not a file here (PostgreSQL), or the desk was not told where it is."""
    holidays_missing: tuple[int, ...] | None = None
    """The years the holiday list should cover now and does not (None: not checked, e.g.
    without trading days)."""
    broker_unanswered: str | None = None
    """Why the broker's checks have no answer: it did not answer them within the doctor's
    time. The desk's own checks are still made; ``preflight`` is None then."""
    event_log: str | None = None
    """Why the event log cannot be read or written (its error); None when it can."""
    market: Market | None = None
    """None: not checked (the desk keeps no trading days)."""
    loss_limit: Decimal | None = None
    """The desk's daily loss limit in rupees (None: off)."""
    day_pnl: Decimal = Decimal(0)
    """The day's P&L as the loss limit reads it."""
    reconcile_failure: ReconciliationFailure | None = None
    """The full reconciliations failing since ``reconciled`` (None: the latest succeeded)."""
    reconcile_interval: float | None = None
    """Seconds between the desk's reconciliations (None: it makes none on a timer)."""


@dataclass(frozen=True, slots=True)
class Diagnosis:
    facts: Facts
    checks: tuple[Check, ...]
    clock_offset_seconds: float | None

    @property
    def ready(self) -> bool:
        """Whether trading can work: no check failed."""
        return all(check.status is not Status.FAIL for check in self.checks)

    @property
    def verdict(self) -> str:
        """The doctor's answer in words, the same in the CLI, the API and the bot: "ready to
        trade" on a Saturday read as if an order would go through."""
        if not self.ready:
            return "NOT ready to trade"
        market = self.facts.market
        if market is not None and not market.open and market.until is not None:
            return f"ready, but the market is closed until {_opening(market.until)}"
        return "ready to trade"


def _span(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def _unanswered(facts: Facts, name: str) -> Check | None:
    if facts.broker_unanswered is None:
        return None
    return Check(name, Status.FAIL, facts.broker_unanswered)


def _address(facts: Facts) -> Check:
    preflight = facts.preflight
    if (check := _unanswered(facts, "address")) is not None:
        return check
    if preflight is None:
        return Check("address", Status.OK, f"not applicable: the {facts.broker} broker")
    bound = preflight.configured_address or "not bound (the system chooses)"
    where = preflight.local_address or "unknown (no connection was made)"
    summary = f"leaves from {where}; source_address {bound}, ip_family {preflight.family}"
    return Check("address", Status.OK if preflight.local_address else Status.WARN, summary)


def _order_path(facts: Facts) -> Check:
    preflight = facts.preflight
    name = "orders from this address"
    if (check := _unanswered(facts, name)) is not None:
        return check
    if preflight is None:
        return Check(name, Status.OK, f"not applicable: the {facts.broker} broker")
    said = f"{preflight.answer} (probe: {preflight.probe})"
    if preflight.verdict is Verdict.ACCEPTED:
        return Check(name, Status.OK, f"not refused: {said}")
    where = preflight.local_address or "this machine's address"
    if preflight.verdict is Verdict.REFUSED:
        fix = (
            f"register {where} as the app's static IP with the broker (Kite: the app's IP "
            f"whitelist on developers.kite.trade), or set [{facts.broker}] source_address to "
            "a registered address"
        )
        return Check(name, Status.FAIL, f"REFUSED: {said}; {fix}")
    if preflight.verdict is Verdict.THROTTLED:
        # Not ready now (an order would be held back), but no word against the address.
        return Check(
            name,
            Status.FAIL,
            f"not now: {said}; the desk holds orders back until the broker stops throttling "
            "(the address cannot be told meanwhile): run the doctor again in a minute",
        )
    return Check(name, Status.FAIL, f"cannot tell: {said}")


def _session(facts: Facts) -> Check:
    info = facts.session
    if info.state is not SessionState.VALID:
        reason = f" ({info.reason})" if info.reason else ""
        # A refusal's reason (the pre-flight's) may already end in the advice: said once.
        advice = "" if "orderdesk login" in reason else "; run `orderdesk login`"
        return Check("session", Status.FAIL, f"{info.state.value}{reason}{advice}")
    summary = "valid"
    if info.since is not None:
        age = _span(facts.now - info.since)
        # "valid for 0m" read as time left. ``since`` is when the desk took the token, which
        # is the login only when the login was handed to it: a token read at start-up dates
        # from the start.
        summary += f", in use by the desk for {age} (since {ist_moment(info.since)})"
    if info.expires_at is None:
        return Check("session", Status.OK, f"{summary}; does not expire")
    left = info.expires_at - facts.now
    summary += f"; expires {ist_moment(info.expires_at)}, in {_span(left)}"
    return Check("session", Status.WARN if left < timedelta(hours=1) else Status.OK, summary)


def _rate(facts: Facts) -> Check:
    preflight = facts.preflight
    if (check := _unanswered(facts, "order rate")) is not None:
        return check
    if preflight is None:
        return Check("order rate", Status.OK, f"not applicable: the {facts.broker} broker")
    rate = preflight.rate
    # An unknown count is said in words, never as a fraction ("unknown (…)/5000 today").
    today = (
        f"today's count unknown (the order book could not be read; {rate.per_day} a day)"
        if rate.today is None
        else f"{rate.today}/{rate.per_day} today"
    )
    summary = (
        f"{rate.this_second}/{rate.per_second} this second, {rate.this_minute}/"
        f"{rate.per_minute} this minute, {today}"
    )
    if rate.today is not None and rate.today >= rate.per_day:
        return Check("order rate", Status.FAIL, f"{summary}: the day's placements are spent")
    used = [rate.this_minute / rate.per_minute]
    if rate.today is not None:
        used.append(rate.today / rate.per_day)
    return Check("order rate", Status.WARN if max(used) >= RATE_WARN else Status.OK, summary)


def clock_offset(preflight: Preflight | None) -> float | None:
    """The broker's clock minus this machine's, in seconds (None when unknown).

    The Date header is cut to whole seconds, so the broker's instant is taken half a second on,
    against the middle of the exchange.
    """
    if preflight is None or preflight.broker_time is None:
        return None
    if preflight.sent_at is None or preflight.answered_at is None:
        return None
    middle = preflight.sent_at + (preflight.answered_at - preflight.sent_at) / 2
    broker = preflight.broker_time + timedelta(seconds=0.5)
    return round((broker - middle).total_seconds(), 1)


def _clock(facts: Facts, offset: float | None) -> Check:
    if facts.broker_unanswered is not None:
        return Check("clock", Status.WARN, "unknown: the broker did not answer in time")
    if facts.preflight is None:
        return Check("clock", Status.OK, f"not applicable: the {facts.broker} broker")
    if offset is None:
        return Check("clock", Status.WARN, "unknown: the broker's reply had no Date header")
    ahead = "ahead of" if offset > 0 else "behind"
    summary = f"the broker's clock is {abs(offset):.1f} s {ahead} this machine's"
    if abs(offset) <= CLOCK_OK:
        return Check("clock", Status.OK, summary)
    fix = "; set this machine's time by NTP (timedatectl set-ntp true)"
    status = Status.FAIL if abs(offset) > CLOCK_FAIL else Status.WARN
    return Check("clock", status, summary + fix)


def _stream(facts: Facts) -> Check:
    # The desk's one rule (stream_reading), worded for the doctor.
    reading = stream_reading(facts.stream_connected, facts.session.usable)
    if reading is StreamReading.NONE:
        return Check("stream", Status.OK, "none (the broker has no live stream)")
    if reading is StreamReading.IDLE:
        return Check(
            "stream", Status.WARN, "idle (the session has ended): it carries nothing until a login"
        )
    if reading is StreamReading.CONNECTED:
        return Check("stream", Status.OK, "connected")
    return Check(
        "stream", Status.WARN, "not connected: the desk polls the order book until it is back"
    )


def _reconciled(facts: Facts) -> Check:
    return reconciliation(
        facts.reconciled,
        facts.reconcile_failure,
        facts.reconcile_interval,
        session_usable=facts.session.usable,
        now=facts.now,
    )


def failed(check: Check | None) -> bool:
    """Whether ``check`` is given and fails (what makes a reconciliation's line "degraded")."""
    return check is not None and check.status is Status.FAIL


def reconciliation(
    reconciled: tuple[datetime, int] | None,
    failure: ReconciliationFailure | None,
    interval: float | None,
    *,
    session_usable: bool,
    now: datetime,
) -> Check:
    """The reconciliation check: the last pass that succeeded, and the failing since (what
    `orderdesk status` says of it too)."""
    if failure is not None:
        return _failing(reconciled, failure, interval, session_usable=session_usable, now=now)
    if reconciled is None:
        return Check("reconciliation", Status.WARN, "none yet since the desk started")
    at, differences = reconciled
    summary = f"last at {ist_moment(at, seconds=True)}, {_span(now - at)} ago"
    if differences:
        return Check(
            "reconciliation",
            Status.WARN,
            f"{summary}: {differences} difference(s) found (see the alerts)",
        )
    return Check("reconciliation", Status.OK, f"{summary}: the books agree")


def _failing(
    reconciled: tuple[datetime, int] | None,
    failure: ReconciliationFailure,
    interval: float | None,
    *,
    session_usable: bool,
    now: datetime,
) -> Check:
    since = as_ist(failure.since)
    said = f"{since:%H:%M} IST" if since.date() == as_ist(now).date() else ist_moment(since)
    summary = f"failing since {said}: {failure.error}"
    last = (
        "none has succeeded since the desk started"
        if reconciled is None
        else f"the last that succeeded was at {ist_moment(reconciled[0], seconds=True)}, "
        f"{_span(now - reconciled[0])} ago"
    )
    if not session_usable:
        # No pass is made until a login, and the session's check says so already: the
        # failing is told, not counted against the desk a second time.
        return Check(
            "reconciliation", Status.WARN, f"{summary}; paused until a login (see the session)"
        )
    failed_for = (failure.at - failure.since).total_seconds()
    blind_for = (now - failure.since).total_seconds()
    # The timer's passes come an interval apart, so a first and a latest failure (passes - 1)
    # intervals apart are ``passes`` failed in a row; passes asked for by hand come closer
    # and do not count as more. By the clock alone (a pass that hangs) it fails after
    # ``passes`` intervals. Without a timer (``interval`` None) no pass comes again by
    # itself: it warns until one asked for succeeds.
    passes = RECONCILE_FAIL_PASSES
    if interval is not None and (
        failed_for >= (passes - 1) * interval or blind_for >= passes * interval
    ):
        return Check(
            "reconciliation",
            Status.FAIL,
            f"{summary}; {last}: the desk cannot see the broker's books (fills it missed, "
            "orders placed outside it); fix the cause (see the alerts and the desk's log), "
            "then `orderdesk reconcile`",
        )
    return Check("reconciliation", Status.WARN, f"{summary}; {last}")


def _kill_switch(facts: Facts) -> Check:
    if facts.kill_switch is None:
        return Check("kill switch", Status.OK, "released")
    return Check(
        "kill switch",
        Status.FAIL,
        f"engaged ({facts.kill_switch}): new orders are refused; `orderdesk kill-switch off`",
    )


def _loss_limit(facts: Facts) -> Check:
    """Past the desk's loss limit new risk is refused as surely as by the kill switch (which
    ``on_daily_loss`` may not engage, or a person released): "ready to trade" read as if a
    new order would go."""
    limit = facts.loss_limit
    if limit is None:
        return Check("loss limit", Status.OK, "no daily loss limit")
    against = f"the day's P&L {facts.day_pnl:,.2f} against the limit of {limit:,.2f}"
    if facts.day_pnl > -limit:
        return Check("loss limit", Status.OK, against)
    return Check(
        "loss limit",
        Status.FAIL,
        f"reached: {against}; new risk is refused while the day is at or past it, exits still go",
    )


def _market(facts: Facts) -> Check:
    market = facts.market
    if market is None:
        return Check("market", Status.OK, "not checked: no trading days")
    if market.until is None:
        return Check("market", Status.OK, "open at any hour: the broker fills outside NSE's")
    if market.open:
        return Check("market", Status.OK, f"open until {as_ist(market.until):%H:%M} IST")
    return Check(
        "market",
        Status.WARN,
        f"closed until {_opening(market.until)}: regular orders are refused until then; "
        "AMOs and GTTs are taken",
    )


def _opening(at: datetime) -> str:
    """An opening as the doctor says it, with its weekday (it is often after a weekend)."""
    return f"{as_ist(at):%a %Y-%m-%d %H:%M} IST"


def _holidays(facts: Facts) -> Check:
    missing = facts.holidays_missing
    if missing is None:
        return Check("holidays", Status.OK, "not checked: no trading days (or no years to check)")
    if not missing:
        return Check("holidays", Status.OK, "the exchange holiday list covers the days ahead")
    years = " and ".join(str(year) for year in missing)
    return Check(
        "holidays",
        Status.WARN,
        f"no exchange holidays known for {years}: the desk would take them for trading days; "
        "add them ([trading_day] holidays_file or holidays) and restart the desk",
    )


def _event_log(facts: Facts) -> Check:
    if facts.event_log is None:
        return Check("event log", Status.OK, "no error writing or reading it")
    # Redacted again: the store's errors hide a URL's password, and a driver's own text that
    # quoted it is masked by the registered secret.
    return Check(
        "event log",
        Status.FAIL,
        f"cannot be written or read: {redact(facts.event_log)}; the desk records each order "
        "before sending it, so it sends nothing until the log is back (check the database "
        "server, or the disk of an SQLite log)",
    )


def _size(count: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count} bytes"


def _disk(facts: Facts) -> Check:
    storage = facts.storage
    if storage is None and facts.broker_unanswered is not None:
        return Check("disk", Status.WARN, "not checked: the broker's checks ran out of time")
    if storage is None:
        return Check("disk", Status.OK, "not applicable: the event log is not a file here")
    summary = (
        f"{_size(storage.free_bytes)} free where the event log is ({storage.log}, "
        f"{_size(storage.log_bytes)})"
    )
    if storage.free_bytes < DISK_FAIL:
        fix = "; on a full disk the desk can record, and so send, nothing: free space first"
        return Check("disk", Status.FAIL, summary + fix)
    if storage.free_bytes < DISK_WARN:
        return Check("disk", Status.WARN, summary + "; free some space soon")
    return Check("disk", Status.OK, summary)


def _backups(facts: Facts) -> Check:
    storage = facts.storage
    if storage is None and facts.broker_unanswered is not None:
        return Check("backups", Status.WARN, "not checked: the broker's checks ran out of time")
    if storage is None:
        # Said where the backup is to come from: "not applicable" alone read as "none needed".
        return Check(
            "backups",
            Status.OK,
            "not applicable: the event log is not a file here (PostgreSQL's is backed up "
            "with its own tools: pg_dump)",
        )
    folder = storage.backup_dir
    if folder is None:
        return Check(
            "backups",
            Status.OK,
            "no daily backups ([store] backup_dir keeps one after each close; `orderdesk "
            "backup` makes one now)",
        )
    closed, backed_up = storage.last_closed, storage.last_backup
    if closed is None:
        return Check("backups", Status.OK, f"to {folder}: none due yet (no day closed)")
    if backed_up is None or backed_up < closed:
        newest = f"the newest is {backed_up}" if backed_up else "there is none"
        return Check(
            "backups",
            Status.WARN,
            f"the last closed day, {closed}, has no backup in {folder} ({newest}; see the "
            "alerts, or run `orderdesk backup`)",
        )
    return Check("backups", Status.OK, f"the last closed day, {closed}, is backed up in {folder}")


def _private(facts: Facts) -> Check:
    storage = facts.storage
    if storage is None:
        return Check("private files", Status.OK, "not applicable: the event log is not a file here")
    if not storage.open_to_others:
        checked = ["the event log", "its backups"]
        checked += ["the secrets file"] if storage.secrets_file is not None else []
        checked += ["the desk's log file"] if storage.log_file is not None else []
        listed = ", ".join(checked[:-1]) + f" and {checked[-1]}"
        return Check("private files", Status.OK, f"{listed} are yours alone")
    shown = ", ".join(f"{path} ({mode:04o})" for path, mode in storage.open_to_others)
    paths = " ".join(str(path) for path, _ in storage.open_to_others)
    secrets = storage.secrets_file
    exposed = [path for path, _ in storage.open_to_others]
    if secrets is None or secrets not in exposed:
        return Check(
            "private files",
            Status.WARN,
            f"other users of this machine can read the account's trading history: {shown}; "
            f"run `chmod 600 {paths}`",
        )
    # A secret others could read may already be copied: a chmod alone does not take it back.
    what = "the account's secrets" + (" and trading history" if len(exposed) > 1 else "")
    return Check(
        "private files",
        Status.WARN,
        f"other users of this machine can read {what}: {shown}; rotate the secrets in "
        f"{secrets}, then run `chmod 600 {paths}`",
    )


def assess(facts: Facts) -> Diagnosis:
    """Every check, in the order a person reads them."""
    offset = clock_offset(facts.preflight)
    checks = (
        _address(facts),
        _order_path(facts),
        _session(facts),
        _rate(facts),
        _clock(facts, offset),
        _stream(facts),
        _reconciled(facts),
        _kill_switch(facts),
        _loss_limit(facts),
        _market(facts),
        _holidays(facts),
        _event_log(facts),
        _disk(facts),
        _backups(facts),
        _private(facts),
    )
    return Diagnosis(facts=facts, checks=checks, clock_offset_seconds=offset)


def ist_moment(at: datetime, *, seconds: bool = False) -> str:
    """A moment as the desk tells times, in IST (Kite's clock: the 06:00 expiry)."""
    return f"{as_ist(at):%Y-%m-%d %H:%M{':%S' if seconds else ''}} IST"


__all__ = [
    "CLOCK_FAIL",
    "CLOCK_OK",
    "DISK_FAIL",
    "DISK_WARN",
    "RECONCILE_FAIL_PASSES",
    "Check",
    "Diagnosis",
    "Facts",
    "Market",
    "Status",
    "Storage",
    "assess",
    "ist_moment",
    "reconciliation",
]
