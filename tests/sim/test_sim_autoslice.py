"""Kite's autoslice and market protection as the simulator answers them, refereed by the
official client (KITE_API.md §4.3, §14.2; kite-mocks/autoslice_response.json)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.sim.app import SimServer
from orderdesk.sim.instruments import Instrument

from .conftest import SimControl


def _future(sim: SimServer) -> Instrument:
    """A future whose freeze limit is several lots (NIFTY: freeze 1,800, lot 65)."""
    return next(
        i for i in sim.master if i.instrument_type == "FUT" and i.freeze_quantity and i.lot_size > 1
    )


def _whole_lots(future: Instrument) -> int:
    """The largest slice of whole lots within the freeze limit (1,755 for NIFTY's 1,800)."""
    assert future.freeze_quantity is not None
    return future.freeze_quantity // future.lot_size * future.lot_size


def _params(future: Instrument, quantity: int, **extra: Any) -> dict[str, Any]:
    return {
        "variety": "regular",
        "exchange": "NFO",
        "tradingsymbol": future.tradingsymbol,
        "transaction_type": "BUY",
        "quantity": quantity,
        "product": "NRML",
        "order_type": "MARKET",
        "market_protection": -1,
        **extra,
    }


def test_children_are_whole_lots_tagged_with_the_parent_and_the_callers_tag(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """Each slice is at most the freeze limit in whole lots, tagged autoslice:<parent>; the
    parent id is no order of the book."""
    future = _future(sim_thread)
    whole = _whole_lots(future)
    lot = future.lot_size
    simctl.prices({f"NFO:{future.tradingsymbol}": 100})
    data = kite.place_autoslice_order(**_params(future, 2 * whole + lot, tag="desk1"))
    ids = [child["order_id"] for child in data["children"]]
    rows = {row["order_id"]: row for row in kite.orders()}
    assert data["order_id"] not in rows
    assert [rows[i]["quantity"] for i in ids] == [whole, whole, lot]
    assert all(rows[i]["quantity"] % lot == 0 for i in ids)
    assert {tuple(rows[i]["tags"]) for i in ids} == {
        ("desk1", "autoslice", f"autoslice:{data['order_id']}")
    }
    assert {rows[i]["tag"] for i in ids} == {"desk1"}


def test_a_quantity_that_needs_no_slicing_is_refused(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """Kite errors when the quantity is within the freeze limit; nothing is placed."""
    future = _future(sim_thread)
    simctl.prices({f"NFO:{future.tradingsymbol}": 100})
    with pytest.raises(kex.InputException) as exc_info:
        kite.place_autoslice_order(**_params(future, future.lot_size))
    assert "freeze limit" in str(exc_info.value)
    assert kite.orders() == []


def test_a_slice_the_funds_cannot_carry_is_an_error_entry_and_no_order(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """With cash for about two slices, the reply lists the later slices as MarginException
    errors (Kite's sample shape) and the book holds only the placed ones."""
    future = _future(sim_thread)
    simctl.prices({f"NFO:{future.tradingsymbol}": 2000})
    data = kite.place_autoslice_order(**_params(future, 4 * _whole_lots(future)))
    children = data["children"]
    assert len(children) == 4
    placed = [c["order_id"] for c in children if "order_id" in c]
    errors = [c["error"] for c in children if "error" in c]
    assert placed, "at least one slice fits the opening cash"
    assert errors, "the opening cash cannot carry four slices"
    assert {e["error_type"] for e in errors} == {"MarginException"}
    assert all(e["code"] == 400 and e["data"] is None for e in errors)
    assert all(e["message"].startswith("Insufficient funds. Required margin is") for e in errors)
    assert sorted(row["order_id"] for row in kite.orders()) == sorted(placed)


def test_a_protected_market_order_rests_when_the_market_runs_away(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """A MARKET sell with 2% protection, half filled, rests while the price is below its bound
    (1,470 at a last price of 1,500), and a modify to a LIMIT within reach fills it."""
    simctl.prices({"NSE:INFY": 1500})
    kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=10,
        product="MIS",
        order_type="MARKET",
        market_protection=-1,
    )
    simctl.faults(partial_fill=0.5)
    order_id = kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="SELL",
        quantity=10,
        product="MIS",
        order_type="MARKET",
        market_protection=2,
    )
    simctl.prices({"NSE:INFY": 1450})
    simctl.prices({"NSE:INFY": 1440})
    row = next(o for o in kite.orders() if o["order_id"] == order_id)
    assert (row["status"], row["filled_quantity"]) == ("OPEN", 5)
    simctl.faults(partial_fill=0)
    kite.modify_order(variety="regular", order_id=order_id, order_type="LIMIT", price=1420)
    row = next(o for o in kite.orders() if o["order_id"] == order_id)
    assert (row["status"], row["filled_quantity"]) == ("COMPLETE", 10)
    trades = kite.order_trades(order_id)
    assert [Decimal(str(t["average_price"])) for t in trades] == [Decimal(1500), Decimal(1440)]
