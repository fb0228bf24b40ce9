"""Every file under examples/ runs against the simulator, the way the README tells a user to.

The simulator keeps its documented credentials (api_key ``sim_api_key``, api_secret
``sim_api_secret``) and listens on a port of the system's choosing; the worked config
``examples/sim.toml`` is used as it is, its addresses overridden from the environment as the
README says any key can be (``ORDERDESK_KITE__ROOT``, ``ORDERDESK_API__PORT``…). The examples
and the CLI run as subprocesses, as a user runs them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.daemon import login_on_sim, running_daemon, sim_env
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SIM_CONFIG = EXAMPLES / "sim.toml"

pytestmark = pytest.mark.slow


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """`orderdesk sim --no-rate-limits` with its default credentials, prices held still."""
    with SimServer.run_in_thread(
        SimConfig(port=0, price_tick_interval=None, rate_limits=False)
    ) as server:
        yield server


@pytest.fixture
def env(sim: SimServer, tmp_path: Path) -> dict[str, str]:
    """What a user of examples/sim.toml exports, plus this test's addresses and directories."""
    return sim_env(SIM_CONFIG, sim, tmp_path)


def environment(env: Mapping[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    return {**clean, "COLUMNS": "200", **env}


def run(args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env=environment(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def orderdesk(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "orderdesk", *args], env)


def example(env: Mapping[str, str], name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, str(EXAMPLES / name), *args], env)


def login(sim: SimServer, env: Mapping[str, str]) -> None:
    assert "Logged in as AB1234" in login_on_sim(sim, env).stdout


def test_sim_config_logs_in_runs_the_desk_and_serves_a_client_strategy(
    sim: SimServer, env: dict[str, str]
) -> None:
    """With examples/sim.toml, `orderdesk login` then `orderdesk run` give a desk on the
    simulator that `orderdesk orders` and examples/client_strategy.py reach with no flags; the
    strategy's market order fills, and sending it again answers with the same order."""
    login(sim, env)
    with running_daemon(SIM_CONFIG, env=env):
        before = orderdesk(env, "orders", "--json")
        first = example(env, "client_strategy.py")
        again = example(env, "client_strategy.py")
        after = orderdesk(env, "orders", "--json")

    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout) == []
    assert first.returncode == 0, first.stdout + first.stderr
    placed = re.search(r"^(\S+) FILLED 5 @ \d", first.stdout, re.MULTILINE)
    assert placed is not None, first.stdout
    assert "momentum: 1 orders, P&L" in first.stdout
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[0] == first.stdout.splitlines()[0]
    orders = json.loads(after.stdout)
    assert [(o["order_id"], o["strategy"], o["instrument"]) for o in orders] == [
        (placed.group(1), "momentum", "NSE:TCS")
    ]


def test_embedded_strategy_waits_for_the_operators_approval(
    sim: SimServer, env: dict[str, str]
) -> None:
    """examples/embedded_strategy.py runs its own desk and submits through the approval queue
    its config turns on: the signal waits until `orderdesk pending --approve` (reaching the
    example's own API with no flags), then fills."""
    login(sim, env)
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "embedded_strategy.py")],
        env=environment(env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def waiting() -> list[dict[str, object]]:
            if process.poll() is not None:
                raise AssertionError("the example exited:\n" + "".join(process.communicate()))
            listed = orderdesk(env, "pending", "--json")
            return json.loads(listed.stdout) if listed.returncode == 0 else []

        pending = wait_until(waiting, timeout=60, interval=0.2, what="the parked signal")
        assert [p["signal"]["strategy"] for p in pending] == ["mean_rev"]
        approved = orderdesk(env, "pending", "--approve", str(pending[0]["approval_id"]))
        assert approved.returncode == 0, approved.stdout + approved.stderr
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, out + err
    assert re.search(r"^\S+ FILLED 10 @ \d", out, re.MULTILINE), out


def test_kiteconnect_sandbox_recipe_runs_the_official_client_on_the_simulator(
    sim: SimServer,
) -> None:
    """examples/kiteconnect_sandbox.py logs the official client in through the sim's login
    redirect with the sim's default credentials, reads a quote and places an order."""
    result = example({}, "kiteconnect_sandbox.py", sim.rest_root)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "logged in as AB1234" in result.stdout
    assert re.search(r"^INFY last price \d", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^placed order \S+", result.stdout, re.MULTILINE), result.stdout


def test_reference_config_passes_config_check(tmp_path: Path) -> None:
    """examples/orderdesk.toml, the README's configuration, is valid: `orderdesk config check`
    builds its broker adapter and lists its approval strategy."""
    result = orderdesk(
        {"ORDERDESK_CONFIG_DIR": str(tmp_path / "config")},
        "config",
        "check",
        "--json",
        "--config",
        str(EXAMPLES / "orderdesk.toml"),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["approval_strategies"] == ["mean_rev"]
