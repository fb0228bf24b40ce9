"""The doctor's reconciliation check while reconciliations fail. A broker adapter whose order
book rows were dicts failed every pass ("reconciliation failed: AttributeError: 'dict' …" each
minute), and the doctor said "ready to trade" with "warn reconciliation: none yet": a desk that
cannot read the broker's books is blind to fills it missed and orders placed outside it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from orderdesk.doctor import RECONCILE_FAIL_PASSES, Facts, Status, assess
from orderdesk.engine.reconcile import ReconciliationFailure
from orderdesk.engine.session import SessionInfo, SessionState
from tests.unit.test_doctor import FACTS, NOW

INTERVAL = 60.0
ERROR = "AttributeError: 'dict' object has no attribute 'broker_order_id'"
EVERY = timedelta(seconds=INTERVAL)


def failing(facts: Facts, *, since: timedelta, latest: timedelta) -> Facts:
    """``facts`` with passes failing from ``since`` ago to ``latest`` ago."""
    failure = ReconciliationFailure(since=NOW - since, at=NOW - latest, error=ERROR)
    return replace(facts, reconcile_failure=failure, reconcile_interval=INTERVAL)


def check(facts: Facts) -> tuple[Status, str]:
    [found] = [c for c in assess(facts).checks if c.name == "reconciliation"]
    return found.status, found.summary


def test_one_failed_pass_after_a_good_one_warns_since_when_and_why() -> None:
    """The pass a minute after a good one failed: a warning with the time, the error and the
    last good pass; still ready (the next pass may mend it)."""
    facts = failing(replace(FACTS, reconciled=(NOW - 2 * EVERY, 0)), since=EVERY, latest=EVERY)
    status, summary = check(facts)
    assert status is Status.WARN
    assert summary == (
        f"failing since 08:59 IST: {ERROR}; the last that succeeded was at "
        "2026-12-04 08:58:00 IST, 2m ago"
    )
    assert assess(facts).ready


def test_passes_failing_in_a_row_fail_the_doctor() -> None:
    """Three passes failed, an interval apart: not ready, and why it matters."""
    facts = failing(
        replace(FACTS, reconciled=(NOW - 4 * EVERY, 0)),
        since=3 * EVERY,
        latest=(3 - (RECONCILE_FAIL_PASSES - 1)) * EVERY,
    )
    status, summary = check(facts)
    assert status is Status.FAIL
    assert summary.startswith(f"failing since 08:57 IST: {ERROR}; the last that succeeded")
    assert "cannot see the broker's books" in summary
    diagnosis = assess(facts)
    assert not diagnosis.ready
    assert diagnosis.verdict == "NOT ready to trade"


def test_failing_since_the_desk_started_fails_after_three_intervals() -> None:
    """None has ever succeeded: failing since the start-up pass. Within the first intervals it
    warns; once the failing has lasted three, it fails, even with no further pass recorded
    (one that hangs)."""
    young = failing(replace(FACTS, reconciled=None), since=EVERY, latest=timedelta(0))
    assert check(young)[0] is Status.WARN
    assert "none has succeeded since the desk started" in check(young)[1]
    old = failing(replace(FACTS, reconciled=None), since=3 * EVERY, latest=3 * EVERY)
    status, summary = check(old)
    assert status is Status.FAIL
    assert summary.startswith(f"failing since 08:57 IST: {ERROR}; none has succeeded")


def test_a_few_quick_retries_by_hand_do_not_fail_it() -> None:
    """`orderdesk reconcile` run three times in a minute is not three intervals' blindness."""
    facts = failing(
        replace(FACTS, reconciled=(NOW - EVERY, 0)),
        since=timedelta(seconds=20),
        latest=timedelta(0),
    )
    assert check(facts)[0] is Status.WARN


def test_an_ended_session_is_the_sessions_alarm_not_the_reconciliations() -> None:
    """Without a session no pass is made: the failing is told, as a warning, and the session's
    check alone fails (no second alarm for one cause)."""
    ended = SessionInfo(SessionState.EXPIRED, NOW - timedelta(hours=3), NOW - timedelta(hours=3))
    facts = failing(
        replace(FACTS, session=ended, reconciled=(NOW - 4 * EVERY, 0)),
        since=3 * EVERY,
        latest=EVERY,
    )
    status, summary = check(facts)
    assert status is Status.WARN
    assert summary.endswith("; paused until a login (see the session)")
    failed = [c.name for c in assess(facts).checks if c.status is Status.FAIL]
    assert failed == ["session"]


def test_a_long_gap_without_a_session_then_one_failed_pass_warns() -> None:
    """The last good pass was before the night's expiry; the first pass after the login
    failed: one failure, a warning, not hours of blindness."""
    facts = failing(
        replace(FACTS, reconciled=(NOW - timedelta(hours=18), 0)),
        since=timedelta(seconds=5),
        latest=timedelta(seconds=5),
    )
    assert check(facts)[0] is Status.WARN


def test_without_a_timer_it_warns_however_long() -> None:
    """No pass comes again by itself without ``reconcile_interval``: it warns."""
    facts = replace(
        failing(FACTS, since=timedelta(hours=2), latest=timedelta(hours=1)),
        reconcile_interval=None,
    )
    assert check(facts)[0] is Status.WARN


def test_a_desk_whose_passes_succeed_reads_as_before() -> None:
    """No failure: the last pass and what it found, as before."""
    assert check(replace(FACTS, reconcile_interval=INTERVAL)) == (
        Status.OK,
        "last at 2026-12-04 08:59:30 IST, 0m ago: the books agree",
    )
