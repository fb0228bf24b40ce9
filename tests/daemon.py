"""Run `orderdesk run` as a real subprocess for end-to-end tests, and the CLI against it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import requests
from rich.console import Console
from typer.testing import CliRunner

from orderdesk.cli import _common as cli_output
from orderdesk.cli import _register_commands, app
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.support import wait_until

_register_commands()
_RUNNER = CliRunner()


@contextlib.contextmanager
def running_daemon(
    config: Path, *, timeout: float = 30.0, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Start the daemon with ``config`` (and ``env`` over a clean environment); yield its API
    URL; stop it with SIGTERM (exit 0)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env = {**clean, "COLUMNS": "200", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "orderdesk", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    output = process.stdout
    lines: list[str] = []

    def dashboard_url() -> str | None:
        line = output.readline()
        lines.append(line)
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        if match is None and process.poll() is not None:
            raise AssertionError("daemon exited:\n" + "".join(lines))
        return match.group(1) if match else None

    try:
        yield wait_until(dashboard_url, timeout=timeout, what="the daemon's dashboard line")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=20)
        finally:
            lines.append(output.read())
            output.close()
    assert code == 0, "".join(lines)


def paper_config(tmp_path: Path, extra: str = "", *, paper_cash: str = "1000000") -> Path:
    """An orderdesk.toml for the paper broker with its own data and config dirs under tmp."""
    path = tmp_path / "orderdesk.toml"
    path.write_text(
        f"""
broker = "paper"
data_dir = "{tmp_path / "data"}"
config_dir = "{tmp_path / "conf"}"

[paper]
cash = "{paper_cash}"
prices = {{ "NSE:INFY" = "1500", "NSE:TCS" = "4000" }}

[api]
port = 0

[trading_day]
enabled = false  # the paper broker is always open; these tests run at any hour
{extra}
"""
    )
    return path


def kite_sim_config(
    tmp_path: Path, sim: SimServer, *, kite: str = "", top: str = "", extra: str = ""
) -> tuple[Path, dict[str, str]]:
    """An orderdesk.toml for the Kite adapter on ``sim`` (its limiter off, trading days off:
    the simulator's market is always open here), with ``top`` keys, ``kite`` lines of its
    ``[kite]`` section and ``extra`` sections; and the daemon's env, holding a fresh token."""
    path = tmp_path / "orderdesk.toml"
    path.write_text(
        f"""
broker = "kite"
data_dir = "{tmp_path / "data"}"
config_dir = "{tmp_path / "conf"}"
{top}

[kite]
api_key = "{sim.config.api_key}"
root = "{sim.rest_root}"
ws_url = "{sim.ws_url}"
rate_limits_enabled = false
{kite}

[api]
port = 0

[trading_day]
enabled = false
{extra}
"""
    )
    env = {
        "ORDERDESK_KITE__ACCESS_TOKEN": sim.issue_access_token(),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    return path, env


def orderdesk(
    env: Mapping[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``orderdesk ARGS`` to its end, with ``env`` over a clean environment.

    Run in this process by the CLI's own entry (as the console script runs it), not in a fresh
    interpreter: the walks make hundreds of calls, and each fresh one spent about 0.6 s on the
    interpreter and the imports (70% of a walk's time), not on the command. The desk it talks to
    is a real `orderdesk run` process; the tests that run the console script itself are
    tests/test_demo_cli.py, tests/test_examples.py and tests/test_algo_id_daemon.py."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("ORDERDESK_")}
    with contextlib.chdir(cwd or Path.cwd()), _wide(cli_output.console, cli_output.err_console):
        result = _RUNNER.invoke(app, list(args), env={**unset, **env})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


@contextlib.contextmanager
def _wide(*consoles: Console) -> Iterator[None]:
    """The CLI's consoles 200 columns wide, as COLUMNS=200 makes them in a process of their own
    (they read it when the CLI is imported, once per process)."""
    widths = [console.width for console in consoles]
    for console in consoles:
        console.width = 200
    try:
        yield
    finally:
        for console, width in zip(consoles, widths, strict=True):
            console.width = width


@contextlib.contextmanager
def nse_sim() -> Iterator[SimServer]:
    """The simulator the day walks run on: NSE's hours and calendar, no price ticks (prices
    move when a test sets them) and no rate limits, serving from a background thread."""
    config = SimConfig(port=0, price_tick_interval=None, rate_limits=False, market_hours="nse")
    with SimServer.run_in_thread(config) as server:
        yield server


def sim_post(sim: SimServer, route: str, body: Mapping[str, Any]) -> None:
    """``POST /_sim/<route>`` (clock, prices, faults…), which must be taken."""
    reply = requests.post(f"{sim.rest_root}/_sim/{route}", json=body, timeout=10)
    assert reply.status_code == 200, reply.text


def sim_clock(sim: SimServer, when: str) -> None:
    """The simulator's clock to ``when`` (``YYYY-MM-DD HH:MM:SS``, IST)."""
    sim_post(sim, "clock", {"set": when})


def login_on_sim(sim: SimServer, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`orderdesk login`, handed the address the browser lands on after the sim's login page
    (which redirects at once), as a person passes it with ``--redirect-url``."""
    page = requests.get(
        f"{sim.rest_root}/connect/login",
        params={"api_key": sim.config.api_key, "v": "3"},
        allow_redirects=False,
        timeout=10,
    )
    result = orderdesk(env, "login", "--redirect-url", page.headers["Location"])
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def sim_env(config: Path, sim: SimServer, tmp_path: Path) -> dict[str, str]:
    """What a user of an examples/ config for the simulator exports (its secret is the sim's
    default), plus a test's addresses and directories."""
    return {
        "ORDERDESK_CONFIG": str(config),
        "ORDERDESK_KITE__API_SECRET": "sim_api_secret",
        "ORDERDESK_KITE__ROOT": sim.rest_root,
        "ORDERDESK_KITE__WS_URL": sim.ws_url,
        "ORDERDESK_API__PORT": "0",
        "ORDERDESK_CONFIG_DIR": str(tmp_path / "config"),
        "ORDERDESK_DATA_DIR": str(tmp_path / "data"),
        # The access token goes to the 0600 file in the config dir, not this machine's keyring.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
