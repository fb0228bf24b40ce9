"""Fixtures for engine tests: a fake broker, a memory store, and a desk tuned for speed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from orderdesk.engine import DeskConfig, OrderDesk, RiskLimits
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier
from tests.support import eventually

FAST = DeskConfig(
    resolve_first_delay=0.001,
    resolve_interval=0.002,
    resolve_max_interval=0.01,
    resolve_min_age=0.005,
    resolve_max_lookups=10,
    # The fake broker never shows an order late, so the wait for one can be as short as a look.
    late_order_window=0.02,
    rate_limit_backoff=0.001,
    rate_limit_max_backoff=0.005,
    rate_limit_give_up=1.0,
    command_backoff=0.001,
    trades_backoff=0.002,
    poll_interval=0.005,
    quiet_after=60.0,
    reconcile_interval=None,
    leg_timeout=2.0,
    clock_interval=0.005,
)


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
async def desk(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> AsyncIterator[OrderDesk]:
    async with OrderDesk(
        broker, store, notifier=notifier, config=FAST, limits=RiskLimits()
    ) as running:
        yield running


async def settled(desk: OrderDesk) -> OrderDesk:
    """Wait until the stream is up and the start-up catch-up is over, so that what a test
    does next reaches the desk through the stream alone (not an overlapping book read)."""
    await eventually(lambda: desk.stream_connected, what="stream connected")
    await desk.idle()
    return desk
