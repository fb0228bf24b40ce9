"""Simulator fidelity, through the official client: partial fills in whole lots, stops on the
wrong side of the last price, and history rows stamped with their own time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

from .conftest import SimControl, login

BUY_STOP = "Trigger price for stoploss buy orders should be higher than the last traded price."
SELL_STOP = "Trigger price for stoploss sell orders should be lower than the last traded price."
SLACK = timedelta(seconds=5)
"""The simulated clock runs on real time between calls: a row may be a few seconds late."""
MID_MORNING = "2026-12-08 10:00:00"
"""Where these tests' simulated day starts (IST): some move its clock on by an hour, which from
the wall clock's 05:00 to 06:00 IST would cross the 06:00 token end they are not about."""


@pytest.fixture
def kite(sim_thread: SimServer, simctl: SimControl) -> KiteConnect:
    """The official client, logged in after the simulator's clock is set to ``MID_MORNING``."""
    simctl.set_clock(MID_MORNING)
    return login(sim_thread)


def _row(kite: KiteConnect, order_id: str) -> dict[str, Any]:
    return next(o for o in kite.orders() if o["order_id"] == order_id)


def _future(sim: SimServer) -> Any:
    return next(i for i in sim.master if i.instrument_type == "FUT" and i.lot_size > 1)


def _place(kite: KiteConnect, **params: Any) -> str:
    base: dict[str, Any] = {
        "variety": "regular",
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": 10,
        "product": "CNC",
        "order_type": "LIMIT",
    }
    order_id: str = kite.place_order(**(base | params))
    return order_id


def _near(when: datetime | str | None, expected: datetime) -> bool:
    if isinstance(when, str):  # the client leaves exchange_update_timestamp a string
        when = datetime.strptime(when, "%Y-%m-%d %H:%M:%S")
    return when is not None and expected <= when <= expected + SLACK


# -- partial fills in whole lots ---------------------------------------------------------------


