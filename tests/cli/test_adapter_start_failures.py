"""A broker adapter that fails with an exception of its own (not one of the desk's errors) while
it is built, or while it starts, is told in one line naming the adapter and the exception, exit
1, as other start-up failures are; the traceback goes to the log at DEBUG only (it used to be a
full Python traceback from `config check` and `run`)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from importlib.metadata import entry_points as installed
from pathlib import Path
from typing import Any

import pytest
import structlog
from typer.testing import CliRunner, Result

from orderdesk import brokers
from orderdesk.brokers.paper import PaperBroker
from orderdesk.cli import _register_commands, app

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")


def failing_factory(options: Any, context: Any) -> Any:
    raise RuntimeError("no price feed configured")


class _StartFails(PaperBroker):
    name = "deadfeed"

    async def start(self) -> None:
        raise ConnectionRefusedError("feed at 127.0.0.1:1 refused")


def start_failing_factory(options: Any, context: Any) -> Any:
    return _StartFails()


@pytest.fixture(autouse=True)
def fake_adapters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adapters registered for this test, beside the installed ones: ``fixedfill``, whose
    factory raises, and ``deadfeed``, whose ``start()`` does."""
    module = sys.modules[__name__].__name__

    def entry_points(*, group: str) -> list[EntryPoint]:
        found = list(installed(group=group))
        if group == brokers.ENTRY_POINT_GROUP:
            found += [
                EntryPoint("fixedfill", f"{module}:failing_factory", group),
                EntryPoint("deadfeed", f"{module}:start_failing_factory", group),
            ]
        return found

    monkeypatch.setattr("orderdesk.brokers.entry_points", entry_points)


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """`run` configures the process's logging (at DEBUG, to a file, here): undone after each
    test, so neither this module's tests nor the next ones log to a closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    config = structlog.get_config()
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    structlog.configure(**config)


def write(tmp_path: Path, broker: str, body: str = "") -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(
        f'broker = "{broker}"\ndata_dir = "{tmp_path / "data"}"\n'
        f'config_dir = "{tmp_path / "conf"}"\n{body}[api]\nport = 0\n'
    )
    return path


def one_line_refusal(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize("command", [["config", "check"], ["run"]])
def test_a_factory_raising_is_one_line_naming_the_adapter(
    tmp_path: Path, command: list[str]
) -> None:
    config = write(tmp_path, "fixedfill")

    line = one_line_refusal(runner.invoke(app, [*command, "--config", str(config)]))

    assert line == (
        "error: the broker adapter 'fixedfill' failed to start: "
        "RuntimeError: no price feed configured"
    )


def test_config_check_logs_the_traceback_at_debug_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = write(tmp_path, "fixedfill")

    with caplog.at_level(logging.DEBUG, logger="orderdesk.brokers"):
        result = runner.invoke(app, ["config", "check", "--config", str(config)])

    one_line_refusal(result)
    (record,) = [r for r in caplog.records if r.name == "orderdesk.brokers"]
    assert record.levelno == logging.DEBUG
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


def test_config_check_json_says_it_in_the_error_object(tmp_path: Path) -> None:
    config = write(tmp_path, "fixedfill")

    result = runner.invoke(app, ["config", "check", "--json", "--config", str(config)])

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "the broker adapter 'fixedfill' failed to start: RuntimeError" in result.output


def test_run_with_an_adapter_whose_start_raises_is_one_line(tmp_path: Path) -> None:
    """Built, the adapter fails in ``start()``: one line naming it, as a factory's failure is
    (it was a traceback)."""
    config = write(tmp_path, "deadfeed")

    line = one_line_refusal(runner.invoke(app, ["run", "--config", str(config)]))

    assert line == (
        "error: the broker adapter 'deadfeed' failed to start: "
        "ConnectionRefusedError: feed at 127.0.0.1:1 refused"
    )
