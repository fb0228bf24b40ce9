"""The paper broker converts positions as Kite does: the quantity moves at its cost, is
refused beyond the position or into MIS after the square-off, survives a restart in its place
among the trades, and is carried (or squared off) by its new product."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.brokers.paper import PaperBroker
from orderdesk.domain.calendar import IST
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.reports import PositionReport
from orderdesk.domain.values import InstrumentKey, Product, Side
from orderdesk.errors import InputRejected
from orderdesk.ports.broker import PositionConverter
from tests.contract.test_paper_days import FRIDAY, INFY, MONDAY, command, paper
from tests.support import WallClock


def to(new: Product, quantity: int, old: Product = Product.MIS) -> PositionConversion:
    return PositionConversion(
        instrument=INFY, side=Side.BUY, quantity=quantity, old_product=old, new_product=new
    )


def _costs(position: PositionReport) -> tuple[object, ...]:
    return (position.product, position.quantity, position.average_price, position.buy_value)


async def held(broker: PaperBroker) -> dict[tuple[InstrumentKey, Product], int]:
    return {(p.instrument, p.product): p.quantity for p in await broker.positions()}


async def test_an_mis_buy_kept_as_cnc_is_carried_and_survives_a_restart(tmp_path: Path) -> None:
    clock = WallClock(datetime(2026, 12, 4, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path)
    assert isinstance(broker, PositionConverter)
    await broker.place_order(command(INFY, Product.MIS, 10, "mis"))
    await broker.convert_position(to(Product.CNC, 6))
    broker.set_price(INFY, Decimal("1510"))
    await broker.place_order(command(INFY, Product.MIS, 2, "mis-after"))
    with pytest.raises(InputRejected, match="has 6 to convert, not 7"):
        await broker.convert_position(to(Product.CNC, 7))
    assert await held(broker) == {(INFY, Product.MIS): 6, (INFY, Product.CNC): 6}
    positions = await broker.positions()
    mis = next(p for p in positions if p.product is Product.MIS)
    assert mis.average_price == Decimal("1503.3333")  # 4 at 1,500 and 2 at 1,510
    await broker.close()

    # The conversion is applied again between the trades it fell between (the configured
    # price of 1,500 is the restarted book's again, so the marks differ; the costs may not).
    again = paper(clock, tmp_path)
    assert [_costs(p) for p in await again.positions()] == [_costs(p) for p in positions]

    clock.set(FRIDAY, 15, 25)
    with pytest.raises(InputRejected, match="No conversion to MIS after the square-off"):
        await again.convert_position(to(Product.MIS, 1, old=Product.CNC))
    assert await held(again) == {(INFY, Product.MIS): 0, (INFY, Product.CNC): 6}
    clock.set(MONDAY, 9, 15)
    carried = {(p.instrument, p.product): p.overnight_quantity for p in await again.positions()}
    assert carried == {(INFY, Product.CNC): 6}
    await again.close()
