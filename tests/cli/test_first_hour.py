"""A new user's first hour (issue 16, points 1, 2 and 8), against a real `orderdesk run` on the
paper broker: bad input is refused in one line naming the field, never with a traceback; the
desk's answers are in a trader's words; help and tables can be read and copied from."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner, Result

from orderdesk.cli import _register_commands, app
from tests.daemon import paper_config, running_daemon
from tests.support import wait_until

_register_commands()
runner = CliRunner()

BAD_NUMBERS = [
    pytest.param(("place", "NSE:INFY", "BUY", "0", "--price", "1500"), "quantity", id="qty-0"),
    pytest.param(("place", "NSE:INFY", "BUY", "-5", "--price", "1500"), "quantity", id="qty-neg"),
    pytest.param(("place", "NSE:INFY", "BUY", "5", "--price", "-3"), "price", id="price-neg"),
    pytest.param(("place", "NSE:INFY", "BUY", "5", "--price", "abc"), "price", id="price-text"),
    pytest.param(("modify", "od-any", "--quantity", "0"), "quantity", id="modify-qty-0"),
]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """`orderdesk run` on the paper broker (INFY at 1500, TCS at 4000) in a subprocess."""
    config = paper_config(
        tmp_path_factory.mktemp("first-hour"),
        "[risk]\nmax_quantity = 100\nprice_band_percent = 20\n",
    )
    with running_daemon(config) as url:
        yield config, url


def cli(daemon: tuple[Path, str], *args: str, columns: int = 80) -> Result:
    """One command against the daemon, its output piped (not a terminal), 80 columns wide."""
    config, url = daemon
    return runner.invoke(
        app, [*args, "--config", str(config), "--url", url], env={"COLUMNS": str(columns)}
    )


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def api(daemon: tuple[Path, str], path: str) -> object:
    """GET an API route with the daemon's token (what the dashboard reads)."""
    config, url = daemon
    token_file = runner.invoke(app, ["config", "show-token", "--path", "--config", str(config)])
    token = Path(token_file.stdout.strip()).read_text().strip()
    reply = requests.get(url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    reply.raise_for_status()
    return reply.json()


def order_status(daemon: tuple[Path, str], order_id: str) -> str:
    rows = json.loads(cli(daemon, "orders", "--json").stdout)
    return str({o["order_id"]: o["status"] for o in rows}[order_id])


# -- point 1: plain bad input -------------------------------------------------------------------


@pytest.mark.parametrize(("args", "field"), BAD_NUMBERS)
def test_bad_numbers_are_refused_in_one_line_naming_the_field(
    daemon: tuple[Path, str], args: tuple[str, ...], field: str
) -> None:
    """A zero or negative quantity or price exits 3 with one line naming the field: no
    traceback, and a negative number is an argument, not "No such option"."""
    result = cli(daemon, *args)
    assert result.exit_code == 3, result.output
    assert one_line(result.stderr).startswith(f"error: {field}: ")
    assert "Traceback" not in result.output
    assert "No such option" not in result.output


@pytest.mark.parametrize(("args", "field"), BAD_NUMBERS)
def test_bad_numbers_with_json_are_one_json_object_on_stderr(
    daemon: tuple[Path, str], args: tuple[str, ...], field: str
) -> None:
    """With --json the same refusal is one JSON object on stderr, naming the field, with the
    exit code kept (3) and nothing on stdout."""
    result = cli(daemon, *args, "--json")
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    error = json.loads(one_line(result.stderr))
    assert error["exit_code"] == 3
    assert error["message"].startswith(f"{field}: ")
    assert error["fields"][0]["field"] == field


def test_a_value_not_among_the_choices_is_one_usage_line(daemon: tuple[Path, str]) -> None:
    """`--product CO` exits 2 with one line naming the option and the choices (JSON with
    --json), not a framed panel."""
    args = ("place", "NSE:INFY", "BUY", "5", "--price", "1500", "--product", "CO")
    result = cli(daemon, *args)
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "--product" in line
    assert "'CNC', 'NRML', 'MIS', 'MTF'" in line
    assert "Value error" not in line
    as_json = cli(daemon, *args, "--json")
    assert as_json.exit_code == 2
    error = json.loads(one_line(as_json.stderr))
    assert (error["error"], error["exit_code"]) == ("usage", 2)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--bogus"], "No such option: --bogus (see `orderdesk --help`)"),
        (["audit", "--bogus"], "No such option: --bogus (see `orderdesk audit --help`)"),
        (["bogus"], "No such command 'bogus' (see `orderdesk --help`)"),
    ],
)
def test_an_unknown_option_or_command_at_any_level_is_one_usage_line(
    args: list[str], named: str
) -> None:
    """A group's own options fail before any command runs; that too is one line (exit 2), and
    one JSON object when the line asks for --json, never the framed panel."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert one_line(result.stderr) == f"error: {named}"
    as_json = runner.invoke(app, [*args, "--json"])
    assert as_json.exit_code == 2
    error = json.loads(one_line(as_json.stderr))
    assert (error["error"], error["exit_code"]) == ("usage", 2)


@pytest.mark.parametrize("address", ["foo", "ftp://127.0.0.1:8700", "127.0.0.1:8700"])
def test_a_daemon_address_that_is_no_http_url_is_a_usage_line(address: str) -> None:
    """`--url` that is not an http:// address exits 2 with one line naming it, no traceback."""
    result = runner.invoke(app, ["orders", "--url", address])
    assert result.exit_code == 2
    assert "Invalid value for '--url'" in one_line(result.stderr)
    assert "Traceback" not in result.output


