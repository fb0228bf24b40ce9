"""The times ``POST /_sim/clock`` takes: Kite's ``YYYY-MM-DD HH:MM:SS`` and ISO 8601, read as IST
when they carry no offset and converted to IST when they do; anything else is a clear 400."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from orderdesk.sim.clock import KITE_TIME_FORMAT, parse_wall_time

from .conftest import SimControl

SAME_INSTANT = [
    "2026-12-07 08:30:00",
    "2026-12-07T08:30:00",
    "2026-12-07T08:30",
    "2026-12-07 08:30",
    "2026-12-07T08:30:00+05:30",
    "2026-12-07T08:30:00.000+0530",
    "2026-12-07T03:00:00Z",
    "2026-12-06T22:00:00-05:00",
]
"""One instant, 08:30 IST on 7 December 2026, in each form the route takes."""

GARBAGE = [
    "tomorrow",
    "2026-12-07",
    "07-12-2026 08:30:00",
    "2026-12-07T08",
    "2026-12-07T08:30:00 IST",
    "2026-02-30T08:30:00",
    "2026-12-07T25:00:00",
]


@pytest.mark.parametrize("text", SAME_INSTANT)
def test_every_accepted_form_reads_as_the_same_ist_wall_time(text: str) -> None:
    """Kite's form, ISO 8601 with or without seconds, and an offset converted to IST all name
    08:30 IST."""
    assert parse_wall_time(text) == datetime(2026, 12, 7, 8, 30)


@pytest.mark.parametrize("text", GARBAGE)
def test_anything_else_names_the_accepted_forms(text: str) -> None:
    """A date alone, another order of fields, a zone name or an impossible day is refused with
    a message that says what is taken."""
    with pytest.raises(ValueError, match=r"^Cannot read ") as exc_info:
        parse_wall_time(text)
    assert str(exc_info.value).startswith(f"Cannot read {text!r} as a time")
    assert "ISO 8601" in str(exc_info.value)


@pytest.mark.parametrize("text", ["2026-12-07T08:30:00+05:30", "2026-12-07T03:00:00Z"])
def test_the_route_sets_the_clock_from_an_iso_time(simctl: SimControl, text: str) -> None:
    """``POST /_sim/clock`` with an ISO 8601 time moves the clock to that instant in IST (the
    clock then runs on, so the answer may be a moment later)."""
    reply = simctl.set_clock(text)
    moved_to = datetime.strptime(reply["clock"], KITE_TIME_FORMAT)
    assert timedelta(0) <= moved_to - datetime(2026, 12, 7, 8, 30) < timedelta(seconds=5)


def test_the_route_refuses_garbage_with_a_clear_400(simctl: SimControl) -> None:
    """An unreadable time is Kite's InputException envelope, HTTP 400, naming the forms taken,
    and the clock stays where it was."""
    before = simctl.http.get(simctl.root + "/_sim/clock", timeout=10).json()["data"]
    reply = simctl.http.post(simctl.root + "/_sim/clock", json={"set": "next monday"}, timeout=10)
    assert reply.status_code == 400
    body = reply.json()
    assert body["error_type"] == "InputException"
    assert body["message"].startswith("Cannot read 'next monday' as a time: expected")
    after = simctl.http.get(simctl.root + "/_sim/clock", timeout=10).json()["data"]
    assert abs(after["offset_seconds"] - before["offset_seconds"]) < 1e-6
