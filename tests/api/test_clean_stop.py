"""A clean stop of the API, seen from a strategy's DeskClient: a signal being placed is let
finish and answered; a request arriving meanwhile, or one the stop had to cut, is answered
``desk_closed`` (transient: send it again), never a bare 500; a wait on an order learns that
the desk ended its event stream, and the stop does not wait on that stream."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from orderdesk.api import create_app, serve_api
from orderdesk.api.schemas import SubmitOut
from orderdesk.client import DeskClient, DeskClientError, DeskUnavailable
from orderdesk.domain import InstrumentKey, OrderType, Product, Side, Signal
from orderdesk.domain.order import Order
from tests.api.conftest import TOKEN
from tests.api.fakes import FakeDesk
from tests.support import eventually

SIGNAL = Signal(
    instrument=InstrumentKey.parse("NSE:INFY"),
    side=Side.BUY,
    quantity=5,
    order_type=OrderType.LIMIT,
    product=Product.CNC,
    price=Decimal("1490"),
    signal_id="held-1",
)


class HeldDesk(FakeDesk):
    """A desk whose placements wait at the broker until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.placing = 0

    async def submit(self, signal: Signal) -> Order:
        self.placing += 1
        await self.release.wait()
        return await super().submit(signal)


async def refusal(client: DeskClient) -> DeskClientError | None:
    """The desk's refusal of a plain request, or None while it answers."""
    try:
        await client.health()
    except DeskClientError as exc:
        return exc
    return None


async def test_a_signal_in_flight_is_answered_and_new_requests_meanwhile_are_desk_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stopping while a placement waits on the broker: a new request is answered 503
    ``desk_closed`` (transient) while it waits, and the placement's own answer is the order."""
    desk = HeldDesk()
    server = await serve_api(create_app(desk, token=TOKEN))
    async with DeskClient(server.url, TOKEN) as strategy, DeskClient(server.url, TOKEN) as other:
        submitting = asyncio.create_task(strategy.submit(SIGNAL))
        await eventually(lambda: desk.placing, what="the placement at the broker")
        stopping = asyncio.create_task(server.stop())
        refused = await eventually(lambda: refusal(other), what="a refusal")
        desk.release.set()
        reply: SubmitOut = await submitting
        await stopping
    assert (refused.status, refused.error, refused.transient) == (503, "desk_closed", True)
    assert reply.order is not None
    assert reply.order.signal_id == "held-1"
    assert "Exception in ASGI application" not in caplog.text


async def test_a_request_outliving_the_grace_is_desk_closed_with_its_outcome_unknown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A placement still waiting when the grace ends is cut and answered 503 ``desk_closed``:
    transient, saying its outcome is unknown and to send the same signal id again; no 500, no
    traceback in the log."""
    desk = HeldDesk()
    server = await serve_api(create_app(desk, token=TOKEN), stop_grace=0.1)
    async with DeskClient(server.url, TOKEN) as strategy:
        submitting = asyncio.create_task(strategy.submit(SIGNAL))
        await eventually(lambda: desk.placing, what="the placement at the broker")
        await server.stop()
        with pytest.raises(DeskClientError) as cut:
            await submitting
    assert (cut.value.status, cut.value.error, cut.value.transient) == (503, "desk_closed", True)
    assert "outcome is unknown" in cut.value.reason
    assert "same signal id" in cut.value.reason
    assert "Exception in ASGI application" not in caplog.text


async def test_a_wait_on_an_order_ends_with_desk_unavailable_and_does_not_hold_the_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A strategy waiting for its resting order when the desk stops: DeskUnavailable saying the
    desk ended its event stream (not aiohttp's payload error), and the stop is over long before
    its grace, with no traceback."""
    desk = FakeDesk()
    server = await serve_api(create_app(desk, token=TOKEN))
    following = asyncio.Event()

    def open_yet(order: object) -> bool:
        following.set()  # the stream's snapshot has arrived: the wait follows the stream
        return False

    async with DeskClient(server.url, TOKEN) as strategy:
        reply = await strategy.submit(SIGNAL)
        assert reply.order is not None
        waiting = asyncio.create_task(strategy.wait(reply.order.order_id, open_yet))
        await asyncio.wait_for(following.wait(), timeout=5)
        async with asyncio.timeout(5):
            await server.stop()
        with pytest.raises(DeskUnavailable) as ended:
            await waiting
    assert "ended its event stream" in str(ended.value)
    assert "Exception in ASGI application" not in caplog.text


async def test_a_wait_whose_desk_dies_mid_stream_ends_with_desk_unavailable() -> None:
    """The desk's process dies (kill -9: its connections close mid-stream, the chunked body cut
    short): the wait raises DeskUnavailable saying the desk ended its event stream, not
    aiohttp's ClientPayloadError, which a strategy catching DeskClientError would not catch."""
    desk = FakeDesk()
    server = await serve_api(create_app(desk, token=TOKEN))
    following = asyncio.Event()

    def open_yet(order: object) -> bool:
        following.set()
        return False

    try:
        async with DeskClient(server.url, TOKEN) as strategy:
            reply = await strategy.submit(SIGNAL)
            assert reply.order is not None
            waiting = asyncio.create_task(strategy.wait(reply.order.order_id, open_yet))
            await asyncio.wait_for(following.wait(), timeout=5)
            for connection in list(server.server.server_state.connections):
                connection.transport.close()  # what the kernel does for a killed process
            with pytest.raises(DeskUnavailable) as ended:
                await waiting
    finally:
        await server.stop()
    assert "ended its event stream" in str(ended.value)
