"""`orderdesk doctor` against a desk on the simulator whose broker misbehaves: a broker that
rate-limits every call is reported as the broker's, in time, naming the 429; a session the
broker has just refused is not also reported valid."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.daemon import kite_sim_config, running_daemon, sim_post

pytestmark = pytest.mark.slow


@pytest.fixture
def sim() -> Iterator[SimServer]:
    config = SimConfig(port=0, seed=5, price_tick_interval=None, rate_limits=False)
    with SimServer.run_in_thread(config) as server:
        yield server


def doctor(config: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "orderdesk", "doctor", "--config", str(config)],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    return result, time.monotonic() - started


def test_a_rate_limiting_broker_is_named_and_the_doctor_answers_in_time(
    sim: SimServer, tmp_path: Path
) -> None:
    """Every Kite call answered 429: the doctor answers (exit 6, not the CLI's "did not answer
    in time", exit 1) well within the CLI's 60 s, and its broker checks name the 429."""
    config, env = kite_sim_config(tmp_path, sim)
    with running_daemon(config, env=env):
        sim_post(sim, "faults", {"rate_limit_storm": 1})
        result, took = doctor(config)
        sim_post(sim, "faults", {"rate_limit_storm": 0})
    output = result.stdout + result.stderr
    assert result.returncode == 6, output
    assert "the order desk at" not in output  # the CLI's "did not answer in time"
    assert took < 45, took
    assert (
        "FAIL orders from this address: not now: the broker is throttling orders now "
        "(HTTP 429" in " ".join(result.stdout.split())
    ), result.stdout
    # A passing state, said as one: nothing against the address, and what to do.
    assert "run the doctor again in a minute" in " ".join(result.stdout.split())


def test_a_session_the_broker_just_refused_is_not_called_valid(
    sim: SimServer, tmp_path: Path
) -> None:
    """Tokens expired at the broker: the probe meets the refusal, and the session line fails
    saying so, where it read ``ok session: valid``."""
    config, env = kite_sim_config(tmp_path, sim)
    with running_daemon(config, env=env):
        sim_post(sim, "faults", {"expire_tokens": True})
        result, _ = doctor(config)
    output = result.stdout + result.stderr
    assert result.returncode == 6, output
    assert "the session was refused" in result.stdout
    assert "ok   session: valid" not in result.stdout
    [line] = [x for x in result.stdout.splitlines() if " session: " in x]
    assert "FAIL session:" in line, line
