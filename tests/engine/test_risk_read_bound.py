"""A risk check's read of the broker (the price band's quote, the margin check's margins) that
the broker does not answer (Kite's client holding quotes back for up to 30 s in a 429 storm) is
given up after a bound: the signal is refused at once, saying why, recorded and alerted as any
denial, nothing placed then or later; the same signal sent again once the broker answers is
placed once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

import pytest

from orderdesk.domain import OrderType, Product, Signal
from orderdesk.domain.events import SignalDenied
from orderdesk.domain.reports import MarginsReport, OrderMargin, Quote
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.errors import RiskDenied
from orderdesk.ports.broker import PlaceOrder
from tests.engine.conftest import FAST
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

BOUND = 0.05
"""The context's read bound in these tests (the desk's is 3 s): real time, as the read is."""
HANG = BOUND + 5
"""How long a test waits for the answer: on a context without the bound it never comes."""
UNANSWERED = f"the broker did not answer within {BOUND:g} s"


class StormBroker(FakeBroker):
    """Quotes and margins are held back until the storm ends (as Kite's rate limiter holds
    them in a 429 storm); placements go at once."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.storm_over = asyncio.Event()
        self.reads = 0

    async def _held(self) -> None:
        self.reads += 1
        await self.storm_over.wait()

    async def quotes(self, instruments: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        await self._held()
        return await super().quotes(instruments)

    async def order_margins(self, commands: Sequence[PlaceOrder]) -> list[OrderMargin]:
        await self._held()
        return await super().order_margins(commands)

    async def margins(self) -> MarginsReport:
        await self._held()
        return await super().margins()


def limit_buy(signal_id: str) -> Signal:
    """A limit buy of INFY, which has no streamed price yet (the band asks for a quote)."""
    return signal(
        instrument=INFY,
        order_type=OrderType.LIMIT,
        price=Decimal("1500"),
        product=Product.MIS,
        signal_id=signal_id,
    )


def storm_desk(
    broker: StormBroker, store: MemoryStore, notifier: RecordingNotifier, limits: RiskLimits
) -> OrderDesk:
    desk = OrderDesk(broker, store, notifier=notifier, config=FAST, limits=limits)
    desk.risk_context.read_seconds = BOUND
    return desk


async def refused_at_once(desk: OrderDesk, order: Signal) -> RiskDenied:
    with pytest.raises(RiskDenied) as denied:
        async with asyncio.timeout(HANG):
            await desk.submit(order)
    return denied.value


async def placed_after_the_storm(desk: OrderDesk, broker: StormBroker, order: Signal) -> None:
    """Nothing of ``order`` reached the broker or the book; once the broker answers, the same
    signal id is placed, once."""
    await desk.idle()
    assert broker.placements == []
    assert desk.orders() == []
    broker.storm_over.set()
    handle = await desk.submit(order)
    await eventually(lambda: handle.order.broker_order_id, what="placed after the storm")
    assert broker.tags() == [handle.order_id]


async def test_a_quote_the_broker_holds_back_refuses_the_signal_at_once(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The price band gives up on the quote after the bound and denies, naming the cause;
    the denial is recorded and alerted as the band's others are."""
    broker = StormBroker()
    limits = RiskLimits(price_band_percent=Decimal(5))
    async with storm_desk(broker, store, notifier, limits) as desk:
        denial = await refused_at_once(desk, limit_buy("itc-1"))
        assert denial.check == "price_band"
        assert (
            f"could not read the last price of NSE:INFY to check the price band: {UNANSWERED}"
            in denial.reason
        )
        assert "send it again shortly" in denial.reason
        assert broker.reads == 1
        denied = [e for e in store.events() if isinstance(e, SignalDenied)]
        assert [(e.check, e.signal.signal_id) for e in denied] == [("price_band", "itc-1")]
        assert "Signal denied by price_band" in notifier.titles()
        assert desk.session_info().usable  # a slow broker is no session's end
        await placed_after_the_storm(desk, broker, limit_buy("itc-1"))


async def test_margins_the_broker_holds_back_refuse_the_signal_at_once(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The margin check gives up on the broker's margins after the bound and denies."""
    broker = StormBroker()
    async with storm_desk(broker, store, notifier, RiskLimits(check_margin=True)) as desk:
        denial = await refused_at_once(desk, limit_buy("margined"))
        assert denial.check == "margin"
        assert f"could not check margins: {UNANSWERED}" in denial.reason
        assert "Signal denied by margin" in notifier.titles()
        await placed_after_the_storm(desk, broker, limit_buy("margined"))


class OwnTimeoutBroker(FakeBroker):
    """The broker's client gives up on a quote itself, at once (its own timeout)."""

    async def quotes(self, instruments: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        raise TimeoutError("quote: no reply from Kite within 7s")


async def test_the_brokers_own_timeout_is_not_told_as_the_bound(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A TimeoutError the broker raises is its failure, said as it is, not the desk's bound."""
    limits = RiskLimits(price_band_percent=Decimal(5))
    async with OrderDesk(
        OwnTimeoutBroker(), store, notifier=notifier, config=FAST, limits=limits
    ) as desk:
        denial = await refused_at_once(desk, limit_buy("own"))
    assert "no reply from Kite within 7s" in denial.reason
    assert "did not answer within" not in denial.reason