# -- point 2: messages a trader can use ---------------------------------------------------------


def test_an_unknown_symbol_is_reported_as_unknown(daemon: tuple[Path, str]) -> None:
    """A symbol the desk's instrument list lacks is refused as unknown (exit 3), not as a
    price-band failure."""
    result = cli(daemon, "place", "NSE:FOOBAR", "BUY", "5", "--price", "10")
    assert result.exit_code == 3, result.output
    assert one_line(result.stderr) == "error: instrument: unknown instrument NSE:FOOBAR"


def test_a_validation_error_is_said_once(daemon: tuple[Path, str]) -> None:
    """A LIMIT order without a price is refused with the reason once, without a status code."""
    result = cli(daemon, "place", "NSE:INFY", "BUY", "5")
    assert result.exit_code == 3
    assert one_line(result.stderr) == "error: price: is required for a LIMIT order"


def test_second_cancel_and_modify_of_a_filled_order_say_why(daemon: tuple[Path, str]) -> None:
    """A second cancel says the order is already cancelled (and, a race with the order's end,
    pages nobody); modifying a filled order says it cannot be; neither they nor the alerts
    show the state machine's edges."""
    placed = cli(daemon, "place", "NSE:INFY", "BUY", "1", "--price", "1400", "--json")
    resting = json.loads(placed.stdout)["order"]["order_id"]
    assert cli(daemon, "cancel", resting).exit_code == 0
    wait_until(lambda: order_status(daemon, resting) == "CANCELLED", what="the cancel")
    again = cli(daemon, "cancel", resting)
    assert again.exit_code == 3
    assert one_line(again.stderr) == (
        f"error: order {resting} is already cancelled; nothing to cancel"
    )

    placed = cli(daemon, "place", "NSE:TCS", "BUY", "1", "--price", "4000", "--json")
    filled = json.loads(placed.stdout)["order"]["order_id"]
    wait_until(lambda: order_status(daemon, filled) == "FILLED", what="the fill")
    modify = cli(daemon, "modify", filled, "--price", "3990", "--json")
    assert modify.exit_code == 3
    assert json.loads(modify.stderr)["message"] == (
        f"order {filled} is filled; it cannot be modified"
    )

    alerts = api(daemon, "/api/alerts")
    assert isinstance(alerts, list)
    bodies = " ".join(str(a["body"]) for a in alerts)
    assert resting not in bodies
    assert f"order {filled} is filled; it cannot be modified" in bodies
    assert "->" not in bodies
    assert "REQUEST_" not in bodies


