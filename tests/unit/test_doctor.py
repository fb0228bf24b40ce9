"""``orderdesk doctor``'s verdicts from the facts it gathered (orderdesk.doctor.assess)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from orderdesk.doctor import Facts, Status, Storage, assess, clock_offset
from orderdesk.engine.session import SessionInfo, SessionState
from orderdesk.ports.preflight import OrderRate, Preflight, Verdict

NOW = datetime(2026, 12, 4, 3, 30, tzinfo=UTC)  # 09:00 IST

PREFLIGHT = Preflight(
    configured_address="10.0.0.5",
    family="ipv4",
    local_address="10.0.0.5",
    verdict=Verdict.ACCEPTED,
    probe="cancel of order 0, which cannot exist",
    answer="Kite did not refuse the address (OrderException: Couldn't find that `order_id`.)",
    sent_at=NOW,
    answered_at=NOW + timedelta(milliseconds=200),
    broker_time=NOW,
    rate=OrderRate(
        this_second=0, this_minute=3, today=12, per_second=10, per_minute=400, per_day=5000
    ),
)
FACTS = Facts(
    broker="kite",
    preflight=PREFLIGHT,
    session=SessionInfo(SessionState.VALID, NOW + timedelta(hours=21), NOW - timedelta(minutes=75)),
    stream_connected=True,
    reconciled=(NOW - timedelta(seconds=30), 0),
    kill_switch=None,
    now=NOW,
)


def statuses(facts: Facts) -> dict[str, Status]:
    return {check.name: check.status for check in assess(facts).checks}


def test_a_healthy_morning_is_ready_with_every_check_ok() -> None:
    """Accepted address, valid session, headroom, clocks agreeing: ready, all ok, in words."""
    diagnosis = assess(FACTS)
    assert diagnosis.ready
    assert set(statuses(FACTS).values()) == {Status.OK}
    summaries = {check.name: check.summary for check in diagnosis.checks}
    assert summaries["session"].startswith(
        "valid, in use by the desk for 1h 15m (since 2026-12-04 07:45 IST)"
    )
    assert "in 21h 00m" in summaries["session"]
    assert summaries["order rate"] == "0/10 this second, 3/400 this minute, 12/5000 today"
    assert diagnosis.clock_offset_seconds == 0.4  # Date cut to seconds: +0.5 s, -0.1 s


def test_a_refused_address_fails_with_the_fix() -> None:
    """A refusal is a failed check that names the address and what to set."""
    refused = replace(
        FACTS,
        preflight=replace(
            PREFLIGHT, verdict=Verdict.REFUSED, answer="IP (10.0.0.5) is not allowed"
        ),
    )
    diagnosis = assess(refused)
    assert not diagnosis.ready
    [check] = [c for c in diagnosis.checks if c.name == "orders from this address"]
    assert check.status is Status.FAIL
    assert "register 10.0.0.5" in check.summary
    assert "[kite] source_address" in check.summary


def test_a_throttled_probe_is_not_now_and_says_nothing_against_the_address() -> None:
    """A 429 is a passing state: not ready now (orders are held back), said as such, with
    nothing to register and what to do."""
    throttled = replace(
        PREFLIGHT,
        verdict=Verdict.THROTTLED,
        answer="the broker is throttling orders now (HTTP 429: Too many requests)",
    )
    diagnosis = assess(replace(FACTS, preflight=throttled))
    assert not diagnosis.ready
    [check] = [c for c in diagnosis.checks if c.name == "orders from this address"]
    assert check.status is Status.FAIL
    assert check.summary.startswith("not now: the broker is throttling orders now")
    assert check.summary.endswith("run the doctor again in a minute")
    assert "register" not in check.summary


def test_what_stops_trading_fails_and_what_does_not_warns() -> None:
    """An unknown probe answer, a lost session, a spent day and an engaged kill switch fail;
    a stream down, a session in its last hour, no reconciliation yet and a busy minute warn."""
    failing = [
        replace(FACTS, preflight=replace(PREFLIGHT, verdict=Verdict.UNKNOWN)),
        replace(FACTS, session=SessionInfo(SessionState.EXPIRED, None, None, "06:00 passed")),
        replace(FACTS, preflight=replace(PREFLIGHT, rate=replace(PREFLIGHT.rate, today=5000))),
        replace(FACTS, kill_switch="drawdown"),
    ]
    for facts in failing:
        assert not assess(facts).ready
    warning = [
        replace(FACTS, stream_connected=False),
        replace(FACTS, session=replace(FACTS.session, expires_at=NOW + timedelta(minutes=20))),
        replace(FACTS, reconciled=None),
        replace(FACTS, preflight=replace(PREFLIGHT, rate=replace(PREFLIGHT.rate, this_minute=350))),
    ]
    for facts in warning:
        diagnosis = assess(facts)
        assert diagnosis.ready
        assert Status.WARN in statuses(facts).values()


def test_the_clock_offset_warns_beyond_two_seconds_and_fails_beyond_thirty() -> None:
    """The broker's Date against the middle of the exchange: 5 s warns, 45 s fails."""
    for seconds, status in ((-1, Status.OK), (5, Status.WARN), (-45, Status.FAIL)):
        facts = replace(
            FACTS, preflight=replace(PREFLIGHT, broker_time=NOW + timedelta(seconds=seconds))
        )
        assert statuses(facts)["clock"] is status
    assert clock_offset(replace(PREFLIGHT, broker_time=None)) is None


