"""Margin and charge arithmetic: a simplified, documented model of Zerodha's RMS.

The rates are round numbers close to Zerodha's published ones, good enough to make margin
rejections, funds and charges behave plausibly; they are not SPAN. Everything is ``Decimal``.

- Equity delivery (CNC, MTF): 100 % of value (``var``), leverage 1.
- Equity intraday (MIS, CO): 20 % of value (leverage 5).
- Futures: SPAN 10 % + exposure 3 % of notional, for any product.
- Options bought: the premium. Options sold: SPAN 10 % + exposure 3 % of strike × quantity.

Values are quantity × price × the contract's multiplier (MCX and currency contracts are traded
in lots priced per quoted unit, :mod:`orderdesk.domain.contracts`), and so is the turnover that
charges are reckoned on.

Charges follow Zerodha's public schedule for NSE and MCX, at the rates in force since
2026-04-01 (:mod:`orderdesk.domain.charge_schedule`, shared with the paper broker).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orderdesk.domain.charge_schedule import (
    ContractKind,
    ScheduledCharges,
    contract_kind_by_symbol,
    contract_kind_of,
    exercise_charges,
    scheduled_charges,
)
from orderdesk.domain.contracts import contract_multiplier
from orderdesk.sim.orders import money
from orderdesk.sim.ports import InstrumentLike

ZERO = Decimal(0)
DELIVERY = frozenset({"CNC", "MTF"})
INTRADAY_RATE = Decimal("0.20")
SPAN_RATE = Decimal("0.10")
EXPOSURE_RATE = Decimal("0.03")


def _is_option(inst: InstrumentLike) -> bool:
    return inst.instrument_type in ("CE", "PE")


def _is_future(inst: InstrumentLike) -> bool:
    return inst.instrument_type == "FUT"


@dataclass(frozen=True, slots=True)
class MarginBreakdown:
    """What one order blocks, split the way Kite's margin replies split it."""

    span: Decimal = ZERO
    exposure: Decimal = ZERO
    option_premium: Decimal = ZERO
    var: Decimal = ZERO
    leverage: int = 1

    @property
    def total(self) -> Decimal:
        """Everything blocked."""
        return self.span + self.exposure + self.option_premium + self.var


def order_margin(
    inst: InstrumentLike, *, buy: bool, product: str, quantity: int, price: Decimal
) -> MarginBreakdown:
    """The margin one order needs at ``price`` (the limit, or the last price for MARKET)."""
    units = quantity * contract_multiplier(inst.exchange, inst.tradingsymbol)
    value = price * units
    if _is_future(inst):
        return MarginBreakdown(span=value * SPAN_RATE, exposure=value * EXPOSURE_RATE)
    if _is_option(inst):
        if buy:
            return MarginBreakdown(option_premium=value)
        notional = Decimal(str(inst.strike)) * units
        return MarginBreakdown(span=notional * SPAN_RATE, exposure=notional * EXPOSURE_RATE)
    if product in DELIVERY:
        return MarginBreakdown(var=value)
    return MarginBreakdown(var=value * INTRADAY_RATE, leverage=5)


def contract_kind(inst: InstrumentLike) -> ContractKind:
    """What the charge schedule rates ``inst`` as: equity, or a derivative of its exchange's
    segment (MCX's pay CTT, currency contracts no STT)."""
    if _is_option(inst) or _is_future(inst):
        return contract_kind_of(inst.exchange, option=_is_option(inst))
    return ContractKind.EQUITY


def charges(
    inst: InstrumentLike, *, buy: bool, product: str, quantity: int, price: Decimal
) -> dict[str, Any]:
    """Kite's ``charges`` object for one order at ``price`` (the desk's schedule,
    :mod:`orderdesk.domain.charge_schedule`, which the paper broker charges by too)."""
    return contract_charges(
        inst.exchange,
        inst.tradingsymbol,
        contract_kind(inst),
        buy=buy,
        product=product,
        quantity=quantity,
        price=price,
    )


def charges_due(
    exchange: str,
    tradingsymbol: str,
    kind: ContractKind,
    *,
    buy: bool,
    product: str,
    quantity: int,
    price: Decimal,
) -> ScheduledCharges:
    """What one executed order of ``quantity`` at ``price`` costs: the one reckoning behind the
    contract note (``/charges/orders``) and the charges the rollover takes off the cash."""
    units = quantity * contract_multiplier(exchange, tradingsymbol)
    return scheduled_charges(
        kind, buy=buy, delivery=product in DELIVERY, quantity=units, price=price
    )


