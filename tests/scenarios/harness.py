"""Scenario harness: the real desk over the Kite adapter over the simulator, and a referee.

:func:`open_desk` wires an :class:`OrderDesk` exactly as the daemon does — ``create_broker``
from the Kite entry point, an :class:`SqlEventStore` (SQLite or PostgreSQL, by URL) behind an
:class:`AsyncEventWriter` — against a simulator given by its URLs (in this process, or another
one that must outlive a killed engine). :class:`BrokerView` reads the simulator's books over
plain REST, without the adapter under test, and :func:`compare` says in words where the desk
and the broker disagree.
Timings are short (:data:`SCENARIO_CONFIG`) so that a scenario spends its time on its faults,
not on waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from orderdesk.brokers import BrokerContext
from orderdesk.brokers.kite import create_broker
from orderdesk.domain.calendar import IST
from orderdesk.domain.order import Order
from orderdesk.domain.status import OrderStatus
from orderdesk.engine import DeskConfig, OrderDesk, RiskLimits
from orderdesk.ports.clock import Clock
from orderdesk.ports.notifier import Alert, Severity
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.store import AsyncEventWriter, SqlEventStore
from tests.support import DictSecrets

SCENARIO_CONFIG = DeskConfig(
    resolve_first_delay=0.05,
    resolve_interval=0.05,
    resolve_max_interval=0.5,
    resolve_min_age=0.3,
    resolve_max_lookups=60,
    # Only the ambiguous-reply scenarios make orders appear late, and they set their own window;
    # here it paces only the re-send of a send a SIGKILL interrupted.
    late_order_window=1.0,
    # Twenty SIGKILL restarts can outlast a minute under load: their intents stay fresh.
    resend_within=3600.0,
    rate_limit_backoff=0.05,
    rate_limit_max_backoff=0.5,
    rate_limit_give_up=30.0,
    command_backoff=0.05,
    trades_timeout=2.0,
    trades_backoff=0.05,
    poll_interval=0.2,
    quiet_after=5.0,
    reconcile_interval=None,
    leg_timeout=10.0,
)
"""Resolution, polling and backoff in tens of milliseconds; reconciliation only on request."""
RATE_LIMIT_RETRIES = 25

_FINAL = {
    "COMPLETE": OrderStatus.FILLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
}
"""Kite's final status words as the simulator's book shows them, against the desk's."""


