"""``orderdesk sim`` as a user runs it: a subprocess that prints its URLs and serves."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import requests
import typer
from click.testing import CliRunner
from kiteconnect import KiteConnect
from rich.console import Console

from orderdesk.cli import app, sim_command
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.support import interruptible, wait_until

# Imported for its side effect (registering ``sim`` on ``app``), so the CliRunner tests do not
# depend on the other command modules; run as a group, as DRIVER below does and for its reason.
assert sim_command.sim is not None
ROOT = Path(__file__).resolve().parents[2]
# The real app with its registered commands, run as a command group: while ``sim`` is the only
# command, typer would otherwise collapse ``orderdesk sim`` into ``orderdesk`` (no subcommand).
DRIVER = (
    "import sys, typer; from orderdesk.cli import app, _register_commands; "
    "_register_commands(); typer.main.get_group(app)(sys.argv[1:])"
)


@pytest.mark.parametrize("variable", ["ORDERDESK_SIM__API_SECRET", "ORDERDESK_SIM_API_SECRET"])
def test_cli_prints_urls_and_serves_the_official_client(variable: str) -> None:
    """The command prints REST root and ticker URL, serves them with the secret from the
    environment (the old variable name too, with a deprecation warning), and stops on SIGINT."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env |= {"COLUMNS": "200", variable: "cli_secret"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            DRIVER,
            "sim",
            "--port",
            "0",
            "--tick-interval",
            "0",
            "--seed",
            "3",
            "--no-rate-limits",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
        preexec_fn=interruptible,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []

        def urls() -> tuple[str, str] | None:
            lines.append(proc.stdout.readline())  # type: ignore[union-attr]
            text = "".join(lines)
            rest = re.search(r"REST root: (http://127\.0\.0\.1:\d+)", text)
            ws = re.search(r"Ticker URL: (ws://127\.0\.0\.1:\d+/ws)", text)
            return (rest.group(1), ws.group(1)) if rest and ws else None

        rest_root, ws_url = wait_until(urls, timeout=20, what="the banner")
        assert ws_url == rest_root.replace("http://", "ws://") + "/ws"
        reply = requests.get(
            rest_root + "/connect/login",
            params={"api_key": "sim_api_key", "v": "3"},
            allow_redirects=False,
            timeout=10,
        )
        token = reply.headers["Location"].split("request_token=")[1].split("&")[0]
        kite = KiteConnect("sim_api_key", root=rest_root)
        kite.generate_session(token, api_secret="cli_secret")
        assert kite.profile()["user_id"] == "AB1234"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "cli_secret" not in "".join(lines) + out
    legacy = variable == "ORDERDESK_SIM_API_SECRET"
    said = " ".join(("".join(lines) + out).split())
    assert ("ORDERDESK_SIM_API_SECRET is deprecated" in said) is legacy