def test_a_broker_without_preflight_is_judged_on_what_the_desk_knows() -> None:
    """The paper broker: address, rate and clock do not apply; the desk's own checks do."""
    paper = replace(FACTS, broker="paper", preflight=None)
    diagnosis = assess(paper)
    assert diagnosis.ready
    summaries = {check.name: check.summary for check in diagnosis.checks}
    assert summaries["address"] == "not applicable: the paper broker"


LOG = Path("/var/lib/orderdesk/events.db")
STORAGE = Storage(
    log=LOG,
    log_bytes=48 * 2**20,
    free_bytes=40 * 2**30,
    backup_dir=Path("/mnt/backup"),
    last_backup=date(2026, 12, 3),
    last_closed=date(2026, 12, 3),
)


def checked(storage: Storage | None) -> dict[str, tuple[Status, str]]:
    diagnosis = assess(replace(FACTS, storage=storage))
    return {
        c.name: (c.status, c.summary) for c in diagnosis.checks if c.name in ("disk", "backups")
    }


def test_the_room_left_beside_the_log_warns_below_a_gib_and_fails_below_100_mib() -> None:
    assert checked(STORAGE)["disk"] == (
        Status.OK,
        f"40.0 GiB free where the event log is ({LOG}, 48.0 MiB)",
    )
    status, summary = checked(replace(STORAGE, free_bytes=700 * 2**20))["disk"]
    assert (status, summary.endswith("; free some space soon")) == (Status.WARN, True)
    low = replace(FACTS, storage=replace(STORAGE, free_bytes=60 * 2**20))
    status, summary = checked(low.storage)["disk"]
    assert status is Status.FAIL
    assert "60.0 MiB free" in summary
    assert "can record, and so send, nothing" in summary
    assert not assess(low).ready


def test_the_last_closed_day_without_its_backup_warns() -> None:
    assert checked(STORAGE)["backups"] == (
        Status.OK,
        "the last closed day, 2026-12-03, is backed up in /mnt/backup",
    )
    behind = replace(STORAGE, last_closed=date(2026, 12, 4))
    assert checked(behind)["backups"] == (
        Status.WARN,
        "the last closed day, 2026-12-04, has no backup in /mnt/backup (the newest is "
        "2026-12-03; see the alerts, or run `orderdesk backup`)",
    )
    none = replace(STORAGE, last_backup=None)
    assert checked(none)["backups"][0] is Status.WARN
    assert "(there is none;" in checked(none)["backups"][1]
    assert checked(replace(STORAGE, last_closed=None, last_backup=None))["backups"] == (
        Status.OK,
        "to /mnt/backup: none due yet (no day closed)",
    )
    off = checked(replace(STORAGE, backup_dir=None))["backups"]
    assert off[0] is Status.OK
    assert off[1].startswith("no daily backups ([store] backup_dir keeps one")


