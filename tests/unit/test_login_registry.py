"""The broker registry hands out an adapter's login by the configured broker name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orderdesk.brokers import BrokerContext, create_login_flow, load_login_flow_factory
from orderdesk.errors import ConfigError
from orderdesk.ports.login import LoginFlow


class MemorySecrets:
    """A SecretStore in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


@pytest.fixture
def context(tmp_path: Path) -> BrokerContext:
    """A broker context with an empty secret store."""
    return BrokerContext(secrets=MemorySecrets(), data_dir=tmp_path)


def test_kite_offers_a_login_flow(context: BrokerContext) -> None:
    """``kite`` has a login: built from its section, a LoginFlow, with nothing connected yet."""
    flow = create_login_flow("kite", {"api_key": "k1", "root": "http://127.0.0.1:9"}, context)

    assert isinstance(flow, LoginFlow)
    assert flow.login_url() == "http://127.0.0.1:9/connect/login?api_key=k1&v=3"


def test_the_paper_broker_has_no_login(context: BrokerContext) -> None:
    """``paper`` offers no login capability: the registry answers None, not an error."""
    assert load_login_flow_factory("paper") is None
    assert create_login_flow("paper", {}, context) is None


def test_an_unknown_broker_is_a_config_error(context: BrokerContext) -> None:
    """Asking for the login of a broker nobody installed names the ones that exist."""
    with pytest.raises(ConfigError) as exc_info:
        create_login_flow("carrier_pigeon", {}, context)

    assert "no adapter named 'carrier_pigeon'" in str(exc_info.value)
    assert "kite" in str(exc_info.value)


def test_the_login_validates_its_section(context: BrokerContext) -> None:
    """A kite section without api_key is a ConfigError naming the variable and the key."""
    with pytest.raises(ConfigError) as exc_info:
        create_login_flow("kite", {}, context)

    assert "ORDERDESK_KITE__API_KEY or kite.api_key" in str(exc_info.value)


def test_the_login_commands_do_not_import_the_kite_adapter() -> None:
    """Loading ``orderdesk login``'s module leaves the Kite folder unimported: the registry
    reaches it only when the configured broker is kite."""
    code = (
        "import sys, orderdesk.cli.auth_commands; "
        "print(sorted(m for m in sys.modules if m.startswith('orderdesk.brokers.kite')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
