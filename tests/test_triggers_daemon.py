"""GTTs and price alerts as the desk's own, end to end: a desk with the real Kite adapter against
the simulator, driven through its HTTP API and the `orderdesk` CLI; the simulator's prices move
and its triggers fire; the official kiteconnect client deletes behind the desk's back.

What holds: a fired GTT's order and an ATO's basket order are the strategy's (not external, no
external-order warning); one deleted at the broker is noticed by reconciliation; the desk's
triggers survive a restart (replayed from the log, whose chain still verifies).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kiteconnect import KiteConnect

from orderdesk.config import (
    ApiSettings,
    EngineSettings,
    RiskSettings,
    Settings,
    StrategyRiskSettings,
    StrategySettings,
    TradingDaySettings,
)
from orderdesk.domain.events import ReconciliationMismatch, SignalDenied
from orderdesk.ports.notifier import Severity
from orderdesk.runtime import Runtime, open_runtime
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.scenarios.harness import DictSecrets
from tests.support import eventually

OpenDesk = Callable[[], AbstractAsyncContextManager[Runtime]]


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            del os.environ[name]
    async with SimServer(SimConfig(port=0, seed=5, price_tick_interval=None)) as server:
        yield server


@pytest.fixture
def open_desk(sim: SimServer, tmp_path: Path) -> OpenDesk:
    """Opens a desk (the live ticker stream) on the simulator, with its log under tmp_path;
    opened twice, the second is a restart on the same log."""
    return desk_opener(sim, tmp_path)


def desk_opener(sim: SimServer, tmp_path: Path, **changes: Any) -> OpenDesk:
    """``open_desk``, with ``changes`` to its settings (whole sections: ``engine=…``); the
    CLI's config for :func:`cli` is written beside it."""
    secrets = DictSecrets(
        {"kite.access_token": sim.issue_access_token(), "kite.api_secret": sim.config.api_secret}
    )
    options: dict[str, Any] = {
        "broker": "kite",
        "data_dir": tmp_path,
        "config_dir": tmp_path,
        "api": ApiSettings(port=0),
        "engine": EngineSettings(reconcile_interval_seconds=300, poll_interval_seconds=300),
        "trading_day": TradingDaySettings(enabled=False),  # the sim is always open here
        "kite": {
            "api_key": sim.config.api_key,
            "root": sim.rest_root,
            "ws_url": sim.ws_url,
            "stream": "ticker",
            "rate_limits_enabled": False,
        },
    }
    settings = Settings(**{**options, **changes})
    (tmp_path / "cli.toml").write_text(
        f'broker = "paper"\nconfig_dir = "{tmp_path}"\ndata_dir = "{tmp_path / "cli"}"\n'
    )
    return lambda: open_runtime(settings, secrets=secrets)


class Api:
    """The desk's HTTP API with its bearer token."""

    def __init__(self, runtime: Runtime, http: aiohttp.ClientSession) -> None:
        assert runtime.api is not None
        self.url = runtime.api.url
        self.http = http
        self.headers = {"Authorization": f"Bearer {runtime.token}"}

    async def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        async with self.http.request(
            method, self.url + path, json=body, headers=self.headers
        ) as reply:
            payload = await reply.json()
            assert reply.status == status, payload
            return payload


async def _prices(sim: SimServer, http: aiohttp.ClientSession, price: float) -> None:
    async with http.post(sim.rest_root + "/_sim/prices", json={"NSE:INFY": price}) as reply:
        assert reply.status == 200


