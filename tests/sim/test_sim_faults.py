"""Rate limits and injected faults, seen through the official client."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.ratelimit import SlidingLog

from .conftest import SimControl, login


def _place(kite: KiteConnect, tag: str) -> str:
    order_id: str = kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=1,
        product="CNC",
        order_type="LIMIT",
        price=1400,
        tag=tag,
    )
    return order_id


def test_thirty_placements_in_a_second_admit_at_most_ten_per_window(
    sim_config: SimConfig,
) -> None:
    """30 placements fired together: no one-second window holds more than 10 acceptances."""
    sim_config.rate_limits = True
    with SimServer.run_in_thread(sim_config) as sim:
        kite = login(sim)
        accepted: list[float] = []
        refused: list[kex.NetworkException] = []
        lock = threading.Lock()

        def fire(i: int) -> None:
            try:
                _place(kite, f"rl{i}")
            except kex.NetworkException as exc:
                with lock:
                    refused.append(exc)
                return
            with lock:
                accepted.append(time.monotonic())

        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(fire, range(30)))
        book = kite.orders()
    accepted.sort()
    assert 1 <= len(accepted) <= 10
    assert len(accepted) + len(refused) == 30
    assert all(exc.code == 429 and str(exc) == "Too many requests" for exc in refused)
    assert len(book) == len(accepted)
    for start in accepted:
        assert sum(start <= t < start + 1.0 for t in accepted) <= 10


def test_sliding_log_never_admits_more_than_the_limit_in_any_window() -> None:
    """Across a fixed-window boundary the sliding log still caps any 1 s span at the limit."""
    log = SlidingLog(limit=10, window=1.0)
    admitted = [t for t in (0.95 + i * 0.01 for i in range(40)) if log.try_acquire(t)]
    assert len(admitted) == 10
    assert log.try_acquire(1.95) is True


def test_rate_limit_envelope_on_the_wire(sim_config: SimConfig) -> None:
    """Over the quote limit the reply is HTTP 429 with Kite's NetworkException envelope."""
    sim_config.rate_limits = True
    with SimServer.run_in_thread(sim_config) as sim:
        kite = login(sim)
        kite.margins()
        replies = [
            requests.get(
                sim.rest_root + "/user/margins",
                headers={"Authorization": f"token {kite.api_key}:{kite.access_token}"},
                timeout=10,
            )
            for _ in range(12)
        ]
    last = replies[-1]
    assert last.status_code == 429
    assert last.json() == {
        "status": "error",
        "message": "Too many requests",
        "error_type": "NetworkException",
        "data": None,
    }


def test_lost_response_creates_the_order_but_drops_the_reply(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """With lost_response on, the client sees a connection error yet the order is in the book."""
    simctl.prices({"NSE:INFY": 1500})
    simctl.faults(lost_response=1.0)
    with pytest.raises(requests.exceptions.ConnectionError) as exc_info:
        _place(kite, "lost1")
    simctl.faults(lost_response=0.0)
    assert exc_info.value is not None
    rows = [o for o in kite.orders() if o["tag"] == "lost1"]
    assert len(rows) == 1
    assert rows[0]["status"] == "OPEN"


def test_5xx_and_storm_faults(kite: KiteConnect, simctl: SimControl) -> None:
    """error_5xx answers 503 NetworkException; rate_limit_storm answers 429; neither acts."""
    simctl.faults(error_5xx=1.0)
    with pytest.raises(kex.NetworkException) as exc_info:
        _place(kite, "x5")
    simctl.faults(error_5xx=0.0, rate_limit_storm=1.0)
    with pytest.raises(kex.NetworkException) as storm_info:
        kite.orders()
    simctl.faults(rate_limit_storm=0.0)
    assert exc_info.value.code == 503
    assert storm_info.value.code == 429
    assert kite.orders() == []


def test_same_seed_same_ids(sim_config: SimConfig) -> None:
    """Two runs with one seed give the same order ids; reset with that seed repeats them."""
    runs = []
    for _ in range(2):
        with SimServer.run_in_thread(sim_config) as sim:
            kite = login(sim)
            runs.append([_place(kite, f"s{i}") for i in range(3)])
            SimControl(sim.rest_root).reset()
            runs.append([_place(kite, f"s{i}") for i in range(3)])
    assert runs[0] == runs[1] == runs[2] == runs[3]


def test_control_is_off_away_from_loopback(sim_config: SimConfig) -> None:
    """A server bound to a non-loopback address does not mount /_sim routes."""
    sim_config.host = "0.0.0.0"  # noqa: S104 - the point of the test
    sim = SimServer(sim_config)
    routes = {r.resource.canonical for r in sim.build_app().router.routes() if r.resource}
    assert "/orders" in routes
    assert not any(path.startswith("/_sim") for path in routes)


def test_bad_fault_names_are_input_errors(simctl: SimControl) -> None:
    """Unknown fault switches are refused with 400."""
    reply = simctl.http.post(simctl.root + "/_sim/faults", json={"nope": 1}, timeout=10)
    assert reply.status_code == 400
    assert reply.json()["error_type"] == "InputException"
