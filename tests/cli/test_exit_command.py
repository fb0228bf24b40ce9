"""`orderdesk exit` end to end: a real `orderdesk run` daemon on the paper broker flattens a
position through ``POST /api/positions/exit`` and the desk's escalated exit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from tests.daemon import paper_config, running_daemon
from tests.support import wait_until

_register_commands()
runner = CliRunner()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """`orderdesk run` on the paper broker, with an [exit] policy of its own."""
    config = paper_config(
        tmp_path_factory.mktemp("daemon"),
        "[exit]\nreprice_after_seconds = 1\nmax_reprices = 1\nband_percent = 1\n",
    )
    with running_daemon(config) as url:
        yield config, url


def cli(daemon: tuple[Path, str], *args: str) -> tuple[int, str]:
    config, url = daemon
    result = runner.invoke(app, [*args, "--config", str(config), "--url", url])
    return result.exit_code, result.output


def _net(daemon: tuple[Path, str]) -> int:
    _, listing = cli(daemon, "positions", "--json")
    rows = [p for p in json.loads(listing) if p["instrument"] == "NSE:INFY"]
    return sum(int(p["quantity"]) for p in rows if p["product"] == "MIS")


def test_exit_flattens_the_position_and_then_has_nothing_to_exit(
    daemon: tuple[Path, str],
) -> None:
    """A bought MIS position is sold back by `orderdesk exit`; a second exit finds none."""
    code, out = cli(daemon, "place", "NSE:INFY", "BUY", "5", "--type", "MARKET", "--product", "MIS")
    assert code == 0, out
    wait_until(lambda: _net(daemon) == 5, timeout=10, what="the bought position")
    code, out = cli(daemon, "exit", "NSE:INFY", "--product", "MIS", "--json")
    assert code == 0, out
    order = json.loads(out)["order"]
    assert (order["side"], order["quantity"], order["order_type"]) == ("SELL", 5, "MARKET")
    wait_until(lambda: _net(daemon) == 0, timeout=10, what="the exit to fill")
    code, out = cli(daemon, "exit", "NSE:INFY", "--product", "MIS")
    assert code == 0, out
    assert "nothing to exit: no MIS position in NSE:INFY" in out


def test_a_bad_override_exits_3_naming_the_field(daemon: tuple[Path, str]) -> None:
    """--max-reprices beyond 20 is refused before the desk is asked."""
    code, out = cli(daemon, "exit", "NSE:INFY", "--max-reprices", "50", "--json")
    assert code == 3, out
    assert json.loads(out)["fields"][0]["field"] == "max_reprices"


def test_exit_help_says_what_the_policy_does() -> None:
    """--help names the [exit] settings and the escalation."""
    result = runner.invoke(app, ["exit", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for words in (
        "[exit] reprice_after_seconds",
        "band_percent",
        "max_reprices",
        "CRITICAL",
        "--reprice-after",
        "--band",
    ):
        assert words in text