def test_partial_fill_of_a_future_is_whole_lots(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """partial_fill=0.5 on 3 lots fills 1 lot (not 1.5 lots' worth of units), then 1 of the 2
    left, then the last lot whole (half a lot would be below one lot)."""
    future = _future(sim_thread)
    lot = future.lot_size
    key = f"NFO:{future.tradingsymbol}"
    last = round(kite.ltp([key])[key]["last_price"])  # inside the day's circuit limits
    order_id = _place(
        kite,
        exchange="NFO",
        tradingsymbol=future.tradingsymbol,
        quantity=3 * lot,
        product="NRML",
        price=last - 10,
    )
    assert _row(kite, order_id)["status"] == "OPEN"
    simctl.faults(partial_fill=0.5)
    fills = []
    for price in (last - 11, last - 12, last - 13):
        simctl.prices({key: price})
        fills.append(_row(kite, order_id)["filled_quantity"])
    assert fills == [lot, 2 * lot, 3 * lot]
    assert [t["quantity"] for t in kite.order_trades(order_id)] == [lot, lot, lot]
    assert _row(kite, order_id)["status"] == "COMPLETE"


def test_partial_fill_of_one_lot_fills_the_lot(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """A one-lot order under partial_fill=0.5 fills its whole lot at once, never half a lot."""
    future = _future(sim_thread)
    simctl.faults(partial_fill=0.5)
    order_id = _place(
        kite,
        exchange="NFO",
        tradingsymbol=future.tradingsymbol,
        quantity=future.lot_size,
        product="NRML",
        order_type="MARKET",
        market_protection=-1,
    )
    row = _row(kite, order_id)
    assert (row["status"], row["filled_quantity"]) == ("COMPLETE", future.lot_size)
    positions = {p["tradingsymbol"]: p for p in kite.positions()["net"]}
    assert positions[future.tradingsymbol]["quantity"] % future.lot_size == 0


# -- stops on the wrong side of the last price -------------------------------------------------


@pytest.mark.parametrize(
    ("side", "order_type", "trigger", "message"),
    [
        ("BUY", "SL-M", 1480, BUY_STOP),
        ("BUY", "SL", 1500, BUY_STOP),  # equal to the last price: not "higher"
        ("SELL", "SL-M", 1520, SELL_STOP),
        ("SELL", "SL", 1500, SELL_STOP),  # equal: not "lower"
    ],
)
def test_a_stop_on_the_wrong_side_is_rejected_at_placement(
    kite: KiteConnect,
    simctl: SimControl,
    side: str,
    order_type: str,
    trigger: float,
    message: str,
) -> None:
    """The RMS rejects the stop (an order id, a REJECTED row saying why); nothing fills."""
    simctl.prices({"NSE:INFY": 1500})
    extra: dict[str, Any] = (
        {"market_protection": -1} if order_type == "SL-M" else {"price": trigger}
    )
    order_id = _place(
        kite,
        transaction_type=side,
        product="MIS",
        order_type=order_type,
        trigger_price=trigger,
        **extra,
    )
    row = _row(kite, order_id)
    assert (row["status"], row["status_message"], row["filled_quantity"]) == (
        "REJECTED",
        message,
        0,
    )
    assert [r["status"] for r in kite.order_history(order_id)][-2:] == [
        "VALIDATION PENDING",
        "REJECTED",
    ]
    assert kite.order_trades(order_id) == []


@pytest.mark.parametrize(("side", "trigger"), [("BUY", 1510), ("SELL", 1490)])
def test_a_stop_beyond_the_last_price_waits(
    kite: KiteConnect, simctl: SimControl, side: str, trigger: float
) -> None:
    """A buy stop above the last price, a sell stop below it, rest in TRIGGER PENDING."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _place(
        kite,
        transaction_type=side,
        product="MIS",
        order_type="SL-M",
        trigger_price=trigger,
        market_protection=-1,
    )
    assert _row(kite, order_id)["status"] == "TRIGGER PENDING"


@pytest.mark.parametrize(
    ("side", "placed", "moved", "message"),
    [
        ("BUY", 1510, 1490, BUY_STOP),
        ("BUY", 1510, 1500, BUY_STOP),
        ("SELL", 1490, 1505, SELL_STOP),
    ],
)
def test_a_modify_moving_a_waiting_stop_past_the_price_is_refused(
    kite: KiteConnect,
    simctl: SimControl,
    side: str,
    placed: float,
    moved: float,
    message: str,
) -> None:
    """The modify is an InputException; the stop keeps its trigger and keeps waiting."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _place(
        kite,
        transaction_type=side,
        product="MIS",
        order_type="SL",
        price=placed,
        trigger_price=placed,
    )
    with pytest.raises(kex.InputException) as exc_info:
        kite.modify_order("regular", order_id, trigger_price=moved, price=moved)
    assert str(exc_info.value) == message
    row = _row(kite, order_id)
    assert (row["status"], row["trigger_price"], row["filled_quantity"]) == (
        "TRIGGER PENDING",
        placed,
        0,
    )
    assert kite.order_trades(order_id) == []


def test_a_limit_modified_into_a_stop_past_the_price_is_refused(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """Turning a resting LIMIT buy into an SL-M whose trigger is below the price is refused."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _place(kite, product="MIS", price=1450)
    with pytest.raises(kex.InputException) as exc_info:
        kite.modify_order(
            "regular", order_id, order_type="SL-M", trigger_price=1480, market_protection=-1
        )
    assert str(exc_info.value) == BUY_STOP
    assert (_row(kite, order_id)["status"], _row(kite, order_id)["order_type"]) == (
        "OPEN",
        "LIMIT",
    )


def test_a_modify_keeping_a_stop_beyond_the_price_is_taken(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """A stop moved further away stays TRIGGER PENDING with its new trigger."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _place(
        kite, product="MIS", order_type="SL-M", trigger_price=1510, market_protection=-1
    )
    kite.modify_order("regular", order_id, trigger_price=1520)
    row = _row(kite, order_id)
    assert (row["status"], row["trigger_price"]) == ("TRIGGER PENDING", 1520)


def test_an_autoslice_stop_on_the_wrong_side_is_an_error_per_slice(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """Each slice of a wrong-side stop is an InputException entry naming the rule, not an
    order (and not a margin error)."""
    future = _future(sim_thread)
    assert future.freeze_quantity is not None
    key = f"NFO:{future.tradingsymbol}"
    last = round(kite.ltp([key])[key]["last_price"])
    whole = future.freeze_quantity // future.lot_size * future.lot_size
    data = kite.place_autoslice_order(
        variety="regular",
        exchange="NFO",
        tradingsymbol=future.tradingsymbol,
        transaction_type="BUY",
        quantity=whole + future.lot_size,
        product="NRML",
        order_type="SL-M",
        trigger_price=last - 5,
        market_protection=-1,
    )
    errors = [child["error"] for child in data["children"]]
    assert [(e["error_type"], e["message"]) for e in errors] == [("InputException", BUY_STOP)] * 2
    assert kite.orders() == []


# -- history rows carry their own time ---------------------------------------------------------


def test_an_amo_released_at_the_open_carries_the_open_time(sim_config: SimConfig) -> None:
    """The rows of an AMO's release (and its fill) read 09:15 of the next session, the rows of
    its placement the evening before."""
    sim_config.market_hours = "nse"
    placed_at = datetime(2026, 1, 5, 20, 0, 0)  # a Monday evening
    opens_at = datetime(2026, 1, 6, 9, 15, 0)
    with SimServer.run_in_thread(sim_config) as sim:
        ctl = SimControl(sim.rest_root)
        ctl.set_clock(f"{placed_at:%Y-%m-%d %H:%M:%S}")
        kite = login(sim)
        ctl.prices({"NSE:INFY": 1500})
        amo = _place(kite, variety="amo", price=1500)
        ctl.set_clock(f"{opens_at:%Y-%m-%d %H:%M:%S}")
        kite = login(sim)  # the evening's token lapsed at 06:00
        history = kite.order_history(amo)
    held = [r for r in history if r["status"] == "AMO REQ RECEIVED"]
    assert held
    assert all(_near(r["order_timestamp"], placed_at) for r in held)
    released = history[len(held) + 1 :]  # after the held rows and the placement's validation
    assert [r["status"] for r in released] == [
        "VALIDATION PENDING",
        "OPEN PENDING",
        "OPEN",
        "COMPLETE",
    ]
    assert all(_near(r["order_timestamp"], opens_at) for r in released), [
        (r["status"], r["order_timestamp"]) for r in released
    ]
    assert all(_near(r["exchange_timestamp"], opens_at) for r in released[2:])


def test_modify_rows_carry_the_time_of_the_modify(kite: KiteConnect, simctl: SimControl) -> None:
    """Every row of a modify has the modify's order_timestamp; the exchange's time moves at
    MODIFIED (Kite's order_info.json)."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _place(kite, price=1400)
    placed = kite.order_history(order_id)[0]["order_timestamp"]
    simctl.advance(3600)
    kite.modify_order("regular", order_id, price=1410)
    history = kite.order_history(order_id)
    rows = {r["status"]: r for r in history}
    modified = placed + timedelta(hours=1)
    assert _near(rows["OPEN PENDING"]["order_timestamp"], placed)
    for status in ("MODIFY VALIDATION PENDING", "MODIFY PENDING", "MODIFIED"):
        assert _near(rows[status]["order_timestamp"], modified), status
    assert _near(rows["MODIFY VALIDATION PENDING"]["exchange_timestamp"], placed)
    assert _near(rows["MODIFIED"]["exchange_timestamp"], modified)
    last = history[-1]
    assert last["status"] == "OPEN"
    assert _near(last["order_timestamp"], modified)
    assert _near(last["exchange_timestamp"], modified)


def test_trigger_and_fill_rows_carry_their_own_time(kite: KiteConnect, simctl: SimControl) -> None:
    """A stop triggered half an hour after placement shows that time on its trigger and fill
    rows; its TRIGGER PENDING row keeps the placement's."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _place(
        kite, product="MIS", order_type="SL-M", trigger_price=1510, market_protection=-1
    )
    placed = kite.order_history(order_id)[0]["order_timestamp"]
    simctl.advance(1800)
    simctl.prices({"NSE:INFY": 1511})
    history = kite.order_history(order_id)
    assert [r["status"] for r in history][-3:] == ["TRIGGER PENDING", "OPEN", "COMPLETE"]
    waiting, triggered, filled = history[-3:]
    fired = placed + timedelta(minutes=30)
    assert _near(waiting["order_timestamp"], placed)
    assert _near(waiting["exchange_timestamp"], placed)
    for row in (triggered, filled):
        assert _near(row["order_timestamp"], fired), row["status"]
        assert _near(row["exchange_timestamp"], fired), row["status"]


def test_a_later_fill_row_carries_the_fill_time(kite: KiteConnect, simctl: SimControl) -> None:
    """A LIMIT filled an hour after placement: the COMPLETE row's exchange times are the
    fill's, its order_timestamp stays the OMS's (as in Kite's sample book)."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _place(kite, price=1400)
    placed = kite.order_history(order_id)[0]["order_timestamp"]
    simctl.advance(3600)
    simctl.prices({"NSE:INFY": 1399})
    last = kite.order_history(order_id)[-1]
    filled = placed + timedelta(hours=1)
    assert last["status"] == "COMPLETE"
    assert _near(last["exchange_timestamp"], filled)
    assert _near(last["exchange_update_timestamp"], filled)
    assert _near(last["order_timestamp"], placed)
