"""The desk's triggers on a broker without them, and read back from the log."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderdesk.brokers.paper import PaperBroker
from orderdesk.domain.reports import GttOrderLeg, GttTrigger, PriceAlert
from orderdesk.domain.values import Product, Side
from orderdesk.engine import OrderDesk
from orderdesk.errors import NotOffered
from tests.engine.fakes import INFY, MemoryStore

GTT = GttTrigger(
    instrument=INFY,
    trigger_values=(Decimal(1600),),
    last_price=Decimal(1500),
    orders=(GttOrderLeg(side=Side.SELL, quantity=1, price=Decimal(1599), product=Product.CNC),),
)


async def test_a_broker_without_gtt_or_alerts_refuses_them_plainly() -> None:
    store = MemoryStore()
    async with OrderDesk(PaperBroker(prices={INFY: Decimal(1500)}), store) as desk:
        with pytest.raises(NotOffered, match="the paper broker does not offer GTT triggers"):
            await desk.triggers.place_gtt("swing", GTT)
        alert = PriceAlert(name="dip", instrument=INFY, operator="<=", value=Decimal(1400))
        with pytest.raises(NotOffered, match="the paper broker does not offer price alerts"):
            await desk.triggers.place_alert("swing", alert)
        assert desk.triggers.listing() == []
        assert list(store.read(stream="triggers")) == []
        assert (await desk.reconcile()).ok