async def cli(runtime: Runtime, tmp_path: Path, *args: str) -> Any:
    """`orderdesk <args> --json` against the running desk; its JSON answer."""
    assert runtime.api is not None
    command = [sys.executable, "-m", "orderdesk", *args]
    command += ["--json", "--url", runtime.api.url, "--config", str(tmp_path / "cli.toml")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def _no_external_orders(runtime: Runtime) -> None:
    """Nothing was adopted as placed outside orderdesk, and no warning said so."""
    await runtime.desk.flushed()  # the news the desk applied, in the log too
    external = [
        e
        for row in runtime.store.read(kind="ReconciliationMismatch")
        if isinstance(e := row.event(), ReconciliationMismatch) and e.kind == "external_order"
    ]
    assert external == []
    warnings = [
        e.alert
        for e in runtime.alerts.recent()
        # The session's end is warned of in its last half hour (06:00 IST on the wall clock
        # here): a matter of the hour the test runs, not of the triggers.
        if e.alert.severity is not Severity.INFO and e.alert.key != "session:warning"
    ]
    assert warnings == []


async def test_a_fired_gtt_places_the_strategys_order(
    sim: SimServer, open_desk: OpenDesk, tmp_path: Path
) -> None:
    async with open_desk() as runtime, aiohttp.ClientSession() as http:
        api = Api(runtime, http)
        await _prices(sim, http, 1500)
        placed = await api.call(
            "POST",
            "/api/gtt",
            {
                "instrument": "NSE:INFY",
                "trigger_values": ["1600"],
                "last_price": "1500",
                "orders": [{"side": "BUY", "quantity": 2, "price": "1606"}],
                "strategy": "breakout",
            },
            status=201,
        )
        assert (placed["state"], placed["strategy"], placed["type"]) == (
            "active",
            "breakout",
            "single",
        )
        # The sim fires the GTT: a LIMIT BUY 2 @ 1606 that fills at once, which the live
        # stream tells the desk about.
        await _prices(sim, http, 1605)

        async def the_order() -> Any:
            orders = await api.call("GET", "/api/orders?strategy=breakout")
            return orders[0] if orders else None

        order = await eventually(the_order, timeout=10, what="the GTT's order on the desk")
        at_sim = sim.exchange.orders_of(sim.config.user_id)
        assert [o.order_id for o in at_sim] == [order["broker_order_id"]]
        assert (order["side"], order["quantity"], order["price"]) == ("BUY", 2, "1606")
        assert order["signal_id"] == f"{placed['id']}.{order['broker_order_id']}"
        fired = await api.call("GET", f"/api/gtt/{placed['id']}")
        assert (fired["state"], fired["order_ids"]) == ("fired", [order["broker_order_id"]])
        await _no_external_orders(runtime)
        # An order placed on Kite web on the same instrument is named by no trigger: external
        # (a resting order is not pushed by the sim; reconciliation reads the book).
        manual = await asyncio.to_thread(_kite_web_order, sim)
        await api.call("POST", "/api/reconcile")
        (web,) = [o for o in runtime.desk.orders() if o.broker_order_id == manual]
        assert (web.external, web.signal.strategy) == (True, "external")


def _kite_web_order(sim: SimServer) -> str:
    kite = _official(sim)
    return str(
        kite.place_order(
            variety="regular",
            exchange="NSE",
            tradingsymbol="INFY",
            transaction_type="BUY",
            quantity=1,
            product="CNC",
            order_type="LIMIT",
            price=1400,
        )
    )


def _official(sim: SimServer) -> KiteConnect:
    kite = KiteConnect(sim.config.api_key, root=sim.rest_root)
    kite.set_access_token(sim.issue_access_token())
    return kite


async def test_an_ato_basket_is_the_strategys_and_the_cli_says_so(
    sim: SimServer, open_desk: OpenDesk, tmp_path: Path
) -> None:
    async with open_desk() as runtime, aiohttp.ClientSession() as http:
        await _prices(sim, http, 1500)
        created = await cli(
            runtime,
            tmp_path,
            "alerts",
            "add",
            "buy the dip",
            "NSE:INFY",
            "--operator",
            "<=",
            "--value",
            "1400",
            "--order",
            "BUY:3@1401",
            "--strategy",
            "meanrev",
        )
        assert (created["type"], created["state"], created["strategy"]) == (
            "ato",
            "active",
            "meanrev",
        )
        watch = await cli(
            runtime,
            tmp_path,
            "alerts",
            "add",
            "watch",
            "NSE:INFY",
            "--operator",
            "<=",
            "--value",
            "1398",
            "--strategy",
            "meanrev",
        )
        assert (watch["type"], watch["fired"]) == ("simple", 0)
        await _prices(sim, http, 1395)  # both fire: the sim places the ATO's basket
        order = await eventually(
            lambda: next(iter(runtime.desk.orders(strategy="meanrev")), None),
            timeout=10,
            what="the ATO's order on the desk",
        )
        assert not order.external
        assert (order.signal.quantity, order.signal.price) == (3, 1401)
        # The simple alert stays live; reconciliation sees Kite's count go up and says so.
        assert (await cli(runtime, tmp_path, "reconcile"))["ok"]
        listed = await cli(runtime, tmp_path, "alerts", "list")
        assert [(a["id"], a["state"], a["order_ids"], a["fired"]) for a in listed] == [
            (created["id"], "fired", [order.broker_order_id], 1),
            (watch["id"], "active", [], 1),
        ]
        rang = [e.alert for e in runtime.alerts.recent() if e.alert.title == "Price alert fired"]
        assert len(rang) == 1
        assert "meanrev" in rang[0].body
        await _no_external_orders(runtime)


async def test_deleted_at_the_broker_is_noticed_and_triggers_survive_a_restart(
    sim: SimServer, open_desk: OpenDesk, tmp_path: Path
) -> None:
    async with open_desk() as runtime, aiohttp.ClientSession() as http:
        api = Api(runtime, http)
        await _prices(sim, http, 1500)
        gtt = await cli(
            runtime,
            tmp_path,
            "gtt",
            "add",
            "NSE:INFY",
            "--trigger",
            "1300",
            "--trigger",
            "1700",
            "--last-price",
            "1500",
            "--order",
            "SELL:1@1299",
            "--order",
            "SELL:1@1701",
            "--strategy",
            "swing",
        )
        assert (gtt["type"], gtt["state"]) == ("two-leg", "active")
        kept = await cli(
            runtime,
            tmp_path,
            "gtt",
            "add",
            "NSE:INFY",
            "--trigger",
            "1800",
            "--last-price",
            "1500",
            "--order",
            "SELL:1@1799",
            "--strategy",
            "swing",
        )
        moved = await cli(
            runtime,
            tmp_path,
            "gtt",
            "modify",
            kept["id"],
            "NSE:INFY",
            "--trigger",
            "1850",
            "--last-price",
            "1500",
            "--order",
            "SELL:2@1849",
        )
        assert (moved["condition"], moved["strategy"]) == ("LTP reaches 1850", "swing")
        at_sim = sim.gtt.get(sim.config.user_id, int(kept["broker_id"])).to_wire()
        assert at_sim["condition"]["trigger_values"] == [1850]
        assert at_sim["orders"][0]["quantity"] == 2
        alert = await api.call(
            "POST",
            "/api/price-alerts",
            {"name": "watch", "instrument": "NSE:INFY", "operator": ">=", "value": "1950"},
            status=201,
        )
        alert = await api.call(
            "PUT",
            f"/api/price-alerts/{alert['id']}",
            {"name": "watch", "instrument": "NSE:INFY", "operator": ">=", "value": "1900"},
        )
        assert alert["condition"] == "LTP >= 1900"
        await api.call(
            "PUT",
            f"/api/price-alerts/{alert['id']}",
            {
                "name": "watch",
                "instrument": "NSE:INFY",
                "operator": ">=",
                "value": "1900",
                "basket": [{"side": "BUY", "quantity": 1, "price": "1900"}],
            },
            status=409,
        )
        # Deleted at the broker, behind the desk's back, by the official client.
        kite = _official(sim)
        await asyncio.to_thread(kite.delete_gtt, int(gtt["broker_id"]))
        kite._routes = {**kite._routes, "alerts": "/alerts"}  # 5.2.2 has no alerts methods
        await asyncio.to_thread(kite._delete, "alerts", params={"uuid": [alert["broker_id"]]})

        report = await api.call("POST", "/api/reconcile")
        kinds = sorted(f["kind"] for f in report["findings"])
        assert kinds == ["trigger_gone", "trigger_gone"]
        gone = await api.call("GET", f"/api/gtt/{gtt['id']}")
        assert gone["state"] == "gone"
        assert "did not delete it" in gone["detail"]
        titles = [e.alert.title for e in runtime.alerts.recent()]
        assert titles.count("Trigger gone at the broker") == 2
        # Deleting through the desk: gone at the broker too, and not a finding.
        deleted = await cli(runtime, tmp_path, "gtt", "delete", kept["id"])
        assert deleted["state"] == "deleted"
        assert sim.gtt.get(sim.config.user_id, int(kept["broker_id"])).status == "deleted"
        assert (await api.call("POST", "/api/reconcile"))["findings"] == []
        before = await api.call("GET", "/api/gtt")

    async with open_desk() as runtime, aiohttp.ClientSession() as http:
        api = Api(runtime, http)
        assert await api.call("GET", "/api/gtt") == before
        assert [a["state"] for a in await api.call("GET", "/api/price-alerts")] == ["gone"]
        assert runtime.store.verify().ok


async def test_bad_triggers_are_refused_in_one_line(
    sim: SimServer, open_desk: OpenDesk, tmp_path: Path
) -> None:
    async with open_desk() as runtime, aiohttp.ClientSession() as http:
        api = Api(runtime, http)
        refused = await api.call(
            "POST",
            "/api/gtt",
            {
                "instrument": "NSE:INFY",
                "type": "two-leg",
                "trigger_values": ["1700", "1300"],
                "last_price": "1500",
                "orders": [
                    {"side": "SELL", "quantity": 1, "price": "1701"},
                    {"side": "SELL", "quantity": 1, "price": "1299"},
                ],
            },
            status=400,
        )
        assert "lower trigger value comes first" in refused["message"]
        await api.call("GET", "/api/gtt/gtt-404", status=404)
        assert sim.gtt.triggers_of(sim.config.user_id) == []
        assert runtime.api is not None
        command = [sys.executable, "-m", "orderdesk", "gtt", "add", "NSE:INFY"]
        command += ["--trigger", "16x", "--last-price", "1500", "--order", "SELL:1@1"]
        command += ["--url", runtime.api.url, "--config", str(tmp_path / "cli.toml")]
        done = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 3
        assert done.stderr.strip().splitlines() == ["error: trigger: '16x' is not a number"]


async def test_a_trigger_whose_orders_break_the_size_limits_is_refused(
    sim: SimServer, tmp_path: Path
) -> None:
    """A GTT or an ATO is an order waiting at the broker, so the orders it would place are held
    to the checks that judge an order by its own terms (quantity, value, symbol), the desk's
    and the strategy's: refused with 403 naming the check, recorded and alerted as a denied
    signal is, and nothing reaches the simulator. A simple alert places nothing and passes."""
    open_limited = desk_opener(
        sim,
        tmp_path,
        risk=RiskSettings(max_quantity=50, blocked_symbols=["SBIN"]),
        strategies={
            "swing": StrategySettings(risk=StrategyRiskSettings(max_order_value=Decimal(20_000)))
        },
    )
    gtt = {
        "instrument": "NSE:INFY",
        "trigger_values": ["1600"],
        "last_price": "1500",
        "orders": [{"side": "SELL", "quantity": 80, "price": "1599"}],
        "strategy": "breakout",
    }
    async with open_limited() as runtime, aiohttp.ClientSession() as http:
        api = Api(runtime, http)
        await _prices(sim, http, 1500)
        denied = await api.call("POST", "/api/gtt", gtt, status=403)
        assert (denied["error"], denied["check"]) == ("risk_denied", "max_quantity")
        assert denied["message"] == "gtt-leg-1: quantity 80 exceeds the limit of 50"
        # The strategy's own limit: 20 x 1599 = 31,980 rupees against its 20,000.
        swing = {**gtt, "strategy": "swing", "orders": [{**gtt["orders"][0], "quantity": 20}]}
        denied = await api.call("POST", "/api/gtt", swing, status=403)
        assert denied["check"] == "max_order_value"
        assert denied["message"].startswith("gtt-leg-1: strategy swing: order value 31980")
        blocked = {**gtt, "instrument": "NSE:SBIN", "last_price": "800", "trigger_values": ["900"]}
        blocked["orders"] = [{"side": "SELL", "quantity": 1, "price": "899"}]
        denied = await api.call("POST", "/api/gtt", blocked, status=403)
        assert denied["check"] == "blocked_symbols"
        dip = {"name": "dip", "instrument": "NSE:INFY", "operator": "<=", "value": "1400"}
        ato = {**dip, "basket": [{"side": "BUY", "quantity": 60, "price": "1401"}]}
        denied = await api.call("POST", "/api/price-alerts", ato, status=403)
        assert denied["check"] == "max_quantity"
        assert sim.gtt.triggers_of(sim.config.user_id) == []
        # Within the limits all of them go through; a modify is held to the same limits.
        placed = await api.call(
            "POST", "/api/gtt", {**gtt, "orders": [{**gtt["orders"][0], "quantity": 5}]}, status=201
        )
        await api.call("POST", "/api/price-alerts", dip, status=201)
        denied = await api.call("PUT", f"/api/gtt/{placed['id']}", gtt, status=403)
        assert denied["check"] == "max_quantity"
        (at_sim,) = sim.gtt.triggers_of(sim.config.user_id)
        assert at_sim["orders"][0]["quantity"] == 5
        denials = [
            e
            for row in runtime.store.read(kind="SignalDenied")
            if isinstance(e := row.event(), SignalDenied)
        ]
        assert [(d.check, d.signal.signal_id) for d in denials] == [
            ("max_quantity", "gtt-leg-1"),
            ("max_order_value", "gtt-leg-1"),
            ("blocked_symbols", "gtt-leg-1"),
            ("max_quantity", "ato-order-1"),
            ("max_quantity", "gtt-leg-1"),
        ]
        titles = [e.alert.title for e in runtime.alerts.recent()]
        assert "Signal denied by max_order_value" in titles
