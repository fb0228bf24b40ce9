"""A positions table whose lines include an estimate says its total is one too: an unpriced
position counts 0 in the sum, and a bare total read as a known P&L."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderdesk.api.schemas import PositionOut
from orderdesk.cli.desk_commands import show_positions


def line(*, estimated: bool, pnl: str) -> PositionOut:
    return PositionOut(
        instrument="NSE:INFY",
        product="NRML",
        quantity=5,
        average_price=Decimal("1500"),
        last_price=None if estimated else Decimal("1452"),
        realised=Decimal(0),
        unrealised=Decimal(pnl),
        pnl=Decimal(pnl),
        estimated=estimated,
    )


def test_a_total_with_an_unpriced_line_says_it_is_an_estimate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    show_positions([line(estimated=True, pnl="0"), line(estimated=False, pnl="-377")])
    out = capsys.readouterr().out
    assert "P&L -377.00 (estimated" in out
    assert "no price: estimated" in out


def test_a_total_of_priced_lines_is_plain(capsys: pytest.CaptureFixture[str]) -> None:
    show_positions([line(estimated=False, pnl="-240")])
    out = capsys.readouterr().out
    assert "P&L -240.00" in out
    assert "estimated" not in out
