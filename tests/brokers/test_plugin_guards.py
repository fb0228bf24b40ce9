"""A third-party adapter that is no broker is refused where the registry loads or builds it, in
one line naming the adapter and what is wrong, exit 1; it used to pass `config check`.

- An object lacking members of the ``Broker`` protocol (no ``cancel_order``): `config check`
  passed it, `run` started, and each cancel failed with AttributeError. The line names what
  it lacks, which ``isinstance`` alone cannot say.
- A factory returning None: `config check` passed, `run` died in a 74-line traceback.
- An entry point naming no callable: the line said only "'int' object is not callable".
- A module raising on import: `run` and `config check` said it in one line, but `login` and
  `logout`, whose registry call imported the module unwrapped, printed the traceback.

A module that fails to import, or an entry point naming no callable, "failed to load" (it said
"failed to start", as a factory raising or ``start()`` failing still does).
"""

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
from orderdesk.brokers import BrokerContext, create_broker
from orderdesk.brokers.paper import PaperBroker
from orderdesk.cli import _register_commands, app
from orderdesk.errors import AdapterFailed
from orderdesk.ports.broker import Broker
from tests.contract.no_secrets import NoSecrets

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")
MODULE = sys.modules[__name__].__name__
EXPLODING_MODULE = "orderdesk_test_plugin_explodes"


LACKING = {"cancel_order", "order_margins"}
HalfBroker = type(
    "HalfBroker",
    (),
    {
        name: getattr(PaperBroker, name)
        for name in dir(PaperBroker)
        if not name.startswith("_") and name not in LACKING
    },
)
"""The paper broker's members but two, as an adapter whose author never wrote those."""


def half_factory(options: Any, context: BrokerContext) -> Any:
    return HalfBroker()


def none_factory(options: Any, context: BrokerContext) -> Any:
    return None


NOT_A_FACTORY = 42


@pytest.fixture(autouse=True)
def fake_adapters(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Adapters registered for this test beside the installed ones; ``explodes`` names a
    module, written here, whose import raises."""
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    (plugin_dir / f"{EXPLODING_MODULE}.py").write_text(
        'raise RuntimeError("acme: this plugin blows up on import")\n'
    )
    monkeypatch.syspath_prepend(str(plugin_dir))

    def entry_points(*, group: str) -> list[EntryPoint]:
        found = list(installed(group=group))
        if group == brokers.ENTRY_POINT_GROUP:
            found += [
                EntryPoint("halfway", f"{MODULE}:half_factory", group),
                EntryPoint("nothing", f"{MODULE}:none_factory", group),
                EntryPoint("notfactory", f"{MODULE}:NOT_A_FACTORY", group),
                EntryPoint("explodes", f"{EXPLODING_MODULE}:create_broker", group),
            ]
        return found

    monkeypatch.setattr("orderdesk.brokers.entry_points", entry_points)


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """`run` configures the process's logging (to the stream the runner captures): undone
    after each test, so later tests do not log to a closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    config = structlog.get_config()
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    structlog.configure(**config)


def write(tmp_path: Path, broker: str) -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(
        f'broker = "{broker}"\ndata_dir = "{tmp_path / "data"}"\n'
        f'config_dir = "{tmp_path / "conf"}"\n[api]\nport = 0\n'
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


def test_the_members_checked_are_the_ones_isinstance_needs() -> None:
    """Each member the registry checks is one without which an object is no ``Broker``, and an
    object with all of them is one: the list is the protocol's, not a copy that could drift."""
    from orderdesk.brokers import BROKER_MEMBERS

    assert {"name", "cancel_order", "events", "order_margins"} <= BROKER_MEMBERS
    complete = type("Complete", (), dict.fromkeys(BROKER_MEMBERS, len))
    assert isinstance(complete(), Broker)
    for name in BROKER_MEMBERS:
        lacking = type("Lacking", (), dict.fromkeys(BROKER_MEMBERS - {name}, len))
        assert not isinstance(lacking(), Broker), name


def test_the_registry_names_the_members_an_adapter_lacks(tmp_path: Path) -> None:
    with pytest.raises(AdapterFailed) as caught:
        create_broker("halfway", {}, BrokerContext(secrets=NoSecrets(), data_dir=tmp_path))

    assert "'halfway'" in str(caught.value)
    assert str(caught.value).endswith(
        f"{MODULE}:half_factory built a HalfBroker lacking cancel_order, order_margins"
    )


@pytest.mark.parametrize("command", [["config", "check"], ["run"]])
def test_an_adapter_lacking_members_is_one_line_naming_them(
    tmp_path: Path, command: list[str]
) -> None:
    line = one_line_refusal(
        runner.invoke(app, [*command, "--config", str(write(tmp_path, "halfway"))])
    )

    assert line.startswith("error: the broker adapter 'halfway' ")
    assert line.endswith("HalfBroker lacking cancel_order, order_margins")


@pytest.mark.parametrize("command", [["config", "check"], ["run"]])
def test_a_factory_returning_none_is_one_line(tmp_path: Path, command: list[str]) -> None:
    line = one_line_refusal(
        runner.invoke(app, [*command, "--config", str(write(tmp_path, "nothing"))])
    )

    assert line.startswith("error: the broker adapter 'nothing' ")
    assert line.endswith(f"{MODULE}:none_factory returned None, not a broker")


def test_an_entry_point_naming_no_callable_says_which(tmp_path: Path) -> None:
    config = write(tmp_path, "notfactory")

    line = one_line_refusal(runner.invoke(app, ["config", "check", "--config", str(config)]))

    assert line.startswith("error: the broker adapter 'notfactory' failed to load: ")
    assert line.endswith(f"{MODULE}:NOT_A_FACTORY is of type int, not a factory")


@pytest.mark.parametrize(
    "command",
    [["config", "check"], ["login", "--redirect-url", "http://127.0.0.1:1/?x=1"], ["logout"]],
)
def test_a_module_raising_on_import_is_one_line(tmp_path: Path, command: list[str]) -> None:
    config = write(tmp_path, "explodes")

    line = one_line_refusal(runner.invoke(app, [*command, "--config", str(config)]))

    assert line.startswith("error: the broker adapter 'explodes' failed to load: ")
    assert line.endswith("RuntimeError: acme: this plugin blows up on import")
