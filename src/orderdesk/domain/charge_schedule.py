"""What an executed order costs by Zerodha's public schedule for NSE: STT, exchange turnover
charge, SEBI fee, stamp duty, GST on brokerage and fees, and brokerage (nothing for equity
delivery, a flat 20 an option order, else the lower of 20 and 0.03 % an order).

The rates are those of Zerodha's brokerage calculator, rounded as the simulator has always
used them; a broker with a calculator of its own (Kite's ``/charges/orders``) is asked instead.
The simulator answers its ``/charges/orders`` from this, and the paper broker charges its fills
by it, so a paper day's P&L after charges reads as a Kite day's would.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from orderdesk.domain.reports import Charges
from orderdesk.domain.values import InstrumentKey

ZERO = Decimal(0)
FLAT_BROKERAGE = Decimal(20)
"""Rupees an executed order: an option's, and the most any other intraday or F&O order pays."""


class ContractKind(StrEnum):
    EQUITY = "equity"
    FUTURE = "future"
    OPTION = "option"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledCharges:
    transaction_tax: Decimal
    exchange_turnover_charge: Decimal
    sebi_turnover_charge: Decimal
    brokerage: Decimal
    stamp_duty: Decimal
    gst: Decimal

    @property
    def total(self) -> Decimal:
        return (
            self.transaction_tax
            + self.exchange_turnover_charge
            + self.sebi_turnover_charge
            + self.brokerage
            + self.stamp_duty
            + self.gst
        )

    def of_order(self, broker_order_id: str, instrument: InstrumentKey) -> Charges:
        """These charges as a broker's calculator answers them for one order."""
        return Charges(
            broker_order_id=broker_order_id,
            instrument=instrument,
            transaction_tax=self.transaction_tax,
            exchange_turnover_charge=self.exchange_turnover_charge,
            sebi_turnover_charge=self.sebi_turnover_charge,
            brokerage=self.brokerage,
            stamp_duty=self.stamp_duty,
            gst=self.gst,
            total=self.total,
        )


def scheduled_charges(
    kind: ContractKind, *, buy: bool, delivery: bool, quantity: int, price: Decimal
) -> ScheduledCharges:
    """The charges of one order of ``quantity`` at ``price`` (``delivery``: CNC or MTF)."""
    turnover = price * quantity
    delivered = delivery and kind is ContractKind.EQUITY
    if kind is ContractKind.OPTION:
        stt = ZERO if buy else turnover * Decimal("0.001")
        exchange_rate = Decimal("0.0003503")
        stamp = turnover * Decimal("0.00003") if buy else ZERO
    elif kind is ContractKind.FUTURE:
        stt = ZERO if buy else turnover * Decimal("0.0002")
        exchange_rate = Decimal("0.0000173")
        stamp = turnover * Decimal("0.00002") if buy else ZERO
    elif delivered:
        stt = turnover * Decimal("0.001")
        exchange_rate = Decimal("0.0000297")
        stamp = turnover * Decimal("0.00015") if buy else ZERO
    else:
        stt = ZERO if buy else turnover * Decimal("0.00025")
        exchange_rate = Decimal("0.0000297")
        stamp = turnover * Decimal("0.00003") if buy else ZERO
    exchange_charge = turnover * exchange_rate
    sebi = turnover * Decimal("0.000001")
    brokerage = (
        ZERO
        if delivered
        # Zerodha's options brokerage is flat, whatever the premium: kite-mocks'
        # virtual_contract_note.json charges 20 on 100 NIFTY puts at 1.50 (turnover 150).
        else FLAT_BROKERAGE
        if kind is ContractKind.OPTION
        else min(FLAT_BROKERAGE, turnover * Decimal("0.0003"))
    )
    return ScheduledCharges(
        transaction_tax=stt,
        exchange_turnover_charge=exchange_charge,
        sebi_turnover_charge=sebi,
        brokerage=brokerage,
        stamp_duty=stamp,
        gst=(brokerage + exchange_charge + sebi) * Decimal("0.18"),
    )


__all__ = ["ContractKind", "ScheduledCharges", "scheduled_charges"]
