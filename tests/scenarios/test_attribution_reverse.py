"""A buy placed on Kite's web, then a strategy's sale through the desk, seen per strategy
through ``GET /api/strategies``.

The desk runs over the Kite adapter on the simulator. 100 SBIN MIS are bought on Kite web (the
desk adopts the order as ``external``'s), then ``manual`` sells 100 through the desk: the
account holds nothing, and neither do ``manual`` nor ``external``, which realised the move
between the two. A price move after it moves no strategy's P&L, and ``manual``'s own daily loss
limit does not stop its next order.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.api.app import create_app
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api.server import serve_api
from orderdesk.client import DeskClient
from orderdesk.domain import OrderStatus, Product, Side
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import BrokerView, SimTime, running_sim
from tests.scenarios.test_square_off_strategies import (
    API_TOKEN,
    INFY,
    LOSS_LIMIT,
    MONDAY,
    SBIN,
    a_desk,
    at,
    by_name,
    filled,
    placed_outside,
    price,
    sbin_mis,
)
from tests.support import eventually

pytestmark = pytest.mark.slow


async def test_a_strategys_sale_closes_a_buy_placed_on_kite_web(tmp_path: Path) -> None:
    """Kite web buys 100 SBIN MIS at 849.85, ``manual`` sells 100 at 855: both flat, external
    realising 515; SBIN at 900 after it moves neither, and ``manual``'s loss limit (3,000, below
    the 4,500 a short 100 would lose) lets its next order through."""
    async with running_sim(seed=29, rate_limits=False, market_hours="nse") as (sim, address):
        view = BrokerView(address)
        await at(view, 9, 30)
        # The session is the simulated day's (as in the square-off scenario).
        address = replace(address, access_token=sim.issue_access_token())
        view = BrokerView(address)
        await price(view, SBIN, "849.85")
        await price(view, INFY, "1500")
        store_url = sqlite_url(tmp_path / "desk.db")
        async with a_desk(address, store_url, tmp_path, SimTime(sim)) as desk:
            assert desk.trading_day == MONDAY
            # Keeps SBIN streamed once the account is flat in SBIN MIS.
            await filled(desk, "sbin", "swing", Side.BUY, 1, Product.CNC)
            kite_web = await placed_outside(desk, view, Side.BUY, 100)
            await eventually(
                lambda: desk.position(SBIN, Product.MIS).quantity == 100,
                what="the buy on Kite web recorded",
            )
            await price(view, SBIN, "855")
            await eventually(
                lambda: desk.book.last_prices.get(SBIN) == Decimal("855"), what="SBIN at 855"
            )
            sold = await filled(desk, "sbin", "manual", Side.SELL, 100)
            assert desk.position(SBIN, Product.MIS).quantity == 0

            await price(view, SBIN, "900")
            await eventually(
                lambda: desk.book.last_prices.get(SBIN) == Decimal("900"), what="SBIN at 900"
            )
            server = await serve_api(create_app(EngineDesk(desk), token=API_TOKEN))
            try:
                async with DeskClient(server.url, API_TOKEN) as api:
                    strategies = by_name(await api.strategies())
            finally:
                await server.stop()
            assert kite_web.average_price == Decimal("849.85")
            assert sold.average_price == Decimal("855")
            assert sbin_mis(strategies["manual"]) == (0, Decimal(0))
            assert strategies["manual"].pnl == 0
            assert sbin_mis(strategies["external"]) == (0, Decimal("515.00"))
            assert sum(s.pnl for s in strategies.values()) == desk.day_pnl()

            # ``manual``'s own loss limit sees nothing lost, not a short 100 marked at 900.
            assert LOSS_LIMIT < 100 * (900 - 855)
            more = await filled(desk, "infy", "manual", Side.BUY, 1, Product.CNC, INFY)
            assert more.status is OrderStatus.FILLED
            assert desk.strategy_books("manual")["manual"].positions.net_quantity(SBIN) == 0
