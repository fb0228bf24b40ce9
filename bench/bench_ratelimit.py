"""A burst of 100 order placements against the simulator enforcing Kite's limits.

The simulator (in-process, its own thread and event loop, 127.0.0.1 port 0) enforces 10 order
requests per sliding second and answers 429 beyond it; ``/_sim/reset`` empties its books and
its limiter between runs. Contenders, each firing all 100 placements at once:

- ``slot``: plain aiohttp POSTs to ``/orders/regular``, each wrapped in
  ``KiteRateLimiter.slot`` (the slot counts from the reply). Targets: 0 429s and a sustained
  rate ≥ 9.5 orders/s (95 % of Kite's 10/s).
- ``client``: the real ``KiteRestClient`` with the limiter injected; its send path holds a
  ``slot`` for each exchange (counted from the reply, plus a 20 ms margin) and re-queues after
  a 429.
- ``client_margin_0``: the same with margin 0, to show what the margin still buys.
- ``kiteconnect``: the official client from 100 threads with nothing in front.

"Sustained" = the 90 placements after the first full window, divided by the time from the
first grant to the last. Run with ``.venv/bin/python bench/bench_ratelimit.py`` (about 45 s:
each orderdesk run is paced at ~10/s by design). 429 counts depend on scheduling jitter, so
they vary with machine load; the slot figure should stay 0 under any load.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import aiohttp
import requests
from kiteconnect import KiteConnect
from kiteconnect.exceptions import NetworkException

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.config import KiteConfig
from orderdesk.brokers.kite.ratelimit import (
    DEFAULT_MARGIN,
    EndpointClass,
    KiteRateLimiter,
    RateLimits,
)
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import Exchange, InstrumentKey, OrderType, Product, Side
from orderdesk.logging import configure_logging
from orderdesk.ports.broker import PlaceOrder
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

ORDERS = 100
PER_SECOND = RateLimits().order_per_second
INFY = InstrumentKey(Exchange.NSE, "INFY")
# Below the market so every order rests (the burst measures the send path, not matching), and
# inside the day's circuit band (1,350 to 1,650), outside which the simulator rejects it.
PRICE = Decimal("1400")


class CountingLimiter:
    """The real limiter, plus when each slot was granted and how many 429 backoffs happened."""

    def __init__(self, inner: KiteRateLimiter) -> None:
        self.inner = inner
        self.grants: list[float] = []
        self.backoffs = 0

    @contextlib.asynccontextmanager
    async def slot(
        self, kind: EndpointClass, *, modifies: str | None = None, cancels: str | None = None
    ) -> AsyncIterator[None]:
        async with self.inner.slot(kind, modifies=modifies, cancels=cancels):
            self.grants.append(time.perf_counter())
            yield

    def backoff(self, kind: EndpointClass, seconds: float) -> None:
        self.backoffs += 1
        self.inner.backoff(kind, seconds)


def _reset(sim: SimServer) -> None:
    reply = requests.post(sim.rest_root + "/_sim/reset", json={}, timeout=10)
    reply.raise_for_status()


def _command(i: int) -> PlaceOrder:
    signal = Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=PRICE,
    )
    return PlaceOrder(f"bench{i:015d}", signal)


async def _orderdesk_burst(sim: SimServer, token: str, margin: float) -> dict[str, Any]:
    limiter = CountingLimiter(KiteRateLimiter(RateLimits(), margin=margin))
    config = KiteConfig(api_key=sim.config.api_key, root=sim.rest_root, rate_limit_requeues=50)
    async with KiteRestClient(config, access_token=token, limiter=limiter) as client:
        start = time.perf_counter()
        results = await asyncio.gather(
            *(client.place_order(_command(i)) for i in range(ORDERS)), return_exceptions=True
        )
        elapsed = time.perf_counter() - start
    grants = sorted(limiter.grants)
    # Useful rate: the placements beyond the first full window, over the span of all grants
    # (a request re-queued after a 429 is granted again, which only lengthens the span).
    span = grants[-1] - grants[0]
    return {
        "placed": sum(isinstance(r, str) for r in results),
        "failed": sum(isinstance(r, BaseException) for r in results),
        "too_many": limiter.backoffs,
        "sustained": (ORDERS - PER_SECOND) / span if span > 0 else float("inf"),
        "elapsed": elapsed,
    }


async def _slot_burst(sim: SimServer, token: str) -> dict[str, Any]:
    limiter = KiteRateLimiter(RateLimits())
    grants: list[float] = []
    headers = {"Authorization": f"token {sim.config.api_key}:{token}", "X-Kite-Version": "3"}

    async def place(http: aiohttp.ClientSession, i: int) -> int:
        form = {
            "exchange": "NSE",
            "tradingsymbol": "INFY",
            "transaction_type": "BUY",
            "order_type": "LIMIT",
            "quantity": "1",
            "product": "CNC",
            "price": str(PRICE),
            "tag": f"slot{i:016d}",
        }
        async with limiter.slot(EndpointClass.ORDER):
            grants.append(time.perf_counter())
            async with http.post(
                sim.rest_root + "/orders/regular", data=form, headers=headers
            ) as reply:
                await reply.read()
                return reply.status

    async with aiohttp.ClientSession() as http:
        start = time.perf_counter()
        statuses = await asyncio.gather(*(place(http, i) for i in range(ORDERS)))
        elapsed = time.perf_counter() - start
    span = grants[-1] - grants[0]
    return {
        "placed": statuses.count(200),
        "too_many": statuses.count(429),
        "sustained": (ORDERS - PER_SECOND) / span if span > 0 else float("inf"),
        "elapsed": elapsed,
    }


def _official_burst(sim: SimServer, token: str) -> dict[str, Any]:
    kite = KiteConnect(sim.config.api_key, access_token=token, root=sim.rest_root)

    def place(i: int) -> str:
        try:
            kite.place_order(
                variety="regular",
                exchange="NSE",
                tradingsymbol="INFY",
                transaction_type="BUY",
                quantity=1,
                product="CNC",
                order_type="LIMIT",
                price=float(PRICE),
                tag=f"kc{i:018d}",
            )
        except NetworkException as exc:
            return "429" if exc.code == 429 else "other"
        except Exception:
            return "other"
        return "placed"

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=ORDERS) as pool:
        outcomes = list(pool.map(place, range(ORDERS)))
    elapsed = time.perf_counter() - start
    return {
        "placed": outcomes.count("placed"),
        "too_many": outcomes.count("429"),
        "other": outcomes.count("other"),
        "elapsed": elapsed,
    }


def run() -> list[dict[str, object]]:
    """Measure and return the figures as ``{name, value, unit, target, note}`` rows."""
    config = SimConfig(port=0, price_tick_interval=None, rate_limits=True, seed=1)
    with SimServer.run_in_thread(config) as sim:
        token = sim.issue_access_token()
        _reset(sim)
        slot = asyncio.run(_slot_burst(sim, token))
        _reset(sim)
        client = asyncio.run(_orderdesk_burst(sim, token, DEFAULT_MARGIN))
        _reset(sim)
        bare = asyncio.run(_orderdesk_burst(sim, token, 0.0))
        _reset(sim)
        official = _official_burst(sim, token)
    return [
        {
            "name": "slot_burst_429s",
            "value": slot["too_many"],
            "unit": "responses",
            "target": "0",
            "note": f"{ORDERS} placements at once, aiohttp POSTs inside KiteRateLimiter.slot; "
            f"placed {slot['placed']}",
        },
        {
            "name": "slot_sustained_rate",
            "value": round(slot["sustained"], 2),
            "unit": "orders/s",
            "target": ">= 9.5",
            "note": f"{ORDERS - PER_SECOND} placements after the first full window over the span "
            f"of grants; whole burst took {slot['elapsed']:.2f} s",
        },
        {
            "name": "client_burst_429s",
            "value": client["too_many"],
            "unit": "responses",
            "target": "0",
            "note": f"KiteRestClient + KiteRateLimiter.slot (margin "
            f"{DEFAULT_MARGIN * 1000:.0f} ms), 429s re-queued: placed {client['placed']}, "
            f"failed {client['failed']}, sustained {client['sustained']:.2f}/s, "
            f"took {client['elapsed']:.2f} s",
        },
        {
            "name": "client_burst_429s_margin_0",
            "value": bare["too_many"],
            "unit": "responses",
            "target": None,
            "note": f"same with margin 0 (exactly 1 s windows): placed {bare['placed']}, "
            f"sustained {bare['sustained']:.2f}/s, took {bare['elapsed']:.2f} s",
        },
        {
            "name": "kiteconnect_burst_429s",
            "value": official["too_many"],
            "unit": "responses",
            "target": None,
            "note": f"official client, {ORDERS} threads, no limiter: placed "
            f"{official['placed']}, other errors {official['other']}, "
            f"took {official['elapsed']:.2f} s",
        },
    ]


if __name__ == "__main__":
    # The client's 429 warnings go to stderr; stdout carries only the figures.
    configure_logging("WARNING")
    for row in run():
        print(row)
