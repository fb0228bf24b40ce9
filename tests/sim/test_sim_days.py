"""Trading days through the official client: square-off, mass cancel, the next morning's books,
carry, T+1 holdings, expiries, token expiry, weekends and holidays, seen as Kite shows them.

Every test runs on a fixed week of 2026 (Monday 5 January to Monday 12 January; no NSE holiday
falls in it) on a simulator with ``market_hours="nse"``, and logs in only after setting the
clock: a token lives until the 06:00 after its login on the simulated clock.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.domain.calendar import SessionHours
from orderdesk.holidays import load_holidays
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.support import eventually, wait_until

from .conftest import SimControl, day_charges, login

MONDAY = "2026-01-05"
TUESDAY = "2026-01-06"
WEDNESDAY = "2026-01-07"
THURSDAY = "2026-01-08"
FRIDAY = "2026-01-09"
OPENING_CASH = 1_000_000
DP = Decimal("15.93")
"""The DP charge (13.50 + 18 % GST) of a scrip sold from holdings: the ledger's, not the
contract note's."""

# A test contract of our own that expires on Thursday 8 January: the built-in derivatives are
# generated from the real date, so their expiries move as time passes.
TEST_FUTURE = "TESTFUT26JANFUT"
FUTURE_CSV = (
    "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,"
    "lot_size,instrument_type,segment,exchange\n"
    f"24320002,95000,{TEST_FUTURE},TESTFUT,1000.0,{THURSDAY},0.0,0.05,50,FUT,NFO-FUT,NFO\n"
)


@pytest.fixture
def sim_config(tmp_path: Path) -> SimConfig:
    """NSE hours and trading days, no holidays in the test week, and the test future listed."""
    csv_path = tmp_path / "instruments.csv"
    csv_path.write_text(FUTURE_CSV)
    return SimConfig(
        host="127.0.0.1",
        port=0,
        seed=7,
        price_tick_interval=None,
        rate_limits=False,
        market_hours="nse",
        holidays=frozenset(),
        instruments=csv_path,
        opening_cash=Decimal(OPENING_CASH),
    )


def _at(simctl: SimControl, day: str, clock: str) -> dict[str, Any]:
    reply: dict[str, Any] = simctl.set_clock(f"{day} {clock}")
    return reply


def _open(sim: SimServer, simctl: SimControl, day: str, clock: str = "09:30:00") -> KiteConnect:
    """Set the clock, then log in (the token lives until the next 06:00 from there)."""
    _at(simctl, day, clock)
    return login(sim)


def _place(kite: KiteConnect, **params: Any) -> str:
    order: dict[str, Any] = {
        "variety": "regular",
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": 10,
        "product": "MIS",
        "order_type": "MARKET",
    } | params
    if order["order_type"] == "MARKET":
        order.setdefault("market_protection", -1)  # Kite's 2026 rule (KITE_API.md §4.3)
    order_id: str = kite.place_order(**order)
    return order_id


def _row(kite: KiteConnect, order_id: str) -> dict[str, Any]:
    return next(o for o in kite.orders() if o["order_id"] == order_id)


def _nifty_future(kite: KiteConnect) -> dict[str, Any]:
    return next(
        i for i in kite.instruments("NFO") if i["name"] == "NIFTY" and i["instrument_type"] == "FUT"
    )


def _money(value: float) -> Decimal:
    """A funds figure as the Decimal it prints as."""
    return Decimal(str(value))


def _kinds(reply: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(m["kind"], m["segment"]) for m in reply["milestones"]]


