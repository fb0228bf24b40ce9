"""A clean stop (SIGTERM) of a real `orderdesk run` on the simulator, through the Kite adapter,
while a strategy has a MARKET signal at a slow broker and waits on a resting order: the signal
is answered with the order the broker placed, the wait ends with DeskUnavailable, the desk
exits 0, and its log holds no traceback (uvicorn used to cut both after 2 s: a bare 500 for a
signal the broker did place, and aiohttp's payload error for the wait)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.api.schemas import SignalIn, SubmitOut
from orderdesk.api_token import read_token
from orderdesk.client import DeskClient, DeskUnavailable
from orderdesk.desk_address import running_desk
from orderdesk.domain import OrderType, Side
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.daemon import kite_sim_config, running_daemon
from tests.sim.conftest import SimControl
from tests.support import eventually

pytestmark = pytest.mark.slow

SLOW_PLACEMENT_MS = 3000
"""Longer than uvicorn's old 2 s grace, well within Kite's 7 s request timeout."""


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """The simulator with INFY at 1,500."""
    config = SimConfig(port=0, seed=5, price_tick_interval=None, rate_limits=False)
    with SimServer.run_in_thread(config) as server:
        SimControl(server.rest_root).prices({"NSE:INFY": 1500})
        yield server


def order(signal_id: str, order_type: OrderType, price: str | None = None) -> SignalIn:
    return SignalIn(
        instrument="NSE:INFY",
        side=Side.BUY,
        quantity=1,
        order_type=order_type,
        product="CNC",
        price=Decimal(price) if price is not None else None,
        strategy="alpha",
        signal_id=signal_id,
    )


def test_sigterm_answers_the_signal_in_flight_and_ends_the_wait(
    sim: SimServer, tmp_path: Path
) -> None:
    """SIGTERM 'during' a 3 s placement: the strategy gets its order (with the broker's id),
    its wait on a resting order raises DeskUnavailable, and the log shows no traceback."""
    log_file = tmp_path / "desk.log"
    config, env = kite_sim_config(tmp_path, sim, top=f'log_file = "{log_file}"')

    async def scenario(url: str, token: str, pid: int) -> tuple[SubmitOut, object]:
        following = asyncio.Event()

        def open_yet(_: object) -> bool:
            following.set()  # the snapshot arrived: the wait follows the desk's stream
            return False

        async with DeskClient(url, token) as desk:
            resting = await desk.submit(order("resting-1", OrderType.LIMIT, "1400"))
            assert resting.order is not None
            waiting = asyncio.create_task(desk.wait(resting.order.order_id, open_yet))
            await asyncio.wait_for(following.wait(), timeout=10)
            slow = SimControl(sim.rest_root)
            await asyncio.to_thread(lambda: slow.faults(slow_placement_ms=SLOW_PLACEMENT_MS))
            placing = asyncio.create_task(desk.submit(order("slow-1", OrderType.MARKET)))
            await eventually(
                lambda: desk.order_for_signal("alpha", "slow-1"), what="the order submitting"
            )
            os.kill(pid, signal.SIGTERM)
            reply = await placing
            ended = await asyncio.gather(waiting, return_exceptions=True)
        return reply, ended[0]

    with running_daemon(config, env=env) as url:
        token = read_token(tmp_path / "conf")
        desk = running_desk(tmp_path / "conf")
        assert token is not None
        assert desk is not None
        reply, ended = asyncio.run(scenario(url, token, desk.pid))

    assert reply.order is not None
    assert reply.order.signal_id == "slow-1"
    assert reply.order.broker_order_id is not None
    assert isinstance(ended, DeskUnavailable), repr(ended)
    assert "ended its event stream" in str(ended)
    log = log_file.read_text()
    assert "Traceback" not in log
    assert "Exception in ASGI application" not in log
