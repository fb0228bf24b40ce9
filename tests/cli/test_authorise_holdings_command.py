"""`orderdesk authorise-holdings` where it cannot work: a malformed quantity is a usage error
before the desk is asked, and a broker without holdings (paper) says so (exit 3). Its working
path, against the simulator playing an account without DDPI, is in tests/test_sim_days_daemon.py."""

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


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    config = paper_config(tmp_path_factory.mktemp("daemon"))
    with running_daemon(config) as url:
        yield config, url


def cli(daemon: tuple[Path, str], *args: str) -> tuple[int, str]:
    config, url = daemon
    result = runner.invoke(app, [*args, "--config", str(config), "--url", url])
    return result.exit_code, result.output


def test_a_quantity_that_is_not_a_number_is_a_usage_error(daemon: tuple[Path, str]) -> None:
    code, out = cli(daemon, "authorise-holdings", "NSE:INFY=ten")
    assert code == 2, out
    assert "'NSE:INFY=ten': QTY is a whole number" in out


def test_the_paper_broker_says_it_has_no_such_thing(daemon: tuple[Path, str]) -> None:
    code, out = cli(daemon, "authorise-holdings", "--json")
    assert code == 3, out
    error = json.loads(out)
    assert error["error"] == "not_offered"
    assert "holdings authorisation" in error["message"]
