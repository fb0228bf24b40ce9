"""``orderdesk sim --port`` outside 0-65535 is a usage error, not an OverflowError's traceback."""

from __future__ import annotations

import pytest
import typer
from click.testing import CliRunner

from orderdesk.cli import app, sim_command

assert sim_command.sim is not None  # imported for its side effect: ``sim`` registered on ``app``


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_a_port_outside_the_range_is_a_usage_error(port: str) -> None:
    """The port is refused before the simulator is built, naming the option and the range."""
    result = CliRunner().invoke(
        typer.main.get_group(app), ["sim", "--port", port], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2, result.output
    assert "--port" in result.output
    assert f"Invalid value for --port: {port} is not a port from 0 to 65535" in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, OverflowError)
