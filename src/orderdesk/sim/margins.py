"""Margin and charge arithmetic: a simplified, documented model of Zerodha's RMS.

The rates are round numbers close to Zerodha's published ones, good enough to make margin
rejections, funds and charges behave plausibly; they are not SPAN. Everything is ``Decimal``.

- Equity delivery (CNC, MTF): 100 % of value (``var``), leverage 1.
- Equity intraday (MIS, CO): 20 % of value (leverage 5).
- Futures: SPAN 10 % + exposure 3 % of notional, for any product.
- Options bought: the premium. Options sold: SPAN 10 % + exposure 3 % of strike × quantity.

Charges follow Zerodha's public schedule for NSE (STT, exchange turnover, SEBI fee, stamp duty,
GST on brokerage + fees); brokerage is 0 for delivery, else min(20, 0.03 %) per order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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
    value = price * quantity
    if _is_future(inst):
        return MarginBreakdown(span=value * SPAN_RATE, exposure=value * EXPOSURE_RATE)
    if _is_option(inst):
        if buy:
            return MarginBreakdown(option_premium=value)
        notional = Decimal(str(inst.strike)) * quantity
        return MarginBreakdown(span=notional * SPAN_RATE, exposure=notional * EXPOSURE_RATE)
    if product in DELIVERY:
        return MarginBreakdown(var=value)
    return MarginBreakdown(var=value * INTRADAY_RATE, leverage=5)


def charges(
    inst: InstrumentLike, *, buy: bool, product: str, quantity: int, price: Decimal
) -> dict[str, Any]:
    """Kite's ``charges`` object for one order at ``price``."""
    turnover = price * quantity
    delivery = product in DELIVERY and not (_is_future(inst) or _is_option(inst))
    if _is_option(inst):
        stt = ZERO if buy else turnover * Decimal("0.001")
        exchange_rate = Decimal("0.0003503")
        stamp = turnover * Decimal("0.00003") if buy else ZERO
    elif _is_future(inst):
        stt = ZERO if buy else turnover * Decimal("0.0002")
        exchange_rate = Decimal("0.0000173")
        stamp = turnover * Decimal("0.00002") if buy else ZERO
    elif delivery:
        stt = turnover * Decimal("0.001")
        exchange_rate = Decimal("0.0000297")
        stamp = turnover * Decimal("0.00015") if buy else ZERO
    else:
        stt = ZERO if buy else turnover * Decimal("0.00025")
        exchange_rate = Decimal("0.0000297")
        stamp = turnover * Decimal("0.00003") if buy else ZERO
    exchange_charge = turnover * exchange_rate
    sebi = turnover * Decimal("0.000001")
    brokerage = ZERO if delivery else min(Decimal(20), turnover * Decimal("0.0003"))
    gst = (brokerage + exchange_charge + sebi) * Decimal("0.18")
    total = stt + exchange_charge + sebi + brokerage + stamp + gst
    return {
        "transaction_tax": money(stt),
        "transaction_tax_type": "ctt" if inst.exchange == "MCX" else "stt",
        "exchange_turnover_charge": money(exchange_charge),
        "sebi_turnover_charge": money(sebi),
        "brokerage": money(brokerage),
        "stamp_duty": money(stamp),
        "gst": {"igst": money(gst), "cgst": 0, "sgst": 0, "total": money(gst)},
        "total": money(total),
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


__all__ = ["MarginBreakdown", "charges", "empty_charges", "margin_row", "order_margin"]