def exercise_due(
    inst: InstrumentLike, *, quantity: int, settlement_price: Decimal
) -> ScheduledCharges | None:
    """What the settlement of an expired option held at ``quantity`` (signed lots, long
    positive) at its final ``settlement_price`` costs: the desk's schedule's exercise line
    (:func:`~orderdesk.domain.charge_schedule.exercise_charges`), None when nothing."""
    units = quantity * contract_multiplier(inst.exchange, inst.tradingsymbol)
    return exercise_charges(contract_kind(inst), quantity=units, settlement_price=settlement_price)


def contract_charges(
    exchange: str,
    tradingsymbol: str,
    kind: ContractKind,
    *,
    buy: bool,
    product: str,
    quantity: int,
    price: Decimal,
) -> dict[str, Any]:
    """:func:`charges` by what an order names rather than a listed instrument: the contract
    note charges an executed order on a contract that has since expired as on a live one."""
    due = charges_due(
        exchange, tradingsymbol, kind, buy=buy, product=product, quantity=quantity, price=price
    )
    return {
        "transaction_tax": money(due.transaction_tax),
        "transaction_tax_type": "ctt" if exchange == "MCX" else "stt",
        "exchange_turnover_charge": money(due.exchange_turnover_charge),
        "sebi_turnover_charge": money(due.sebi_turnover_charge),
        "brokerage": money(due.brokerage),
        "stamp_duty": money(due.stamp_duty),
        "gst": {"igst": money(due.gst), "cgst": 0, "sgst": 0, "total": money(due.gst)},
        "total": money(due.total),
    }


def margin_row(
    inst: InstrumentLike,
    *,
    buy: bool,
    product: str,
    quantity: int,
    price: Decimal,
    compact: bool = False,
) -> dict[str, Any]:
    """One entry of ``POST /margins/orders`` (and of a basket's ``orders``)."""
    m = order_margin(inst, buy=buy, product=product, quantity=quantity, price=price)
    if compact:
        return {
            "tradingsymbol": inst.tradingsymbol,
            "exchange": inst.exchange,
            "total": money(m.total),
        }
    return {
        "type": "equity",
        "tradingsymbol": inst.tradingsymbol,
        "exchange": inst.exchange,
        "span": money(m.span),
        "exposure": money(m.exposure),
        "option_premium": money(m.option_premium),
        "additional": 0,
        "bo": 0,
        "cash": 0,
        "var": money(m.var),
        "pnl": {"realised": 0, "unrealised": 0},
        "leverage": m.leverage,
        "charges": charges(inst, buy=buy, product=product, quantity=quantity, price=price),
        "total": money(m.total),
    }


def empty_charges() -> dict[str, Any]:
    """A zeroed ``charges`` object (basket ``initial``/``final`` carry one)."""
    return {
        "transaction_tax": 0,
        "transaction_tax_type": "",
        "exchange_turnover_charge": 0,
        "sebi_turnover_charge": 0,
        "brokerage": 0,
        "stamp_duty": 0,
        "gst": {"igst": 0, "cgst": 0, "sgst": 0, "total": 0},
        "total": 0,
    }


def summary_row(parts: list[MarginBreakdown]) -> dict[str, Any]:
    """A basket's ``initial`` or ``final`` object: the parts summed."""
    span = sum((p.span for p in parts), ZERO)
    exposure = sum((p.exposure for p in parts), ZERO)
    premium = sum((p.option_premium for p in parts), ZERO)
    var = sum((p.var for p in parts), ZERO)
    return {
        "type": "",
        "tradingsymbol": "",
        "exchange": "",
        "span": money(span),
        "exposure": money(exposure),
        "option_premium": money(premium),
        "additional": 0,
        "bo": 0,
        "cash": 0,
        "var": money(var),
        "pnl": {"realised": 0, "unrealised": 0},
        "leverage": 0,
        "charges": empty_charges(),
        "total": money(span + exposure + premium + var),
    }


__all__ = [
    "MarginBreakdown",
    "charges",
    "charges_due",
    "contract_charges",
    "contract_kind",
    "contract_kind_by_symbol",
    "empty_charges",
    "exercise_due",
    "margin_row",
    "order_margin",
]
