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
