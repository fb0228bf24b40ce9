"""A risk check's read of the broker that the broker answers by refusing the session (Kite's
token ended early: the simulator's ``expire_tokens``) is the session's end, not the check's
denial: the signal is refused as without a session (nothing recorded), the session is marked
refused and alerted once, and the same signal goes after the login. Any other failure to read
a price still fails the check closed."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from orderdesk.domain import OrderType, Product, Signal
from orderdesk.domain.events import SignalDenied
from orderdesk.domain.reports import OrderMargin, Quote
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.errors import SessionExpired
from orderdesk.errors import BrokerAuthError, BrokerUnavailable, RiskDenied
from orderdesk.ports.broker import PlaceOrder
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually


def banded(signal_id: str) -> Signal:
    """A limit buy the price band checks against INFY's last price (no tick yet: a quote)."""
    return signal(
        instrument=INFY,
        order_type=OrderType.LIMIT,
        price=Decimal("1500"),
        product=Product.CNC,
        signal_id=signal_id,
    )


class QuoteFailingBroker(FakeBroker):
    """Quotes fail with a server error; everything else works."""

    async def quotes(self, instruments: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        raise BrokerUnavailable("Service unavailable", http_status=503)


def band_desk(broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier) -> OrderDesk:
    return OrderDesk(
        broker,
        store,
        notifier=notifier,
        config=FAST,
        limits=RiskLimits(price_band_percent=Decimal(5)),
    )


async def test_a_session_refused_while_reading_the_price_refuses_the_signal_as_sessionless(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The first signal after the broker stopped taking the token: SessionExpired (no
    "Signal denied by price_band", no SignalDenied), the session refused and alerted once;
    after the login the same signal is placed."""
    async with band_desk(broker, store, notifier) as desk:
        broker.token_dead = True
        with pytest.raises(SessionExpired) as refused:
            await desk.submit(banded(signal_id="first"))
        assert "reading the last price" in refused.value.reason
        assert "Token expired" in refused.value.reason
        assert not desk.session_info().usable
        assert not [e for e in store.events() if isinstance(e, SignalDenied)]
        assert not [t for t in notifier.titles() if t.startswith("Signal denied")]
        await eventually(
            lambda: "Broker session ended" in notifier.titles(Severity.CRITICAL),
            what="the session's end alerted",
        )
        with pytest.raises(SessionExpired):
            await desk.submit(banded(signal_id="first"))
        await desk.renew_session("fresh")
        handle = await desk.submit(banded(signal_id="first"))
        await eventually(lambda: handle.order.broker_order_id, what="placed after the login")
    assert notifier.titles(Severity.CRITICAL).count("Broker session ended") == 1


async def test_another_failure_to_read_the_price_still_fails_the_band_closed(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A 503 on the quote is no session's end: the price band denies (it cannot check), saying
    why rather than "no last price", and the session stays usable."""
    async with band_desk(QuoteFailingBroker(), store, notifier) as desk:
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(banded(signal_id="second"))
        assert denied.value.check == "price_band"
        assert "could not read the last price of NSE:INFY to check the price band" in str(
            denied.value
        )
        assert "Service unavailable" in str(denied.value)
        assert desk.session_info().usable
    assert "Broker session ended" not in notifier.titles()


class MarginRefusingBroker(FakeBroker):
    """The margin calculator answers that the session was refused (Kite's token ended)."""

    async def order_margins(self, orders: Sequence[PlaceOrder]) -> list[OrderMargin]:
        raise BrokerAuthError("Incorrect `api_key` or `access_token`.")


async def test_a_session_refused_while_checking_margins_refuses_the_signal_as_sessionless(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The margin check caught every failure as its own denial ("could not check margins"):
    a refused session is the session's end there too."""
    broker = MarginRefusingBroker()
    limits = RiskLimits(check_margin=True)
    async with OrderDesk(broker, store, notifier=notifier, config=FAST, limits=limits) as desk:
        with pytest.raises(SessionExpired):
            await desk.submit(banded(signal_id="margined"))
        assert not desk.session_info().usable
    assert not [e for e in store.events() if isinstance(e, SignalDenied)]
