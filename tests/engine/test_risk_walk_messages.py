"""The refusals say what was refused, in the order's own words, and the limit it broke."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import InstrumentKey, OrderType, Product, Signal
from orderdesk.engine import OrdersPerMinute, PriceBand
from orderdesk.engine.risk import RiskGate
from tests.engine.fakes import signal


class Market:
    """A RiskContext with INFY last traded at 1,477 (and the time standing still)."""

    def open_order_count(self) -> int:
        return 0

    def day_pnl(self) -> Decimal:
        return Decimal(0)

    def net_position(self, instrument: InstrumentKey, product: Product) -> int:
        return 0

    def monotonic(self) -> float:
        return 100.0

    async def last_price(self, instrument: InstrumentKey) -> Decimal | None:
        return Decimal(1477)

    async def required_margin(self, signal: Signal) -> Decimal:
        return Decimal(0)

    async def available_funds(self, signal: Signal) -> Decimal:
        return Decimal(0)


async def test_the_price_band_calls_a_trigger_a_trigger() -> None:
    """An SL-M order has only a trigger: the refusal names it so (it said "price 2000")."""
    stop = signal(order_type=OrderType.SL_M, trigger_price=Decimal(2000))
    assert await PriceBand(Decimal(5)).check(stop, Market()) == (
        "trigger 2000 is 35.41% from the last price 1477; the band is 5%"
    )
    limit = signal(order_type=OrderType.LIMIT, price=Decimal(1000))
    assert await PriceBand(Decimal(5)).check(limit, Market()) == (
        "price 1000 is 32.30% from the last price 1477; the band is 5%"
    )


async def test_the_order_rate_refusal_states_the_limit() -> None:
    """The fifth order in a minute against a limit of 4 says the limit too."""
    gate = RiskGate([OrdersPerMinute(4)])
    for _ in range(4):
        assert await gate.evaluate(signal(strategy="rate"), Market()) is None
    denied = await gate.evaluate(signal(strategy="rate"), Market())
    assert denied is not None
    assert denied.reason == (
        "strategy 'rate' sent 4 orders in the last minute; the limit is 4 a minute"
    )
