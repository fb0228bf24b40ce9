"""An NSE option held into its expiry in the money is settled by the exchange, not by an order,
and the settlement costs: STT of 0.15 % of the intrinsic value (Budget 2026; was 0.125 %) for
the long holder, who is exercised, none for the short, who is assigned, and Zerodha's flat
brokerage of 20 (with its GST) for both. A day's charges left it out: a NIFTY call settled at
21.15 showed nothing for it. Figures worked by hand from the rates cited in
:mod:`orderdesk.domain.charge_schedule`."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import InstrumentKey, Product, Side
from orderdesk.domain.charge_schedule import ContractKind, ScheduledCharges, exercise_charges
from orderdesk.domain.charges import ChargesTotal, exercises
from orderdesk.domain.day import PositionSnapshot
from orderdesk.domain.position import Position

CALL = InstrumentKey.parse("NFO:NIFTY26DEC25000CE")
LOT = 65


def figures(due: ScheduledCharges | None) -> tuple[Decimal, ...] | None:
    """Tax, exchange charge, SEBI fee, brokerage, stamp duty, GST and total."""
    if due is None:
        return None
    return (
        due.transaction_tax,
        due.exchange_turnover_charge,
        due.sebi_turnover_charge,
        due.brokerage,
        due.stamp_duty,
        due.gst,
        due.total,
    )


def settled(kind: ContractKind, quantity: int, price: str) -> tuple[Decimal, ...] | None:
    return figures(exercise_charges(kind, quantity=quantity, settlement_price=Decimal(price)))


def test_an_exercised_long_call_pays_stt_on_its_intrinsic_value_and_brokerage() -> None:
    # Intrinsic value 21.15 × 65 = 1,374.75: STT 0.15 % = 2.062125, to the paisa 2.06.
    assert settled(ContractKind.OPTION, LOT, "21.15") == (
        Decimal("2.06"),
        0,
        0,
        Decimal(20),
        0,
        Decimal("3.60"),  # GST 18 % of the brokerage
        Decimal("25.66"),
    )


def test_an_assigned_short_pays_brokerage_but_no_stt() -> None:
    # It paid its STT on the premium when it sold.
    assert settled(ContractKind.OPTION, -LOT, "21.15") == (
        0,
        0,
        0,
        Decimal(20),
        0,
        Decimal("3.60"),
        Decimal("23.60"),
    )


def test_an_option_expired_worthless_costs_nothing() -> None:
    assert settled(ContractKind.OPTION, LOT, "0") is None
    assert settled(ContractKind.OPTION, -LOT, "0") is None


def test_only_nse_and_bse_options_are_charged_so() -> None:
    # A future's settlement, MCX's and the currency segment's options are not modelled here.
    for kind in (
        ContractKind.FUTURE,
        ContractKind.COMMODITY_OPTION,
        ContractKind.CURRENCY_OPTION,
    ):
        assert settled(kind, LOT, "21.15") is None
    assert settled(ContractKind.OPTION, 0, "21.15") is None


def close_line(
    instrument: InstrumentKey, quantity: int, last: str, *, expired: bool
) -> PositionSnapshot:
    """A day's close line: ``quantity`` bought at 10, marked at ``last``."""
    position = Position(instrument, Product.NRML)
    side = Side.BUY if quantity > 0 else Side.SELL
    position.apply_fill(side, abs(quantity), Decimal(10))
    return PositionSnapshot.marked(position, Decimal(last), settled=expired)


def test_the_days_exercises_are_its_closes_settled_options_in_the_money() -> None:
    put = InstrumentKey.parse("NFO:NIFTY26DEC25500PE")
    worthless = InstrumentKey.parse("NFO:NIFTY26DEC26000CE")
    future = InstrumentKey.parse("NFO:NIFTY26DECFUT")
    carried = InstrumentKey.parse("NFO:NIFTY27JAN25000CE")
    lines = [
        close_line(CALL, LOT, "21.15", expired=True),
        close_line(put, -LOT, "348.85", expired=True),
        close_line(worthless, LOT, "0", expired=True),
        close_line(future, LOT, "25151.15", expired=True),
        # Not expired: open at a price, but no settlement.
        close_line(carried, LOT, "80", expired=False),
    ]
    found = exercises(lines)
    assert [(e.instrument, e.quantity, e.settlement_price) for e in found] == [
        (CALL, LOT, Decimal("21.15")),
        (put, -LOT, Decimal("348.85")),
    ]
    total = ChargesTotal.of([e.charges for e in found])
    assert (total.transaction_tax, total.brokerage, total.total) == (
        Decimal("2.06"),
        Decimal(40),
        Decimal("49.26"),
    )


def test_the_close_records_which_lines_it_settled() -> None:
    # So a day read back from the log still knows its exercises.
    assert close_line(CALL, LOT, "21.15", expired=True).settled is True
    assert close_line(CALL, LOT, "21.15", expired=False).settled is False
