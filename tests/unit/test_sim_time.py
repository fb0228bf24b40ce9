"""``clock = "simulator"``: the desk's clock follows the simulator's, and only a simulator's."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from orderdesk.domain.calendar import IST
from orderdesk.errors import ConfigError
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim_time import SimulatorTime, simulator_root
from tests.support import eventually


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer.run_in_thread(SimConfig(port=0, price_tick_interval=None)) as server:
        yield server


def test_only_a_loopback_kite_root_can_be_followed() -> None:
    assert simulator_root("kite", {"root": "http://127.0.0.1:8765/"}) == "http://127.0.0.1:8765"
    for broker, options in (
        ("kite", {"root": "https://api.kite.trade"}),
        ("kite", {}),
        ("paper", {"root": "http://127.0.0.1:8765"}),
    ):
        with pytest.raises(ConfigError, match='clock = "simulator"'):
            simulator_root(broker, options)


async def test_the_clock_follows_the_simulators_moves(sim: SimServer) -> None:
    """Set to a Monday morning, the desk's clock reads that Monday within a follow interval;
    monotonic time stays real."""
    async with SimulatorTime(sim.rest_root, every=0.02) as clock:
        assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)
        reply = await asyncio.to_thread(
            requests.post,
            f"{sim.rest_root}/_sim/clock",
            json={"set": "2026-12-07 09:20:00"},
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        monday = datetime(2026, 12, 7, 9, 20, tzinfo=IST)
        await eventually(
            lambda: abs(clock.now() - monday) < timedelta(seconds=5), what="Monday 09:20"
        )


async def test_no_simulator_there_is_a_config_error_naming_the_address() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        root = f"http://127.0.0.1:{unused.getsockname()[1]}"
    with pytest.raises(ConfigError, match="is `orderdesk sim` running there"):
        async with SimulatorTime(root):
            pass


@pytest.mark.parametrize(
    ("broker", "options", "missing"),
    [
        ("kite", {}, "[kite] has no root (nor ORDERDESK_KITE__ROOT)"),
        ("paper", {}, "this config's broker is 'paper'"),
        ("kite", {"root": "https://api.kite.trade"}, "root 'https://api.kite.trade' is not on"),
    ],
)
def test_the_refusal_says_what_is_missing(
    broker: str, options: dict[str, object], missing: str
) -> None:
    """Without a root the refusal says there is none (it read "at '-'" before), and a wrong
    broker or a remote root is named as such."""
    with pytest.raises(ConfigError) as exc_info:
        simulator_root(broker, options)
    message = str(exc_info.value)
    assert missing in message
    assert "'-'" not in message
