"""``orderdesk login`` / ``logout`` end to end against the simulator, through typer's CliRunner."""

from __future__ import annotations

import json
import os
import random
import socket
import stat
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import requests
from typer.testing import CliRunner, Result

from orderdesk.api_token import load_or_create_token
from orderdesk.cli import _register_commands, app
from orderdesk.cli import auth_commands as commands
from orderdesk.config import TradingDaySettings, sqlite_url
from orderdesk.desk_address import address_path
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.store.desk_lock import exclusive_desk
from tests.daemon import running_daemon

_register_commands()
runner = CliRunner()

API_KEY = "cli_api_key"
API_SECRET = "cli-api-secret-5f4e3d"


def free_port() -> int:
    """A loopback port that was free a moment ago (the callback server binds it next).

    Chosen below the kernel's ephemeral range when it is known: a port the kernel handed out
    and took back could go straight to the next ``bind(0)`` — the simulator's own listener,
    started between this probe and the login — and the callback server would find it taken.
    """
    low = _ephemeral_low()
    candidates = random.sample(range(10_000, low), 50) if low and low > 10_050 else [0] * 50
    for candidate in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port: int = probe.getsockname()[1]
        return port
    raise RuntimeError("no free loopback port found")


def _ephemeral_low() -> int | None:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A hermetic config dir and environment: no keyring, secret in the env, no stray token."""
    config_file = tmp_path / "orderdesk.toml"
    config_file.write_text('broker = "kite"\n')
    monkeypatch.setenv("ORDERDESK_CONFIG", str(config_file))
    monkeypatch.setenv("ORDERDESK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("ORDERDESK_KITE__API_KEY", API_KEY)
    monkeypatch.setenv("ORDERDESK_KITE__API_SECRET", API_SECRET)
    monkeypatch.delenv("ORDERDESK_KITE__ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("ORDERDESK_KITE_ACCESS_TOKEN", raising=False)  # the deprecated name
    monkeypatch.delenv("ORDERDESK_KITE_API_SECRET", raising=False)
    monkeypatch.delenv("ORDERDESK_KITE__ROOT", raising=False)
    monkeypatch.setitem(sys.modules, "keyring", None)
    return tmp_path / "config"


@pytest.fixture
def port() -> int:
    """The callback port registered as the sim app's redirect URL."""
    return free_port()


@pytest.fixture
def sim(port: int) -> Iterator[SimServer]:
    """The simulator in a thread, redirecting logins to 127.0.0.1:<port>/callback."""
    config = SimConfig(
        port=0,
        api_key=API_KEY,
        api_secret=API_SECRET,
        price_tick_interval=None,
        rate_limits=False,
        redirect_url=f"http://127.0.0.1:{port}/callback",
    )
    with SimServer.run_in_thread(config) as server:
        yield server


class FakeBrowser:
    """Stands in for webbrowser.open: fetches the URL in a thread, following redirects."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.pages: list[str] = []
        self.threads: list[threading.Thread] = []

    def open(self, url: str) -> bool:
        self.opened.append(url)

        def visit() -> None:
            self.pages.append(requests.get(url, timeout=10).text)

        thread = threading.Thread(target=visit)
        thread.start()
        self.threads.append(thread)
        return True

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=10)


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> FakeBrowser:
    """The fake browser installed where the login command opens URLs."""
    fake = FakeBrowser()
    monkeypatch.setattr(commands.webbrowser, "open", fake.open)
    return fake


def stored(home: Path) -> dict[str, str]:
    path = home / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data: dict[str, str] = json.loads(path.read_text())
    return data


def profile_status(sim: SimServer, token: str) -> int:
    reply = requests.get(
        sim.rest_root + "/user/profile",
        headers={"Authorization": f"token {API_KEY}:{token}", "X-Kite-Version": "3"},
        timeout=10,
    )
    return reply.status_code


def flat(result: Result) -> str:
    """stdout and stderr with rich's line wrapping undone."""
    return " ".join((result.stdout + " " + result.stderr).split())


def login(sim: SimServer, port: int, *extra: str, input: str | None = None) -> Result:
    args = ["login", "--api-root", sim.rest_root, "--callback-port", str(port), *extra]
    return runner.invoke(app, args, input=input)


