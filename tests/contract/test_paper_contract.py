"""The paper broker passes the broker contract, and is found by name through entry points."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.brokers import BrokerContext, available_brokers, create_broker
from orderdesk.brokers.paper import PaperBroker
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.values import InstrumentKey
from orderdesk.errors import ConfigError
from orderdesk.testing.broker_contract import BrokerContract
from tests.contract.no_secrets import NoSecrets

INFY = InstrumentKey.parse("NSE:INFY")


class _PaperMarket:
    def __init__(self, broker: PaperBroker) -> None:
        self._broker = broker

    async def set_price(self, instrument: InstrumentKey, price: Decimal) -> None:
        self._broker.set_price(instrument, price)


class TestPaperBroker(BrokerContract):
    @pytest.fixture
    async def paper(self, tmp_path: Path) -> AsyncIterator[PaperBroker]:
        broker = create_broker(
            "paper",
            {"prices": {"NSE:INFY": "1500"}},
            BrokerContext(secrets=NoSecrets(), data_dir=tmp_path),
        )
        assert isinstance(broker, PaperBroker)
        await broker.start()
        yield broker
        await broker.close()

    @pytest.fixture
    def broker(self, paper: PaperBroker) -> PaperBroker:
        return paper

    @pytest.fixture
    def market(self, paper: PaperBroker) -> _PaperMarket:
        return _PaperMarket(paper)

    @pytest.fixture
    def instrument(self) -> InstrumentKey:
        return INFY

    @pytest.fixture
    def price(self) -> Decimal:
        return Decimal(1500)


def test_both_adapters_are_registered() -> None:
    """Entry points expose kite and paper by name."""
    assert {"kite", "paper"} <= set(available_brokers())


def test_bad_paper_options_name_the_key(tmp_path: Path) -> None:
    """A wrong option in [paper] is a ConfigError naming it."""
    with pytest.raises(ConfigError) as exc_info:
        create_broker(
            "paper", {"cash": "lots"}, BrokerContext(secrets=NoSecrets(), data_dir=tmp_path)
        )
    assert "paper.cash" in str(exc_info.value)


def test_unknown_broker_is_a_config_error(tmp_path: Path) -> None:
    """Naming an adapter that is not installed fails clearly."""
    with pytest.raises(ConfigError) as exc_info:
        create_broker("nope", {}, BrokerContext(secrets=NoSecrets(), data_dir=tmp_path))
    assert "nope" in str(exc_info.value)


class _DictOrders(PaperBroker):
    """A newcomer's slip: the order book answered as the broker's JSON rows."""

    async def orders(self) -> list[OrderStatusReport]:
        return [vars_of(row) for row in await super().orders()]  # type: ignore[misc]


def vars_of(report: OrderStatusReport) -> object:
    return {f.name: getattr(report, f.name) for f in fields(report)}


async def test_the_contract_names_a_read_answering_with_dicts() -> None:
    """Such an adapter crashed the desk's reconciliation with a 500; the contract names it."""
    broker = _DictOrders(prices={INFY: Decimal(1500)})
    await broker.start()
    try:
        with pytest.raises(AssertionError, match=r"orders\(\) gave dict, not OrderStatusReport"):
            await TestPaperBroker().test_reads_answer_with_the_reports(broker, INFY, Decimal(1500))
    finally:
        await broker.close()
