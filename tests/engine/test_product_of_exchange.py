"""Delivery (CNC) is of stock alone: an option bought CNC was placed, filled, and shown the next
day among the holdings as stock held (the dashboard's form defaulted to CNC whatever the
instrument). The desk refuses it before anything is written."""

from __future__ import annotations

import pytest

from orderdesk.domain import Product
from orderdesk.domain.errors import ValidationError
from orderdesk.engine import OrderDesk
from tests.engine.fakes import NIFTY_CE, FakeBroker, MemoryStore, signal


async def test_an_option_bought_for_delivery_is_refused_before_anything_is_written(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore
) -> None:
    written = len(store.events())
    with pytest.raises(ValidationError, match="CNC is delivery of stock; NFO"):
        await desk.submit(signal(instrument=NIFTY_CE, quantity=75, product=Product.CNC))
    assert broker.placements == []
    assert len(store.events()) == written
    placed = await desk.submit(signal(instrument=NIFTY_CE, quantity=75, product=Product.NRML))
    assert placed.order.signal.product is Product.NRML


async def test_a_carry_product_on_stock_is_refused_before_anything_is_written(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore
) -> None:
    """NRML is the carry of derivatives: on NSE stock it reached the broker (the walk's order
    rested OPEN at the simulator), though GTTs and conversions refused it."""
    written = len(store.events())
    with pytest.raises(ValidationError, match=r"NRML is not a product of NSE \(CNC, MIS, MTF\)"):
        await desk.submit(signal(product=Product.NRML))
    assert broker.placements == []
    assert len(store.events()) == written
