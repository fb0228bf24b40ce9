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


def _tcs(daemon: tuple[Path, str]) -> tuple[int, dict[str, str]]:
    """The TCS MIS position, and the status of each TCS order by id."""
    _, listing = cli(daemon, "positions", "--json")
    net = sum(
        int(p["quantity"])
        for p in json.loads(listing)
        if p["instrument"] == "NSE:TCS" and p["product"] == "MIS"
    )
    _, orders = cli(daemon, "orders", "--json")
    statuses = {
        o["order_id"]: o["status"] for o in json.loads(orders) if o["instrument"] == "NSE:TCS"
    }
    return net, statuses


def test_exit_cancels_the_working_stop_first_and_says_so(daemon: tuple[Path, str]) -> None:
    """Long 8 TCS MIS with a SELL SL-M 8 working: `orderdesk exit` prints the stop it cancelled,
    and the account ends flat with the stop cancelled; `--keep-working` leaves a second stop
    working beside the exit."""
    code, out = cli(daemon, "place", "NSE:TCS", "BUY", "8", "--type", "MARKET", "--product", "MIS")
    assert code == 0, out
    wait_until(lambda: _tcs(daemon)[0] == 8, timeout=10, what="the bought position")
    stop_args = ("place", "NSE:TCS", "SELL", "8", "--type", "SL-M", "--trigger", "3800")
    code, out = cli(daemon, *stop_args, "--product", "MIS", "--json")
    assert code == 0, out
    stop = json.loads(out)["order"]["order_id"]
    wait_until(lambda: _tcs(daemon)[1][stop] == "TRIGGER_PENDING", timeout=10, what="the stop")

    code, out = cli(daemon, "exit", "NSE:TCS", "--product", "MIS")
    assert code == 0, out
    assert f"cancelled first: {stop}" in out
    wait_until(lambda: _tcs(daemon)[0] == 0, timeout=10, what="the exit to fill")
    assert _tcs(daemon)[1][stop] == "CANCELLED"

    code, out = cli(daemon, "place", "NSE:TCS", "BUY", "8", "--type", "MARKET", "--product", "MIS")
    assert code == 0, out
    wait_until(lambda: _tcs(daemon)[0] == 8, timeout=10, what="bought again")
    code, out = cli(daemon, *stop_args, "--product", "MIS", "--json")
    kept = json.loads(out)["order"]["order_id"]
    wait_until(lambda: _tcs(daemon)[1][kept] == "TRIGGER_PENDING", timeout=10, what="the stop")
    code, out = cli(daemon, "exit", "NSE:TCS", "--product", "MIS", "--keep-working", "--json")
    assert code == 0, out
    assert json.loads(out)["cancelled"] == []
    wait_until(lambda: _tcs(daemon)[0] == 0, timeout=10, what="the exit to fill")
    assert _tcs(daemon)[1][kept] == "TRIGGER_PENDING"
    code, out = cli(daemon, "cancel", kept)
    assert code == 0, out
