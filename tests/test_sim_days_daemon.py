"""Trading days from outside: `orderdesk run` with ``clock = "simulator"``
(examples/sim_days.toml) on `orderdesk sim --market-hours nse`, driven only by the CLI and the
simulator's clock route. Monday's orders, the broker's square-off, the close, the 06:00 token
expiry, the morning login, and Tuesday opening with Monday's position carried and Monday's orders
read by day; and a special session on a Sunday, kept as a trading day of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from kiteconnect import KiteConnect

from orderdesk.domain.calendar import SessionHours
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.daemon import (
    login_on_sim,
    orderdesk,
    running_daemon,
    sim_clock,
    sim_env,
)
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "sim_days.toml"

SUNDAY_SESSION = "2026-12-13"
"""A special session (as NSE held on the budget-day Sunday of 1 February 2026)."""

pytestmark = pytest.mark.slow


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """`orderdesk sim --market-hours nse --no-rate-limits --special-session 2026-12-13`,
    prices held still."""
    config = SimConfig(
        port=0,
        price_tick_interval=None,
        rate_limits=False,
        market_hours="nse",
        special_sessions=frozenset({date.fromisoformat(SUNDAY_SESSION)}),
    )
    with SimServer.run_in_thread(config) as server:
        yield server


@pytest.fixture
def env(sim: SimServer, tmp_path: Path) -> dict[str, str]:
    """What a user of examples/sim_days.toml exports, plus this test's addresses and directories."""
    return sim_env(CONFIG, sim, tmp_path)


