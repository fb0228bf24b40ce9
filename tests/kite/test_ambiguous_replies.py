"""Kite's ambiguous placement replies: the one table of them, and the adapter's mapping of a
match to an unknown outcome (never a rejection), on the simulator's ``ambiguous_timeout``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from orderdesk.brokers.kite.ambiguous import AMBIGUOUS_REPLIES, ambiguous_text
from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.config import KiteConfig
from orderdesk.brokers.kite.errors import (
    ERROR_TYPES,
    GeneralRejection,
    InputException,
    OrderException,
    error_for,
)
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import Exchange, InstrumentKey, OrderType, Product, Side
from orderdesk.errors import AmbiguousReply, BrokerRejected, UnknownOutcome
from orderdesk.ports.broker import PlaceOrder
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.routes_orders import ORDER_TIMED_OUT

TIMED_OUT = "Order request timed out. Please check the order book."


def test_every_entry_names_a_known_error_type_and_its_source() -> None:
    """Each row of the table is one of Kite's error types, with an opening and a source."""
    assert AMBIGUOUS_REPLIES
    for entry in AMBIGUOUS_REPLIES:
        assert entry.error_type in ERROR_TYPES
        assert entry.opening.strip()
        assert "KITE_API.md" in entry.source


def test_order_request_timed_out_is_ambiguous() -> None:
    """Kite's 400 InputException "Order request timed out…" is in the table, whatever follows
    the documented opening, in any case and spacing; the simulator sends such a text."""
    for message in (
        TIMED_OUT,
        ORDER_TIMED_OUT,
        "Order request timed out. Please check the order book…",
        "Order request timed out. Please check the order book before placing it again.",
        "order  request TIMED out.",
    ):
        error = error_for(message, "InputException", 400)
        assert isinstance(error, InputException)
        entry = ambiguous_text(error)
        assert entry is not None, message
        assert entry.opening == "Order request timed out"


def test_other_refusals_stay_refusals() -> None:
    """Other texts, or the same words under another error type, are not in the table."""
    for message, error_type, status in (
        ("Invalid `quantity`.", "InputException", 400),
        ("Markets are closed right now.", "InputException", 400),
        ("Request timed out", "InputException", 400),
        ("Your order request timed out", "InputException", 400),
        (TIMED_OUT, "OrderException", 400),
        (TIMED_OUT, None, 400),
    ):
        error = error_for(message, error_type, status)
        assert isinstance(error, InputException | OrderException | GeneralRejection)
        assert ambiguous_text(error) is None, (message, error_type)


def test_an_ambiguous_reply_is_an_unknown_outcome_and_no_rejection() -> None:
    """The engine sees the adapter's AmbiguousReply as the unknown outcome it already knows,
    never as a BrokerRejected."""
    error = AmbiguousReply("x", tag="t1", http_status=400, error_type="InputException")
    assert isinstance(error, UnknownOutcome)
    assert not isinstance(error, BrokerRejected)
    assert error.tag == "t1"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    """A simulator on the test's loop: still prices, no rate limits."""
    config = SimConfig(
        host="127.0.0.1", port=0, seed=13, price_tick_interval=None, rate_limits=False
    )
    async with SimServer(config) as server:
        yield server


@pytest.fixture
async def kite(sim: SimServer) -> AsyncIterator[KiteRestClient]:
    """Our REST client, logged in to the simulator."""
    config = KiteConfig(api_key=sim.config.api_key, root=sim.rest_root, timeout_seconds=5)
    async with KiteRestClient(config, access_token=sim.issue_access_token()) as client:
        yield client


def _limit(price: str, symbol: str = "INFY") -> Signal:
    return Signal(
        instrument=InstrumentKey(Exchange.NSE, symbol),
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal(price),
    )


async def test_the_adapter_maps_the_simulators_ambiguous_400(
    sim: SimServer, kite: KiteRestClient
) -> None:
    """On the simulator's ambiguous_timeout the client raises AmbiguousReply with the tag
    (sent once), and the late order then carries that tag; a plain 400 stays a refusal."""
    sim.faults.update({"ambiguous_timeout": 1.0})
    with pytest.raises(AmbiguousReply) as exc_info:
        await kite.place_order(PlaceOrder("odambiguous000000001", _limit("1000")))
    sim.faults.update({"ambiguous_timeout": 0.0})
    error = exc_info.value
    assert error.tag == "odambiguous000000001"
    assert error.http_status == 400
    assert error.error_type == "InputException"
    assert ORDER_TIMED_OUT in str(error)
    assert [r for r in await kite.orders() if r.tag == error.tag] == []
    sim.clock.advance(10)
    sim.exchange.sweep()
    assert len([r for r in await kite.orders() if r.tag == error.tag]) == 1
    with pytest.raises(InputException) as refused:
        await kite.place_order(PlaceOrder("odrefused00000000001", _limit("1", "NIFTY 50")))
    assert not isinstance(refused.value, UnknownOutcome)