def test_holidays_flag_refuses_a_bad_file_with_exit_code_2(tmp_path: Path) -> None:
    """--holidays with a line that is not a date is a usage error naming the file and line."""
    bad = tmp_path / "holidays.txt"
    bad.write_text("2026-01-26\nRepublic Day\n")
    result = CliRunner().invoke(
        typer.main.get_group(app),
        ["sim", "--market-hours", "nse", "--holidays", str(bad)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 2
    assert "--holidays" in result.output
    assert "line 2" in result.output


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("2027-10-29@19:15-18:15", "before it closes"),
        ("2027-10-29@18:15", "HH:MM-HH:MM"),
        ("Diwali", "YYYY-MM-DD"),
    ],
)
def test_special_session_flag_refuses_bad_hours_with_exit_code_2(value: str, said: str) -> None:
    """--special-session takes YYYY-MM-DD or YYYY-MM-DD@HH:MM-HH:MM; anything else is a usage
    error that says which form it wants."""
    result = CliRunner().invoke(
        typer.main.get_group(app),
        ["sim", "--market-hours", "nse", "--special-session", value],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 2
    assert "--special-session" in result.output
    assert said in " ".join(result.output.split())


def test_special_session_flag_reads_a_date_with_or_without_hours() -> None:
    """A plain date keeps the usual hours; one with @HH:MM-HH:MM has its own, as the banner
    lists them."""
    assert sim_command.parse_special_session("2026-02-01") == (date(2026, 2, 1), None)
    day, hours = sim_command.parse_special_session("2027-10-29@18:15-19:15")
    assert day == date(2027, 10, 29)
    assert hours is not None
    assert (hours.opens.isoformat(), hours.closes.isoformat()) == ("18:15:00", "19:15:00")
    shown = banner(
        SimConfig(
            port=0,
            price_tick_interval=None,
            market_hours="nse",
            special_sessions=frozenset({date(2026, 2, 1)}),
            session_hours={day: hours},
        )
    )
    assert "2026-02-01, 2027-10-29 18:15-19:15" in shown


def test_holidays_flag_help_names_the_default_list() -> None:
    """--help says the default holidays are NSE's published 2026 list."""
    cli = typer.main.get_group(app)
    result = CliRunner().invoke(cli, ["sim", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--holidays" in result.output
    assert "NSE's published 2026 list" in " ".join(result.output.split())


def banner(config: SimConfig) -> str:
    with SimServer.run_in_thread(config) as sim:
        console = Console(file=io.StringIO(), width=200)
        console.print(sim_command._banner(sim))
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


def test_banner_shows_the_default_credentials_and_never_a_given_secret() -> None:
    """Started without credentials, the banner shows the documented defaults a client logs in
    with (api_key sim_api_key, api_secret sim_api_secret); a secret that was given is not shown."""
    default = banner(SimConfig(port=0, price_tick_interval=None))
    given = banner(SimConfig(port=0, price_tick_interval=None, api_secret="given-secret-42"))

    assert re.search(r"api_key\s+sim_api_key", default)
    assert re.search(r"api_secret\s+sim_api_secret \(default\)", default)
    assert re.search(r"api_secret\s+as given", given)
    assert "given-secret-42" not in given


def test_special_sessions_are_dates_and_the_banner_lists_them() -> None:
    """--special-session takes YYYY-MM-DD (anything else is a usage error naming the flag), and
    the banner of a simulator keeping trading days lists the sessions it trades."""
    result = CliRunner().invoke(
        typer.main.get_group(app),
        ["sim", "--market-hours", "nse", "--special-session", "budget-sunday"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 2
    assert "--special-session" in result.output
    sessions = frozenset({date(2026, 12, 13), date(2026, 2, 1)})
    shown = banner(SimConfig(port=0, market_hours="nse", special_sessions=sessions))
    assert re.search(r"Special sessions\s+2026-02-01, 2026-12-13", shown)


def test_a_port_in_use_is_one_line_and_exit_code_1() -> None:
    """A second simulator on a taken port says so in one line, not a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            typer.main.get_group(app), ["sim", "--port", str(port)], env={"COLUMNS": "200"}
        )
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "example.org"])  # noqa: S104
def test_a_host_other_machines_reach_is_refused_without_allow_remote(host: str) -> None:
    """--host of an address other machines reach is a usage error (exit 2) before anything is
    bound: the simulator's login logs anyone in with a public default secret."""
    result = CliRunner().invoke(
        typer.main.get_group(app), ["sim", "--host", host, "--port", "0"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "is not a loopback address" in said
    assert "--allow-remote" in said


def test_allow_remote_serves_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """With --allow-remote the simulator is started on the address asked for, after a warning
    that names it and the public default secret."""
    started: list[SimConfig] = []

    async def pretend(config: SimConfig, console: Console) -> None:
        started.append(config)

    monkeypatch.setattr(sim_command, "_serve", pretend)
    result = CliRunner().invoke(
        typer.main.get_group(app),
        ["sim", "--host", "0.0.0.0", "--port", "0", "--allow-remote"],  # noqa: S104
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert [config.host for config in started] == ["0.0.0.0"]  # noqa: S104
    said = " ".join(result.output.split())
    assert "warning: the simulator listens on 0.0.0.0, reachable from other machines" in said
    assert "public default api_secret" in said


def test_a_loopback_host_needs_no_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """::1 and 127.0.0.2 are this machine: served without --allow-remote and without warning."""
    started: list[str] = []

    async def pretend(config: SimConfig, console: Console) -> None:
        started.append(config.host)

    monkeypatch.setattr(sim_command, "_serve", pretend)
    for host in ("::1", "127.0.0.2"):
        result = CliRunner().invoke(
            typer.main.get_group(app), ["sim", "--host", host, "--port", "0"]
        )
        assert result.exit_code == 0, result.output
        assert "warning" not in result.output
    assert started == ["::1", "127.0.0.2"]
