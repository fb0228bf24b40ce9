"""P&L in the API's answers is to the paisa whatever the engine's precision: after a restart
the desk's figures, rebuilt from the log, carry four places (``351.0000``, ``71.4123``) where
the live ones read ``351.00``; the API's answers must read the same either way."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from orderdesk.api.schemas import (
    DayDetailOut,
    DayOut,
    DayPositionOut,
    LossLimitOut,
    PositionOut,
)
from orderdesk.domain.values import Product

FOUR = {"realised": Decimal("351.0000"), "unrealised": Decimal("71.4123")}
"""The figures an operator saw after a kill -9 and a restart."""


def test_a_position_reads_its_pnl_to_the_paisa_and_its_prices_as_shown() -> None:
    out = PositionOut(
        instrument="NSE:INFY",
        product=Product.CNC,
        quantity=3,
        average_price=Decimal("1500.0500"),
        last_price=Decimal("1523.85"),
        pnl=Decimal("422.4123"),
        **FOUR,
    ).model_dump(mode="json")
    assert (out["realised"], out["unrealised"], out["pnl"]) == ("351.00", "71.41", "422.41")
    # Prices read as the CLI shows them (price_text), not to the paisa: see test_position_prices.
    assert (out["average_price"], out["last_price"]) == ("1500.05", "1523.85")


def test_a_days_position_and_totals_read_to_the_paisa() -> None:
    line = DayPositionOut(
        instrument="NSE:INFY",
        product=Product.MIS,
        quantity=0,
        overnight_quantity=0,
        average_price=Decimal("1500"),
        last_price=None,
        pnl=Decimal("422.4123"),
        buy_quantity=1,
        sell_quantity=1,
        **FOUR,
    ).model_dump(mode="json")
    assert (line["realised"], line["unrealised"], line["pnl"]) == ("351.00", "71.41", "422.41")
    at = datetime(2026, 12, 4, 3, 30, tzinfo=UTC)
    common = {"day": date(2026, 12, 4), "live": False, "opened_at": at, "closed_at": at}
    day = DayOut(
        **common,
        pnl=Decimal("351.0000"),
        realised=Decimal("71.4150"),
        orders=2,
        fills=2,
        lapsed=0,
        carried_positions=0,
        holdings=0,
    ).model_dump(mode="json")
    assert (day["pnl"], day["realised"]) == ("351.00", "71.42")
    detail = DayDetailOut(
        **common,
        pnl=Decimal("351.0000"),
        realised=None,
        positions=[],
        orders=[],
        holdings=[],
        lapsed=[],
        still_open=[],
    ).model_dump(mode="json")
    assert (detail["pnl"], detail["realised"]) == ("351.00", None)


def test_the_loss_limit_reads_the_days_pnl_to_the_paisa() -> None:
    out = LossLimitOut(
        limit=Decimal("5000"),
        day_pnl=Decimal("-71.4123"),
        reached=False,
        strategies_at_limit=[],
    ).model_dump(mode="json")
    assert (out["limit"], out["day_pnl"]) == ("5000", "-71.41")
