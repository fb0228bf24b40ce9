"""A sale of holdings the day has not authorised (an account without DDPI), at the engine:
the order is rejected, sent once, with the fix in its reason, alerted under one key per
instrument."""

from __future__ import annotations

from dataclasses import dataclass

from orderdesk.domain import OrderStatus, Product, Side
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.errors import HoldingsNotAuthorised
from orderdesk.ports.broker import PlaceOrder
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal

REFUSAL = "Holdings authorisation required"


@dataclass
class NoDdpiBroker(FakeBroker):
    """The fake broker, refusing every CNC sale as Kite does unauthorised holdings (428)."""

    async def place_order(self, command: PlaceOrder) -> str:
        order = command.signal
        if order.product is Product.CNC and order.side is Side.SELL:
            self.placements.append(command)
            raise HoldingsNotAuthorised(REFUSAL, http_status=428)
        return await super().place_order(command)


async def test_an_unauthorised_sale_is_rejected_once_with_the_fix() -> None:
    broker = NoDdpiBroker()
    notifier = RecordingNotifier()
    async with OrderDesk(
        broker, MemoryStore(), notifier=notifier, config=FAST, limits=RiskLimits()
    ) as desk:
        sales = [
            await desk.submit(
                signal(signal_id=f"s{n}", side=Side.SELL, product=Product.CNC, quantity=1)
            )
            for n in range(2)
        ]
        bought = await desk.submit(signal(signal_id="buy", product=Product.CNC))
        await bought.wait()

    assert [s.order.status for s in sales] == [OrderStatus.REJECTED] * 2
    reason = sales[0].order.reason or ""
    assert REFUSAL in reason
    assert "`orderdesk authorise-holdings NSE:INFY`" in reason
    assert len(broker.placements) == 3  # each sale sent once, never again
    assert bought.status is OrderStatus.FILLED
    warned = [a for a in notifier.alerts if a.title == "Holdings not authorised for sale"]
    assert [a.severity for a in warned] == [Severity.WARNING] * 2
    # One key per instrument: the notifier's throttle sends a burst of them as one.
    assert {a.key for a in warned} == {"holdings_authorisation:NSE:INFY"}