class ListNotifier:
    """Keeps every alert for the scenario to inspect."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    async def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def titles(self, severity: Severity | None = None) -> list[str]:
        return [a.title for a in self.alerts if severity is None or a.severity is severity]

    def about(self, order_id: str) -> list[Alert]:
        return [a for a in self.alerts if a.order_id == order_id]


@dataclass(frozen=True, slots=True)
class SimAddress:
    """Where a simulator listens and how to log in to it."""

    rest_root: str
    ws_url: str
    api_key: str
    api_secret: str
    access_token: str


def kite_options(sim: SimAddress, **overrides: Any) -> dict[str, Any]:
    """The ``[kite]`` section for a simulator: its URLs, quick retries, limits as asked."""
    options: dict[str, Any] = {
        "api_key": sim.api_key,
        "root": sim.rest_root,
        "ws_url": sim.ws_url,
        "timeout_seconds": 5.0,
        "connect_timeout_seconds": 2.0,
        "rate_limit_backoff_seconds": 0.05,
        "rate_limit_requeues": 20,
    }
    options.update(overrides)
    return options


@contextlib.asynccontextmanager
async def running_sim(
    *,
    seed: int,
    rate_limits: bool = True,
    price_tick_interval: float | None = None,
    **config_fields: Any,
) -> AsyncIterator[tuple[SimServer, SimAddress]]:
    """A simulator in this process on 127.0.0.1 port 0, and a session on it."""
    config = SimConfig(
        host="127.0.0.1",
        port=0,
        seed=seed,
        rate_limits=rate_limits,
        price_tick_interval=price_tick_interval,
        **config_fields,
    )
    async with SimServer(config) as sim:
        yield (
            sim,
            SimAddress(
                rest_root=sim.rest_root,
                ws_url=sim.ws_url,
                api_key=config.api_key,
                api_secret=config.api_secret,
                access_token=sim.issue_access_token(),
            ),
        )


@contextlib.asynccontextmanager
async def open_desk(
    sim: SimAddress,
    store_url: str,
    data_dir: Path,
    *,
    notifier: ListNotifier | None = None,
    config: DeskConfig = SCENARIO_CONFIG,
    clock: Clock | None = None,
    limits: RiskLimits | None = None,
    **kite: Any,
) -> AsyncIterator[OrderDesk]:
    """A started desk on the store at ``store_url`` and the simulator at ``sim`` (closed, store
    too, on exit); ``data_dir`` is the adapter's folder. ``clock`` is the desk's time (a
    :class:`SimTime` follows the simulator's)."""
    secrets = DictSecrets(
        {"kite.access_token": sim.access_token, "kite.api_secret": sim.api_secret}
    )
    broker = create_broker(kite_options(sim, **kite), BrokerContext(secrets, data_dir))
    store = SqlEventStore(store_url)
    try:
        async with AsyncEventWriter(store) as writer:
            desk = OrderDesk(
                broker,
                store,
                writer=writer,
                notifier=notifier or ListNotifier(),
                config=config,
                clock=clock,
                limits=limits,
            )
            async with desk:
                yield desk
    finally:
        store.close()


class SimTime:
    """The desk's clock following a simulator in this process: its IST wall time, as UTC.

    Tests move the simulator's clock (``POST /_sim/clock``) to run days in seconds; the desk
    must cross the same milestones at the same instants. Monotonic time stays real: it only
    paces timers.
    """

    def __init__(self, sim: SimServer) -> None:
        self._sim = sim

    def now(self) -> datetime:
        return self._sim.clock.now().replace(tzinfo=IST).astimezone(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass(slots=True)
class BrokerBooks:
    """The simulator's order book, trade book and net positions, as raw rows."""

    orders: list[dict[str, Any]]
    trades: list[dict[str, Any]]
    positions: list[dict[str, Any]]

    def tag_counts(self) -> Counter[str]:
        return Counter(row["tag"] for row in self.orders if row.get("tag"))

    def by_tag(self, tag: str) -> list[dict[str, Any]]:
        return [row for row in self.orders if row.get("tag") == tag]


class BrokerView:
    """Reads the simulator's books over plain REST (the referee is not the adapter)."""

    def __init__(self, sim: SimAddress) -> None:
        self.sim = sim
        self._headers = {
            "X-Kite-Version": "3",
            "Authorization": f"token {sim.api_key}:{sim.access_token}",
        }

    async def _get(self, http: aiohttp.ClientSession, path: str) -> Any:
        for _ in range(RATE_LIMIT_RETRIES):
            async with http.get(self.sim.rest_root + path, headers=self._headers) as reply:
                body = await reply.json()
                if reply.status == 200:
                    return body["data"]
                if reply.status != 429:
                    raise AssertionError(f"GET {path} -> {reply.status} {body}")
            # The referee shares the api_key's 10/s with the desk: wait out the window.
            await asyncio.sleep(0.2)
        raise AssertionError(f"GET {path}: still rate limited")

    async def books(self) -> BrokerBooks:
        async with aiohttp.ClientSession() as http:
            orders = await self._get(http, "/orders")
            trades = await self._get(http, "/trades")
            positions = (await self._get(http, "/portfolio/positions"))["net"]
        return BrokerBooks(orders, trades, positions)

    async def holdings(self) -> list[dict[str, Any]]:
        async with aiohttp.ClientSession() as http:
            rows: list[dict[str, Any]] = await self._get(http, "/portfolio/holdings")
        return rows

    async def control(self, path: str, body: Any) -> Any:
        """``POST /_sim/<path>`` (faults, prices, external orders)."""
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.sim.rest_root}/_sim/{path}", json=body) as reply,
        ):
            payload = await reply.json()
            if reply.status != 200:
                raise AssertionError(f"/_sim/{path} -> {reply.status} {payload}")
            return payload["data"]

    async def faults(self, **switches: Any) -> Any:
        return await self.control("faults", switches)

    async def calm(self) -> None:
        """Every fault off (the books survive, unlike ``/_sim/reset``)."""
        await self.faults(
            latency_ms=0,
            error_5xx=0,
            rate_limit_storm=0,
            lost_response=0,
            ws_drop=0,
            update_delay_ms=0,
            update_duplicate=0,
            update_reorder=0,
            ambiguous_timeout=0,
            ambiguous_timeout_drop=0,
            slow_validation_ms=0,
        )


