"""The paper broker's book survives a restart: orders, trades, positions, cash and prices."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.brokers import BrokerContext, create_broker
from orderdesk.brokers.paper import PaperBroker
from orderdesk.brokers.paper.state import STATE_FILE_NAME
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side
from orderdesk.errors import ConfigError
from orderdesk.ports.broker import PlaceOrder
from tests.contract.no_secrets import NoSecrets

INFY = InstrumentKey.parse("NSE:INFY")
TCS = InstrumentKey.parse("NSE:TCS")


def paper(data_dir: Path, prices: dict[str, str] | None = None) -> PaperBroker:
    broker = create_broker(
        "paper",
        {"prices": prices or {"NSE:INFY": "1500", "NSE:TCS": "4000"}, "cash": "100000"},
        BrokerContext(secrets=NoSecrets(), data_dir=data_dir),
    )
    assert isinstance(broker, PaperBroker)
    return broker


def order(
    instrument: InstrumentKey, side: Side, quantity: int, price: str | None, tag: str
) -> PlaceOrder:
    signal = Signal(
        instrument=instrument,
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT if price else OrderType.MARKET,
        product=Product.CNC,
        price=Decimal(price) if price else None,
    )
    return PlaceOrder(signal=signal, client_order_id=tag)


async def test_a_restarted_paper_broker_has_the_book_it_had(tmp_path: Path) -> None:
    """Orders (resting and filled), trades, positions, cash and moved prices are all there
    after a restart, and new orders and trades continue the numbering."""
    first = paper(tmp_path)
    await first.start()
    filled = await first.place_order(order(INFY, Side.BUY, 10, None, "od-a"))
    resting = await first.place_order(order(TCS, Side.BUY, 2, "3900", "od-b"))
    first.set_price(INFY, Decimal("1510"))
    before = (
        await first.orders(),
        await first.trades(),
        await first.positions(),
        await first.margins(),
    )
    await first.close()

    again = paper(tmp_path, {"NSE:TCS": "4000"})  # INFY's price is the kept one
    await again.start()
    assert await again.orders() == before[0]
    assert await again.trades() == before[1]
    assert await again.positions() == before[2]
    assert await again.margins() == before[3]
    assert (await again.positions())[0].unrealised == Decimal("100")  # marked at 1510
    history = await again.order_history(filled)
    assert history[-1].status is BrokerStatus.COMPLETE
    await again.cancel_order(resting, order(TCS, Side.BUY, 2, "3900", "x").signal.variety)
    third = await again.place_order(order(INFY, Side.SELL, 4, None, "od-c"))
    assert third not in (filled, resting)
    trade_ids = [t.trade_id for t in await again.trades()]
    assert len(trade_ids) == len(set(trade_ids)) == 2
    await again.close()


async def test_configured_prices_stay_on_top_of_the_kept_ones(tmp_path: Path) -> None:
    """A price named in [paper] prices wins over the last price kept from the previous run."""
    first = paper(tmp_path)
    first.set_price(INFY, Decimal("1600"))
    await first.close()
    again = paper(tmp_path, {"NSE:INFY": "1450"})
    quotes = await again.quotes([INFY, TCS])
    assert quotes[INFY].last_price == Decimal("1450")
    assert quotes[TCS].last_price == Decimal("4000")


def test_an_unreadable_book_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    """A damaged paper-broker.json stops the start with its path and what to do."""
    (tmp_path / STATE_FILE_NAME).write_text("{not json")
    with pytest.raises(ConfigError) as exc_info:
        paper(tmp_path)
    assert STATE_FILE_NAME in str(exc_info.value)
    assert "start afresh" in str(exc_info.value)
