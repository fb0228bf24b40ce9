"""A day's opening records each strategy's share of the carried positions, and a day opened
before it did (no ``strategy_positions`` in its row) still decodes, with no shares."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from orderdesk.domain import InstrumentKey, Product
from orderdesk.domain.day import CarriedPosition, StrategyCarry
from orderdesk.domain.events import DayOpened
from orderdesk.store.codec import from_record, to_record
from tests.domain.builders import AT

FUT = InstrumentKey.parse("NFO:NIFTY26DECFUT")
CARRIED = CarriedPosition(
    instrument=FUT,
    product=Product.NRML,
    quantity=75,
    close_price=Decimal("24010.05"),
    average_price=Decimal("23999.9"),
)


def test_an_opening_with_shares_round_trips() -> None:
    """The shares are written with the opening and read back as they were."""
    opened = DayOpened(
        at=AT,
        day=date(2026, 12, 8),
        positions=(CARRIED,),
        strategy_positions=(
            StrategyCarry(
                strategy="mean_rev",
                instrument=FUT,
                product=Product.NRML,
                quantity=75,
                average_price=Decimal("23999.9"),
            ),
        ),
    )
    kind, payload = to_record(opened)
    assert payload["strategy_positions"] == [
        {
            "average_price": "23999.9",
            "close_price": None,
            "instrument": {"exchange": "NFO", "tradingsymbol": "NIFTY26DECFUT"},
            "multiplier": None,
            "product": "NRML",
            "quantity": 75,
            "strategy": "mean_rev",
        }
    ]
    assert from_record(kind, payload) == opened


def test_an_opening_logged_before_shares_decodes_with_none() -> None:
    """A ``DayOpened`` row as an older orderdesk wrote it (format 1, no ``strategy_positions``)
    decodes: its carried positions are no strategy's."""
    payload = {
        "at": "2026-12-08T03:30:00+00:00",
        "carried_orders": ["od1"],
        "day": "2026-12-08",
        "holdings": [],
        "kill_switch": False,
        "kill_switch_reason": "",
        "positions": [
            {
                "average_price": "23999.9",
                "close_price": "24010.05",
                "instrument": {"exchange": "NFO", "tradingsymbol": "NIFTY26DECFUT"},
                "multiplier": "1",
                "product": "NRML",
                "quantity": 75,
            }
        ],
    }
    opened = from_record("DayOpened", payload)
    assert isinstance(opened, DayOpened)
    assert opened.strategy_positions == ()
    assert opened.positions == (CARRIED,)
    assert opened.carried_orders == ("od1",)


def test_a_share_logged_before_offsetting_shares_decodes_with_no_close() -> None:
    """A share written before shares could carry their own close reads back without one."""
    opened = DayOpened(
        at=AT,
        day=date(2026, 12, 8),
        strategy_positions=(
            StrategyCarry(
                strategy="alpha",
                instrument=FUT,
                product=Product.NRML,
                quantity=65,
                close_price=Decimal("25300"),
                multiplier=Decimal(1),
            ),
        ),
    )
    kind, payload = to_record(opened)
    for share in payload["strategy_positions"]:
        del share["close_price"], share["multiplier"]
    decoded = from_record(kind, payload)
    assert isinstance(decoded, DayOpened)
    [share] = decoded.strategy_positions
    assert (share.close_price, share.multiplier, share.offsetting) == (None, None, False)
