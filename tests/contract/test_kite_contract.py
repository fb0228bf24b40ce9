"""The Kite adapter passes the same broker contract as the paper broker, against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.brokers import BrokerContext, create_broker
from orderdesk.brokers.kite import KiteBroker
from orderdesk.domain.values import InstrumentKey
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.testing.broker_contract import BrokerContract

INFY = InstrumentKey.parse("NSE:INFY")


class _Secrets:
    """A dict-backed SecretStore (the real ones read the environment and the keyring)."""

    def __init__(self, **values: str) -> None:
        self._values = {k.replace("__", "."): v for k, v in values.items()}

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def set(self, name: str, value: str) -> None:
        self._values[name] = value

    def delete(self, name: str) -> None:
        self._values.pop(name, None)


class _SimMarket:
    def __init__(self, sim: SimServer) -> None:
        self._sim = sim

    async def set_price(self, instrument: InstrumentKey, price: Decimal) -> None:
        self._sim.market.set_prices({str(instrument): float(price)})


class TestKiteBroker(BrokerContract):
    @pytest.fixture
    async def sim(self) -> AsyncIterator[SimServer]:
        async with SimServer(SimConfig(port=0, seed=3, price_tick_interval=None)) as sim:
            yield sim

    @pytest.fixture
    async def broker(self, sim: SimServer, tmp_path: Path) -> AsyncIterator[KiteBroker]:
        secrets = _Secrets(
            kite__access_token=sim.issue_access_token(), kite__api_secret=sim.config.api_secret
        )
        broker = create_broker(
            "kite",
            {"api_key": sim.config.api_key, "root": sim.rest_root, "ws_url": sim.ws_url},
            BrokerContext(secrets=secrets, data_dir=tmp_path),
        )
        assert isinstance(broker, KiteBroker)
        await broker.start()
        yield broker
        await broker.close()

    @pytest.fixture
    def market(self, sim: SimServer) -> _SimMarket:
        return _SimMarket(sim)

    @pytest.fixture
    def instrument(self) -> InstrumentKey:
        return INFY

    @pytest.fixture
    def price(self, sim: SimServer) -> Decimal:
        token = sim.master.by_key(str(INFY))
        assert token is not None
        return Decimal(str(sim.market.last_price(token.instrument_token)))
