"""Risk from the shell, on a real `orderdesk run` daemon with no `[risk]` table: the shipped
defaults refuse what a new user did not mean, and a signal that is to wait for approval is
refused at once when it breaks a limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from tests.daemon import paper_config, running_daemon

_register_commands()
runner = CliRunner()

CAREFUL = "[strategies.careful]\napproval = true\n\n[strategies.careful.risk]\nmax_quantity = 5\n"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """`orderdesk run` on the paper broker (INFY at 1500) with the default limits only."""
    config = paper_config(tmp_path_factory.mktemp("risk"), CAREFUL)
    with running_daemon(config) as url:
        yield config, url


def cli(daemon: tuple[Path, str], *args: str) -> tuple[int, str]:
    config, url = daemon
    result = runner.invoke(app, [*args, "--config", str(config), "--url", url])
    return result.exit_code, result.output


def test_config_check_shows_the_default_limits_in_force(daemon: tuple[Path, str]) -> None:
    """`config check` names each default limit with its value, and the strategy's own."""
    config, _ = daemon
    result = runner.invoke(app, ["config", "check", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["risk"]["max_quantity"] == "1000"
    assert summary["risk"]["max_order_value"] == "500000"
    assert summary["risk"]["price_band_percent"] == "10"
    assert summary["risk"]["daily_loss_limit"] == "10000"
    assert summary["risk"]["max_open_orders"] == "off"
    assert set(summary["risk_defaults"]) == {
        "max_quantity",
        "max_order_value",
        "price_band_percent",
        "daily_loss_limit",
    }
    assert summary["strategy_risk"] == {"careful": {"max_quantity": "5"}}
    text = runner.invoke(app, ["config", "check", "--config", str(config)]).output
    assert "max_quantity: 1000 (default)" in text
    assert '"off"' in text


def test_config_check_shows_a_default_switched_off(tmp_path: Path) -> None:
    """A default switched off with "off" is shown as off, and no longer as a default."""
    config = paper_config(tmp_path, '[risk]\nmax_order_value = "off"\nmax_quantity = 20000\n')
    result = runner.invoke(app, ["config", "check", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["risk"]["max_order_value"], summary["risk"]["max_quantity"]) == (
        "off",
        "20000",
    )
    assert set(summary["risk_defaults"]) == {"price_band_percent", "daily_loss_limit"}


def test_a_huge_market_order_is_refused_without_any_risk_table(
    daemon: tuple[Path, str],
) -> None:
    """100,000 shares at market exits 3 naming max_quantity, and no order is made."""
    code, out = cli(daemon, "place", "NSE:INFY", "BUY", "100000", "--type", "MARKET")
    assert code == 3, out
    assert "max_quantity" in out
    _, listing = cli(daemon, "orders", "--json")
    assert [o for o in json.loads(listing) if o["quantity"] == 100000] == []


def test_order_value_and_price_band_defaults_refuse(daemon: tuple[Path, str]) -> None:
    """₹6 lakh of INFY is over the ₹5 lakh default; a price with a slipped digit is outside
    the 10% band; an ordinary order passes."""
    code, out = cli(daemon, "place", "NSE:INFY", "BUY", "400", "--price", "1500")
    assert code == 3, out
    assert "max_order_value" in out
    code, out = cli(daemon, "place", "NSE:INFY", "BUY", "1", "--price", "15000")
    assert code == 3, out
    assert "price_band" in out
    code, out = cli(daemon, "place", "NSE:INFY", "BUY", "10", "--price", "1450")
    assert code == 0, out


def test_an_approval_signal_over_its_limit_is_refused_at_once(daemon: tuple[Path, str]) -> None:
    """A signal of an approval strategy over the strategy's max_quantity exits 3 with the
    check and the strategy named, and nothing waits in `pending`; within it, it waits."""
    args = ("place", "NSE:INFY", "BUY", "6", "--price", "1450", "--strategy", "careful")
    code, out = cli(daemon, *args)
    assert code == 3, out
    assert "max_quantity" in out
    assert "strategy careful" in out
    _, pending = cli(daemon, "pending", "--json")
    assert json.loads(pending) == []
    code, out = cli(
        daemon, "place", "NSE:INFY", "BUY", "5", "--price", "1450", "--strategy", "careful"
    )
    assert code == 0, out
    _, pending = cli(daemon, "pending", "--json")
    assert [p["signal"]["quantity"] for p in json.loads(pending)] == [5]