def test_mis_is_squared_off_at_1520_and_refused_after(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """At 15:20 a working MIS order is cancelled and the open MIS position closed by a broker
    MARKET order in the order and trade books; a fresh MIS equity order (or a conversion to MIS)
    is then refused with InputException while CNC and a derivatives MIS (until 15:25) are still
    taken."""
    kite = _open(sim_thread, simctl, MONDAY)
    simctl.prices({"NSE:INFY": 1500})
    bought = _place(kite)
    resting = _place(kite, order_type="LIMIT", price=1400)
    simctl.prices({"NSE:INFY": 1510})
    reply = _at(simctl, MONDAY, "15:22:00")
    assert _kinds(reply) == [("square_off", "equity")]
    assert reply["trading_day"] == MONDAY
    assert _row(kite, resting)["status"] == "CANCELLED"
    orders = kite.orders()
    assert [o["order_id"] for o in orders[:2]] == [bought, resting]
    closing = orders[2]
    assert closing["transaction_type"] == "SELL"
    assert closing["product"] == "MIS"
    assert closing["order_type"] == "MARKET"
    assert closing["quantity"] == 10
    assert closing["status"] == "COMPLETE"
    assert closing["average_price"] == 1510
    assert closing["placed_by"] == "ADMINSQF"
    assert closing["tag"] is None
    assert closing["status_message"] == "Auto square-off by the broker at 15:20"
    assert closing["order_timestamp"] == datetime(2026, 1, 5, 15, 20)
    trade = kite.trades()[-1]
    assert trade["order_id"] == closing["order_id"]
    assert trade["trade_id"]
    assert trade["fill_timestamp"] == datetime(2026, 1, 5, 15, 20)
    assert kite.order_trades(closing["order_id"]) == [trade]
    line = next(p for p in kite.positions()["net"] if p["product"] == "MIS")
    assert line["quantity"] == 0
    assert line["pnl"] == 100

    with pytest.raises(kex.InputException) as refused:
        _place(kite)
    assert _place(kite, product="CNC", quantity=1)
    with pytest.raises(kex.InputException) as no_conversion:
        kite.convert_position(
            exchange="NSE",
            tradingsymbol="INFY",
            transaction_type="BUY",
            position_type="day",
            quantity=1,
            old_product="CNC",
            new_product="MIS",
        )
    assert "15:20" in str(no_conversion.value)
    future = _nifty_future(kite)
    assert _place(
        kite,
        exchange="NFO",
        tradingsymbol=future["tradingsymbol"],
        quantity=future["lot_size"],
    )
    assert refused.value.code == 400
    assert str(refused.value) == (
        "MIS/CO orders are blocked after the auto square-off time (15:20) for the equity "
        "segment; place CNC/NRML orders or wait for the next trading day."
    )


def test_a_clock_move_waits_for_its_followers_before_the_square_off(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """A desk following the clock (``clock = "simulator"``) reads it as a named follower. A move
    across 15:20 sets the clock, then waits for that follower's next read before squaring off:
    the broker's closing order then reaches a desk that has the square-off's time."""
    kite = _open(sim_thread, simctl, MONDAY)
    simctl.prices({"NSE:INFY": 1500})
    _place(kite)
    follow = sim_thread.rest_root + "/_sim/clock"

    def read(**params: str) -> dict[str, Any]:
        reply: dict[str, Any] = simctl.http.get(follow, params=params, timeout=10).json()["data"]
        return reply

    read(follower="desk")
    with ThreadPoolExecutor(1) as pool:
        moving = pool.submit(_at, simctl, MONDAY, "15:22:00")
        wait_until(lambda: "15:22" in read()["clock"], what="the clock moved")
        assert len(kite.orders()) == 1  # nothing squared off while the follower lags
        assert not moving.done()
        read(follower="desk")
        reply = moving.result(timeout=10)
    assert _kinds(reply) == [("square_off", "equity")]
    assert len(kite.orders()) == 2


def test_cover_order_exits_through_its_stop_leg_at_square_off(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """A cover order's pending stop leg is exited at market at 15:20, as the exit call does,
    so the position is flat without a separate square-off order."""
    kite = _open(sim_thread, simctl, MONDAY)
    simctl.prices({"NSE:INFY": 1500})
    entry = _place(kite, variety="co", trigger_price=1480)
    stop = next(o for o in kite.orders() if o["parent_order_id"] == entry)
    assert stop["status"] == "TRIGGER PENDING"
    simctl.prices({"NSE:INFY": 1505})
    _at(simctl, MONDAY, "15:21:00")
    exited = _row(kite, stop["order_id"])
    assert exited["status"] == "COMPLETE"
    assert exited["average_price"] == 1505
    assert len(kite.orders()) == 2
    assert [p["quantity"] for p in kite.positions()["net"]] == [0]


def test_mass_cancel_at_1600_cancels_what_is_still_working(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """At 16:00 a resting DAY LIMIT order and the rest of a part-filled one become CANCELLED
    with "exchange mass cancel"; an AMO held for the next session stays."""
    kite = _open(sim_thread, simctl, MONDAY, "10:00:00")
    simctl.prices({"NSE:INFY": 1500})
    resting = _place(kite, product="CNC", order_type="LIMIT", price=1400)
    simctl.faults(partial_fill=0.5)
    part = _place(kite, product="CNC", order_type="LIMIT", price=1500)
    simctl.faults(partial_fill=0.0)
    assert _row(kite, part)["filled_quantity"] == 5
    _at(simctl, MONDAY, "15:45:00")
    amo = _place(kite, variety="amo", product="CNC", order_type="LIMIT", price=1450)
    reply = _at(simctl, MONDAY, "16:05:00")
    assert _kinds(reply) == [("mass_cancel", "equity"), ("mass_cancel", "derivatives")]
    cancelled = _row(kite, resting)
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["status_message"] == "exchange mass cancel"
    assert cancelled["cancelled_quantity"] == 10
    assert cancelled["exchange_update_timestamp"] == "2026-01-05 16:00:00"
    halved = _row(kite, part)
    assert (halved["status"], halved["filled_quantity"], halved["cancelled_quantity"]) == (
        "CANCELLED",
        5,
        5,
    )
    assert halved["status_message"] == "exchange mass cancel"
    assert _row(kite, amo)["status"] == "AMO REQ RECEIVED"
    assert len(kite.trades()) == 1


def test_next_morning_starts_empty_and_carries_the_nrml_position(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """After 06:00 the old token is refused, the new session sees empty order and trade books,
    the NRML future carried with overnight_quantity and yesterday's close, no day rows, quotes
    whose close is yesterday's last price, and funds whose net moved overnight only by
    yesterday's charges, taken off the cash as yesterday's realised P&L went into it."""
    kite = _open(sim_thread, simctl, MONDAY)
    future = _nifty_future(kite)
    key = f"NFO:{future['tradingsymbol']}"
    simctl.prices({"NSE:INFY": 1500, key: 25000})
    _place(kite)  # MIS, squared off at 15:20 for a 100 profit
    _place(
        kite,
        exchange="NFO",
        tradingsymbol=future["tradingsymbol"],
        quantity=future["lot_size"],
        product="NRML",
    )
    simctl.prices({"NSE:INFY": 1510, key: 25040})
    _at(simctl, MONDAY, "16:30:00")
    evening = kite.margins()["equity"]
    assert evening["utilised"]["m2m_realised"] == 100
    charged = day_charges(kite)
    reply = _at(simctl, TUESDAY, "09:20:00")
    assert _kinds(reply)[-1] == ("rollover", None)
    assert reply["milestones"][-1]["at"] == "2026-01-06 06:00:00"
    with pytest.raises(kex.TokenException):
        kite.orders()
    kite = login(sim_thread)
    assert kite.orders() == []
    assert kite.trades() == []
    positions = kite.positions()
    assert positions["day"] == []
    [carried] = positions["net"]
    assert carried["tradingsymbol"] == future["tradingsymbol"]
    assert carried["product"] == "NRML"
    assert carried["quantity"] == carried["overnight_quantity"] == future["lot_size"]
    assert carried["average_price"] == 25000
    assert carried["close_price"] == 25040
    assert carried["day_buy_quantity"] == carried["day_sell_quantity"] == 0
    assert carried["m2m"] == 0
    morning = kite.margins()["equity"]
    assert _money(morning["net"]) == _money(evening["net"]) - charged
    assert _money(morning["available"]["cash"]) == OPENING_CASH + 100 - charged
    assert morning["utilised"]["m2m_realised"] == 0
    quote = kite.quote([key, "NSE:INFY"])
    assert quote[key]["ohlc"] == dict.fromkeys(("open", "high", "low", "close"), 25040)
    assert quote["NSE:INFY"]["ohlc"]["close"] == 1510
    assert quote["NSE:INFY"]["volume"] == 0


def test_cnc_buy_is_t1_the_next_day_and_settled_the_day_after(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """A Monday CNC buy shows in Tuesday's holdings as t1_quantity beside the settled quantity,
    and on Wednesday it has settled into quantity at the merged average price."""
    kite = _open(sim_thread, simctl, MONDAY)
    simctl.holdings(
        [{"exchange": "NSE", "tradingsymbol": "INFY", "quantity": 10, "average_price": 1400}]
    )
    simctl.prices({"NSE:INFY": 1500})
    _place(kite, product="CNC", quantity=5)
    simctl.prices({"NSE:INFY": 1520})
    charged = day_charges(kite)
    kite = _open(sim_thread, simctl, TUESDAY)
    [row] = kite.holdings()
    assert (row["quantity"], row["t1_quantity"], row["opening_quantity"]) == (10, 5, 15)
    assert row["realised_quantity"] == 10
    assert row["close_price"] == 1520
    assert row["average_price"] == pytest.approx((10 * 1400 + 5 * 1500) / 15)
    cash = _money(kite.margins()["equity"]["available"]["cash"])
    assert cash == OPENING_CASH - 5 * 1500 - charged
    kite = _open(sim_thread, simctl, WEDNESDAY)
    [row] = kite.holdings()
    assert (row["quantity"], row["t1_quantity"], row["realised_quantity"]) == (15, 0, 15)
    assert row["average_price"] == pytest.approx((10 * 1400 + 5 * 1500) / 15)


def test_cnc_sale_of_holdings_leaves_them_overnight(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """A day's net CNC sale shows as the holding's used_quantity that day, reduces its quantity
    the next morning (used_quantity back to 0) and its proceeds are cash, less the contract
    note and the DP charge; the holding's average price is unchanged."""
    kite = _open(sim_thread, simctl, MONDAY)
    simctl.holdings(
        [{"exchange": "NSE", "tradingsymbol": "INFY", "quantity": 10, "average_price": 1400}]
    )
    simctl.prices({"NSE:INFY": 1500})
    _place(kite, product="CNC", quantity=4, transaction_type="SELL")
    [row] = kite.holdings()
    assert (row["quantity"], row["used_quantity"], row["opening_quantity"]) == (10, 4, 10)
    charged = day_charges(kite)
    kite = _open(sim_thread, simctl, TUESDAY)
    [row] = kite.holdings()
    assert (row["quantity"], row["t1_quantity"], row["opening_quantity"]) == (6, 0, 6)
    assert row["used_quantity"] == 0
    assert row["average_price"] == 1400
    assert kite.positions() == {"net": [], "day": []}
    cash = _money(kite.margins()["equity"]["available"]["cash"])
    assert cash == OPENING_CASH + 4 * 1500 - charged - DP


def test_a_sale_of_holdings_blocks_no_margin_and_its_price_moves_are_no_loss(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """Kite's positions show the day's CNC sale of held stock as a short, but the stock was
    owned: the funds block no margin for it and take no loss when the price rises after; its
    value is ``holding_sales`` until the rollover makes it cash."""
    kite = _open(sim_thread, simctl, MONDAY)
    simctl.holdings(
        [{"exchange": "NSE", "tradingsymbol": "INFY", "quantity": 10, "average_price": 1400}]
    )
    simctl.prices({"NSE:INFY": 1500})
    _place(kite, product="CNC", quantity=4, transaction_type="SELL")
    simctl.prices({"NSE:INFY": 1600})
    [line] = kite.positions()["net"]
    assert (line["product"], line["quantity"], line["unrealised"]) == ("CNC", -4, -400)
    equity = kite.margins()["equity"]
    assert (equity["net"], equity["utilised"]["debits"]) == (OPENING_CASH, 0)
    assert equity["utilised"]["holding_sales"] == 4 * 1500
    charged = day_charges(kite)
    kite = _open(sim_thread, simctl, TUESDAY)
    equity = kite.margins()["equity"]
    assert _money(equity["net"]) == OPENING_CASH + 4 * 1500 - charged - DP
    assert equity["utilised"]["holding_sales"] == 0


def test_expired_future_is_settled_and_gone_the_next_day(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """A future expiring on Thursday is settled at its last price at Friday's rollover: its
    position is gone, the P&L is cash, it is no longer in the NFO dump, orders on it are
    refused as Kite refuses an expired instrument, and a GTT on it has expired (the cash less
    Thursday's charges)."""
    kite = _open(sim_thread, simctl, THURSDAY)
    key = f"NFO:{TEST_FUTURE}"
    assert TEST_FUTURE in {i["tradingsymbol"] for i in kite.instruments("NFO")}
    simctl.prices({key: 1000})
    _place(kite, exchange="NFO", tradingsymbol=TEST_FUTURE, quantity=50, product="NRML")
    gtt = kite.place_gtt(
        "single",
        TEST_FUTURE,
        "NFO",
        [900],
        1000,
        [
            {
                "transaction_type": "SELL",
                "quantity": 50,
                "order_type": "LIMIT",
                "product": "NRML",
                "price": 899,
            }
        ],
    )["trigger_id"]
    simctl.prices({key: 1010})
    charged = day_charges(kite)
    kite = _open(sim_thread, simctl, FRIDAY)
    assert TEST_FUTURE not in {i["tradingsymbol"] for i in kite.instruments("NFO")}
    assert TEST_FUTURE not in {i["tradingsymbol"] for i in kite.instruments()}
    assert kite.positions() == {"net": [], "day": []}
    margins = kite.margins()["equity"]
    assert _money(margins["available"]["cash"]) == OPENING_CASH + 50 * 10 - charged
    assert _money(margins["net"]) == OPENING_CASH + 50 * 10 - charged
    assert kite.quote([key]) == {}
    assert kite.get_gtt(gtt)["status"] == "expired"
    with pytest.raises(kex.InputException) as refused:
        _place(kite, exchange="NFO", tradingsymbol=TEST_FUTURE, quantity=50, product="NRML")
    assert str(refused.value) == (
        "The instrument you are placing an order for has either expired or does not exist."
    )


def test_old_token_is_refused_after_six_and_a_fresh_login_works(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """A session of the day before answers TokenException from 06:00; logging in again works."""
    kite = _open(sim_thread, simctl, MONDAY, "18:00:00")
    assert kite.profile()["user_id"] == "AB1234"
    _at(simctl, TUESDAY, "05:59:00")
    assert kite.profile()["user_id"] == "AB1234"
    _at(simctl, TUESDAY, "06:00:00")
    with pytest.raises(kex.TokenException) as refused:
        kite.profile()
    assert refused.value.code == 403
    assert login(sim_thread).profile()["user_id"] == "AB1234"


def test_weekend_and_holiday_are_skipped(sim_config: SimConfig, tmp_path: Path) -> None:
    """With Monday a holiday from a holiday file, Friday's milestones are followed by Tuesday's
    06:00 rollover alone; Saturday and the holiday are closed and still belong to Friday."""
    holidays = tmp_path / "holidays.txt"
    holidays.write_text("# test week\n2026-01-12\n")
    sim_config.holidays = load_holidays(holidays)
    with SimServer.run_in_thread(sim_config) as sim:
        simctl = SimControl(sim.rest_root)
        kite = _open(sim, simctl, FRIDAY, "10:00:00")
        simctl.prices({"NSE:INFY": 1500})
        assert simctl.state()["market_open"] is True
        saturday = _at(simctl, "2026-01-10", "11:00:00")
        assert saturday["trading_day"] == FRIDAY
        assert simctl.state()["market_open"] is False
        holiday = _at(simctl, "2026-01-12", "10:00:00")
        state = simctl.state()
        assert (state["market_open"], state["trading_day"]) == (False, FRIDAY)
        kite = login(sim)
        with pytest.raises(kex.InputException) as closed:
            _place(kite, product="CNC")
        tuesday = _at(simctl, "2026-01-13", "07:00:00")
    milestones = saturday["milestones"] + holiday["milestones"] + tuesday["milestones"]
    assert len(milestones) == 9
    assert {m["day"] for m in milestones[:8]} == {FRIDAY}
    assert milestones[8] == {
        "at": "2026-01-13 06:00:00",
        "kind": "rollover",
        "segment": None,
        "day": "2026-01-13",
    }
    assert tuesday["trading_day"] == "2026-01-13"
    assert "closed" in str(closed.value)


def test_reset_starts_the_days_again_from_real_time(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """/_sim/reset relists expired contracts, restores cash and restarts the day machine at
    real time, so nothing fires retroactively."""
    kite = _open(sim_thread, simctl, MONDAY)
    simctl.prices({"NSE:INFY": 1500})
    _place(kite)
    simctl.prices({"NSE:INFY": 1490})
    _at(simctl, FRIDAY, "09:30:00")  # the test future expired on Thursday
    simctl.reset()
    reply = simctl.advance(0)
    assert reply["milestones"] == []
    assert reply["trading_day"] == simctl.state()["trading_day"]
    kite = login(sim_thread)
    assert TEST_FUTURE in {i["tradingsymbol"] for i in kite.instruments("NFO")}
    assert kite.margins()["equity"]["available"]["cash"] == OPENING_CASH


@pytest.fixture
async def postbacks() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A postback receiver on 127.0.0.1:0: its URL and the bodies it has received."""
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", received
    finally:
        await runner.cleanup()


async def test_mass_cancel_pushes_an_order_update_and_a_postback(
    sim_config: SimConfig, postbacks: tuple[str, list[dict[str, Any]]]
) -> None:
    """The mass-cancelled order reaches the ticker as an order message and the app's postback
    URL as CANCELLED with "exchange mass cancel", like any other cancellation."""
    url, received = postbacks
    sim_config.postback_url = url
    async with SimServer(sim_config) as sim, aiohttp.ClientSession() as http:

        async def control(body: dict[str, Any]) -> dict[str, Any]:
            async with http.post(sim.rest_root + "/_sim/clock", json=body) as reply:
                data: dict[str, Any] = (await reply.json())["data"]
            return data

        await control({"set": f"{MONDAY} 10:00:00"})
        sim.market.set_prices({"NSE:INFY": 1500})
        token = sim.issue_access_token()
        headers = {"Authorization": f"token {sim.config.api_key}:{token}"}
        form = {
            "exchange": "NSE",
            "tradingsymbol": "INFY",
            "transaction_type": "BUY",
            "quantity": "2",
            "product": "CNC",
            "order_type": "LIMIT",
            "price": "1400",
        }
        async with http.post(sim.rest_root + "/orders/regular", data=form, headers=headers) as r:
            order_id = (await r.json())["data"]["order_id"]
        ws_url = f"{sim.ws_url}?api_key={sim.config.api_key}&access_token={token}"
        messages: list[dict[str, Any]] = []
        async with http.ws_connect(ws_url) as ws:
            await control({"set": f"{MONDAY} 16:01:00"})

            async def cancelled() -> bool:
                msg = await ws.receive(timeout=5)
                if msg.type is aiohttp.WSMsgType.TEXT:
                    messages.append(json.loads(msg.data))
                return any(m["data"].get("status") == "CANCELLED" for m in messages)

            await eventually(cancelled, what="the CANCELLED order message")
        await eventually(lambda: received, what="the postback")
    update = next(m["data"] for m in messages if m["type"] == "order")
    assert update["order_id"] == order_id
    assert update["status_message"] == "exchange mass cancel"
    assert update["exchange_update_timestamp"] == "2026-01-05 16:00:00"
    [postback] = received
    assert (postback["order_id"], postback["status"]) == (order_id, "CANCELLED")
    assert postback["status_message"] == "exchange mass cancel"


def _week(config: SimConfig) -> list[Any]:
    """One scripted week; returns what the official client saw along the way."""
    seen: list[Any] = []
    with SimServer.run_in_thread(config) as sim:
        simctl = SimControl(sim.rest_root)
        kite = _open(sim, simctl, MONDAY)
        future = _nifty_future(kite)
        key = f"NFO:{future['tradingsymbol']}"
        simctl.prices({"NSE:INFY": 1500, key: 25000, f"NFO:{TEST_FUTURE}": 1000})
        _place(kite)
        _place(kite, product="CNC", quantity=3)
        _place(kite, product="CNC", order_type="LIMIT", price=1400)
        _place(kite, exchange="NFO", tradingsymbol=TEST_FUTURE, quantity=50, product="NRML")
        _place(
            kite,
            exchange="NFO",
            tradingsymbol=future["tradingsymbol"],
            quantity=future["lot_size"],
            product="NRML",
        )
        simctl.prices({"NSE:INFY": 1512, key: 25060, f"NFO:{TEST_FUTURE}": 1004})
        seen.append(_at(simctl, MONDAY, "16:30:00"))
        seen += [kite.orders(), kite.trades(), kite.positions()]
        seen.append(_at(simctl, "2026-01-10", "10:00:00"))  # five rollovers and Saturday
        kite = login(sim)
        seen += [kite.orders(), kite.positions(), kite.holdings(), kite.margins()]
    return seen


def _without_wall_clock(value: Any) -> Any:
    # The clock runs in real time between control calls, so the seconds of the orders the
    # script places depend on how fast it ran; everything else must match.
    if isinstance(value, dict):
        return {k: _without_wall_clock(v) for k, v in value.items() if "timestamp" not in k}
    if isinstance(value, list):
        return [_without_wall_clock(v) for v in value]
    return value


def test_same_seed_same_week(sim_config: SimConfig) -> None:
    """The same seed and the same control calls over a week's jump give identical books,
    trades, positions, holdings and funds, ids included."""
    first = _without_wall_clock(_week(sim_config))
    second = _without_wall_clock(_week(sim_config))
    assert first == second
    orders = first[1]
    assert len({o["order_id"] for o in orders}) == len(orders) == 6
    assert [o["placed_by"] for o in orders].count("ADMINSQF") == 1


def test_a_muhurat_evening_trades_in_its_own_hours(sim_config: SimConfig) -> None:
    """A Sunday session with hours of its own (18:15 to 19:15, as Diwali's Muhurat session):
    the market is shut in the morning and open in the evening, the broker squares MIS off at
    19:05 and refuses fresh MIS after, and the exchange mass-cancels what still works at 19:35;
    the Sunday is a trading day of its own."""
    sim_config.session_hours = {date(2026, 1, 11): SessionHours(time(18, 15), time(19, 15))}
    with SimServer.run_in_thread(sim_config) as sim:
        simctl = SimControl(sim.rest_root)
        kite = _open(sim, simctl, "2026-01-11", "10:00:00")
        state = simctl.state()
        assert (state["market_open"], state["trading_day"]) == (False, "2026-01-11")
        simctl.prices({"NSE:INFY": 1500})
        _at(simctl, "2026-01-11", "18:30:00")
        assert simctl.state()["market_open"] is True
        bought = _place(kite, quantity=2)
        resting = _place(kite, product="CNC", quantity=1, order_type="LIMIT", price=1400)
        assert _row(kite, bought)["status"] == "COMPLETE"
        assert _row(kite, resting)["status"] == "OPEN"

        reply = _at(simctl, "2026-01-11", "19:06:00")
        assert ("square_off", "equity") in _kinds(reply)
        closing = kite.orders()[-1]
        assert (closing["transaction_type"], closing["quantity"]) == ("SELL", 2)
        assert closing["status_message"] == "Auto square-off by the broker at 19:05"
        with pytest.raises(kex.InputException) as refused:
            _place(kite)
        assert "(19:05)" in str(refused.value)

        reply = _at(simctl, "2026-01-11", "19:36:00")
        assert ("mass_cancel", "equity") in _kinds(reply)
        assert _row(kite, resting)["status"] == "CANCELLED"
        assert _row(kite, resting)["status_message"] == "exchange mass cancel"
        assert simctl.state()["market_open"] is False


def test_a_carried_future_is_converted_overnight_and_squared_off_as_mis(
    sim_thread: SimServer, simctl: SimControl
) -> None:
    """``position_type=overnight`` moves the carried quantity, at its carry price, to MIS; a
    day conversion of it is refused (nothing was traded today), and the broker's square-off
    then closes it with the day's MIS."""
    kite = _open(sim_thread, simctl, MONDAY)
    future = _nifty_future(kite)
    symbol, lot = future["tradingsymbol"], future["lot_size"]
    key = f"NFO:{symbol}"
    simctl.prices({key: 25000})
    _place(kite, exchange="NFO", tradingsymbol=symbol, quantity=lot, product="NRML")
    _at(simctl, TUESDAY, "09:20:00")
    kite = login(sim_thread)
    simctl.prices({key: 25100})
    with pytest.raises(kex.InputException, match="insufficient quantity"):
        kite.convert_position("NFO", symbol, "BUY", "day", lot, "NRML", "MIS")
    assert kite.convert_position("NFO", symbol, "BUY", "overnight", lot, "NRML", "MIS") is True
    lines = {p["product"]: p for p in kite.positions()["net"]}
    assert lines["NRML"]["quantity"] == 0
    assert lines["MIS"]["quantity"] == lines["MIS"]["overnight_quantity"] == lot
    assert lines["MIS"]["average_price"] == 25000
    with pytest.raises(kex.InputException, match="insufficient quantity"):
        kite.convert_position("NFO", symbol, "BUY", "overnight", 1, "NRML", "MIS")
    _at(simctl, TUESDAY, "15:30:00")
    lines = {p["product"]: p for p in kite.positions()["net"]}
    assert lines["MIS"]["quantity"] == 0


def test_a_clock_move_waiting_for_its_followers_moves_no_price(sim_config: SimConfig) -> None:
    """While a move across the night waits for a follower, the price ticks do not run either:
    a tick at the new time swept the book before the 06:00 rollover had run, so Monday's AMO
    filled in Monday's books (Tuesday's orders, trades and positions empty, the shares shown as
    Monday's T1 holding), where at the open it is Tuesday's order and position."""
    ticking = dataclasses.replace(sim_config, price_tick_interval=0.01)
    with SimServer.run_in_thread(ticking) as sim:
        simctl = SimControl(sim.rest_root)
        kite = _open(sim, simctl, MONDAY, "17:30:00")
        simctl.prices({"NSE:INFY": 1500})
        amo = _place(kite, variety="amo", product="CNC", order_type="LIMIT", price=1600)
        simctl.http.get(sim.rest_root + "/_sim/clock", params={"follower": "desk"}, timeout=10)
        _at(simctl, TUESDAY, "09:20:00")  # the follower never reads again: the move waits 2 s
        kite = login(sim)
        assert [(o["order_id"], o["status"]) for o in kite.orders()] == [(amo, "COMPLETE")]
        assert [(p["tradingsymbol"], p["quantity"]) for p in kite.positions()["net"]] == [
            ("INFY", 10)
        ]
