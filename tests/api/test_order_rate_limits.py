"""The health page's order rate is shown against the limits the desk runs with: a running desk
hands ``[kite] orders_per_second``, ``orders_per_minute`` and ``orders_per_day`` to the API, and
the paper broker, which keeps none, is shown against Kite's published ones."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from orderdesk.api.order_rate import OrderLimits
from orderdesk.brokers import BrokerContext, create_broker
from orderdesk.config import ApiSettings, EngineSettings, Settings, TradingDaySettings
from orderdesk.runtime import open_runtime, order_limits
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.support import DictSecrets

CONFIGURED = {"orders_per_second": 4, "orders_per_minute": 150, "orders_per_day": 900}
"""Below Kite's 10 / 400 / 5,000, as a careful desk may run."""


@pytest.fixture(autouse=True)
def _no_desk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings are the test's alone: no ``ORDERDESK_*`` override from the shell."""
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            monkeypatch.delenv(name)


def _settings(tmp_path: Path, **sections: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        config_dir=tmp_path / "config",
        api=ApiSettings(port=0),
        engine=EngineSettings(reconcile_interval_seconds=300, poll_interval_seconds=300),
        trading_day=TradingDaySettings(enabled=False),
        **sections,
    )


def test_the_kite_adapter_gives_its_limits_and_paper_gets_kites_published(tmp_path: Path) -> None:
    """``[kite] orders_*`` become the order limits; the paper broker's are Kite's defaults."""
    context = BrokerContext(secrets=DictSecrets({}), data_dir=tmp_path)
    kite = create_broker("kite", {"api_key": "k", **CONFIGURED}, context)
    paper = create_broker("paper", {}, context)
    assert order_limits(kite) == OrderLimits(per_second=4, per_minute=150, per_day=900)
    assert order_limits(paper) == OrderLimits(per_second=10, per_minute=400, per_day=5_000)


async def test_a_running_desk_shows_its_rate_against_the_configured_limits(tmp_path: Path) -> None:
    """``GET /api/health/detail`` of a desk on Kite (the simulator) carries ``[kite]``'s limits,
    not Kite's published ones."""
    async with SimServer(SimConfig(port=0, seed=7, price_tick_interval=None)) as sim:
        secrets = DictSecrets(
            {
                "kite.access_token": sim.issue_access_token(),
                "kite.api_secret": sim.config.api_secret,
            }
        )
        kite = {
            "api_key": sim.config.api_key,
            "root": sim.rest_root,
            "ws_url": sim.ws_url,
            "stream": "poll",
            "poll_interval_seconds": 300,
            # The process-wide limiter is left alone; the limits shown are the configured ones.
            "rate_limits_enabled": False,
            **CONFIGURED,
        }
        settings = _settings(tmp_path, broker="kite", kite=kite)
        async with open_runtime(settings, secrets=secrets) as runtime:
            assert runtime.api is not None
            headers = {"Authorization": f"Bearer {runtime.token}"}
            async with (
                aiohttp.ClientSession(base_url=runtime.api.url, headers=headers) as client,
                client.get("/api/health/detail") as response,
            ):
                assert response.status == 200
                rate = (await response.json())["order_rate"]
    limits = (rate["second_limit"], rate["minute_limit"], rate["day_limit"])
    assert limits == (4, 150, 900)
