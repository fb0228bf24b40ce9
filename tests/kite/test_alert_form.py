"""The form an ATO alert is created with: its basket's stop-loss market orders carry market
protection as Kite's 2026 rules require of MARKET and SL-M orders."""

from __future__ import annotations

import json
from decimal import Decimal

from orderdesk.brokers.kite.alerts import alert_form
from orderdesk.domain.reports import AlertOrder, PriceAlert
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side

INFY = InstrumentKey.parse("NSE:INFY")


def test_an_sl_m_order_in_a_basket_carries_automatic_protection() -> None:
    """It went with 0, which Kite refuses for an SL-M order: the basket's stop never placed."""
    basket = (
        AlertOrder(
            instrument=INFY,
            side=Side.SELL,
            quantity=1,
            product=Product.CNC,
            order_type=OrderType.SL_M,
            trigger_price=Decimal(1390),
        ),
        AlertOrder(
            instrument=INFY, side=Side.BUY, quantity=1, product=Product.CNC, price=Decimal(1400)
        ),
    )
    alert = PriceAlert(
        name="dip", instrument=INFY, operator="<=", value=Decimal(1400), basket=basket
    )
    form = alert_form(alert)
    orders = json.loads(form["basket"])["items"]
    assert [o["params"]["market_protection"] for o in orders] == [-1, 0]