@dataclass(slots=True)
class Differences:
    """Where the desk and the broker disagree, one sentence each (empty: they agree)."""

    items: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.items.append(text)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __str__(self) -> str:
        shown = self.items[:20]
        more = f"\n... and {len(self.items) - 20} more" if len(self.items) > 20 else ""
        return "\n".join(shown) + more


def compare(desk: OrderDesk, books: BrokerBooks) -> Differences:
    """Orders (by broker id), fills (by trade id) and net positions, desk against broker."""
    diff = Differences()
    by_id = {row["order_id"]: row for row in books.orders}
    local = [o for o in desk.orders() if o.broker_order_id is not None]
    for order in local:
        row = by_id.get(order.broker_order_id or "")
        if row is None:
            diff.add(f"{order.order_id}: broker order {order.broker_order_id} not at the broker")
            continue
        _compare_order(order, row, diff)
    known = {o.broker_order_id for o in local}
    for row in books.orders:
        if row["order_id"] not in known:
            diff.add(f"broker order {row['order_id']} (tag {row.get('tag')}) unknown locally")
    ours = {tid for o in desk.orders() for tid in o.fills}
    theirs = {str(t["trade_id"]) for t in books.trades}
    for trade_id in sorted(theirs - ours):
        diff.add(f"trade {trade_id} not recorded locally")
    for trade_id in sorted(ours - theirs):
        diff.add(f"local fill {trade_id} not in the broker's trade book")
    broker_net = {
        (f"{p['exchange']}:{p['tradingsymbol']}", p["product"]): int(p["quantity"])
        for p in books.positions
        if int(p["quantity"])
    }
    local_net = {
        (str(p.instrument), p.product.value): p.quantity for p in desk.positions() if p.quantity
    }
    if broker_net != local_net:
        diff.add(f"net positions: broker {broker_net}, local {local_net}")
    return diff


def _compare_order(order: Order, row: dict[str, Any], diff: Differences) -> None:
    status = str(row["status"])
    filled = int(row["filled_quantity"])
    expected = _FINAL.get(status)
    if expected is not None and order.base_status is not expected:
        diff.add(f"{order.order_id}: broker {status}, local {order.status}")
    if expected is None and order.is_terminal:
        diff.add(f"{order.order_id}: broker {status}, local {order.status}")
    if order.filled_quantity != filled:
        diff.add(f"{order.order_id}: broker filled {filled}, local {order.filled_quantity}")
    if order.fill_quantity != filled:
        diff.add(f"{order.order_id}: broker filled {filled}, fills cover {order.fill_quantity}")
    if Decimal(str(row["quantity"])) != order.quantity:
        diff.add(f"{order.order_id}: broker quantity {row['quantity']}, local {order.quantity}")


__all__ = [
    "SCENARIO_CONFIG",
    "BrokerBooks",
    "BrokerView",
    "DictSecrets",
    "Differences",
    "ListNotifier",
    "SimAddress",
    "SimTime",
    "compare",
    "kite_options",
    "open_desk",
    "running_sim",
]
