"""The charge schedule in force since 2026-04-01: Budget 2026's STT on NSE/BSE derivatives
(futures 0.05 %, options 0.15 % of premium, on the sell side), and MCX's own rates (CTT, MCX's
transaction charge) rather than NSE futures'. Every figure is worked by hand from the rates
cited in :mod:`orderdesk.domain.charge_schedule`."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.brokers.paper import PaperBroker
from orderdesk.domain import BrokerStatus, InstrumentKey, Product, Side
from orderdesk.domain.charge_schedule import ContractKind, ScheduledCharges, scheduled_charges
from orderdesk.domain.reports import Charges
from tests.domain.builders import report


def charged(kind: ContractKind, *, buy: bool, quantity: int, price: str) -> ScheduledCharges:
    """An NRML order (no delivery) of ``quantity`` units at ``price``."""
    return scheduled_charges(kind, buy=buy, delivery=False, quantity=quantity, price=Decimal(price))


def figures(due: ScheduledCharges | Charges) -> tuple[Decimal, ...]:
    """Tax, exchange charge, SEBI fee, brokerage, stamp duty, GST and total, in that order."""
    return (
        due.transaction_tax,
        due.exchange_turnover_charge,
        due.sebi_turnover_charge,
        due.brokerage,
        due.stamp_duty,
        due.gst,
        due.total,
    )


def test_a_futures_sale_pays_the_2026_stt_of_five_basis_points() -> None:
    # 65 NIFTY at 25,000: turnover 1,625,000.
    sold = charged(ContractKind.FUTURE, buy=False, quantity=65, price="25000")
    assert figures(sold) == (
        Decimal("812.5"),  # STT 0.05 % (was 0.02 %: 325)
        Decimal("28.1125"),  # NSE 0.00173 %
        Decimal("1.625"),  # SEBI 10 a crore
        20,  # 0.03 % would be 487.5
        0,  # stamp on the buy side only
        Decimal("8.95275"),  # 18 % of 20 + 28.1125 + 1.625 = 49.7375
        Decimal("871.19025"),  # 812.5 + 28.1125 + 1.625 + 20 + 8.95275
    )


def test_an_options_sale_pays_the_2026_stt_of_fifteen_basis_points_of_premium() -> None:
    # 65 NIFTY calls at 100: premium 6,500.
    sold = charged(ContractKind.OPTION, buy=False, quantity=65, price="100")
    assert figures(sold) == (
        Decimal("9.75"),  # STT 0.15 % (was 0.1 %: 6.5)
        Decimal("2.27695"),  # NSE 0.03503 % of premium
        Decimal("0.0065"),  # SEBI 10 a crore
        20,  # flat
        0,
        Decimal("4.011021"),  # 18 % of 20 + 2.27695 + 0.0065 = 22.28345
        Decimal("36.044471"),  # 9.75 + 2.27695 + 0.0065 + 20 + 4.011021
    )


def test_an_mcx_future_pays_ctt_and_mcx_charges_not_stt() -> None:
    # One CRUDEOIL lot, 100 barrels at 5,400: turnover 540,000.
    sold = charged(ContractKind.COMMODITY_FUTURE, buy=False, quantity=100, price="5400")
    assert figures(sold) == (
        Decimal("54"),  # CTT 0.01 % on the sell side (NSE futures' STT would be 270)
        Decimal("11.34"),  # MCX 0.0021 %
        Decimal("0.54"),  # SEBI 10 a crore
        20,  # 0.03 % would be 162
        0,  # stamp on the buy side only
        Decimal("5.7384"),  # 18 % of 20 + 11.34 + 0.54 = 31.88
        Decimal("91.6184"),  # 54 + 11.34 + 0.54 + 20 + 5.7384
    )
    bought = charged(ContractKind.COMMODITY_FUTURE, buy=True, quantity=100, price="5400")
    assert figures(bought) == (
        0,  # CTT on the sell side only
        Decimal("11.34"),
        Decimal("0.54"),
        20,
        Decimal("10.8"),  # stamp 0.002 % on the buy side
        Decimal("5.7384"),
        Decimal("48.4184"),  # 11.34 + 0.54 + 20 + 10.8 + 5.7384
    )


def test_a_small_mcx_future_pays_three_basis_points_of_brokerage() -> None:
    """kite-mocks' virtual_contract_note.json (Kite's own note, 2023) sells one GOLDPETAL at
    5,862: CTT 0.5862, SEBI 0.005862, brokerage 1.7586. Its exchange charge, 0.152412, was
    MCX's 0.0026 % then; the 2026 rate is 0.0021 %."""
    sold = charged(ContractKind.COMMODITY_FUTURE, buy=False, quantity=1, price="5862")
    assert sold.transaction_tax == Decimal("0.5862")  # 0.01 %
    assert sold.sebi_turnover_charge == Decimal("0.005862")
    assert sold.brokerage == Decimal("1.7586")  # 0.03 %, under 20
    assert sold.exchange_turnover_charge == Decimal("0.123102")  # 5,862 × 0.000021


