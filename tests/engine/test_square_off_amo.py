"""An after-market order (AMO) is for the next session, whose square-off is still ahead: the
square-off cutoff refused an MIS AMO at 17:00 ("refused after the broker's square-off at 15:20
IST"), though the broker holds it for the next day's open."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import OrderType, Product, Signal, Variety
from orderdesk.domain.calendar import TradingCalendar
from tests.engine.fakes import signal
from tests.engine.test_risk import Context
from tests.engine.test_square_off_closed_day import FRIDAY, HOLIDAY, SATURDAY, cutoff_at


def _mis_amo() -> Signal:
    return signal(
        product=Product.MIS, variety=Variety.AMO, order_type=OrderType.LIMIT, price=Decimal(1489)
    )


async def test_an_mis_amo_after_the_square_off_goes() -> None:
    """Friday 17:00: an MIS AMO passes; a regular MIS order is still refused."""
    check = cutoff_at(FRIDAY, 17, TradingCalendar())
    assert await check.check(_mis_amo(), Context()) is None
    regular = await check.check(signal(product=Product.MIS), Context())
    assert regular is not None
    assert "square-off at 15:20" in regular


async def test_an_mis_amo_on_a_weekend_or_a_holiday_goes() -> None:
    """Saturday and an exchange holiday: the AMO is for the next session; a regular MIS order
    is still refused naming the closed day."""
    for day in (SATURDAY, HOLIDAY):
        check = cutoff_at(day, 12, TradingCalendar(frozenset({HOLIDAY})))
        assert await check.check(_mis_amo(), Context()) is None
        regular = await check.check(signal(product=Product.MIS), Context())
        assert regular is not None
        assert "wait for the next trading day's session" in regular
