"""Kite's slow order path in the simulator (KITE_API.md §14.2): the ambiguous "Order request
timed out" 400 whose order appears later (or never), and orders lingering in PUT ORDER REQ
RECEIVED — seen through the official client, moved along by the simulator's clock."""

from __future__ import annotations

import pytest
import requests
import typer
from click.testing import CliRunner
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.cli import app, sim_command
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.faults import Faults
from orderdesk.sim.routes_orders import ORDER_TIMED_OUT
from tests.support import wait_until

from .conftest import SimControl, login


def _place(kite: KiteConnect, tag: str, **params: object) -> str:
    order_id: str = kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=1,
        product="CNC",
        order_type=params.pop("order_type", "LIMIT"),
        price=params.pop("price", 1400),
        tag=tag,
        **params,
    )
    return order_id


def _rows(kite: KiteConnect, tag: str) -> list[dict[str, object]]:
    return [row for row in kite.orders() if row["tag"] == tag]


def _ambiguous(kite: KiteConnect, tag: str) -> kex.InputException:
    with pytest.raises(kex.InputException) as exc_info:
        _place(kite, tag)
    return exc_info.value


def test_ambiguous_reply_is_kites_400_and_the_order_appears_after_the_delay(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """The official client sees 400 InputException "Order request timed out…" and an empty
    book; once the simulated clock passes the seeded delay, the order is there, once."""
    simctl.prices({"NSE:INFY": 1500})
    simctl.faults(ambiguous_timeout=1.0)
    error = _ambiguous(kite, "amb1")
    simctl.faults(ambiguous_timeout=0.0)
    assert error.code == 400
    assert str(error) == ORDER_TIMED_OUT
    assert ORDER_TIMED_OUT.startswith("Order request timed out. Please check the order book")
    assert _rows(kite, "amb1") == []
    simctl.advance(10)  # the longest delay the default bound allows
    rows = _rows(kite, "amb1")
    assert len(rows) == 1
    assert rows[0]["status"] == "OPEN"
    simctl.advance(60)
    assert len(_rows(kite, "amb1")) == 1


def test_ambiguous_drop_never_creates_the_order(kite: KiteConnect, simctl: SimControl) -> None:
    """With ambiguous_timeout_drop the 400 is the same, and no order ever appears."""
    simctl.faults(ambiguous_timeout=1.0, ambiguous_timeout_drop=1.0)
    error = _ambiguous(kite, "drop1")
    simctl.faults(ambiguous_timeout=0.0)
    assert error.code == 400
    simctl.advance(120)
    assert _rows(kite, "drop1") == []
    assert simctl.state()["orders"] == 0


def test_late_order_arrives_in_real_time_too(kite: KiteConnect, simctl: SimControl) -> None:
    """Left alone, the simulated clock follows real time: a short delay passes by itself."""
    simctl.faults(ambiguous_timeout=1.0, ambiguous_delay_max_ms=50)
    _ambiguous(kite, "rt1")
    simctl.faults(ambiguous_timeout=0.0)
    rows = wait_until(lambda: _rows(kite, "rt1"), timeout=5, what="the late order")
    assert len(rows) == 1


def test_reset_forgets_late_orders(kite: KiteConnect, simctl: SimControl) -> None:
    """/_sim/reset empties the books, orders still due included."""
    simctl.faults(ambiguous_timeout=1.0)
    _ambiguous(kite, "gone")
    simctl.reset()
    simctl.advance(30)
    assert _rows(kite, "gone") == []


def test_same_seed_same_ambiguous_placements(sim_config: SimConfig) -> None:
    """Two runs with one seed answer the same placements ambiguously and create the same
    late orders, in the same order."""
    runs = []
    for _ in range(2):
        sim_config.faults = {"ambiguous_timeout": 0.5, "ambiguous_timeout_drop": 0.3}
        with SimServer.run_in_thread(sim_config) as sim:
            kite = login(sim)
            simctl = SimControl(sim.rest_root)
            answered = []
            for i in range(20):
                try:
                    _place(kite, f"seed{i}")
                    answered.append("ok")
                except kex.InputException:
                    answered.append("ambiguous")
            simctl.advance(10)
            book = [row["tag"] for row in kite.orders()]
        runs.append((answered, book))
    assert runs[0] == runs[1]
    answered, book = runs[0]
    assert "ambiguous" in answered
    assert len(book) < len(answered)  # some were dropped
    assert len(book) == len(set(book))


def test_delays_are_seeded_and_bounded() -> None:
    """Draws are the seed's, within [0, ambiguous_delay_max_ms]; a switch that is off draws
    nothing, so old seeds replay unchanged."""
    first, second = Faults(), Faults()
    for faults in (first, second):
        faults.reset(3)
        faults.update({"ambiguous_timeout": 1.0, "ambiguous_delay_max_ms": 4000})
    draws = [first.roll_ambiguous() for _ in range(500)]
    assert draws == [second.roll_ambiguous() for _ in range(500)]
    delays = [d.delay for d in draws if d is not None and d.delay is not None]
    assert len(delays) == 500
    assert all(0 <= delay <= 4.0 for delay in delays)
    assert max(delays) > 3.5
    off = Faults()
    off.reset(3)
    before = off.rng.getstate()
    assert off.roll_ambiguous() is None
    assert off.rng.getstate() == before


def test_fault_values_are_checked() -> None:
    """Probabilities stay in [0, 1]; durations are milliseconds, never negative."""
    faults = Faults()
    with pytest.raises(ValueError, match="probability") as prob:
        faults.update({"ambiguous_timeout": 2})
    with pytest.raises(ValueError, match="negative") as neg:
        faults.update({"slow_validation_ms": -1})
    faults.update({"slow_validation_ms": 90_000, "ambiguous_delay_max_ms": 10_000})
    assert prob.value is not None
    assert neg.value is not None
    assert faults.slow_validation_ms == 90_000


def test_slow_validation_keeps_orders_received_until_the_clock_passes(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """With slow_validation_ms the reply carries the id at once; the order shows PUT ORDER REQ
    RECEIVED in the book and its history until that much simulated time has passed, then it
    goes through validation and fills like any other."""
    simctl.prices({"NSE:INFY": 1500})
    simctl.faults(slow_validation_ms=90_000)
    order_id = _place(kite, "slow1", order_type="MARKET", price=None, market_protection=2)
    simctl.faults(slow_validation_ms=0)
    (row,) = _rows(kite, "slow1")
    assert row["order_id"] == order_id
    assert row["status"] == "PUT ORDER REQ RECEIVED"
    assert [h["status"] for h in kite.order_history(order_id)] == ["PUT ORDER REQ RECEIVED"]
    simctl.advance(89)
    assert _rows(kite, "slow1")[0]["status"] == "PUT ORDER REQ RECEIVED"
    simctl.advance(2)
    (row,) = _rows(kite, "slow1")
    assert row["status"] == "COMPLETE"
    statuses = [h["status"] for h in kite.order_history(order_id)]
    assert statuses[:3] == ["PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING"]
    assert len(kite.trades()) == 1


def test_cli_fault_flag_is_checked_and_documented() -> None:
    """`orderdesk sim --fault` takes NAME=VALUE, refuses an unknown name or a bad value with
    exit code 2, and its help names the new faults."""
    cli = typer.main.get_group(app)
    assert sim_command.parse_faults(["ambiguous_timeout=0.2", "margin_exception=true"]) == {
        "ambiguous_timeout": 0.2,
        "margin_exception": True,
    }
    for bad in ("nope=1", "ambiguous_timeout=7", "ambiguous_timeout", "slow_validation_ms=x"):
        result = CliRunner().invoke(cli, ["sim", "--fault", bad], env={"COLUMNS": "200"})
        assert result.exit_code == 2, (bad, result.output)
        assert "--fault" in result.output
    shown = CliRunner().invoke(cli, ["sim", "--help"], env={"COLUMNS": "200"})
    said = " ".join(shown.output.split())
    for name in ("ambiguous_timeout", "ambiguous_timeout_drop", "slow_validation_ms"):
        assert name in said


def test_faults_from_the_config_are_on_from_the_start(sim_config: SimConfig) -> None:
    """SimConfig.faults (the CLI's --fault) switches faults on before the first request."""
    sim_config.faults = {"ambiguous_timeout": 1.0, "ambiguous_timeout_drop": 1.0}
    with SimServer.run_in_thread(sim_config) as sim:
        kite = login(sim)
        _ambiguous(kite, "cfg")
        assert SimControl(sim.rest_root).state()["faults"]["ambiguous_timeout"] == 1.0


def test_a_slow_placement_is_created_for_a_client_that_stopped_waiting(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """slow_placement_ms: the official client, with a timeout shorter than the delay, gets no
    reply (a read timeout), and the order is in the book once the delay has passed, once; a
    client that waits gets the order id at the end of the delay."""
    impatient = login(sim_thread, timeout=0.3)
    simctl.prices({"NSE:INFY": 1500})
    simctl.faults(slow_placement_ms=2_000)
    with pytest.raises(requests.exceptions.ReadTimeout):
        _place(impatient, "slow1")
    assert _rows(impatient, "slow1") == []  # not yet: the broker is still at it
    rows = wait_until(lambda: _rows(impatient, "slow1"), timeout=10, what="the late order")
    assert len(rows) == 1
    patient = login(sim_thread, timeout=10)
    order_id = _place(patient, "slow2")
    simctl.faults(slow_placement_ms=0)
    assert [row["order_id"] for row in _rows(patient, "slow2")] == [order_id]