def test_an_mcx_option_sale_pays_ctt_on_premium_and_a_flat_20() -> None:
    # One CRUDEOIL call lot, 100 barrels at a premium of 150: premium 15,000.
    sold = charged(ContractKind.COMMODITY_OPTION, buy=False, quantity=100, price="150")
    assert figures(sold) == (
        Decimal("7.5"),  # CTT 0.05 % of premium (NSE options' STT would be 22.5)
        Decimal("6.27"),  # MCX 0.0418 % of premium
        Decimal("0.015"),  # SEBI 10 a crore
        20,  # flat, whatever the premium (0.03 % would be 4.5)
        0,
        Decimal("4.7313"),  # 18 % of 20 + 6.27 + 0.015 = 26.285
        Decimal("38.5163"),  # 7.5 + 6.27 + 0.015 + 20 + 4.7313
    )
    bought = charged(ContractKind.COMMODITY_OPTION, buy=True, quantity=100, price="150")
    assert (bought.transaction_tax, bought.stamp_duty) == (0, Decimal("0.45"))  # 0.003 %


def test_equity_rates_are_unchanged_by_the_budget() -> None:
    intraday = scheduled_charges(
        ContractKind.EQUITY, buy=False, delivery=False, quantity=100, price=Decimal("1000")
    )
    assert intraday.transaction_tax == 25  # 0.025 % of 100,000
    assert intraday.exchange_turnover_charge == Decimal("2.97")  # NSE 0.00297 %


async def test_the_paper_broker_charges_mcx_as_commodities() -> None:
    """GOLDPETAL's lot is one gram priced per gram (multiplier 1), so the paper broker's
    turnover is quantity × price."""
    paper = PaperBroker()
    rows = [
        report(
            BrokerStatus.COMPLETE,
            quantity,
            quantity=quantity,
            broker_order_id=f"P{n}",
            instrument=InstrumentKey.parse(symbol),
            side=Side.SELL,
            product=Product.NRML,
            average_price=Decimal(price),
        )
        for n, (symbol, quantity, price) in enumerate(
            (
                ("MCX:GOLDPETAL26DECFUT", 1, "5862"),
                ("MCX:GOLDPETAL26DEC13000CE", 100, "150"),
                ("NFO:NIFTY26DECFUT", 65, "25000"),
            )
        )
    ]
    future, option, nifty = await paper.order_charges(rows)
    assert future.transaction_tax == Decimal("0.5862")  # CTT 0.01 % of 5,862
    assert future.exchange_turnover_charge == Decimal("0.123102")  # MCX 0.0021 %
    assert future.brokerage == Decimal("1.7586")
    # As the commodity option of 15,000 premium above: CTT 0.05 %, MCX 0.0418 %, flat 20.
    assert figures(option)[:4] == (Decimal("7.5"), Decimal("6.27"), Decimal("0.015"), 20)
    assert figures(nifty)[0] == Decimal("812.5")  # STT 0.05 % of 1,625,000


async def test_the_paper_broker_charges_an_mcx_lot_on_its_multiplier() -> None:
    paper = PaperBroker()
    sale = report(
        BrokerStatus.COMPLETE,
        1,
        quantity=1,
        instrument=InstrumentKey.parse("MCX:CRUDEOIL26DECFUT"),
        side=Side.SELL,
        product=Product.NRML,
        average_price=Decimal("5400"),
    )
    [charges] = await paper.order_charges([sale])
    assert charges.transaction_tax == Decimal("54")  # CTT 0.01 % of 1 × 100 barrels × 5,400


async def test_the_paper_broker_charges_a_currency_lot_without_stt() -> None:
    """A USDINR lot is 1,000 dollars priced per dollar: currency derivatives pay no STT, and
    the turnover is the lot's (before, it was charged NSE futures' STT on 83.50)."""
    paper = PaperBroker()
    sale = report(
        BrokerStatus.COMPLETE,
        1,
        quantity=1,
        instrument=InstrumentKey.parse("CDS:USDINR26DECFUT"),
        side=Side.SELL,
        product=Product.NRML,
        average_price=Decimal("83.5"),
    )
    [charges] = await paper.order_charges([sale])
    assert figures(charges) == (
        0,  # no STT on currency derivatives
        Decimal("0.29225"),  # NSE 0.00035 % of 83,500
        Decimal("0.0835"),  # SEBI 10 a crore
        20,  # 0.03 % would be 25.05
        0,  # stamp on the buy side only
        Decimal("3.667635"),  # 18 % of 20 + 0.29225 + 0.0835 = 20.37575
        Decimal("24.043385"),  # 0.29225 + 0.0835 + 20 + 3.667635
    )
    option = scheduled_charges(
        ContractKind.CURRENCY_OPTION, buy=True, delivery=False, quantity=1000, price=Decimal("0.5")
    )
    # Premium 500: NSE 0.0311 % = 0.1555, stamp 0.0001 % = 0.0005, brokerage 0.03 % = 0.15.
    assert (option.exchange_turnover_charge, option.stamp_duty, option.brokerage) == (
        Decimal("0.1555"),
        Decimal("0.0005"),
        Decimal("0.15"),
    )
