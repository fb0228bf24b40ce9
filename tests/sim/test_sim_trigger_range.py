"""The cover orders' trigger range through the official client: ``trigger_range()`` answers in
the sample's shape, and CO placement is held to the very range it shows (KITE_API.md §7)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from .conftest import SimControl


def _cover(kite: KiteConnect, side: str, price: float, trigger: float) -> str:
    """A resting LIMIT cover order on INFY (no market protection needed) with its stop."""
    return str(
        kite.place_order(
            variety="co",
            exchange="NSE",
            tradingsymbol="INFY",
            transaction_type=side,
            quantity=1,
            product="MIS",
            order_type="LIMIT",
            price=price,
            trigger_price=trigger,
        )
    )


def test_trigger_range_has_the_samples_shape_around_the_last_price(
    kite: KiteConnect, simctl: SimControl, kite_mocks: Path
) -> None:
    """A buy range runs from 10 % under the last price up to it, a sell range from it to 10 %
    over; keys as in Kite's sample, unknown instruments and indices left out."""
    simctl.prices({"NSE:INFY": 1500, "NSE:SBIN": 820.5})
    sample: dict[str, Any] = json.loads((kite_mocks / "trigger_range.json").read_text())["data"]

    buy = kite.trigger_range("buy", "NSE:INFY", "NSE:SBIN", "NSE:NOSUCH", "NSE:NIFTY 50")
    sell = kite.trigger_range("SELL", ["NSE:INFY"])  # the client's legacy list form

    assert set(buy) == {"NSE:INFY", "NSE:SBIN"}
    assert set(buy["NSE:INFY"]) == set(sample["NSE:INFY"])
    assert buy["NSE:INFY"] == {"instrument_token": 0, "lower": 1350.0, "upper": 1500.0}
    assert (buy["NSE:SBIN"]["lower"], buy["NSE:SBIN"]["upper"]) == (738.45, 820.5)
    assert sell == {"NSE:INFY": {"instrument_token": 0, "lower": 1500.0, "upper": 1650.0}}


def test_an_unknown_transaction_type_is_an_input_exception(kite: KiteConnect) -> None:
    """Only buy and sell have a trigger range."""
    with pytest.raises(kex.InputException) as exc_info:
        kite.trigger_range("short", "NSE:INFY")
    assert exc_info.value.code == 400
    assert "transaction_type" in str(exc_info.value)


@pytest.mark.parametrize(
    ("side", "price", "trigger"),
    [
        pytest.param("BUY", 1490, 1349.95, id="buy-stop-too-far-below"),
        pytest.param("BUY", 1490, 1500.05, id="buy-stop-above-the-market"),
        pytest.param("SELL", 1510, 1499.95, id="sell-stop-below-the-market"),
        pytest.param("SELL", 1510, 1650.05, id="sell-stop-too-far-above"),
    ],
)
def test_a_cover_order_with_its_stop_outside_the_range_is_refused(
    kite: KiteConnect, simctl: SimControl, side: str, price: float, trigger: float
) -> None:
    """A CO whose stop-loss trigger lies outside the route's range for its side is an
    InputException naming the range, and nothing is booked."""
    simctl.prices({"NSE:INFY": 1500})
    with pytest.raises(kex.InputException) as exc_info:
        _cover(kite, side, price, trigger)
    assert exc_info.value.code == 400
    allowed = kite.trigger_range(side.lower(), "NSE:INFY")["NSE:INFY"]
    assert f"between {allowed['lower']:g} and {allowed['upper']:g}" in str(exc_info.value)
    assert kite.orders() == []


def test_a_cover_order_at_the_edges_of_the_range_is_placed(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """Stops exactly at the range's far bounds, as the route shows them, are accepted."""
    simctl.prices({"NSE:INFY": 1500})
    buy = kite.trigger_range("buy", "NSE:INFY")["NSE:INFY"]
    sell = kite.trigger_range("sell", "NSE:INFY")["NSE:INFY"]

    placed = [_cover(kite, "BUY", 1490, buy["lower"]), _cover(kite, "SELL", 1510, sell["upper"])]

    rows = {o["order_id"]: o for o in kite.orders()}
    assert [rows[order_id]["status"] for order_id in placed] == ["OPEN", "OPEN"]


@pytest.mark.parametrize(
    ("side", "trigger"),
    [
        pytest.param("BUY", 1349.95, id="buy-cover-sell-stop-too-far-below"),
        pytest.param("BUY", 1500.05, id="buy-cover-sell-stop-above-the-market"),
        pytest.param("SELL", 1499.95, id="sell-cover-buy-stop-below-the-market"),
        pytest.param("SELL", 1650.05, id="sell-cover-buy-stop-too-far-above"),
    ],
)
def test_a_stop_leg_modified_outside_the_range_is_refused(
    kite: KiteConnect, simctl: SimControl, side: str, trigger: float
) -> None:
    """A new trigger for a cover order's stop leg outside the range the route shows for the
    cover order's side is an InputException naming the range, as at placement; the leg keeps
    its stop, still pending, and a trigger at the range's far bound is taken."""
    simctl.prices({"NSE:INFY": 1500})
    first = _cover(kite, side, 1500, 1480 if side == "BUY" else 1520)  # fills at once
    [leg] = [o for o in kite.orders() if o["parent_order_id"] == first]
    allowed = kite.trigger_range(side.lower(), "NSE:INFY")["NSE:INFY"]

    with pytest.raises(kex.InputException) as exc_info:
        kite.modify_order("co", leg["order_id"], trigger_price=trigger)

    assert exc_info.value.code == 400
    assert f"between {allowed['lower']:g} and {allowed['upper']:g}" in str(exc_info.value)
    [row] = [o for o in kite.orders() if o["order_id"] == leg["order_id"]]
    assert (row["status"], row["trigger_price"], row["modified"]) == (
        "TRIGGER PENDING",
        leg["trigger_price"],
        False,
    )
    edge = allowed["lower"] if side == "BUY" else allowed["upper"]
    kite.modify_order("co", leg["order_id"], trigger_price=edge)
    [row] = [o for o in kite.orders() if o["order_id"] == leg["order_id"]]
    assert (row["status"], row["trigger_price"]) == ("TRIGGER PENDING", edge)
