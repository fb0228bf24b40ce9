"""Orders Kite refuses, refused the same way by the simulator, refereed by the official client:
MARKET orders without market protection, delivery short sales, made-up products, changes a
cover order's stop leg does not take, a new stop on a cover order's first leg, prices outside
the circuit limits, a disclosed quantity outside equity, an iceberg leg of part of a lot and a
contract note of an order without a price (KITE_API.md §2, §4, §5, §6); and what it does not
play, said so (mutual funds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.sim.app import SimServer

from .conftest import SimControl

INFY = "NSE:INFY"
HELD = {"exchange": "NSE", "tradingsymbol": "INFY", "quantity": 10, "average_price": 1400}


def _order(**params: Any) -> dict[str, Any]:
    """A CNC buy of one INFY at 1,400 (LIMIT), with ``params`` over it."""
    return {
        "variety": "regular",
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": 1,
        "product": "CNC",
        "order_type": "LIMIT",
        "price": 1400,
    } | params


def _place(kite: KiteConnect, **params: Any) -> str:
    order_id: str = kite.place_order(**_order(**params))
    return order_id


def _row(kite: KiteConnect, order_id: str) -> dict[str, Any]:
    return next(o for o in kite.orders() if o["order_id"] == order_id)


def _market(**params: Any) -> dict[str, Any]:
    """A MARKET order with automatic market protection (what a careful 2026 caller sends)."""
    return {"order_type": "MARKET", "price": None, "market_protection": -1} | params


# -- market protection ---------------------------------------------------------------------------


def test_a_market_order_without_market_protection_is_refused(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """A MARKET or SL-M order that leaves market_protection out is an InputException naming the
    field and its accepted values, and nothing is placed (an SL-M stop passed, which Kite's
    2026 rules refuse: a stop loss refused live); with it, the stop rests."""
    simctl.prices({INFY: 1500})
    for order_type, trigger in (("MARKET", None), ("SL-M", 1510)):
        with pytest.raises(kex.InputException) as exc_info:
            _place(kite, order_type=order_type, price=None, trigger_price=trigger)
        assert exc_info.value.code == 400
        message = str(exc_info.value)
        assert "market_protection" in message
        assert "-1" in message
        assert "1 to 100" in message
    assert kite.orders() == []
    stop = _place(kite, order_type="SL-M", price=None, trigger_price=1510, market_protection=-1)
    assert _row(kite, stop)["status"] == "TRIGGER PENDING"


def test_a_modify_into_market_needs_market_protection(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """Turning a resting LIMIT order into MARKET without market_protection is refused and the
    order keeps its terms; with it, the order becomes MARKET and fills."""
    simctl.prices({INFY: 1500})
    order_id = _place(kite)
    with pytest.raises(kex.InputException) as exc_info:
        kite.modify_order("regular", order_id, order_type="MARKET")
    assert exc_info.value.code == 400
    assert "market_protection" in str(exc_info.value)
    row = _row(kite, order_id)
    assert (row["order_type"], row["status"], row["modified"]) == ("LIMIT", "OPEN", False)
    kite.modify_order("regular", order_id, order_type="MARKET", market_protection=-1)
    row = _row(kite, order_id)
    assert (row["order_type"], row["status"], row["average_price"]) == ("MARKET", "COMPLETE", 1500)


def test_an_ato_alerts_market_order_is_placed_without_market_protection(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """An ATO alert's basket order is placed by Kite itself when the alert fires, not through
    the API's place call, so a MARKET item without market protection is still placed."""
    simctl.prices({INFY: 1500})
    params = {
        "transaction_type": "BUY",
        "product": "CNC",
        "order_type": "MARKET",
        "quantity": 2,
        "variety": "regular",
    }
    item = {"tradingsymbol": "INFY", "exchange": "NSE", "weight": 0, "params": params}
    alert = {
        "name": "buy the dip",
        "type": "ato",
        "lhs_exchange": "NSE",
        "lhs_tradingsymbol": "INFY",
        "lhs_attribute": "LastTradedPrice",
        "operator": "<=",
        "rhs_type": "constant",
        "rhs_constant": "1400",
        "basket": json.dumps({"name": "dip", "type": "", "tags": [], "items": [item]}),
    }
    kite._routes = {**kite._routes, "alerts": "/alerts"}
    kite._post("alerts", params=alert)
    simctl.prices({INFY: 1390})
    [order] = kite.orders()
    assert (order["order_type"], order["status"], order["quantity"]) == ("MARKET", "COMPLETE", 2)


