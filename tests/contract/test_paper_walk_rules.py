"""What the paper broker refuses as Kite and the simulator do: a CNC sale of stock the account
does not have (no delivery short selling), and a non-positive price in its settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.brokers import BrokerContext, create_broker
from orderdesk.domain import OrderStatus
from orderdesk.domain.calendar import IST
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import OrderType, Product, Side
from orderdesk.engine import OrderDesk
from orderdesk.engine.config import DayRules
from orderdesk.errors import ConfigError, MarginRejected
from orderdesk.ports.broker import PlaceOrder
from tests.contract.no_secrets import NoSecrets
from tests.contract.test_paper_days import CALENDAR, TCS, command, paper
from tests.engine.conftest import FAST
from tests.engine.fakes import MemoryStore, RecordingNotifier
from tests.support import WallClock


def sale(quantity: int, tag: str, price: str | None = None) -> PlaceOrder:
    signal = Signal(
        instrument=TCS,
        side=Side.SELL,
        quantity=quantity,
        order_type=OrderType.LIMIT if price else OrderType.MARKET,
        product=Product.CNC,
        price=Decimal(price) if price else None,
    )
    return PlaceOrder(signal=signal, client_order_id=tag)


async def test_a_cnc_sale_beyond_the_stock_held_is_refused(tmp_path: Path) -> None:
    """Flat: a CNC sale is refused with the simulator's words. After a buy of 5, what a
    resting CNC sell already holds counts: 3 resting leave 2 to sell."""
    broker = paper(WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST)), tmp_path)
    with pytest.raises(MarginRejected) as flat:
        await broker.place_order(sale(5, "short"))
    assert str(flat.value).startswith("Insufficient holdings to sell 5 TCS: 0 can be sold")
    assert await broker.orders() == []
    assert await broker.positions() == []

    await broker.place_order(command(TCS, Product.CNC, 5, "buy"))
    await broker.place_order(sale(3, "rest", "4100"))  # rests above the last price
    with pytest.raises(MarginRejected) as beyond:
        await broker.place_order(sale(3, "more"))
    assert "to sell 3 TCS: 2 can be sold" in str(beyond.value)
    await broker.place_order(sale(2, "rest-of-it"))
    held = {(p.instrument, p.product): p.quantity for p in await broker.positions()}
    assert held == {(TCS, Product.CNC): 3}
    await broker.close()


async def test_the_desk_records_the_refused_cnc_sale_as_rejected_with_the_reason(
    tmp_path: Path,
) -> None:
    """`place NSE:TCS SELL 5 --type MARKET --product CNC` while flat: a REJECTED order saying
    why, and no short position."""
    clock = WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST))
    config = replace(FAST, days=DayRules(calendar=CALENDAR))
    async with OrderDesk(
        paper(clock, tmp_path),
        MemoryStore(),
        notifier=RecordingNotifier(),
        clock=clock,
        config=config,
    ) as desk:
        sold = await desk.submit(
            Signal(
                instrument=TCS,
                side=Side.SELL,
                quantity=5,
                order_type=OrderType.MARKET,
                product=Product.CNC,
                signal_id="flat-sale",
            )
        )
        await sold.wait()
        assert sold.status is OrderStatus.REJECTED
        assert "Insufficient holdings to sell 5 TCS" in (sold.order.reason or "")
        assert desk.position(TCS, Product.CNC).quantity == 0


@pytest.mark.parametrize("price", ["-5", "0"])
def test_a_paper_price_of_zero_or_less_is_refused(tmp_path: Path, price: str) -> None:
    """`config check` builds the adapter: a price that is not above 0 fails it, naming it."""
    with pytest.raises(ConfigError) as exc_info:
        create_broker(
            "paper",
            {"prices": {"NSE:INFY": price}},
            BrokerContext(secrets=NoSecrets(), data_dir=tmp_path),
        )
    assert "paper.prices.NSE:INFY" in str(exc_info.value)
    assert "greater than 0" in str(exc_info.value)
