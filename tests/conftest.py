"""Shared fixtures: where the upstream Kite samples live, and a config isolated from the
machine's; and the one hour of the day a run must not span."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderdesk.domain.calendar import IST

TOKEN_END_MARGIN = (timedelta(minutes=15), timedelta(minutes=1))
"""How long before (and after) 06:00 IST a run does not start: the desks and simulators most
tests start follow the wall clock, and Kite's tokens die at 06:00 IST, as theirs do. A test
that spans it (or moves a simulator's clock across it) meets a real session expiry that it is
not about, so a run that would reach it (the suite takes 6 to 10 minutes on two cores) waits
for 06:01 IST first, saying so. The days-keeping tests, which are about that moment, pin their
own clocks and are unaffected."""


def seconds_to_wait(now: datetime) -> float:
    """How long a run starting at ``now`` waits to stay clear of 06:00 IST (0: none)."""
    local = now.astimezone(IST)
    end = local.replace(hour=6, minute=0, second=0, microsecond=0)
    before, after = TOKEN_END_MARGIN
    if end + after <= local:
        end += timedelta(days=1)
    if end - before <= local:
        return (end + after - local).total_seconds()
    return 0.0


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller has waited already
    wait = seconds_to_wait(datetime.now(UTC))
    if wait:
        print(f"\nwaiting {wait:.0f} s: the tests would span Kite's 06:00 IST token end")
        time.sleep(wait)


KITE_MOCKS = Path(__file__).resolve().parents[2] / "shared" / "kite-mocks"


@pytest.fixture
def kite_mocks() -> Path:
    """The folder of upstream Kite sample responses, read in place (never copied)."""
    if not KITE_MOCKS.is_dir():
        pytest.skip(f"Kite samples not found at {KITE_MOCKS}")
    return KITE_MOCKS


@pytest.fixture
def isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No config file, XDG folder or ``ORDERDESK_`` variable of the machine's reaches the test:
    it runs in its own folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            monkeypatch.delenv(name)
