"""KiteBroker passes the reusable broker contract against the simulator (ticker stream on)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from orderdesk.brokers import BrokerContext
from orderdesk.brokers.kite import KiteBroker, create_broker
from orderdesk.domain.values import InstrumentKey
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.testing.broker_contract import BrokerContract

INFY = InstrumentKey.parse("NSE:INFY")
PRICE = Decimal(1500)


class _Secrets:
    def __init__(self, token: str) -> None:
        self._token = token

    def get(self, name: str) -> str | None:
        return self._token if name == "kite.access_token" else None

    def set(self, name: str, value: str) -> None:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError


class _SimMarket:
    def __init__(self, sim: SimServer) -> None:
        self._sim = sim

    async def set_price(self, instrument: InstrumentKey, price: Decimal) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                self._sim.rest_root + "/_sim/prices", json={str(instrument): float(price)}
            ) as reply,
        ):
            assert reply.status == 200, await reply.text()


class TestKiteBrokerOnSim(BrokerContract):
    @pytest.fixture
    async def sim(self) -> AsyncIterator[SimServer]:
        config = SimConfig(port=0, seed=3, price_tick_interval=None, rate_limits=False)
        async with SimServer(config) as server:
            await _SimMarket(server).set_price(INFY, PRICE)
            yield server

    @pytest.fixture
    async def broker(
        self, sim: SimServer, tmp_path: Path, no_backoff: None
    ) -> AsyncIterator[KiteBroker]:
        options = {
            "api_key": sim.config.api_key,
            "root": sim.rest_root,
            "ws_url": sim.ws_url,
            "rate_limits_enabled": False,
        }
        context = BrokerContext(secrets=_Secrets(sim.issue_access_token()), data_dir=tmp_path)
        broker = create_broker(options, context)
        async with broker:
            yield broker

    @pytest.fixture
    def market(self, sim: SimServer) -> _SimMarket:
        return _SimMarket(sim)

    @pytest.fixture
    def instrument(self) -> InstrumentKey:
        return INFY

    @pytest.fixture
    def price(self) -> Decimal:
        return PRICE
