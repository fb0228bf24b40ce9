"""What an executed order costs by Zerodha's public schedule: STT (CTT on MCX), exchange
transaction charge, SEBI fee, stamp duty, GST on brokerage and fees, and brokerage (nothing for
equity delivery, a flat 20 an option order, else the lower of 20 and 0.03 % an order).

The rates are those in force since 2026-04-01, the day the Union Budget 2026's STT rise took
effect; the desk's logs begin in late 2026, so no earlier schedule is kept. A broker with a
calculator of its own (Kite's ``/charges/orders``) is asked instead. The simulator answers its
``/charges/orders`` from this, and the paper broker charges its fills by it, so a paper day's
P&L after charges reads as a Kite day's would.

Sources:

- STT on NSE/BSE derivatives (sell side): futures 0.05 % of turnover, options 0.15 % of premium
  (were 0.02 % and 0.1 %): Cleartax, "Securities Transaction Tax (STT)", Budget 2026 update
  (https://cleartax.in/s/securities-transaction-tax-stt), and the budget speech of 2026-02-01
  as quoted by WION and NDTV Profit that day.
  Equity STT is unchanged: delivery 0.1 % both ways, intraday 0.025 % on the sell side.
- NSE transaction charges since 2024-10-01: equity 0.00297 %, futures 0.00173 %, options
  0.03503 % of premium (Zerodha's Nithin Kamath as quoted by Mint, 2024-10-01; brokers'
  charge lists since); BSE's differ (equity 0.00375 %, options 0.0325 %, futures none), but a
  BSE or BFO order is charged NSE's here. Stamp duty on the buy side: delivery 0.015 %,
  intraday 0.003 %, futures 0.002 %, options 0.003 %. SEBI fee 10 a crore (0.0001 %). GST 18 %
  of brokerage + transaction charge + SEBI fee.
- MCX, as Zerodha's charges page stood on 2026-06-19 (WebNotes, "MCX transaction charges";
  HDFC Sky's and ICICI Direct's schedules agree): futures CTT 0.01 % on the sell side
  (non-agri commodities; agri futures pay none, not told apart here), transaction charge
  0.0021 %, stamp 0.002 % on the buy side, brokerage the lower of 20 and 0.03 %; options CTT
  0.05 % of premium on the sell side, transaction charge 0.0418 % of premium, stamp 0.003 % on
  the buy side, brokerage a flat 20. SEBI fee and GST as above.
- Currency derivatives (CDS, BCD): no STT; NSE's transaction charge 0.00035 % on futures,
  0.0311 % of premium on options (HDFC Sky's statutory currency charges, 2026; BSE's differ
  and are not told apart); stamp 0.0001 % on the buy side; brokerage the lower of 20 and
  0.03 % for both (Zerodha support, "What is the brokerage for currency futures and
  options?"). SEBI fee and GST as above.
- An NSE/BSE option held to expiry in the money (:func:`exercise_charges`): the long holder,
  exercised, pays STT of 0.15 % of the intrinsic value (the option's settlement price times
  the quantity; was 0.125 %, raised with the rest by Budget 2026: Cleartax, as above); the
  short holder, assigned, pays no STT (it paid on the premium when it sold): Zerodha support,
  "What charges are levied if option positions get exercised?". Both pay brokerage, a flat 20
  an order, as if the exchange's settlement were an order: Zerodha's staff on TradingQnA,
  "ITM options Index options - Expiry - Brokerage/STT?" (2023-08) and "Charges on exercised
  (ITM) Nifty Index Options". No source found charges the exchange's transaction charge, the
  SEBI fee or stamp duty on the settlement, so none is; GST is on the brokerage. Expired out
  of the money (settlement 0) costs nothing.
- Equity bought and sold on the same day (:func:`squared_off`): the exchange nets a client's
  buys and sells of a scrip in a day, and the matched quantity is not delivered, whatever the
  product named: Zerodha's contract note charges it as intraday (STT 0.025 % on the sell side,
  stamp 0.003 % on the buy, brokerage the lower of 20 and 0.03 %), only the net quantity
  bought and kept, or sold from holdings, as delivery. Zerodha's staff on TradingQnA, "STT
  chargeable on Intraday Trade made using CNC?" and "If one sells a stock as equity BTST/ATST
  then what will be the STT charges" (case 1: intraday STT, no DP charge); the rates are the
  equity intraday ones above.
- DP charge (:func:`dp_charges`): 13.5 + 18 % GST a scrip on each day stock is sold from the
  demat, whatever the quantity; posted to the ledger, not on the contract note. Zerodha
  support, "What do DP charges mean?"; Nithin Kamath as quoted by NDTV Profit, 2026-02-23
  (13.5 + GST, of which 3.5 the depository's); WebNotes, "DP charges on Zerodha sell
  transactions", 2026-05-11 (15.93 with GST). A stock bought the day before and sold (BTST)
  pays it too (Zerodha support, "DP charges for BTST trades"). Another version of Zerodha's
  support page reads 13 + GST (12.75 for a woman first holder): not followed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from orderdesk.domain.calendar import SEGMENT_OF, Segment
from orderdesk.domain.reports import Charges
from orderdesk.domain.values import Exchange, InstrumentKey

ZERO = Decimal(0)
FLAT_BROKERAGE = Decimal(20)
"""Rupees an executed order: an option's, and the most any other intraday or F&O order pays."""
BROKERAGE_RATE = Decimal("0.0003")
SEBI_RATE = Decimal("0.000001")
GST_RATE = Decimal("0.18")
DP_CHARGE = Decimal("13.5")  # a scrip a day sold from the demat, before GST (sources above)


