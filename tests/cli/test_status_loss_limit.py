"""`orderdesk status` says when the desk, or a strategy, is at its loss limit: it said
`desk ok ... kill switch off` at -22,172 past a 20,000 limit, every new risk refused."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from orderdesk.domain import InstrumentKey
from orderdesk.domain.values import OrderType, Product, Side
from tests.api.fakes import FakeDesk
from tests.domain.builders import signal

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")
INFY = InstrumentKey.parse("NSE:INFY")


async def status(where: list[str]) -> str:
    result = await asyncio.to_thread(runner.invoke, app, ["status", *where])
    assert result.exit_code == 0, result.stdout
    return " ".join(result.stdout.split())


async def test_status_names_the_limit_reached(served: tuple[FakeDesk, list[str]]) -> None:
    desk, where = served
    desk.loss_limit = Decimal("20000")
    desk.strategy_loss_limits = {"swing": Decimal("3000")}
    assert "loss limit" not in await status(where)
    order = await desk.submit(
        signal(
            instrument=INFY,
            side=Side.BUY,
            quantity=100,
            order_type=OrderType.LIMIT,
            price=Decimal("1500"),
            product=Product.CNC,
            strategy="swing",
        )
    )
    desk.fill(order.order_id, Decimal("1500"))
    desk.tick(INFY, Decimal("1300"))
    shown = await status(where)
    assert "daily loss limit reached: the day's P&L -20,000.00 against the limit of 20,000.00" in (
        shown
    )
    assert "at their own loss limit: swing" in shown
