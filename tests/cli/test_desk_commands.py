"""The trading CLI end to end: a real `orderdesk run` daemon on the paper broker, driven by
the commands a person types."""

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
    """`orderdesk run` on the paper broker in a subprocess; yields its config and API URL."""
    config = paper_config(
        tmp_path_factory.mktemp("daemon"),
        # 20%: the resting buys below sit up to 13% under the paper price of 1500.
        "[risk]\nmax_quantity = 100\nprice_band_percent = 20\n\n"
        "[strategies.careful]\napproval = true\n",
    )
    with running_daemon(config) as url:
        yield config, url


def cli(daemon: tuple[Path, str], *args: str) -> tuple[int, str]:
    config, url = daemon
    result = runner.invoke(app, [*args, "--config", str(config), "--url", url])
    return result.exit_code, result.output


def test_place_rests_then_modify_and_cancel(daemon: tuple[Path, str]) -> None:
    """A resting buy is placed, re-priced and cancelled through the commands."""
    code, out = cli(daemon, "place", "NSE:INFY", "BUY", "5", "--price", "1400", "--json")
    assert code == 0, out
    order = json.loads(out)["order"]
    assert order["status"] in ("ACCEPTED", "OPEN")
    order_id = order["order_id"]
    code, out = cli(daemon, "modify", order_id, "--price", "1410", "--json")
    assert code == 0, out
    code, out = cli(daemon, "cancel", order_id, "--json")
    assert code == 0, out

    def cancelled() -> bool:
        _, listing = cli(daemon, "orders", "--json")
        rows = {o["order_id"]: o for o in json.loads(listing)}
        return rows[order_id]["status"] == "CANCELLED" and rows[order_id]["price"] == "1410"

    wait_until(cancelled, timeout=10, what="the cancel to land")


def test_fill_shows_in_positions(daemon: tuple[Path, str]) -> None:
    """A marketable buy fills and appears in the positions table."""
    code, out = cli(daemon, "place", "NSE:TCS", "BUY", "2", "--price", "4000", "--signal-id", "t1")
    assert code == 0, out

    def has_position() -> str | None:
        _, listing = cli(daemon, "positions")
        return listing if "NSE:TCS" in listing else None

    table = wait_until(has_position, timeout=10, what="the TCS position")
    assert "P&L" in table


def test_same_signal_id_is_one_order(daemon: tuple[Path, str]) -> None:
    """Submitting the same signal id twice returns the same order, the second time marked as
    the order the signal made before (``existing``; the table says nothing new was placed)."""
    args = ("place", "NSE:INFY", "BUY", "1", "--price", "1300", "--signal-id", "same-1")
    first = json.loads(cli(daemon, *args, "--json")[1])
    second = json.loads(cli(daemon, *args, "--json")[1])
    assert first["order"]["order_id"] == second["order"]["order_id"]
    assert (first["outcome"], second["outcome"]) == ("submitted", "existing")
    code, table = cli(daemon, *args)
    assert code == 0, table
    assert "sent before, nothing new placed: submitted" in table
    assert f"this is the order it made, {first['order']['order_id']}" in table
    order_id = first["order"]["order_id"]
    assert cli(daemon, "cancel", order_id)[0] == 0

    def cancelled() -> bool:
        listing = json.loads(cli(daemon, "orders", "--json")[1])
        return any(o["order_id"] == order_id and o["status"] == "CANCELLED" for o in listing)

    wait_until(cancelled, timeout=10, what="the order cancelled")
    code, table = cli(daemon, *args)
    assert code == 0, table
    # The order as it stands, not "submitted" over a cancelled row.
    assert "sent before, nothing new placed: the order is cancelled" in " ".join(table.split())


def test_risk_denial_exits_3_with_the_reason(daemon: tuple[Path, str]) -> None:
    """A signal over the max quantity is refused with exit code 3 and the check's reason."""
    code, out = cli(daemon, "place", "NSE:INFY", "BUY", "500", "--price", "1400")
    assert code == 3
    assert "max_quantity" in out


