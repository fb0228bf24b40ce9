"""A running demo and the CLI meet: `orderdesk demo` (and `make demo`, exactly as the README's
quick start prints it) serves a desk that every CLI command reaches with no extra step."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderdesk.desk_address import address_path
from tests.support import interruptible, wait_until

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def demo_config(tmp_path: Path) -> Path:
    """A config whose only changes are where the token lives and a free port for the API."""
    config = tmp_path / "orderdesk.toml"
    config.write_text(f'config_dir = "{tmp_path / "config"}"\n\n[api]\nport = 0\n')
    return config


def environment(config: Path | None = None) -> dict[str, str]:
    """A user's shell: no ORDERDESK_* of the test run's, and not inside `make test`'s make."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ORDERDESK_") and k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}
    }
    named = {"ORDERDESK_CONFIG": str(config)} if config is not None else {}
    return {**clean, "COLUMNS": "200", **named}


def orderdesk(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A CLI command as a user types it: no --url, no token, the config found by
    $ORDERDESK_CONFIG."""
    return subprocess.run(
        [sys.executable, "-m", "orderdesk", *args],
        env=environment(config),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class Demo:
    """A demo process whose output is read until the sample strategy has told its story."""

    def __init__(self, command: list[str], config: Path) -> None:
        self.process = subprocess.Popen(
            command,
            env=environment(config),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # make, uv and the demo: one group, interrupted as one
            preexec_fn=interruptible,
        )
        self.lines: list[str] = []

    def told(self) -> str:
        """The output up to the positions table, which the demo prints after its strategy."""
        stdout = self.process.stdout
        assert stdout is not None

        def story() -> bool:
            line = stdout.readline()
            self.lines.append(line)
            if not line and self.process.poll() is not None:
                raise AssertionError("the demo exited:\n" + "".join(self.lines))
            return "positions — P&L" in line

        wait_until(story, timeout=120, interval=0, what="the demo's story")
        return "".join(self.lines)

    def interrupt(self) -> None:
        """Ctrl-C, as a user stops it (once; later calls find it stopped)."""
        assert self.process.stdout is not None
        if self.process.stdout.closed:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.lines.append(self.process.stdout.read())
        self.process.stdout.close()


@pytest.fixture
def demo_process() -> Iterator[list[Demo]]:
    started: list[Demo] = []
    yield started
    for demo in started:
        demo.interrupt()


def check_cli_meets_demo(demo: Demo, config: Path) -> None:
    output = demo.told()
    token = re.search(r"API token\s+(\S+)", output)
    assert token is not None, output

    orders = orderdesk(config, "orders", "--json")
    positions = orderdesk(config, "positions", "--json")
    shown = orderdesk(config, "config", "show-token")

    assert orders.returncode == 0, orders.stdout + orders.stderr
    statuses = sorted(o["status"] for o in json.loads(orders.stdout))
    assert statuses == ["CANCELLED", "FILLED", "FILLED", "FILLED"]
    assert positions.returncode == 0, positions.stdout + positions.stderr
    assert {p["instrument"] for p in json.loads(positions.stdout)} >= {"NSE:INFY"}
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == token.group(1)

    demo.interrupt()
    assert "demo stopped" in "".join(demo.lines)
    assert not address_path(config.parent / "config").exists()


def test_cli_commands_reach_a_running_demo(tmp_path: Path, demo_process: list[Demo]) -> None:
    """With `orderdesk demo` running on a port of the system's choice, `orderdesk orders`,
    `positions` and `config show-token` work with no flag: the demo uses the config's API token
    and announces its address beside it (and withdraws it when stopped)."""
    config = demo_config(tmp_path)
    demo = Demo([sys.executable, "-m", "orderdesk", "demo"], config)
    demo_process.append(demo)

    check_cli_meets_demo(demo, config)


def test_quick_start_make_demo_then_the_cli(tmp_path: Path, demo_process: list[Demo]) -> None:
    """The README's quick start, `make demo` as printed, gives a desk that `orderdesk orders`
    reaches with no extra step (the config named by $ORDERDESK_CONFIG only moves the token to a
    temporary dir and the API to a free port)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    plan = subprocess.run(
        ["make", "-n", "demo"],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    commands = [line for line in plan.stdout.splitlines() if line.strip()]
    if plan.returncode != 0 or len(commands) != 1 or "orderdesk demo" not in commands[0]:
        # Anything else would bootstrap or re-sync the environment these tests run in.
        pytest.skip(f"`make demo` would first prepare the environment: {commands}")
    config = demo_config(tmp_path)
    demo = Demo(["make", "demo"], config)
    demo_process.append(demo)

    check_cli_meets_demo(demo, config)
