"""A carried line's P&L is the day's, from the previous close, while its avg is what it cost
when opened (as Kite's): the positions table shows the carried quantity and says so, so that an
avg below the last price beside an unrealised 0.00 does not read as a gain gone missing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderdesk.api.schemas import PositionOut
from orderdesk.cli.desk_commands import show_positions


def line(*, overnight: int) -> PositionOut:
    return PositionOut(
        instrument="NFO:NIFTY26DEC25000CE",
        product="NRML",
        quantity=130,
        overnight_quantity=overnight,
        average_price=Decimal("389.45"),
        last_price=Decimal("400"),
        realised=Decimal(0),
        unrealised=Decimal(0),
        pnl=Decimal(0),
    )


def test_a_carried_line_shows_its_overnight_quantity_and_what_its_pnl_is_of(
    capsys: pytest.CaptureFixture[str],
) -> None:
    show_positions([line(overnight=130)])
    out = " ".join(capsys.readouterr().out.split())
    assert "of the day: carried quantity from the previous close" in out
    assert "overnight" in out


def test_a_day_of_only_todays_lines_has_no_overnight_column(
    capsys: pytest.CaptureFixture[str],
) -> None:
    show_positions([line(overnight=0)])
    out = capsys.readouterr().out
    assert "overnight" not in out
    assert "previous close" not in out
