"""The bot's words: rupees with a sign, lists cut to a phone screen, one Telegram message."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import InstrumentKey, Position, Product, Side
from orderdesk.domain.day import PositionSnapshot
from orderdesk.telegram.render import MAX_CHARS, MAX_LINES, clip, listing, money, position_line


def test_money_has_a_sign_paise_and_thousands() -> None:
    """Gains and losses read alike: a sign, the rupee, grouped thousands, two decimals."""
    assert money(Decimal("1234.5")) == "+₹1,234.50"
    assert money(Decimal("-20")) == "-₹20.00"
    assert money(Decimal(0)) == "+₹0.00"


def test_a_long_list_is_cut_and_counted() -> None:
    """Past MAX_LINES rows a list says how many it left out, and where to see them."""
    rows = [f"row {n}" for n in range(MAX_LINES + 7)]
    text = listing("Orders", rows, "none")
    lines = text.splitlines()
    assert lines[0] == "Orders"
    assert lines[1 : MAX_LINES + 1] == rows[:MAX_LINES]
    assert lines[-1] == "… and 7 more (the dashboard has them all)"
    assert listing("Orders", [], "none yet") == "Orders\nnone yet"


def test_a_message_never_exceeds_telegrams_limit() -> None:
    """Text past MAX_CHARS (under Telegram's 4,096) is cut with an ellipsis; shorter text is
    left alone."""
    assert len(clip("x" * 10_000)) == MAX_CHARS
    assert clip("x" * 10_000).endswith("…")
    assert clip("short") == "short"


def test_a_sale_out_of_holdings_is_marked_on_its_line() -> None:
    """The broker's short quantity stays, with what of it is held stock sold."""
    position = Position(InstrumentKey.parse("NSE:INFY"), Product.CNC)
    position.hold(10, Decimal(1500))
    position.apply_fill(Side.SELL, 10, Decimal(1610))
    position.mark(Decimal(1700))
    line = position_line(PositionSnapshot.of(position))
    assert line == "NSE:INFY CNC -10 (10 from holdings) @1610.00 · last 1700 · +₹1,100.00"
