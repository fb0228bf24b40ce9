"""``orderdesk login`` handing the desk a token its broker refuses: the desk keeps the session it
works with, and the login says so and exits 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderdesk.cli import app
from orderdesk.secrets import FileSecretStore
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.cli import test_auth_commands as auth
from tests.cli.test_auth_commands import (
    API_KEY,
    API_SECRET,
    FakeBrowser,
    desk_config,
    flat,
    free_port,
    login,
    runner,
    stored,
)
from tests.daemon import running_daemon

# The login tests' fixtures, under the names pytest finds them by.
home = auth.home
port = auth.port
sim = auth.sim
browser = auth.browser
hermetic_keyring = auth.hermetic_keyring


@pytest.fixture
def desk_sim() -> Iterator[SimServer]:
    """The Kite the desk trades on: another simulator than the login's, same app credentials,
    so a token from the login's is one this one never issued (as a token from the wrong app or
    account would be)."""
    config = SimConfig(
        port=0, api_key=API_KEY, api_secret=API_SECRET, price_tick_interval=None, rate_limits=False
    )
    with SimServer.run_in_thread(config) as server:
        yield server


def test_login_whose_token_the_desk_broker_refuses_exits_1_and_the_desk_keeps_its_session(
    home: Path,
    sim: SimServer,
    desk_sim: SimServer,
    port: int,
    browser: FakeBrowser,
    hermetic_keyring: None,
) -> None:
    """A desk working on a valid session is handed a token its broker refuses: login exits 1
    saying the broker refused the token and that the desk keeps its working session, the token
    is not printed, and `orderdesk session` still reads valid afterwards."""
    FileSecretStore(home / "secrets.json").set("kite.access_token", desk_sim.issue_access_token())
    config = desk_config(
        home,
        free_port(),
        "kite",
        f"""
[kite]
api_key = "{API_KEY}"
root = "{desk_sim.rest_root}"
ws_url = "{desk_sim.ws_url}"
rate_limits_enabled = false
""",
    )
    with running_daemon(config):
        before = runner.invoke(app, ["session", "--json"])
        result = login(sim, port)
        browser.join()
        after = runner.invoke(app, ["session", "--json"])

    assert before.exit_code == 0, flat(before)
    assert json.loads(before.stdout)["state"] == "valid"
    assert result.exit_code == 1, flat(result)
    assert "the broker refused this access token" in flat(result)
    assert "the desk keeps its working session" in flat(result)
    assert stored(home)["kite.access_token"] not in flat(result)
    assert after.exit_code == 0, flat(after)
    assert json.loads(after.stdout)["state"] == "valid"