class ContractKind(StrEnum):
    EQUITY = "equity"
    FUTURE = "future"
    OPTION = "option"
    COMMODITY_FUTURE = "commodity_future"
    """An MCX future: CTT and MCX's charges rather than STT and NSE's."""
    COMMODITY_OPTION = "commodity_option"
    CURRENCY_FUTURE = "currency_future"
    """A CDS or BCD future: no STT, the currency segment's transaction charge."""
    CURRENCY_OPTION = "currency_option"


_DERIVATIVE_KINDS: dict[tuple[Segment, bool], ContractKind] = {
    (Segment.DERIVATIVES, False): ContractKind.FUTURE,
    (Segment.DERIVATIVES, True): ContractKind.OPTION,
    (Segment.COMMODITY, False): ContractKind.COMMODITY_FUTURE,
    (Segment.COMMODITY, True): ContractKind.COMMODITY_OPTION,
    (Segment.CURRENCY, False): ContractKind.CURRENCY_FUTURE,
    (Segment.CURRENCY, True): ContractKind.CURRENCY_OPTION,
}


def contract_kind_of(exchange: str, *, option: bool) -> ContractKind:
    """How an order on ``exchange`` is charged (``option``: the contract is an option). An
    exchange the desk does not know is charged as NSE's derivatives are."""
    try:
        segment = SEGMENT_OF[Exchange(exchange)]
    except ValueError:
        segment = Segment.DERIVATIVES
    if segment is Segment.EQUITY:
        return ContractKind.EQUITY
    return _DERIVATIVE_KINDS[segment, option]


def contract_kind_by_symbol(exchange: str, tradingsymbol: str) -> ContractKind:
    """:func:`contract_kind_of` read off a contract's exchange and Kite-style symbol, for one no
    instrument list holds (expired since, or a broker that keeps none): a derivative's symbol
    ends in CE or PE (options) or FUT. On the stock exchanges a symbol ending so is a company's
    (NSE:ACE), which the exchange's segment decides first."""
    return contract_kind_of(exchange, option=tradingsymbol.endswith(("CE", "PE")))


