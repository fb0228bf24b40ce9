"""The CLI's tables show a price (price, avg, last, close, trigger) with every decimal it has
and at least 2, so a currency future's 88.1150 reads 88.115, not 88.12; an amount of money
stays at 2."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderdesk.cli._common import price_text
from orderdesk.domain import InstrumentKey
from orderdesk.domain.values import Product
from tests.api.fakes import FakeDesk
from tests.cli.test_exit_choices import cli, held

pytestmark = pytest.mark.usefixtures("isolated_config")


async def test_positions_and_orders_show_a_price_with_all_its_decimals(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """A USDINR average of 88.1150 (ticks of 0.0025) reads 88.115 in `positions` (avg, last)
    and `orders` (price, avg), not 88.12; the P&L stays an amount, to 2 decimals."""
    desk, where = served
    await held(desk, "CDS:USDINR27JANFUT", Product.NRML, 1, "88.1150")
    desk.tick(InstrumentKey.parse("CDS:USDINR27JANFUT"), Decimal("88.1275"))
    code, out = await cli(where, "positions")
    assert code == 0, out
    line = next(row for row in out.splitlines() if "USDINR" in row).split()
    assert line[3:5] == ["88.115", "88.1275"]
    assert "88.12 " not in out
    assert all(len(pnl.split(".")[1]) == 2 for pnl in line[5:])
    code, out = await cli(where, "orders")
    assert code == 0, out
    assert out.count("88.115") == 2, out
    assert "88.12 " not in out


@pytest.mark.parametrize(
    ("price", "shown"),
    [
        ("88.115", "88.115"),
        ("88.1150", "88.115"),
        ("1500", "1,500.00"),
        ("1500.05", "1,500.05"),
        ("1.4E+3", "1,400.00"),
        ("0.0025", "0.0025"),
        ("1234567.5", "1,234,567.50"),
        ("1501.5369047619047", "1,501.5369"),  # a holding's average, Kite's float
    ],
)
def test_a_price_has_every_decimal_and_at_least_two(price: str, shown: str) -> None:
    """Trailing zeros beyond the second decimal are dropped; the grouping stays."""
    assert price_text(Decimal(price)) == shown