def shown(env: Mapping[str, str], *args: str) -> Any:
    """A CLI command's ``--json`` output."""
    result = orderdesk(env, *args, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def next_session(sim: SimServer, env: Mapping[str, str], day: str, at: str = "09:20:00") -> None:
    """The simulator's clock to ``day`` ``at`` IST: the running desk's session ends at 06:00,
    the morning login reaches it, and it opens ``day``."""
    sim_clock(sim, f"{day} {at}")
    wait_until(
        lambda: orderdesk(env, "session").returncode == 5,
        timeout=20,
        what="the session ended",
    )
    login_on_sim(sim, env)
    wait_until(
        lambda: shown(env, "session")["trading_day"] == day, timeout=20, what=f"{day} opened"
    )


NIFTY_LOT = 65
"""NIFTY's lot in the simulator's universe (the January 2026 series' size)."""


def nifty_call(sim: SimServer, after: str) -> str:
    """The simulator's NIFTY 25000 call of the nearest expiry after ``after`` (``YYYY-MM-DD``),
    as ``NFO:NIFTY26D1525000CE``: what carries a position overnight in NRML (Kite has no NRML
    for stock). A lot of it stays within examples/sim_days.toml's order value limit of 5 lakh,
    which a lot of NIFTY futures (65 x ~24,000) is not. Its expiries follow the day the
    simulator started on, so it is looked up."""
    calls = sorted(
        (inst.expiry, inst.key, inst.lot_size)
        for inst in sim.master
        if (inst.exchange, inst.name, inst.instrument_type, inst.strike)
        == ("NFO", "NIFTY", "CE", 25000)
        and inst.expiry > after
    )
    _, key, lot = calls[0]
    assert lot == NIFTY_LOT, lot
    return key


MIS_BUY = ("place", "NSE:INFY", "BUY", "2", "--type", "MARKET", "--product", "MIS")


def mis_bought_then_squared_off(sim: SimServer, env: Mapping[str, str], after: str) -> str:
    """The day's only order: an MIS buy through the CLI, filled; then the simulator's clock to
    ``after`` (past the square-off) and the broker's closing order in the desk's book. Returns
    the buy's order id."""
    order_id: str = shown(env, *MIS_BUY)["order"]["order_id"]
    wait_until(
        lambda: [o["status"] for o in shown(env, "orders")] == ["FILLED"],
        timeout=20,
        what="the MIS order filled",
    )
    sim_clock(sim, after)
    wait_until(lambda: len(shown(env, "orders")) == 2, timeout=20, what="the broker's square-off")
    return order_id


def test_a_monday_and_a_tuesday_through_the_cli_and_the_simulators_clock(
    sim: SimServer, env: dict[str, str]
) -> None:
    call = nifty_call(sim, after="2026-12-08")
    sim_clock(sim, "2026-12-07 09:20:00")
    requests.post(f"{sim.rest_root}/_sim/prices", json={"NSE:INFY": 1500, call: 400}, timeout=10)
    login_on_sim(sim, env)
    with running_daemon(CONFIG, env=env) as api:
        assert shown(env, "session")["trading_day"] == "2026-12-07"
        doctor = shown(env, "doctor")
        assert (doctor["verdict"], doctor["market_open"]) == ("ready to trade", True)
        assert doctor["market_until"] == "2026-12-07T15:30:00+05:30"
        bought = shown(
            env, "place", call, "BUY", str(NIFTY_LOT), "--type", "MARKET", "--product", "NRML"
        )
        resting = shown(env, "place", "NSE:INFY", "BUY", "1", "--type", "LIMIT", "--price", "1400")
        intraday = shown(
            env, "place", "NSE:INFY", "BUY", "2", "--type", "MARKET", "--product", "MIS"
        )
        delivery = shown(
            env, "place", "NSE:INFY", "BUY", "3", "--type", "MARKET", "--product", "CNC"
        )
        bought_id = bought["order"]["order_id"]
        resting_id = resting["order"]["order_id"]
        intraday_id = intraday["order"]["order_id"]
        delivery_id = delivery["order"]["order_id"]
        wait_until(
            lambda: (
                [o["status"] for o in shown(env, "orders")]  # newest first
                == ["FILLED", "FILLED", "OPEN", "FILLED"]
            ),
            timeout=20,
            what="Monday's orders filled and resting",
        )

        sim_clock(sim, "2026-12-07 16:30:00")  # the 16:00 mass cancel, then the desk's close
        wait_until(
            lambda: {d["day"]: d["closed_at"] for d in shown(env, "days")}["2026-12-07"],
            timeout=20,
            what="Monday closed",
        )
        # Ready, but not "ready to trade": a regular order now waits for Tuesday's opening.
        evening = orderdesk(env, "doctor")
        assert evening.returncode == 0, evening.stdout + evening.stderr
        said = " ".join(evening.stdout.split())
        assert "ready, but the market is closed until Tue 2026-12-08 09:15 IST" in said
        assert "market: closed until Tue 2026-12-08 09:15 IST: regular orders are refused" in said
        orders = shown(env, "orders")
        (square_off,) = [o for o in orders if o["external"]]
        statuses = {o["order_id"]: o["status"] for o in orders}
        assert statuses == {
            bought_id: "FILLED",
            resting_id: "CANCELLED",
            intraday_id: "FILLED",
            delivery_id: "FILLED",
            square_off["order_id"]: "FILLED",
        }
        # The desk had the clock's move before the broker's closing order reached it.
        assert (square_off["side"], square_off["quantity"]) == ("SELL", 2)
        assert datetime.fromisoformat(square_off["created_at"]) >= datetime.fromisoformat(
            "2026-12-07T15:20:00+05:30"
        )

        sim_clock(sim, "2026-12-08 09:20:00")  # past 06:00: Monday's token is dead
        ended = wait_until(
            lambda: (r := orderdesk(env, "session", "--json")).returncode == 5 and r,
            timeout=20,
            what="the session ended (`orderdesk session` exits 5)",
        )
        assert json.loads(ended.stdout)["state"] == "expired"
        login_on_sim(sim, env)  # the morning login reaches the running desk
        wait_until(
            lambda: shown(env, "session")["trading_day"] == "2026-12-08",
            timeout=20,
            what="Tuesday opened",
        )
        assert shown(env, "orders") == []
        monday = shown(env, "orders", "--day", "2026-12-07")
        assert sorted(o["order_id"] for o in monday) == sorted(statuses)
        (position,) = shown(env, "positions")
        assert (position["instrument"], position["product"]) == (call, "NRML")
        assert (position["quantity"], position["overnight_quantity"]) == (65, 65)
        human = orderdesk(env, "positions").stdout
        assert "of the day: carried quantity from the previous close" in " ".join(human.split())
        (holding,) = shown(env, "holdings")  # Monday's CNC buy, delivered
        held = holding["quantity"] + holding["t1_quantity"], Decimal(holding["close_price"])
        assert held == (3, 1500)
        tuesday, monday_row = shown(env, "days")  # newest first
        assert (tuesday["day"], tuesday["live"], tuesday["carried_positions"]) == (
            "2026-12-08",
            True,
            1,
        )
        assert (monday_row["day"], monday_row["orders"], monday_row["lapsed"]) == (
            "2026-12-07",
            5,
            0,
        )

        # Selling the delivered stock into a rising price: Kite's positions show a CNC short,
        # the desk counts stock sold against Monday's close (a short would lose 300 at 1700).
        # The call carried from Monday's 400 close rises 20 meanwhile: 65 x 20 = +1,300.
        requests.post(f"{sim.rest_root}/_sim/prices", json={"NSE:INFY": 1600}, timeout=10)
        shown(env, "place", "NSE:INFY", "SELL", "3", "--type", "MARKET", "--product", "CNC")
        wait_until(
            lambda: any(p["product"] == "CNC" for p in shown(env, "positions")),
            timeout=20,
            what="the sale filled",
        )
        requests.post(
            f"{sim.rest_root}/_sim/prices", json={"NSE:INFY": 1700, call: 420}, timeout=10
        )
        wait_until(
            lambda: (
                {p["product"]: Decimal(p["last_price"]) for p in shown(env, "positions")}
                == {"CNC": 1700, "NRML": 420}
            ),
            timeout=20,
            what="the desk saw 1700 and 420",
        )
        positions = {p["product"]: p for p in shown(env, "positions")}
        sold = positions["CNC"]
        assert (sold["quantity"], sold["from_holdings"], Decimal(sold["pnl"])) == (-3, 3, 300)
        assert Decimal(positions["NRML"]["pnl"]) == 1300  # 65 x 20 from the 400 close
        assert shown(env, "holdings")[0]["sold_today"] == 3
        assert Decimal(shown(env, "days")[0]["pnl"]) == 1600  # 300 + 1,300
        token = orderdesk(env, "config", "show-token").stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        strategies = requests.get(f"{api}/api/strategies", headers=headers, timeout=10).json()
        # The strategy's own: the 3 sold out of holdings (+300) and its 65 NRML carried from
        # Monday's close (+1,300), as the desk's day reads them.
        assert [(s["strategy"], Decimal(s["pnl"])) for s in strategies] == [("manual", 1600)]
        exit_ = orderdesk(env, "exit", "NSE:INFY", "--product", "CNC")
        assert exit_.returncode == 0, exit_.stdout + exit_.stderr
        assert "3 sold out of holdings" in exit_.stdout  # no buy-back placed
        # The API's time is the desk's too: the alerts it raised came on Monday and Tuesday.
        alerts = requests.get(f"{api}/api/alerts", headers=headers, timeout=10).json()
        assert alerts
        assert {alert["at"][:10] for alert in alerts} <= {"2026-12-07", "2026-12-08"}, alerts
        reconcile = orderdesk(env, "reconcile")
        assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
        assert "in agreement with the broker" in reconcile.stdout


def test_a_special_session_sunday_is_a_trading_day_of_its_own(
    sim: SimServer, env: dict[str, str]
) -> None:
    """With the Sunday in ``[trading_day] special_sessions`` (and the simulator's), the desk
    opens it after the morning login, takes MIS orders until the broker's square-off at 15:20,
    and keeps its orders as Sunday's, not Friday's."""
    env = {**env, "ORDERDESK_TRADING_DAY__SPECIAL_SESSIONS": json.dumps([SUNDAY_SESSION])}
    sim_clock(sim, "2026-12-11 09:20:00")  # Friday
    requests.post(f"{sim.rest_root}/_sim/prices", json={"NSE:INFY": 1500}, timeout=10)
    login_on_sim(sim, env)
    with running_daemon(CONFIG, env=env):
        friday = shown(env, "place", "NSE:INFY", "BUY", "1", "--type", "MARKET")
        next_session(sim, env, SUNDAY_SESSION)
        sunday_id = mis_bought_then_squared_off(sim, env, f"{SUNDAY_SESSION} 15:22:00")
        sim_clock(sim, "2026-12-14 09:20:00")
        login_on_sim(sim, env)
        wait_until(
            lambda: shown(env, "session")["trading_day"] == "2026-12-14",
            timeout=20,
            what="Monday opened",
        )
        days = [d["day"] for d in shown(env, "days")]
        assert days == ["2026-12-14", SUNDAY_SESSION, "2026-12-11"]
        on_sunday = shown(env, "orders", "--day", SUNDAY_SESSION)
        assert sorted(o["side"] for o in on_sunday) == ["BUY", "SELL"]
        assert sunday_id in {o["order_id"] for o in on_sunday}
        on_friday = shown(env, "orders", "--day", "2026-12-11")
        assert [o["order_id"] for o in on_friday] == [friday["order"]["order_id"]]


MUHURAT = "2026-12-20"
"""A Sunday evening session of its own hours, as Diwali's Muhurat session (18:15 to 19:15)."""


def test_a_muhurat_evening_is_a_trading_day_with_its_own_hours(tmp_path: Path) -> None:
    """With the evening in ``[trading_day] special_sessions`` as a table (and the simulator's
    ``--special-session 2026-12-20@18:15-19:15``), the desk opens the Sunday, takes MIS until
    the broker's square-off at 19:05 and refuses it after, and closes the day only after the
    19:35 mass cancel, with the evening's orders as Sunday's."""
    config = SimConfig(
        port=0,
        price_tick_interval=None,
        rate_limits=False,
        market_hours="nse",
        session_hours={date.fromisoformat(MUHURAT): SessionHours(time(18, 15), time(19, 15))},
    )
    with SimServer.run_in_thread(config) as sim:
        env = {
            **sim_env(CONFIG, sim, tmp_path),
            "ORDERDESK_TRADING_DAY__SPECIAL_SESSIONS": json.dumps(
                [{"date": MUHURAT, "opens": "18:15", "closes": "19:15"}]
            ),
        }
        sim_clock(sim, "2026-12-18 09:20:00")  # Friday
        requests.post(f"{sim.rest_root}/_sim/prices", json={"NSE:INFY": 1500}, timeout=10)
        login_on_sim(sim, env)
        with running_daemon(CONFIG, env=env):
            next_session(sim, env, MUHURAT)
            sim_clock(sim, f"{MUHURAT} 18:30:00")
            evening = mis_bought_then_squared_off(sim, env, f"{MUHURAT} 19:06:00")
            late = orderdesk(env, *MIS_BUY)
            assert late.returncode == 3, late.stdout + late.stderr
            assert "square_off" in late.stderr

            sim_clock(sim, f"{MUHURAT} 20:00:00")
            wait_until(
                lambda: {d["day"]: d["closed_at"] for d in shown(env, "days")}[MUHURAT],
                timeout=20,
                what="the evening closed",
            )
            (sunday,) = [d for d in shown(env, "days") if d["day"] == MUHURAT]
            # Closed after the 19:35 mass cancel (19:50 IST), not at the usual 16:15.
            assert datetime.fromisoformat(sunday["closed_at"]) >= datetime(
                2026, 12, 20, 14, 20, tzinfo=UTC
            )
            assert (sunday["orders"], sunday["fills"]) == (2, 2)
            on_sunday = shown(env, "orders", "--day", MUHURAT)
            assert evening in {o["order_id"] for o in on_sunday}
            assert sorted(o["side"] for o in on_sunday) == ["BUY", "SELL"]


def test_without_ddpi_the_days_sale_of_holdings_is_authorised_first(tmp_path: Path) -> None:
    """An account without DDPI (`orderdesk sim --holdings-authorisation`): Tuesday's sale of
    Monday's delivery is rejected with the fix; `orderdesk authorise-holdings` gives the page,
    and once a person has been there the same sale goes through."""
    config = SimConfig(
        port=0,
        price_tick_interval=None,
        rate_limits=False,
        market_hours="nse",
        holdings_authorisation=True,
    )
    with SimServer.run_in_thread(config) as no_ddpi:
        env = sim_env(CONFIG, no_ddpi, tmp_path)
        sim_clock(no_ddpi, "2026-12-07 09:20:00")
        requests.post(f"{no_ddpi.rest_root}/_sim/prices", json={"NSE:INFY": 1500}, timeout=10)
        login_on_sim(no_ddpi, env)
        with running_daemon(CONFIG, env=env):
            shown(env, "place", "NSE:INFY", "BUY", "3", "--type", "MARKET", "--product", "CNC")
            next_session(no_ddpi, env, "2026-12-08")
            sale = ("place", "NSE:INFY", "SELL", "3", "--type", "MARKET", "--product", "CNC")
            placed = orderdesk(env, *sale, "--json")
            assert placed.returncode == 3, placed.stdout + placed.stderr  # rejected: refused
            refused = json.loads(placed.stdout)["order"]
            assert refused["status"] == "REJECTED"
            assert "orderdesk authorise-holdings NSE:INFY" in refused["reason"]

            # A GTT on the stock fires, and Kite refuses its order for the same reason.
            gtt = shown(
                env,
                "gtt",
                "add",
                "NSE:INFY",
                "--trigger",
                "1600",
                "--last-price",
                "1500",
                "--order",
                "SELL:3@1599",
                "--strategy",
                "swing",
            )
            requests.post(f"{no_ddpi.rest_root}/_sim/prices", json={"NSE:INFY": 1610}, timeout=10)
            found = orderdesk(env, "reconcile")  # reads the GTT's end, a difference to report
            assert found.returncode == 3, found.stdout + found.stderr
            assert "refused its order" in found.stdout
            (listed,) = [g for g in shown(env, "gtt", "list") if g["id"] == gtt["id"]]
            assert (listed["state"], listed["fired"]) == ("refused", 1)
            assert "refused its order: Holdings authorisation required" in listed["detail"]

            made = shown(env, "authorise-holdings", "NSE:INFY")
            assert made["url"].startswith(
                f"{no_ddpi.rest_root}/connect/portfolio/authorise/holdings/"
            )
            page = requests.get(made["url"], timeout=10)  # the person, in a browser
            assert (page.status_code, page.url.endswith("/finish?status=success")) == (200, True)
            bystander = KiteConnect(no_ddpi.config.api_key, root=no_ddpi.rest_root)
            bystander.set_access_token(no_ddpi.issue_access_token())
            (holding,) = bystander.holdings()
            assert holding["authorised_quantity"] == 3

            sold = shown(env, *sale)["order"]
            wait_until(
                lambda: (
                    {o["order_id"]: o["status"] for o in shown(env, "orders")}[sold["order_id"]]
                    == "FILLED"
                ),
                timeout=20,
                what="the authorised sale filled",
            )
