"""Zerodha's published charges, as the simulator and the paper broker price an order."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.brokers.paper import PaperBroker
from orderdesk.domain import BrokerStatus, InstrumentKey, Product, Side
from orderdesk.domain.charge_schedule import ContractKind, scheduled_charges
from tests.domain.builders import report


def test_equity_delivery_pays_stt_both_ways_and_no_brokerage() -> None:
    bought = scheduled_charges(
        ContractKind.EQUITY, buy=True, delivery=True, quantity=10, price=Decimal("1401")
    )
    assert bought.transaction_tax == Decimal("14.01")  # 0.1 % of 14,010
    assert bought.stamp_duty == Decimal("2.1015")  # 0.015 % on the buy only
    assert bought.brokerage == 0
    sold = scheduled_charges(
        ContractKind.EQUITY, buy=False, delivery=True, quantity=10, price=Decimal("1401")
    )
    assert (sold.transaction_tax, sold.stamp_duty) == (Decimal("14.01"), 0)


def test_intraday_brokerage_is_the_lower_of_20_and_three_basis_points() -> None:
    big = scheduled_charges(
        ContractKind.EQUITY, buy=False, delivery=False, quantity=100, price=Decimal("1000")
    )
    assert big.brokerage == 20  # 0.03 % of 100,000 would be 30
    assert big.transaction_tax == 25  # 0.025 % on the sell
    assert big.gst == (20 + big.exchange_turnover_charge + big.sebi_turnover_charge) * Decimal(
        "0.18"
    )
    assert big.total == (
        big.transaction_tax
        + big.exchange_turnover_charge
        + big.sebi_turnover_charge
        + big.brokerage
        + big.stamp_duty
        + big.gst
    )
    small = scheduled_charges(
        ContractKind.EQUITY, buy=True, delivery=False, quantity=1, price=Decimal("1000")
    )
    assert small.brokerage == Decimal("0.3")


def test_derivatives_pay_stt_on_the_sell_only() -> None:
    option = scheduled_charges(
        ContractKind.OPTION, buy=False, delivery=False, quantity=65, price=Decimal("100")
    )
    future = scheduled_charges(
        ContractKind.FUTURE, buy=True, delivery=True, quantity=65, price=Decimal("25000")
    )
    # STT since 2026-04-01: 0.15 % of the premium sold, 6,500 × 0.0015 = 9.75 (was 0.1 %, 6.5).
    assert option.transaction_tax == Decimal("9.75")
    assert future.transaction_tax == 0  # NRML counts as no delivery of stock
    assert future.brokerage == 20


def test_an_option_order_pays_a_flat_20_whatever_its_premium() -> None:
    """As Kite's contract note charges it (kite-mocks' virtual_contract_note.json: 20 on 100
    NIFTY puts at 1.50); 0.03 % of that turnover would be 4.5 paise."""
    cheap = scheduled_charges(
        ContractKind.OPTION, buy=True, delivery=False, quantity=100, price=Decimal("1.5")
    )
    dear = scheduled_charges(
        ContractKind.OPTION, buy=False, delivery=True, quantity=65, price=Decimal("597.2")
    )
    assert (cheap.brokerage, dear.brokerage) == (20, 20)
    assert cheap.gst == (
        20 + cheap.exchange_turnover_charge + cheap.sebi_turnover_charge
    ) * Decimal("0.18")


async def test_the_paper_broker_tells_options_and_futures_by_their_symbol() -> None:
    """The paper broker keeps no instrument list; a Kite-style symbol says what it is."""
    paper = PaperBroker()
    rows = [
        report(
            BrokerStatus.COMPLETE,
            65,
            quantity=65,
            broker_order_id=f"P{n}",
            instrument=InstrumentKey.parse(symbol),
            side=Side.SELL,
            product=Product.NRML,
            average_price=Decimal("100"),
        )
        for n, symbol in enumerate(("NFO:NIFTY26DEC25000CE", "NFO:NIFTY26DECFUT"))
    ]
    option, future = await paper.order_charges(rows)
    # STT since 2026-04-01: options 0.15 % of 6,500 premium = 9.75 (was 0.1 %, 6.5); futures
    # 0.05 % of 6,500 = 3.25 (was 0.02 %, 1.3).
    assert option.transaction_tax == Decimal("9.75")
    assert future.transaction_tax == Decimal("3.25")
    assert [c.broker_order_id for c in (option, future)] == ["P0", "P1"]
