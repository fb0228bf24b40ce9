"""Fixtures for driving the simulator: a server on 127.0.0.1 port 0, and clients logged in to it.

- ``sim``: an in-loop :class:`SimServer` for async tests (aiohttp clients).
- ``sim_thread``: the same on a background loop, for the synchronous official client.
- ``kite``: an official ``KiteConnect`` logged in through the real login flow against
  ``sim_thread``.
- ``simctl``: a tiny synchronous client for ``/_sim/*`` (prices, faults, clock, reset, ...).

Prices never move by themselves here (``price_tick_interval=None``): tests set them. Rate limits
are off in ``sim_config`` (quote is 1 request/s on Kite, which would make tests slow and flaky);
tests of the limits turn them on with ``sim_config.rate_limits = True`` before using a server.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from kiteconnect import KiteConnect

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig


class SimControl:
    """Synchronous calls to the simulator's ``/_sim`` control routes."""

    def __init__(self, rest_root: str) -> None:
        self.root = rest_root
        self.http = requests.Session()

    def _post(self, path: str, body: Any = None) -> Any:
        reply = self.http.post(self.root + path, json=body, timeout=10)
        payload = reply.json()
        if reply.status_code != 200:
            raise AssertionError(f"{path} -> {reply.status_code} {payload}")
        return payload["data"]

    def prices(self, prices: dict[str, float]) -> Any:
        """Set last prices (matching runs before this returns)."""
        return self._post("/_sim/prices", prices)

    def step(self) -> list[int]:
        """One random-walk step of every price (nothing moves while the market is closed)."""
        return list(self._post("/_sim/step")["changed"])

    def faults(self, **switches: Any) -> Any:
        """Set fault switches."""
        return self._post("/_sim/faults", switches)

    def reset(self, seed: int | None = None) -> Any:
        """Empty the books and switch faults off."""
        return self._post("/_sim/reset", {} if seed is None else {"seed": seed})

    def advance(self, seconds: float) -> Any:
        """Move the simulated clock forward."""
        return self._post("/_sim/clock", {"advance_seconds": seconds})

    def set_clock(self, when: str) -> Any:
        """Jump the simulated clock to an IST wall time ``YYYY-MM-DD HH:MM:SS``."""
        return self._post("/_sim/clock", {"set": when})

    def holdings(self, rows: list[dict[str, Any]]) -> Any:
        """Seed holdings."""
        return self._post("/_sim/holdings", rows)

    def external_order(self, **params: Any) -> str:
        """Place an order as if from Kite web; returns its id."""
        return str(self._post("/_sim/orders/external", params)["order_id"])

    def state(self) -> Any:
        """``GET /_sim/state``."""
        return self.http.get(self.root + "/_sim/state", timeout=10).json()["data"]


def login(sim: SimServer, *, timeout: float = 7.0) -> KiteConnect:
    """The official client logged in through ``/connect/login`` and ``generate_session``."""
    config = sim.config
    kite = KiteConnect(config.api_key, root=sim.rest_root, timeout=timeout)
    reply = requests.get(
        sim.rest_root + "/connect/login",
        params={"api_key": config.api_key, "v": "3"},
        allow_redirects=False,
        timeout=10,
    )
    if reply.status_code == 200:  # --login-form: press the page's one button
        reply = requests.post(
            sim.rest_root + "/connect/login",
            data={"api_key": config.api_key},
            allow_redirects=False,
            timeout=10,
        )
    assert reply.status_code == 302, reply.text
    request_token = parse_qs(urlsplit(reply.headers["Location"]).query)["request_token"][0]
    kite.generate_session(request_token, api_secret=config.api_secret)
    return kite


def day_charges(kite: KiteConnect) -> Decimal:
    """What the next rollover takes off the cash for the day so far: the virtual contract
    note's total of the day's executed orders, asked as the desk asks it, to the paisa."""
    executed = [row for row in kite.orders() if row["filled_quantity"]]
    if not executed:
        return Decimal(0)
    note = kite.get_virtual_contract_note(
        [
            {
                "order_id": row["order_id"],
                "exchange": row["exchange"],
                "tradingsymbol": row["tradingsymbol"],
                "transaction_type": row["transaction_type"],
                "variety": row["variety"],
                "product": row["product"],
                "order_type": row["order_type"],
                "quantity": row["filled_quantity"],
                "average_price": row["average_price"],
            }
            for row in executed
        ]
    )
    total = sum((Decimal(str(row["charges"]["total"])) for row in note), Decimal(0))
    return total.quantize(Decimal("0.01"), ROUND_HALF_UP)


def checksum(api_key: str, request_token: str, api_secret: str) -> str:
    """Kite's login checksum."""
    return hashlib.sha256((api_key + request_token + api_secret).encode()).hexdigest()


@pytest.fixture
def sim_config() -> SimConfig:
    """A deterministic loopback config on a free port, still prices and no rate limits."""
    return SimConfig(host="127.0.0.1", port=0, seed=7, price_tick_interval=None, rate_limits=False)


@pytest.fixture
async def sim(sim_config: SimConfig) -> AsyncIterator[SimServer]:
    """A simulator serving on the test's own event loop."""
    async with SimServer(sim_config) as server:
        yield server


@pytest.fixture
def sim_thread(sim_config: SimConfig) -> Iterator[SimServer]:
    """A simulator serving from a background thread (for synchronous clients)."""
    with SimServer.run_in_thread(sim_config) as server:
        yield server


@pytest.fixture
def kite(sim_thread: SimServer) -> KiteConnect:
    """The official client, logged in to ``sim_thread`` through the real login flow."""
    return login(sim_thread)


@pytest.fixture
def simctl(sim_thread: SimServer) -> SimControl:
    """Control calls against ``sim_thread``."""
    return SimControl(sim_thread.rest_root)