def test_login_through_the_browser_redirect_stores_the_token(
    home: Path, sim: SimServer, port: int, browser: FakeBrowser
) -> None:
    """login opens the sim's login page, catches the redirect, and stores a working token."""
    result = login(sim, port)
    browser.join()

    assert result.exit_code == 0, flat(result)
    assert browser.opened == [f"{sim.rest_root}/connect/login?api_key={API_KEY}&v=3"]
    assert "close this tab" in browser.pages[0]
    token = stored(home)["kite.access_token"]
    assert profile_status(sim, token) == 200
    output = flat(result)
    assert f"Logged in as {sim.config.user_id}" in output
    assert "secrets.json (mode 0600)" in output
    assert "expires around 06:00 IST" in output
    assert token not in output
    assert API_SECRET not in output


def test_login_with_a_pasted_redirect_url(
    home: Path, sim: SimServer, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--redirect-url skips the browser and the callback server and still logs in."""
    monkeypatch.setattr(commands.webbrowser, "open", pytest.fail)
    reply = requests.get(
        sim.rest_root + "/connect/login",
        params={"api_key": API_KEY, "v": "3"},
        allow_redirects=False,
        timeout=10,
    )

    result = login(sim, port, "--redirect-url", reply.headers["Location"])

    assert result.exit_code == 0, flat(result)
    assert profile_status(sim, stored(home)["kite.access_token"]) == 200


def test_login_without_an_api_secret_says_where_to_put_it(
    home: Path, sim: SimServer, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no api_secret anywhere, login exits 1 and names the variable and --ask-secret."""
    monkeypatch.delenv("ORDERDESK_KITE__API_SECRET")

    result = login(sim, port, "--no-browser")

    assert result.exit_code == 1
    assert "ORDERDESK_KITE__API_SECRET" in flat(result)
    assert "--ask-secret" in flat(result)


def test_ask_secret_prompts_hidden_and_stores_it(
    home: Path, sim: SimServer, port: int, browser: FakeBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--ask-secret reads the api_secret from a hidden prompt, keeps it in the 0600 file."""
    monkeypatch.delenv("ORDERDESK_KITE__API_SECRET")

    result = login(sim, port, "--ask-secret", input=API_SECRET + "\n")
    browser.join()

    assert result.exit_code == 0, flat(result)
    assert stored(home)["kite.api_secret"] == API_SECRET
    assert API_SECRET not in flat(result)


def test_login_with_a_wrong_secret_fails_cleanly(
    home: Path, sim: SimServer, port: int, browser: FakeBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong api_secret exits 1 with Kite's message and what it means, stores nothing, and
    echoes no secret."""
    monkeypatch.setenv("ORDERDESK_KITE__API_SECRET", "not-the-secret-000")

    result = login(sim, port)
    browser.join()

    assert result.exit_code == 1
    assert "checksum" in flat(result).lower()
    # Kite names its field; the message says what is wrong with it (it said no more).
    assert "The checksum is made with the api_secret: is it this app's" in flat(result)
    assert "not-the-secret-000" not in flat(result)
    assert not (home / "secrets.json").exists()


def test_login_with_a_failed_redirect_exits_1(home: Path, sim: SimServer, port: int) -> None:
    """A pasted redirect whose status is not success exits 1 saying the login did not complete."""
    result = login(sim, port, "--redirect-url", "http://127.0.0.1/?status=cancelled")

    assert result.exit_code == 1
    assert "did not complete the login" in flat(result)


def test_login_when_the_callback_port_is_taken(home: Path, sim: SimServer) -> None:
    """A busy callback port exits 1 and suggests --redirect-url."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]

        result = login(sim, taken, "--no-browser")

    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{taken}" in flat(result)
    assert "--redirect-url" in flat(result)


def test_logout_invalidates_and_deletes(
    home: Path, sim: SimServer, port: int, browser: FakeBrowser
) -> None:
    """logout ends the session at the sim (403 afterwards) and removes the stored token."""
    assert login(sim, port).exit_code == 0
    browser.join()
    token = stored(home)["kite.access_token"]

    result = runner.invoke(app, ["logout", "--api-root", sim.rest_root])

    assert result.exit_code == 0, flat(result)
    assert "Logged out" in flat(result)
    assert "kite.access_token" not in stored(home)
    assert profile_status(sim, token) == 403


def test_logout_without_a_session(home: Path) -> None:
    """logout with nothing stored says so and succeeds."""
    result = runner.invoke(app, ["logout", "--api-root", "http://127.0.0.1:9"])

    assert result.exit_code == 0
    assert "Not logged in" in flat(result)


def test_logout_keeps_the_token_when_kite_is_unreachable(
    home: Path, sim: SimServer, port: int, browser: FakeBrowser
) -> None:
    """If Kite cannot be reached the token is kept for a retry, and --local forgets it anyway."""
    assert login(sim, port).exit_code == 0
    browser.join()
    token = stored(home)["kite.access_token"]
    nowhere = f"http://127.0.0.1:{free_port()}"

    failed = runner.invoke(app, ["logout", "--api-root", nowhere])
    forgotten = runner.invoke(app, ["logout", "--api-root", nowhere, "--local"])

    assert failed.exit_code == 1
    assert "--local" in flat(failed)
    assert token not in flat(failed)
    assert forgotten.exit_code == 0
    assert "kite.access_token" not in stored(home)


def test_login_without_an_api_key_names_both_places(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no api_key anywhere, login exits 1 naming the variable and the config key."""
    monkeypatch.delenv("ORDERDESK_KITE__API_KEY")

    result = runner.invoke(app, ["login", "--no-browser", "--api-root", "http://127.0.0.1:9"])

    assert result.exit_code == 1
    assert "ORDERDESK_KITE__API_KEY or kite.api_key" in flat(result)


def desk_config(
    home: Path, port: int, broker: str, tables: str = "", *, name: str = "orderdesk.toml"
) -> Path:
    """The config `orderdesk run` reads (and `login`, under the default name): the login's
    config dir (so they share the API token) and the desk's API on ``port``."""
    path = home.parent / name
    path.write_text(
        f"""broker = "{broker}"
data_dir = "{home.parent / "data"}"
config_dir = "{home}"

[api]
port = {port}
{tables}"""
    )
    return path


@pytest.fixture
def hermetic_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """A daemon started from this test keeps its secrets in the 0600 file, not a real keyring."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


def test_login_hands_the_token_to_a_running_desk(
    home: Path, sim: SimServer, port: int, browser: FakeBrowser, hermetic_keyring: None
) -> None:
    """With a desk running on the sim without a session, login hands it the new token: the
    desk opens today's trading day, `orderdesk session` turns from exit 5 to exit 0, and a
    signal refused with exit 5 before the login is placed when sent again after it."""
    config = desk_config(
        home,
        free_port(),
        "kite",
        f"""
[kite]
api_key = "{API_KEY}"
root = "{sim.rest_root}"
ws_url = "{sim.ws_url}"
rate_limits_enabled = false

[risk]
price_band_percent = "off"  # the signal below rests far under the market on purpose
""",
    )
    signal = ["place", "NSE:INFY", "BUY", "1", "--price", "100", "--signal-id", "m-1", "--json"]
    with running_daemon(config):
        before = runner.invoke(app, ["session", "--json"])
        refused = runner.invoke(app, signal)
        result = login(sim, port)
        browser.join()
        after = runner.invoke(app, ["session", "--json"])
        health = runner.invoke(app, ["status", "--json"])
        placed = runner.invoke(app, signal)

    assert before.exit_code == 5, flat(before)
    assert json.loads(before.stdout)["state"] == "missing"
    assert result.exit_code == 0, flat(result)
    today = TradingDaySettings().calendar().trading_day_of(datetime.now(UTC)).isoformat()
    assert f"Handed to the running desk: trading day {today}, session valid until 06:00 IST" in (
        flat(result)
    )
    assert stored(home)["kite.access_token"] not in flat(result)
    assert after.exit_code == 0, flat(after)
    assert json.loads(after.stdout)["trading_day"] == today
    assert json.loads(health.stdout)["session"] == "valid"
    assert refused.exit_code == 5, flat(refused)
    assert "log in" in flat(refused)
    assert placed.exit_code == 0, flat(placed)
    assert json.loads(placed.stdout)["order"]["instrument"] == "NSE:INFY"


def test_login_with_a_desk_that_refuses_the_token_exits_1(
    home: Path, sim: SimServer, port: int, browser: FakeBrowser, hermetic_keyring: None
) -> None:
    """A running desk on the paper broker has no session to renew: login says so and exits 1,
    and the token stays stored."""
    api_port = free_port()
    # The desk runs on paper from a config of its own; the login's config (same config dir and
    # API address) names kite, so the login still goes to the sim's Kite.
    desk = desk_config(home, api_port, "paper", name="desk.toml")
    desk_config(home, api_port, "kite")
    with running_daemon(desk):
        result = login(sim, port, "--api-key", API_KEY)
        browser.join()

    assert result.exit_code == 1, flat(result)
    assert "did not take it" in flat(result)
    assert "no session to renew" in flat(result)
    token = stored(home)["kite.access_token"]
    assert profile_status(sim, token) == 200
    assert token not in flat(result)


def test_login_without_a_running_desk_says_so(
    home: Path, sim: SimServer, port: int, browser: FakeBrowser
) -> None:
    """With an API token from an earlier run but no desk running, login succeeds as before and
    says the desk will read the token when it starts."""
    desk_config(home, free_port(), "kite")
    load_or_create_token(home)

    result = login(sim, port)
    browser.join()

    assert result.exit_code == 0, flat(result)
    assert "Logged in as" in flat(result)
    assert "No desk is running with this config" in flat(result)
    assert "it reads the stored token when it starts" in flat(result)


class _Impostor:
    """Whatever listens on the desk's configured port while the desk is stopped: it answers
    like a desk and keeps every request it is sent."""

    HEALTH: ClassVar[dict[str, object]] = {
        "status": "ok",
        "broker_connection": "connected",
        "kill_switch": {"engaged": False, "reason": None},
        "open_orders": 0,
        "in_flight_orders": 0,
        "quiet": True,
        "pending_approvals": 0,
        "session": "missing",
        "trading_day": None,
        "loss_limit": {"limit": None, "day_pnl": "0", "reached": False},
    }

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str | None, bytes]] = []
        impostor = self

        class Handler(BaseHTTPRequestHandler):
            def _keep(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                impostor.requests.append(
                    (self.command, self.path, self.headers.get("Authorization"), body)
                )

            def _answer(self, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._keep()
                self._answer(impostor.HEALTH)

            def do_POST(self) -> None:
                self._keep()
                self._answer(
                    {
                        "state": "valid",
                        "usable": True,
                        "expires_at": None,
                        "since": None,
                        "reason": "",
                        "trading_day": None,
                    }
                )

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Impostor:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.mark.parametrize("announced", [False, True], ids=["no-address-file", "stale-address"])
def test_login_hands_nothing_to_a_listener_that_is_not_the_desk(
    home: Path, sim: SimServer, port: int, browser: FakeBrowser, announced: bool
) -> None:
    """With the desk stopped, a process listening on its configured port (even one an address
    file names, with a live pid) is sent neither the access token nor the API token: no desk
    holds the event store. The token is stored, and login says no desk is running."""
    with _Impostor() as impostor:
        config = desk_config(home, impostor.port, "kite")
        load_or_create_token(home)  # a desk ran here before
        database = home.parent / "data" / "events.db"
        with exclusive_desk(sqlite_url(database)):
            pass  # and stopped: its lock file stays, unheld
        if announced:
            address_path(home).write_text(
                json.dumps({"url": f"http://127.0.0.1:{impostor.port}", "pid": os.getpid()})
            )

        result = login(sim, port, "--config", str(config))
        browser.join()

    assert result.exit_code == 0, flat(result)
    assert impostor.requests == []
    assert "Handed to the running desk" not in flat(result)
    assert "No desk is running with this config" in flat(result)
    assert profile_status(sim, stored(home)["kite.access_token"]) == 200


@pytest.mark.parametrize("command", [["login", "--no-browser"], ["logout"]])
def test_a_broker_without_a_login_says_so(home: Path, command: list[str]) -> None:
    """With ``broker = "paper"`` login and logout exit 1: the registry finds no login for it."""
    (home.parent / "orderdesk.toml").write_text('broker = "paper"\n')

    result = runner.invoke(app, command)

    assert result.exit_code == 1
    assert "the paper broker has no login" in flat(result)


def test_login_root_reaches_the_login_page(home: Path, sim: SimServer, port: int) -> None:
    """--login-root is handed to the broker's login as its login_root: the URL printed for the
    browser starts there (the redirect is never caught, so the wait runs out)."""
    result = login(sim, port, "--no-browser", "--login-root", "http://127.0.0.1:9", "--wait", "1")

    assert result.exit_code == 1
    assert f"http://127.0.0.1:9/connect/login?api_key={API_KEY}&v=3" in flat(result)
    assert "no login redirect reached" in flat(result)


def test_a_command_sends_the_api_token_to_no_listener_but_the_announced_desk(
    home: Path,
) -> None:
    """With no desk running, `orderdesk status` fell back to `[api]`'s port and sent the API
    token to whatever listened there, which the desk accepts again when it starts. It says no
    desk is running instead, and the listener hears nothing."""
    with _Impostor() as impostor:
        config = desk_config(home, impostor.port, "kite")
        load_or_create_token(home)  # a desk ran here before
        result = runner.invoke(app, ["status", "--config", str(config)])
    assert result.exit_code != 0, flat(result)
    assert impostor.requests == []
    assert "no desk is running with this config" in flat(result)
