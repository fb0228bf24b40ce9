"""A conversion refused for want of today's quantity says when the position is carried: a NRML
future carried in and moved to MIS with --overnight cannot go back without it, and the refusal
says that --overnight converts it (it said only "has no today's quantity")."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.domain import Product, Side, ValidationError
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.conversion import PositionConversion
from orderdesk.engine import OrderDesk
from orderdesk.engine.config import DayRules
from tests.engine.conftest import FAST
from tests.engine.fakes import NIFTY_FUT, MemoryStore, signal
from tests.engine.test_conversions import ConvertingBroker
from tests.support import WallClock

DAYS = replace(FAST, days=DayRules(calendar=TradingCalendar(frozenset())))
HINT = "its 75 carried from an earlier day convert with --overnight"


async def test_converting_a_carried_position_back_without_overnight_says_to_use_it() -> None:
    """NRML 75 carried, moved to MIS overnight: MIS to NRML without --overnight is refused
    (all of it, or 75 named) with the hint; with --overnight it goes through."""
    broker = ConvertingBroker()
    broker.carried = {(NIFTY_FUT, Product.NRML): 75}
    clock = WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))
    async with OrderDesk(broker, MemoryStore(), clock=clock, config=DAYS) as desk:
        api = EngineDesk(desk)
        await api.convert_position(
            NIFTY_FUT, Product.NRML, Product.MIS, quantity=None, overnight=True
        )
        assert desk.position(NIFTY_FUT, Product.MIS).overnight_quantity == 75

        with pytest.raises(ValidationError) as all_of_it:
            await api.convert_position(
                NIFTY_FUT, Product.MIS, Product.NRML, quantity=None, overnight=False
            )
        with pytest.raises(ValidationError) as named:
            await desk.convert_position(
                PositionConversion(
                    instrument=NIFTY_FUT,
                    side=Side.BUY,
                    quantity=75,
                    old_product=Product.MIS,
                    new_product=Product.NRML,
                ),
                operator="test",
            )
        await api.convert_position(
            NIFTY_FUT, Product.MIS, Product.NRML, quantity=None, overnight=True
        )
        assert desk.position(NIFTY_FUT, Product.NRML).quantity == 75
    assert str(all_of_it.value) == (
        f"quantity: the MIS position in NFO:NIFTY26DECFUT has no today's quantity; {HINT}"
    )
    assert str(named.value) == (
        f"quantity: the long MIS position in NFO:NIFTY26DECFUT has 0 to convert, not 75; {HINT}"
    )


async def test_a_position_with_nothing_carried_gets_no_hint() -> None:
    """A position bought today asked for more than it has: the refusal says how much it has,
    with no word of --overnight."""
    async with OrderDesk(ConvertingBroker(), MemoryStore(), config=FAST) as desk:
        await (await desk.submit(signal(instrument=NIFTY_FUT, quantity=75))).wait()
        with pytest.raises(ValidationError) as refused:
            await desk.convert_position(
                PositionConversion(
                    instrument=NIFTY_FUT,
                    side=Side.BUY,
                    quantity=150,
                    old_product=Product.MIS,
                    new_product=Product.NRML,
                ),
                operator="test",
            )
    assert str(refused.value) == (
        "quantity: the long MIS position in NFO:NIFTY26DECFUT has 75 to convert, not 150"
    )