def test_a_cancel_that_lost_to_the_fill_says_so_and_pages_nobody(
    daemon: tuple[Path, str],
) -> None:
    """Cancelling an order that has filled exits 3 saying it is filled, and raises no alert
    (a cancel losing the race to a fill is an everyday event, not the operator's problem)."""
    placed = cli(daemon, "place", "NSE:TCS", "BUY", "1", "--price", "4010", "--json")
    filled = json.loads(placed.stdout)["order"]["order_id"]
    wait_until(lambda: order_status(daemon, filled) == "FILLED", what="the fill")
    result = cli(daemon, "cancel", filled)
    assert result.exit_code == 3, result.output
    assert one_line(result.stderr) == f"error: order {filled} is filled; nothing to cancel"
    alerts = api(daemon, "/api/alerts")
    assert isinstance(alerts, list)
    assert [a for a in alerts if filled in str(a["body"])] == []


# -- point 8: help and tables --------------------------------------------------------------------


def test_help_shows_flags_bare_and_the_products_a_new_order_takes() -> None:
    """Help shows no `<bool>` label, keeps `[api]` in the --url help, and lists for --product
    exactly the choices it accepts."""
    place = runner.invoke(app, ["place", "--help"], env={"COLUMNS": "120"})
    assert place.exit_code == 0
    assert "<bool>" not in place.stdout
    help_text = " ".join(" ".join(line.strip(" │").split()) for line in place.stdout.splitlines())
    assert "never [api] port on its own word" in help_text  # wherever the table wraps it
    assert "<CNC|NRML|MIS|MTF>" in place.stdout
    for command in ([], ["audit", "verify"], ["kill-switch"], ["orders"]):
        shown = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
        assert "<bool>" not in shown.stdout, command


def test_piped_orders_keep_whole_ids_a_time_and_a_counted_title(
    daemon: tuple[Path, str],
) -> None:
    """Piped at 80 columns, every order id is printed whole, each row has its time, and one
    open order is "1 open order"."""
    assert cli(daemon, "cancel-all").exit_code == 0
    wait_until(
        lambda: json.loads(cli(daemon, "orders", "--open", "--json").stdout) == [],
        what="no open orders",
    )
    cli(daemon, "place", "NSE:INFY", "BUY", "1", "--price", "1350")
    listing = cli(daemon, "orders", "--open")
    assert listing.exit_code == 0
    assert listing.stdout.splitlines()[0].strip() == "1 open order"
    header = listing.stdout.splitlines()[1]
    assert "time" in header
    assert "reason" in header  # piped: every column, however wide the table
    rows = json.loads(cli(daemon, "orders", "--json").stdout)
    text = cli(daemon, "orders").stdout
    for row in rows:
        assert row["order_id"] in text
    assert re.search(r"\b\d\d:\d\d:\d\d\b", text)


def test_orders_at_an_80_column_terminal_keep_whole_ids(daemon: tuple[Path, str]) -> None:
    """At an 80-column terminal the order ids are still whole: columns that do not fit are
    left out, and the title says which."""
    config, url = daemon
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env.update(COLUMNS="80", FORCE_COLOR="1")
    shown = subprocess.run(
        [sys.executable, "-m", "orderdesk", "orders", "--config", str(config), "--url", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", shown.stdout)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    rows = json.loads(cli(daemon, "orders", "--json").stdout)
    for row in rows:
        assert row["order_id"] in text
    assert "left out at this width" in " ".join(text.split())


def test_kill_switch_with_cancel_open_says_how_many_it_cancelled(
    daemon: tuple[Path, str],
) -> None:
    """Engaging the kill switch with --cancel-open tells how many open orders a cancel was sent
    for (and --json lists their ids)."""
    cli(daemon, "place", "NSE:INFY", "BUY", "1", "--price", "1360")
    open_ids = {o["order_id"] for o in json.loads(cli(daemon, "orders", "--open", "--json").stdout)}
    assert open_ids
    engaged = cli(daemon, "kill-switch", "on", "--cancel-open", "--reason", "drill", "--json")
    try:
        assert engaged.exit_code == 0, engaged.output
        assert set(json.loads(engaged.stdout)["cancelled"]) == open_ids
        again = cli(daemon, "kill-switch", "on", "--cancel-open", "--reason", "drill")
        assert "cancel asked for 0 open orders" in again.stdout
    finally:
        assert cli(daemon, "kill-switch", "off").exit_code == 0
