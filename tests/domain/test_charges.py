"""A day's executed orders as a charge calculator reads them, and the sums of its answer."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import BrokerStatus, Order
from orderdesk.domain.charges import ChargesTotal, executed
from orderdesk.domain.reports import Charges
from tests.domain.builders import AT, INFY, fill, new_order, report, step

BROKER_ID = "250101000000001"


def accepted(order_id: str, quantity: int = 10) -> Order:
    order = new_order(quantity, order_id)
    step(order, order.submit(AT))
    step(order, order.accepted(BROKER_ID, AT))
    return order


def test_an_order_is_charged_on_what_it_traded_at_its_average_fill() -> None:
    """Two fills of 6 and 2, then the rest cancelled: 8 at their average; an order that never
    traded and one never placed are not charged."""
    partly = accepted("od0000000000000000001")
    step(partly, partly.on_fill(fill("t1", 6, "1500"), AT))
    step(partly, partly.on_fill(fill("t2", 2, "1504"), AT))
    step(partly, partly.on_report(report(BrokerStatus.CANCELLED, 8), AT))
    resting = accepted("od0000000000000000002")
    never_placed = new_order(order_id="od0000000000000000003")

    [(order, sent)] = executed([resting, partly, never_placed])

    assert order is partly
    assert (sent.broker_order_id, sent.instrument, sent.filled_quantity) == (BROKER_ID, INFY, 8)
    assert sent.average_price == Decimal(1501)  # (6 x 1500 + 2 x 1504) / 8
    assert sent.status is BrokerStatus.COMPLETE


def test_charges_are_summed_by_kind() -> None:
    def cost(brokerage: str, tax: str) -> Charges:
        return Charges(
            broker_order_id=BROKER_ID,
            instrument=INFY,
            transaction_tax=Decimal(tax),
            exchange_turnover_charge=Decimal("0.5"),
            sebi_turnover_charge=Decimal("0.01"),
            brokerage=Decimal(brokerage),
            stamp_duty=Decimal("0.2"),
            gst=Decimal("3.69"),
            total=Decimal(brokerage) + Decimal(tax) + Decimal("4.4"),
        )

    total = ChargesTotal.of([cost("20", "1.5"), cost("0", "15")])
    assert (total.brokerage, total.transaction_tax, total.gst) == (
        20,
        Decimal("16.5"),
        Decimal("7.38"),
    )
    assert total.total == Decimal("45.3")
    assert ChargesTotal.of([]) == ChargesTotal()