FLAT_FEE_KINDS = frozenset({ContractKind.OPTION, ContractKind.COMMODITY_OPTION})
"""Zerodha's options brokerage is flat, whatever the premium: kite-mocks'
virtual_contract_note.json charges 20 on 100 NIFTY puts at 1.50 (turnover 150)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Rates:
    """One kind of order's rates, each a fraction of its turnover (an option's: its premium)."""

    tax_on_buy: Decimal = ZERO
    tax_on_sale: Decimal
    exchange: Decimal
    stamp_on_buy: Decimal


_DELIVERY = _Rates(
    tax_on_buy=Decimal("0.001"),
    tax_on_sale=Decimal("0.001"),
    exchange=Decimal("0.0000297"),
    stamp_on_buy=Decimal("0.00015"),
)
_RATES: dict[ContractKind, _Rates] = {
    # Equity here is intraday (MIS); delivery (CNC, MTF) is _DELIVERY.
    ContractKind.EQUITY: _Rates(
        tax_on_sale=Decimal("0.00025"),
        exchange=Decimal("0.0000297"),
        stamp_on_buy=Decimal("0.00003"),
    ),
    ContractKind.FUTURE: _Rates(
        tax_on_sale=Decimal("0.0005"),
        exchange=Decimal("0.0000173"),
        stamp_on_buy=Decimal("0.00002"),
    ),
    ContractKind.OPTION: _Rates(
        tax_on_sale=Decimal("0.0015"),
        exchange=Decimal("0.0003503"),
        stamp_on_buy=Decimal("0.00003"),
    ),
    ContractKind.COMMODITY_FUTURE: _Rates(
        tax_on_sale=Decimal("0.0001"),
        exchange=Decimal("0.000021"),
        stamp_on_buy=Decimal("0.00002"),
    ),
    ContractKind.COMMODITY_OPTION: _Rates(
        tax_on_sale=Decimal("0.0005"),
        exchange=Decimal("0.000418"),
        stamp_on_buy=Decimal("0.00003"),
    ),
    ContractKind.CURRENCY_FUTURE: _Rates(
        tax_on_sale=ZERO,
        exchange=Decimal("0.0000035"),
        stamp_on_buy=Decimal("0.000001"),
    ),
    ContractKind.CURRENCY_OPTION: _Rates(
        tax_on_sale=ZERO,
        exchange=Decimal("0.000311"),
        stamp_on_buy=Decimal("0.000001"),
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledCharges:
    transaction_tax: Decimal
    exchange_turnover_charge: Decimal
    sebi_turnover_charge: Decimal
    brokerage: Decimal
    stamp_duty: Decimal
    gst: Decimal
    dp_charge: Decimal = ZERO
    """The depository's, for a scrip sold from holdings (:func:`dp_charges`); no order's."""

    @property
    def total(self) -> Decimal:
        return (
            self.transaction_tax
            + self.exchange_turnover_charge
            + self.sebi_turnover_charge
            + self.brokerage
            + self.stamp_duty
            + self.gst
            + self.dp_charge
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
    rates = _DELIVERY if delivered else _RATES[kind]
    exchange_charge = turnover * rates.exchange
    sebi = turnover * SEBI_RATE
    brokerage = (
        ZERO
        if delivered
        else FLAT_BROKERAGE
        if kind in FLAT_FEE_KINDS
        else min(FLAT_BROKERAGE, turnover * BROKERAGE_RATE)
    )
    return ScheduledCharges(
        transaction_tax=_share(turnover, rates.tax_on_buy if buy else rates.tax_on_sale),
        exchange_turnover_charge=exchange_charge,
        sebi_turnover_charge=sebi,
        brokerage=brokerage,
        stamp_duty=_share(turnover, rates.stamp_on_buy if buy else ZERO),
        gst=(brokerage + exchange_charge + sebi) * GST_RATE,
    )


EXERCISE_TAX_RATE = Decimal("0.0015")
"""STT on an exercised option, of its intrinsic value (the module docstring has the source)."""
PAISA = Decimal("0.01")


def exercise_charges(
    kind: ContractKind, *, quantity: int, settlement_price: Decimal
) -> ScheduledCharges | None:
    """What an option's settlement at expiry costs a holder of the signed ``quantity`` (long
    positive, in units: lots times the multiplier) at its final ``settlement_price`` (its
    intrinsic value); None when it costs nothing: expired worthless, no quantity, or not an
    NSE/BSE option (MCX and currency options settle otherwise, not modelled).

    Each part rounded to the paisa, as the contract note's exercise line shows it, so the
    desk's figure and the ledger's (the simulator's cash) are the same sum."""
    if kind is not ContractKind.OPTION or not quantity or settlement_price <= 0:
        return None
    intrinsic = settlement_price * abs(quantity)
    tax = intrinsic * EXERCISE_TAX_RATE if quantity > 0 else ZERO
    gst = FLAT_BROKERAGE * GST_RATE
    return ScheduledCharges(
        transaction_tax=tax.quantize(PAISA, ROUND_HALF_UP) if tax else ZERO,
        exchange_turnover_charge=ZERO,
        sebi_turnover_charge=ZERO,
        brokerage=FLAT_BROKERAGE,
        stamp_duty=ZERO,
        gst=gst.quantize(PAISA, ROUND_HALF_UP),
    )


def squared_off(lines: Sequence[tuple[bool, int]]) -> list[int]:
    """Of one day's delivery (CNC) trades in one scrip, each ``(buy, quantity)`` in the order
    they traded, the quantity of each that the day squared off: the lesser of the day's bought
    and sold quantities, taken from each side's earliest lines first. That much is charged as
    intraday (the module docstring has the source), the rest as delivery.

    An order matched in part is two lines at the calculator, its matched part an intraday
    order of its own: brokerage the lower of 20 and 0.03 % of that part's value, so capped at
    20 an order, as Zerodha charges an order's intraday part; its delivered part pays none."""
    matched = min(
        sum(quantity for buy, quantity in lines if buy),
        sum(quantity for buy, quantity in lines if not buy),
    )
    left = {True: matched, False: matched}
    taken = []
    for buy, quantity in lines:
        taken.append(min(quantity, left[buy]))
        left[buy] -= taken[-1]
    return taken


def sold_from_holdings(lines: Sequence[tuple[bool, int]]) -> int:
    """Of one day's delivery trades in one scrip (as :func:`squared_off` takes them), the
    quantity sold out of the demat: what the day sold beyond what it bought."""
    return max(0, sum(-quantity if buy else quantity for buy, quantity in lines))


def dp_charges() -> ScheduledCharges:
    """The DP charge of one scrip sold from holdings in a day, whatever the quantity, and its
    GST (the module docstring has the source)."""
    return ScheduledCharges(
        transaction_tax=ZERO,
        exchange_turnover_charge=ZERO,
        sebi_turnover_charge=ZERO,
        brokerage=ZERO,
        stamp_duty=ZERO,
        gst=DP_CHARGE * GST_RATE,
        dp_charge=DP_CHARGE,
    )


def _share(turnover: Decimal, rate: Decimal) -> Decimal:
    # A side that pays nothing is an exact 0, not 0.000 from a fractional turnover.
    return turnover * rate if rate else ZERO


__all__ = [
    "ContractKind",
    "ScheduledCharges",
    "contract_kind_by_symbol",
    "contract_kind_of",
    "dp_charges",
    "exercise_charges",
    "scheduled_charges",
    "sold_from_holdings",
    "squared_off",
]
