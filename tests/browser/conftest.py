"""The whole stack for the browser test: simulator, Kite adapter, engine, API, headless Chromium.

Everything listens on 127.0.0.1 port 0 inside the test's loop; Chromium is Debian's, installed
by ``scripts/ensure-test-deps.sh`` (``make test`` runs it).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, async_playwright

from orderdesk.api import AlertFeed, EngineDesk, create_app, serve_api
from orderdesk.api.server import ApiServer
from orderdesk.approvals import ApprovalQueue
from orderdesk.brokers import BrokerContext
from orderdesk.brokers.kite import create_broker
from orderdesk.config import StrategySettings
from orderdesk.domain import Exchange, InstrumentKey
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.engine import DeskConfig, OrderDesk
from orderdesk.engine.config import DayRules
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.store.memory import InMemoryEventStore

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "browser-test-token-0123456789abcdef"
INFY = InstrumentKey(Exchange.NSE, "INFY")
CAREFUL = "careful"
"""A strategy whose signals wait for the operator's approval on the page."""


class _SimSecrets:
    """The access token the simulator issued, as the adapter's secret store."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get(self, name: str) -> str | None:
        return self._token if name == "kite.access_token" else None

    def set(self, name: str, value: str) -> None:
        # A login through the API (POST /api/session) keeps the new token, as a store would.
        if name != "kite.access_token":
            raise NotImplementedError
        self._token = value

    def delete(self, name: str) -> None:
        raise NotImplementedError


SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "dashboard"
"""Where the browser tests leave screenshots for a person to look at (git-ignored)."""
_written: list[Path] = []


def screenshot_written(path: Path) -> None:
    _written.append(path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _written:
        terminalreporter.write_line(
            f"dashboard screenshots ({len(_written)}): {SCREENSHOTS}", bold=True
        )


@dataclass
class Stack:
    sim: SimServer
    desk: OrderDesk
    api: ApiServer
    client: aiohttp.ClientSession
    """Sends the token; for submitting signals "from a strategy"."""
    access_token: str = ""
    """The broker session the desk runs on (never to be seen on the page)."""

    async def set_price(self, symbol: str, price: float) -> None:
        async with self.client.post(
            f"{self.sim.rest_root}/_sim/prices", json={f"NSE:{symbol}": price}
        ) as response:
            assert response.status == 200, await response.text()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """The real OrderDesk over the Kite adapter over the simulator, behind the HTTP API."""
    async with _stack(tmp_path) as built:
        yield built


MONDAY_OPEN = datetime(2026, 12, 7, 9, 30)
"""IST: where the days-keeping stack starts, a Monday's session, whatever day the tests run."""


async def set_sim_clock(sim: SimServer, when: datetime) -> None:
    """Move the simulator's clock (IST wall time); its days close and open on the way."""
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{sim.rest_root}/_sim/clock", json={"set": f"{when:%Y-%m-%d %H:%M:%S}"}) as r,
    ):
        assert r.status == 200, await r.text()


class _SimTime:
    """The desk's clock following the simulator's (IST wall time, as UTC), so moving the
    simulator's clock (``POST /_sim/clock``) closes and opens the desk's days."""

    def __init__(self, sim: SimServer) -> None:
        self._sim = sim

    def now(self) -> datetime:
        return self._sim.clock.now().replace(tzinfo=IST).astimezone(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@pytest.fixture
async def days_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """The same stack keeping trading days: the simulator on NSE hours, its clock on a Monday
    at 09:30, the desk's clock following it."""
    async with _stack(tmp_path, days=True) as built:
        yield built


@pytest.fixture
async def holdings_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """The days-keeping stack on an account holding 10 NSE:INFY, 6 of them bought the day
    before and still settling (T1), closed at 1500, when the desk opens Monday."""
    held = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "quantity": 4,
        "t1_quantity": 6,
        "average_price": 1500,
    }
    async with _stack(tmp_path, days=True, holdings=[held]) as built:
        yield built


@contextlib.asynccontextmanager
async def _stack(
    tmp_path: Path, *, days: bool = False, holdings: list[dict[str, object]] | None = None
) -> AsyncIterator[Stack]:
    config = SimConfig(
        host="127.0.0.1",
        port=0,
        seed=7,
        price_tick_interval=None,
        rate_limits=False,
        market_hours="nse" if days else None,
    )
    async with SimServer(config) as sim:
        if days:
            await set_sim_clock(sim, MONDAY_OPEN)
        if holdings:
            async with (
                aiohttp.ClientSession() as client,
                client.post(f"{sim.rest_root}/_sim/holdings", json=holdings) as reply,
            ):
                assert reply.status == 200, await reply.text()
        options = {
            "api_key": sim.config.api_key,
            "root": sim.rest_root,
            "ws_url": sim.ws_url,
            "rate_limits_enabled": False,
        }
        access_token = sim.issue_access_token()
        secrets = _SimSecrets(access_token)
        broker = create_broker(options, BrokerContext(secrets=secrets, data_dir=tmp_path))
        alerts = AlertFeed()
        desk_config = DeskConfig(
            reconcile_interval=None,
            poll_interval=0.2,
            days=DayRules(calendar=TradingCalendar(frozenset())) if days else None,
            clock_interval=0.05,
        )
        async with OrderDesk(
            broker,
            InMemoryEventStore(),
            notifier=alerts,
            config=desk_config,
            clock=_SimTime(sim) if days else None,
        ) as desk:
            await broker.subscribe_prices([INFY])
            engine = EngineDesk(desk)
            approvals = ApprovalQueue(
                engine.submit,
                {CAREFUL: StrategySettings(approval=True)},
                screen=engine.screen,
                notifier=alerts,
            )
            app = create_app(
                engine, token=TOKEN, approvals=approvals, alerts=alerts, stream_interval=0.2
            )
            async with (
                await serve_api(app) as api,
                aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as client,
            ):
                yield Stack(sim, desk, api, client, access_token)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's headless Chromium driven by Playwright."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-test-deps.sh as root")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