def test_kill_switch_refuses_then_releases(daemon: tuple[Path, str]) -> None:
    """With the kill switch on new signals are refused; off, they are accepted again."""
    assert cli(daemon, "kill-switch", "on", "--reason", "drill")[0] == 0
    code, out = cli(daemon, "place", "NSE:INFY", "BUY", "1", "--price", "1400")
    assert code == 3
    assert "kill" in out.lower()
    code, out = cli(daemon, "status", "--json")
    assert json.loads(out)["kill_switch"]["engaged"] is True
    # Read without changing it: how it stands, and why (no way but `status`'s one word).
    code, out = cli(daemon, "kill-switch", "status")
    assert (code, " ".join(out.split())) == (0, "kill switch ENGAGED (drill)")
    assert cli(daemon, "kill-switch", "off", "--reason", "drill over")[0] == 0
    # Why it is off too, as a restart reads it back from the log (it read nothing till then).
    assert " ".join(cli(daemon, "kill-switch", "status")[1].split()) == (
        "kill switch released (drill over)"
    )
    assert cli(daemon, "place", "NSE:INFY", "BUY", "1", "--price", "1400")[0] == 0


def test_approval_mode_parks_and_approves(daemon: tuple[Path, str]) -> None:
    """A signal of an approval strategy waits in `pending` until approved."""
    code, out = cli(
        daemon, "place", "NSE:INFY", "BUY", "1", "--price", "1350", "--strategy", "careful"
    )
    assert code == 0, out
    assert "waiting for approval" in out
    code, out = cli(daemon, "pending", "--json")
    waiting = [p for p in json.loads(out) if p["state"] == "PENDING"]
    assert len(waiting) == 1
    code, out = cli(daemon, "pending", "--approve", waiting[0]["approval_id"])
    assert code == 0, out
    _, listing = cli(daemon, "orders", "--json")
    assert any(o["strategy"] == "careful" for o in json.loads(listing))


def test_cancel_all_and_unknown_order(daemon: tuple[Path, str]) -> None:
    """cancel-all answers; an unknown order id is refused with exit code 3."""
    assert cli(daemon, "cancel-all")[0] == 0
    code, out = cli(daemon, "cancel", "od-no-such-order")
    assert code == 3, out


def test_wrong_token_exits_4(daemon: tuple[Path, str]) -> None:
    """A client with a wrong token is refused with exit code 4."""
    config, _ = daemon
    token_file = Path(
        runner.invoke(
            app, ["config", "show-token", "--path", "--config", str(config)]
        ).output.strip()
    )
    original = token_file.read_text()
    token_file.write_text("not-the-token")
    try:
        code, _ = cli(daemon, "orders")
        as_json = runner.invoke(app, ["orders", "--json", "--config", str(config)])
    finally:
        token_file.write_text(original)
    assert code == 4
    # The API's word for it (HTTP 401 says "unauthorised"); the CLI said "unauthorized".
    assert json.loads(as_json.stderr)["error"] == "unauthorised"


def test_unreachable_daemon_exits_1(daemon: tuple[Path, str]) -> None:
    """Pointing at a port where nothing listens fails with exit code 1 and says so."""
    config, _ = daemon
    result = runner.invoke(app, ["orders", "--config", str(config), "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "no order desk answered" in result.output


def test_a_signal_no_desk_answered_names_its_id_in_json(daemon: tuple[Path, str]) -> None:
    """README: `--json` errors carry `signal_id`; one the desk did not answer had it only in
    its message, so a script resending by the field found none (and chose a new id)."""
    config, _ = daemon
    place = ["place", "NSE:INFY", "BUY", "1", "--price", "1490", "--json"]
    result = runner.invoke(app, [*place, "--config", str(config), "--url", "http://127.0.0.1:9"])
    body = json.loads(result.stderr)
    assert (result.exit_code, body["error"]) == (1, "unavailable")
    assert f"--signal-id {body['signal_id']}" in body["message"]


def test_reconcile_prints_the_report(daemon: tuple[Path, str]) -> None:
    """`orderdesk reconcile` compares with the broker and says they agree, in one line (no
    empty table of differences)."""
    code, out = cli(daemon, "reconcile")
    assert code == 0, out
    assert "checked: in agreement with the broker" in out
    assert "detail" not in out


@pytest.mark.parametrize("command", ["cancel", "modify"])
def test_an_empty_order_id_is_a_usage_error(tmp_path: Path, command: str) -> None:
    """`orderdesk cancel ''` exits 2 naming the argument before it asks any desk (it asked for
    ``/api/orders/`` and printed pydantic's "Invalid JSON: EOF")."""
    config = tmp_path / "orderdesk.toml"
    config.write_text(f'broker = "paper"\nconfig_dir = "{tmp_path}"\n')
    args = [command, "", "--config", str(config), "--url", "http://127.0.0.1:9"]
    if command == "modify":
        args += ["--quantity", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "Invalid value for 'order_id': must not be empty or blank" in message
    assert "JSON" not in message