# -- delivery sales ----------------------------------------------------------------------------


def test_a_cnc_sale_without_holdings_is_a_holding_exception(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """Selling CNC stock the account does not hold (delivery short selling) is refused with
    Kite's HoldingException, HTTP 400, and nothing is placed; an MIS short is allowed."""
    simctl.prices({INFY: 1500})
    with pytest.raises(kex.KiteException) as exc_info:
        _place(kite, transaction_type="SELL", **_market())
    assert exc_info.value.code == 400
    assert type(exc_info.value) is kex.GeneralException  # the client has no HoldingException
    assert "Insufficient holdings to sell" in str(exc_info.value)
    assert kite.orders() == []
    short = _place(kite, transaction_type="SELL", product="MIS", **_market())
    assert _row(kite, short)["status"] == "COMPLETE"


def test_a_cnc_sale_is_bounded_by_holdings_the_days_buys_and_open_sales(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """A CNC sale may sell the holding and the day's CNC buys, less what was sold today and
    what open CNC sell orders hold, on placement and on a modify that raises the quantity."""
    simctl.prices({INFY: 1500})
    simctl.holdings([HELD])
    _place(kite, quantity=5, **_market())
    _place(kite, transaction_type="SELL", quantity=12, **_market())
    resting = _place(kite, transaction_type="SELL", quantity=2, price=1600)
    assert _row(kite, resting)["status"] == "OPEN"
    # 10 held + 5 bought − 12 sold − 2 held by the open sale: 1 left to sell.
    with pytest.raises(kex.GeneralException) as beyond:
        _place(kite, transaction_type="SELL", quantity=2, **_market())
    assert beyond.value.code == 400
    assert "1 can be sold" in str(beyond.value)
    with pytest.raises(kex.GeneralException) as raised:
        kite.modify_order("regular", resting, quantity=4)
    assert raised.value.code == 400
    assert _row(kite, resting)["quantity"] == 2
    kite.cancel_order("regular", resting)
    sold = _place(kite, transaction_type="SELL", quantity=3, **_market())
    assert _row(kite, sold)["status"] == "COMPLETE"


def test_holdings_show_the_days_sales_as_used_quantity(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """A CNC sale out of holdings shows in the holding's used_quantity (the quantity stays
    until the day ends); a sale covered by the day's own CNC buys uses none of it."""
    simctl.prices({INFY: 1500})
    simctl.holdings([HELD])
    [row] = kite.holdings()
    assert (row["quantity"], row["used_quantity"]) == (10, 0)
    _place(kite, transaction_type="SELL", quantity=4, **_market())
    [row] = kite.holdings()
    assert (row["quantity"], row["used_quantity"], row["opening_quantity"]) == (10, 4, 10)
    _place(kite, quantity=3, **_market())
    _place(kite, transaction_type="SELL", quantity=3, **_market())
    [row] = kite.holdings()
    assert row["used_quantity"] == 4


def test_a_sale_of_held_stock_needs_no_margin_on_a_negative_balance(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """With a loss leaving the account's balance below zero, a CNC sale of held stock (it needs
    no margin) still completes, while an order that needs margin is still refused."""
    simctl.prices({INFY: 1500, "NSE:SBIN": 900})
    simctl.holdings([HELD])
    _place(kite, tradingsymbol="SBIN", quantity=1000, **_market())
    simctl.prices({"NSE:SBIN": 500})
    assert kite.margins("equity")["net"] == -300_000  # 1,000,000 − 900,000 bought − 400,000 lost
    sold = _place(kite, transaction_type="SELL", quantity=10, **_market())
    assert (_row(kite, sold)["status"], _row(kite, sold)["status_message"]) == ("COMPLETE", None)
    bought = _place(kite, tradingsymbol="SBIN", **_market())
    assert _row(kite, bought)["status"] == "REJECTED"
    assert str(_row(kite, bought)["status_message"]).startswith("Insufficient funds.")


def test_a_carry_product_on_stock_is_refused(kite: KiteConnect, simctl: SimControl) -> None:
    """NRML is the carry of derivatives, currency and commodities: on NSE stock Kite refuses it
    (the simulator took it and the order rested OPEN); MIS and CNC still go."""
    simctl.prices({INFY: 1500})
    with pytest.raises(kex.InputException) as exc_info:
        _place(kite, product="NRML")
    assert exc_info.value.code == 400
    assert "NRML is not allowed on NSE" in str(exc_info.value)
    assert kite.orders() == []
    _place(kite, product="MIS")
    _place(kite, product="CNC")
    assert len(kite.orders()) == 2


# -- conversions and cover orders ------------------------------------------------------------


def test_a_conversion_to_or_from_a_made_up_product_is_refused(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """convert_position takes Kite's products only (CNC, NRML, MIS, MTF): another new or old
    product is an InputException and the position stays where it was."""
    simctl.prices({INFY: 1500})
    _place(kite, quantity=4, product="MIS", **_market())
    conversion = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "position_type": "day",
        "quantity": 4,
        "old_product": "MIS",
        "new_product": "CNC",
    }
    for made_up in ({"new_product": "XYZ"}, {"old_product": "XYZ"}, {"new_product": "CO"}):
        with pytest.raises(kex.InputException) as exc_info:
            kite.convert_position(**(conversion | made_up))
        assert exc_info.value.code == 400
        assert next(iter(made_up)) in str(exc_info.value)
    [line] = kite.positions()["net"]
    assert (line["product"], line["quantity"]) == ("MIS", 4)
    assert kite.convert_position(**conversion) is True


def test_a_cover_orders_stop_leg_takes_only_its_prices_on_modify(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """A CO's second leg refuses a quantity, order type or validity change (InputException,
    the leg unchanged) and takes a new trigger price, also beside its own order type and the
    market protection the desk sends with an SL-M."""
    simctl.prices({INFY: 1500})
    first = _place(kite, variety="co", product="MIS", quantity=2, trigger_price=1480, **_market())
    [leg] = [o for o in kite.orders() if o["parent_order_id"] == first]
    for change in ({"quantity": 5}, {"order_type": "SL", "price": 1470}, {"validity": "IOC"}):
        with pytest.raises(kex.InputException) as exc_info:
            kite.modify_order("co", leg["order_id"], trigger_price=1485, **change)
        assert exc_info.value.code == 400
        assert next(iter(change)) in str(exc_info.value)
    row = _row(kite, leg["order_id"])
    assert (row["quantity"], row["order_type"], row["trigger_price"]) == (2, "SL-M", 1480)
    kite.modify_order("co", leg["order_id"], trigger_price=1485)
    assert _row(kite, leg["order_id"])["trigger_price"] == 1485
    kite.modify_order(
        "co", leg["order_id"], order_type="SL-M", market_protection=-1, trigger_price=1490
    )
    row = _row(kite, leg["order_id"])
    assert (row["trigger_price"], row["market_protection"]) == (1490, 0)


def test_a_cover_orders_first_leg_refuses_a_new_stop(kite: KiteConnect, simctl: SimControl) -> None:
    """While a CO's first leg is open a new ``trigger_price`` on it is an InputException (Kite
    moves the stop on the second leg only), the order keeping its terms; its price is modified
    beside the same trigger, and the stop leg spawns at the stop the order was placed with."""
    simctl.prices({INFY: 1500})
    first = _place(kite, variety="co", product="MIS", price=1490, trigger_price=1480)
    assert _row(kite, first)["status"] == "OPEN"

    with pytest.raises(kex.InputException) as exc_info:
        kite.modify_order("co", first, trigger_price=1470)

    assert exc_info.value.code == 400
    assert "trigger_price" in str(exc_info.value)
    row = _row(kite, first)
    assert (row["status"], row["price"], row["modified"]) == ("OPEN", 1490, False)
    kite.modify_order("co", first, price=1495, trigger_price=1480)
    assert _row(kite, first)["price"] == 1495
    simctl.prices({INFY: 1494})  # fills the first leg
    [leg] = [o for o in kite.orders() if o["parent_order_id"] == first]
    assert (leg["status"], leg["trigger_price"]) == ("TRIGGER PENDING", 1480)


# -- circuit limits ----------------------------------------------------------------------------


def _circuit(kite: KiteConnect, key: str) -> tuple[float, float]:
    quote = kite.quote([key])[key]
    return quote["lower_circuit_limit"], quote["upper_circuit_limit"]


def _kites_rejection(kite_mocks: Path, limit: float, *, upper: bool = False) -> str:
    """The sample GTT's rejection reason, for ``limit`` (and its upper twin)."""
    sample = json.loads((kite_mocks / "gtt_get_order.json").read_text())["data"]
    reason: str = sample["orders"][1]["result"]["order_result"]["rejection_reason"]
    reason = reason.replace("70.65", f"{limit:.2f}")
    if upper:
        reason = reason.replace("lower", "higher", 1).replace("lower", "upper", 1)
    return reason


def test_a_limit_price_outside_the_circuit_limits_is_rejected(
    kite: KiteConnect, simctl: SimControl, kite_mocks: Path
) -> None:
    """A LIMIT or SL price beyond the circuit limits the quote reports gets an order id and a
    REJECTED row with Kite's reason, and never fills; prices at the limits are taken."""
    simctl.prices({INFY: 1500})
    lower, upper = _circuit(kite, INFY)
    below = _place(kite, price=lower - 0.05)
    row = _row(kite, below)
    assert row["status"] == "REJECTED"
    assert row["status_message"] == _kites_rejection(kite_mocks, lower)
    assert [h["status"] for h in kite.order_history(below)] == [
        "PUT ORDER REQ RECEIVED",
        "VALIDATION PENDING",
        "REJECTED",
    ]
    above = _place(kite, transaction_type="SELL", product="MIS", price=upper + 0.05)
    assert _row(kite, above)["status_message"] == _kites_rejection(kite_mocks, upper, upper=True)
    stop = _place(kite, order_type="SL", price=lower - 1, trigger_price=lower)
    assert _row(kite, stop)["status"] == "REJECTED"
    simctl.prices({INFY: lower - 1})
    assert kite.trades() == []
    at_lower = _place(kite, price=lower)
    assert _row(kite, at_lower)["status"] == "COMPLETE"
    at_upper = _place(kite, transaction_type="SELL", product="MIS", price=upper)
    assert _row(kite, at_upper)["status"] == "OPEN"


def test_a_modify_outside_the_circuit_limits_is_refused(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """A modification to a price beyond the circuit limits is refused; the order rests on at
    its old price and does not fill when the market trades there."""
    simctl.prices({INFY: 1500})
    lower, _upper = _circuit(kite, INFY)
    order_id = _place(kite)
    with pytest.raises(kex.InputException) as exc_info:
        kite.modify_order("regular", order_id, price=lower - 10)
    assert "lower circuit limit" in str(exc_info.value)
    simctl.prices({INFY: lower - 5})
    row = _row(kite, order_id)
    assert (row["price"], row["status"], row["average_price"]) == (1400, "COMPLETE", lower - 5)


def test_a_gtt_firing_outside_the_circuit_limits_fails_with_kites_reason(
    kite: KiteConnect, simctl: SimControl, kite_mocks: Path
) -> None:
    """A GTT whose order is priced below the lower circuit limit fails when it fires, its
    result carrying the rejection reason as Kite's sample GTT does."""
    simctl.prices({INFY: 1500})
    lower, _upper = _circuit(kite, INFY)
    order = {
        "transaction_type": "BUY",
        "quantity": 1,
        "order_type": "LIMIT",
        "product": "CNC",
        "price": lower - 50,
    }
    trigger_id = kite.place_gtt("single", "INFY", "NSE", [1450], 1500, [order])["trigger_id"]
    simctl.prices({INFY: 1449})
    result = kite.get_gtt(trigger_id)["orders"][0]["result"]["order_result"]
    assert result["status"] == "failed"
    assert result["rejection_reason"] == _kites_rejection(kite_mocks, lower)


# -- disclosed quantity and the contract note --------------------------------------------------


def test_disclosed_quantity_is_for_equity_only(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """A disclosed quantity on an F&O order is an InputException, on placement and on modify;
    on an equity order it is taken."""
    future = next(i for i in sim_thread.master if i.instrument_type == "FUT")
    lower, _upper = _circuit(kite, f"NFO:{future.tradingsymbol}")  # a buy that rests
    simctl.prices({INFY: 1500})
    nfo = {
        "exchange": "NFO",
        "tradingsymbol": future.tradingsymbol,
        "product": "NRML",
        "quantity": 2 * future.lot_size,
        "price": lower,
    }
    with pytest.raises(kex.InputException) as exc_info:
        _place(kite, disclosed_quantity=future.lot_size, **nfo)
    assert "disclosed_quantity" in str(exc_info.value)
    resting = _place(kite, **nfo)
    assert _row(kite, resting)["status"] == "OPEN"
    with pytest.raises(kex.InputException):
        kite.modify_order("regular", resting, disclosed_quantity=future.lot_size)
    assert _row(kite, resting)["disclosed_quantity"] == 0
    equity = _place(kite, quantity=10, disclosed_quantity=2)
    assert _row(kite, equity)["disclosed_quantity"] == 2


def test_an_iceberg_leg_is_whole_lots(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """An F&O iceberg order whose leg is not a whole number of lots is an InputException naming
    iceberg_quantity, and nothing is placed: it was taken and a leg of part of a lot filled,
    leaving a position no order could close; legs of whole lots rest."""
    future = next(i for i in sim_thread.master if i.instrument_type == "FUT")
    lot = future.lot_size
    lower, _upper = _circuit(kite, f"NFO:{future.tradingsymbol}")  # a buy that rests
    nfo = {
        "variety": "iceberg",
        "exchange": "NFO",
        "tradingsymbol": future.tradingsymbol,
        "product": "NRML",
        "quantity": 4 * lot,
        "price": lower,
        "iceberg_legs": 2,
    }
    with pytest.raises(kex.InputException) as exc_info:
        _place(kite, iceberg_quantity=2 * lot + 5, **nfo)
    assert exc_info.value.code == 400
    assert str(exc_info.value).startswith("Invalid `iceberg_quantity`: ")
    assert f"lot size ({lot})" in str(exc_info.value)
    assert kite.orders() == []
    resting = _place(kite, iceberg_quantity=2 * lot, **nfo)
    row = _row(kite, resting)
    assert row["status"] == "OPEN", row["status_message"]


def test_delivery_is_of_stock_alone(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """A CNC (delivery) order for a future is an InputException naming the product, and nothing
    is placed: it was taken, filled, and the contract shown among the holdings the next day."""
    future = next(i for i in sim_thread.master if i.instrument_type == "FUT")
    lower, _upper = _circuit(kite, f"NFO:{future.tradingsymbol}")
    nfo = {
        "exchange": "NFO",
        "tradingsymbol": future.tradingsymbol,
        "quantity": future.lot_size,
        "price": lower,
    }
    with pytest.raises(kex.InputException) as exc_info:
        _place(kite, product="CNC", **nfo)
    assert "product" in str(exc_info.value)
    assert kite.orders() == []
    assert _row(kite, _place(kite, product="NRML", **nfo))["status"] == "OPEN"


def test_a_contract_note_needs_an_average_price(kite: KiteConnect, simctl: SimControl) -> None:
    """The virtual contract note charges executed orders: an average_price of 0 (or none) is an
    InputException; a real one is charged."""
    simctl.prices({INFY: 1500})
    executed = {
        "order_id": "1",
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "variety": "regular",
        "product": "CNC",
        "order_type": "MARKET",
        "quantity": 1,
    }
    for price in ({"average_price": 0}, {}):
        with pytest.raises(kex.InputException) as exc_info:
            kite.get_virtual_contract_note([executed | price])
        assert "average_price" in str(exc_info.value)
    [note] = kite.get_virtual_contract_note([executed | {"average_price": 1500}])
    assert note["price"] == 1500


def test_mutual_funds_are_said_to_be_not_simulated(kite: KiteConnect) -> None:
    """The client's mf_* methods are Kite routes the simulator does not play: they read "Route
    not found", as if the client had called something that does not exist."""
    with pytest.raises(kex.GeneralException) as exc_info:
        kite.mf_holdings()
    assert exc_info.value.code == 404
    assert "Mutual funds (/mf/…) are not simulated by orderdesk sim." in str(exc_info.value)