def test_a_log_that_is_not_a_file_has_neither_check_to_pass() -> None:
    assert {name: status for name, (status, _) in checked(None).items()} == {
        "disk": Status.OK,
        "backups": Status.OK,
    }
    assert checked(None)["disk"][1] == "not applicable: the event log is not a file here"
    assert checked(None)["backups"][1].endswith(
        "(PostgreSQL's is backed up with its own tools: pg_dump)"
    )


def test_a_holiday_list_short_of_the_years_ahead_warns() -> None:
    def holidays(missing: tuple[int, ...] | None) -> tuple[Status, str]:
        diagnosis = assess(replace(FACTS, holidays_missing=missing))
        [check] = [c for c in diagnosis.checks if c.name == "holidays"]
        return check.status, check.summary

    assert holidays(()) == (Status.OK, "the exchange holiday list covers the days ahead")
    assert holidays(None)[0] is Status.OK
    status, summary = holidays((2027,))
    assert status is Status.WARN
    assert summary.startswith("no exchange holidays known for 2027: the desk would take them")
    assert holidays((2026, 2027))[1].startswith("no exchange holidays known for 2026 and 2027:")


def test_a_stream_open_past_the_sessions_end_reads_idle() -> None:
    """After the 06:00 expiry the socket may still be open: the doctor says idle, as /status
    and the API's health do, not "connected"."""
    expired = SessionInfo(SessionState.EXPIRED, NOW - timedelta(hours=3), NOW - timedelta(hours=3))
    stream = {c.name: c for c in assess(replace(FACTS, session=expired)).checks}["stream"]
    assert stream.status is Status.WARN
    assert stream.summary.startswith("idle (the session has ended)")


def test_a_dropped_stream_without_a_session_reads_idle_not_polled() -> None:
    """Restarted before the morning login, the socket is down with the token: nothing can be
    polled either, so the doctor says idle, not "the desk polls the order book"."""
    refused = SessionInfo(SessionState.REFUSED, None, NOW, "Incorrect `api_key` or `access_token`")
    missing = SessionInfo(SessionState.MISSING, None, None, "nobody has logged in yet")
    for session in (refused, missing):
        facts = replace(FACTS, session=session, stream_connected=False)
        stream = {c.name: c for c in assess(facts).checks}["stream"]
        assert (stream.status, stream.summary) == (
            Status.WARN,
            "idle (the session has ended): it carries nothing until a login",
        ), session.state
    up = {c.name: c for c in assess(replace(FACTS, stream_connected=False)).checks}["stream"]
    assert up.summary.startswith("not connected: the desk polls the order book"), up.summary


def test_an_unknown_days_order_count_is_said_in_words() -> None:
    """An order book that could not be read leaves today's count unknown, said so plainly,
    never as "unknown (…)/5000 today"."""
    unread = replace(PREFLIGHT, rate=replace(PREFLIGHT.rate, today=None))
    rate = {c.name: c for c in assess(replace(FACTS, preflight=unread)).checks}["order rate"]
    assert rate.summary == (
        "0/10 this second, 3/400 this minute, today's count unknown (the order book could not "
        "be read; 5000 a day)"
    )
    assert "/5000" not in rate.summary


def test_a_refused_session_says_to_log_in_once() -> None:
    """The pre-flight's reason already ends in the advice: "run `orderdesk login`" once."""
    refused = SessionInfo(
        SessionState.REFUSED,
        None,
        None,
        "doctor: the session was refused (Incorrect api_key or access_token.); "
        "run `orderdesk login`",
    )
    expired = SessionInfo(SessionState.EXPIRED, None, None, "06:00 passed")
    for session in (refused, expired):
        (check,) = [
            c for c in assess(replace(FACTS, session=session)).checks if c.name == "session"
        ]
        assert check.summary.count("orderdesk login") == 1, check.summary
