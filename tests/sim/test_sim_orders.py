"""Orders through the official client: every variety, the status walk, matching and errors."""

from __future__ import annotations

import math

import pytest
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

from .conftest import SimControl, login


def _statuses(kite: KiteConnect, order_id: str) -> list[str]:
    return [row["status"] for row in kite.order_history(order_id)]


def _book_row(kite: KiteConnect, order_id: str) -> dict[str, object]:
    return next(o for o in kite.orders() if o["order_id"] == order_id)


def _limit_buy(kite: KiteConnect, price: float, **extra: object) -> str:
    order_id: str = kite.place_order(
        variety=extra.pop("variety", "regular"),
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=extra.pop("quantity", 10),
        product=extra.pop("product", "CNC"),
        order_type=extra.pop("order_type", "LIMIT"),
        price=price,
        **extra,
    )
    return order_id


def test_market_order_fills_at_once(kite: KiteConnect, simctl: SimControl) -> None:
    """A MARKET buy walks the placement statuses to COMPLETE at the last price."""
    simctl.prices({"NSE:INFY": 1502.5})
    order_id = kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=3,
        product="CNC",
        order_type="MARKET",
        market_protection=-1,
        tag="mkt1",
    )
    assert isinstance(order_id, str)
    assert len(order_id) == 19
    assert _statuses(kite, order_id) == [
        "PUT ORDER REQ RECEIVED",
        "VALIDATION PENDING",
        "OPEN PENDING",
        "OPEN",
        "COMPLETE",
    ]
    row = _book_row(kite, order_id)
    assert row["average_price"] == 1502.5
    assert row["filled_quantity"] == 3
    assert row["pending_quantity"] == 0
    assert row["tag"] == "mkt1"
    trades = kite.order_trades(order_id)
    assert [t["quantity"] for t in trades] == [3]
    assert len(trades[0]["order_timestamp"]) == 8  # time-only, as Kite sends it
    assert kite.trades()[0]["trade_id"] == trades[0]["trade_id"]


def test_limit_order_rests_then_fills_when_price_crosses(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """A LIMIT buy below the market stays OPEN and fills once the price comes down to it."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _limit_buy(kite, 1490)
    assert _book_row(kite, order_id)["status"] == "OPEN"
    simctl.prices({"NSE:INFY": 1495})
    assert _book_row(kite, order_id)["status"] == "OPEN"
    simctl.prices({"NSE:INFY": 1489.5})
    row = _book_row(kite, order_id)
    assert row["status"] == "COMPLETE"
    assert row["average_price"] == 1489.5
    assert kite.order_trades(order_id)[0]["average_price"] == 1489.5


def test_modify_walks_modify_statuses_and_can_fill(kite: KiteConnect, simctl: SimControl) -> None:
    """A modification goes MODIFY VALIDATION PENDING → MODIFY PENDING → MODIFIED → OPEN."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _limit_buy(kite, 1400)
    assert kite.modify_order("regular", order_id, price=1450, quantity=5) == order_id
    assert _statuses(kite, order_id)[-4:] == [
        "MODIFY VALIDATION PENDING",
        "MODIFY PENDING",
        "MODIFIED",
        "OPEN",
    ]
    row = _book_row(kite, order_id)
    assert row["price"] == 1450
    assert row["quantity"] == 5
    assert row["modified"] is True
    kite.modify_order("regular", order_id, price=1500)
    assert _book_row(kite, order_id)["status"] == "COMPLETE"


def test_cancel_walks_cancel_pending(kite: KiteConnect, simctl: SimControl) -> None:
    """Cancelling an OPEN order ends CANCEL PENDING → CANCELLED with the rest cancelled."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _limit_buy(kite, 1400)
    assert kite.cancel_order("regular", order_id) == order_id
    assert _statuses(kite, order_id)[-2:] == ["CANCEL PENDING", "CANCELLED"]
    row = _book_row(kite, order_id)
    assert row["cancelled_quantity"] == 10
    assert row["pending_quantity"] == 0


def test_stop_loss_triggers_then_fills(kite: KiteConnect, simctl: SimControl) -> None:
    """An SL sell waits in TRIGGER PENDING until the price falls to its trigger."""
    simctl.prices({"NSE:INFY": 1500})
    kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=4,
        product="MIS",
        order_type="MARKET",
        market_protection=-1,
    )
    order_id = kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="SELL",
        quantity=4,
        product="MIS",
        order_type="SL",
        price=1479,
        trigger_price=1480,
    )
    assert _book_row(kite, order_id)["status"] == "TRIGGER PENDING"
    simctl.prices({"NSE:INFY": 1490})
    assert _book_row(kite, order_id)["status"] == "TRIGGER PENDING"
    simctl.prices({"NSE:INFY": 1480})
    assert _statuses(kite, order_id)[-3:] == ["TRIGGER PENDING", "OPEN", "COMPLETE"]
    net = kite.positions()["net"]
    assert [(p["tradingsymbol"], p["quantity"]) for p in net] == [("INFY", 0)]
    assert net[0]["pnl"] == -80


def test_slm_and_ioc(kite: KiteConnect, simctl: SimControl) -> None:
    """SL-M fills at market once triggered; IOC cancels what it could not fill at once."""
    simctl.prices({"NSE:INFY": 1500})
    slm = kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=1,
        product="MIS",
        order_type="SL-M",
        trigger_price=1510,
        market_protection=-1,
    )
    ioc = _limit_buy(kite, 1400, validity="IOC")
    assert _book_row(kite, ioc)["status"] == "CANCELLED"
    simctl.prices({"NSE:INFY": 1512})
    row = _book_row(kite, slm)
    assert row["status"] == "COMPLETE"
    assert row["average_price"] == 1512


def test_ttl_order_lapses_on_the_sim_clock(kite: KiteConnect, simctl: SimControl) -> None:
    """A TTL order is cancelled once its minutes have passed on the simulated clock."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _limit_buy(kite, 1400, validity="TTL", validity_ttl=2)
    simctl.advance(60)
    assert _book_row(kite, order_id)["status"] == "OPEN"
    simctl.advance(61)
    assert _book_row(kite, order_id)["status"] == "CANCELLED"


def _leg_view(row: dict[str, object]) -> tuple[object, ...]:
    """An iceberg row's quantities and where it stands in its legs."""
    meta = row["meta"]
    assert isinstance(meta, dict)
    iceberg = meta["iceberg"]
    return (
        row["quantity"],
        row["filled_quantity"],
        row["pending_quantity"],
        row["cancelled_quantity"],
        iceberg["leg"],
        iceberg["total_quantity"],
        iceberg["remaining_quantity"],
    )


def test_iceberg_row_is_the_working_leg_through_every_leg(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """An iceberg order's row shows its working leg, as Kite's sample book does: quantity and
    fills of the leg, the total and what the later legs hold in meta.iceberg; one leg fills per
    matching pass and the next is released."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _limit_buy(
        kite, 1490, variety="iceberg", quantity=30, iceberg_legs=3, iceberg_quantity=10
    )
    row = _book_row(kite, order_id)
    assert row["variety"] == "iceberg"
    assert row["meta"] == {
        "iceberg": {
            "leg": 1,
            "legs": 3,
            "leg_quantity": 10,
            "total_quantity": 30,
            "remaining_quantity": 20,
        }
    }
    # (quantity, filled, pending, cancelled, leg, total, remaining)
    assert _leg_view(row) == (10, 0, 10, 0, 1, 30, 20)
    simctl.prices({"NSE:INFY": 1489})
    row = _book_row(kite, order_id)
    assert _leg_view(row) == (10, 0, 10, 0, 2, 30, 10)
    assert row["average_price"] == 1489  # the order's fills so far
    assert kite.modify_order("iceberg", order_id, price=1488) == order_id
    simctl.prices({"NSE:INFY": 1488})
    assert _leg_view(_book_row(kite, order_id)) == (10, 0, 10, 0, 3, 30, 0)
    simctl.prices({"NSE:INFY": 1487})
    row = _book_row(kite, order_id)
    assert row["status"] == "COMPLETE"
    assert _leg_view(row) == (10, 10, 0, 0, 3, 30, 0)
    assert [t["quantity"] for t in kite.order_trades(order_id)] == [10, 10, 10]
    assert all(h["quantity"] == 10 for h in kite.order_history(order_id))


def test_iceberg_partial_leg_short_last_leg_and_cancel(
    kite: KiteConnect, simctl: SimControl
) -> None:
    """A partly filled leg shows its own fills; a last leg smaller than the others shows its
    size; a cancel cancels the working leg while meta keeps the legs never released."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _limit_buy(
        kite, 1490, variety="iceberg", quantity=25, iceberg_legs=3, iceberg_quantity=10
    )
    simctl.prices({"NSE:INFY": 1489})
    simctl.prices({"NSE:INFY": 1489.5})
    simctl.faults(partial_fill=0.5)
    simctl.prices({"NSE:INFY": 1489})
    assert _leg_view(_book_row(kite, order_id)) == (5, 2, 3, 0, 3, 25, 0)
    other = _limit_buy(
        kite, 1400, variety="iceberg", quantity=20, iceberg_legs=2, iceberg_quantity=10
    )
    assert kite.cancel_order("iceberg", other) == other
    row = _book_row(kite, other)
    assert row["status"] == "CANCELLED"
    assert _leg_view(row) == (10, 0, 0, 10, 1, 20, 10)


def test_iceberg_needs_two_legs(kite: KiteConnect) -> None:
    """One iceberg leg is an InputException, as on Kite."""
    with pytest.raises(kex.InputException) as exc_info:
        _limit_buy(kite, 1490, variety="iceberg", quantity=30, iceberg_legs=1, iceberg_quantity=30)
    assert exc_info.value.code == 400


def test_cover_order_spawns_stop_leg_and_exits(kite: KiteConnect, simctl: SimControl) -> None:
    """A filled CO gets a TRIGGER PENDING stop leg; exiting it sells at market."""
    simctl.prices({"NSE:INFY": 1500})
    first = kite.place_order(
        variety="co",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=2,
        product="MIS",
        order_type="MARKET",
        market_protection=-1,
        trigger_price=1480,
    )
    legs = [o for o in kite.orders() if o["parent_order_id"] == first]
    assert len(legs) == 1
    leg = legs[0]
    assert leg["status"] == "TRIGGER PENDING"
    assert leg["transaction_type"] == "SELL"
    assert leg["trigger_price"] == 1480
    assert kite.modify_order("co", leg["order_id"], trigger_price=1485) == leg["order_id"]
    simctl.prices({"NSE:INFY": 1505})
    kite.exit_order("co", leg["order_id"], parent_order_id=first)
    row = _book_row(kite, leg["order_id"])
    assert row["status"] == "COMPLETE"
    assert row["average_price"] == 1505


def test_amo_and_auction_varieties(kite: KiteConnect, simctl: SimControl) -> None:
    """AMO (market always open by default) and auction orders are accepted and cancellable; an
    auction order rests whatever the price (its auction never runs here: it filled at the
    market, as a regular order)."""
    simctl.prices({"NSE:INFY": 1500})
    amo = _limit_buy(kite, 1400, variety="amo")
    assert _book_row(kite, amo)["status"] == "OPEN"
    assert kite.modify_order("amo", amo, price=1410) == amo
    assert kite.cancel_order("amo", amo) == amo
    auction = _limit_buy(kite, 1600, variety="auction", auction_number="22")
    row = _book_row(kite, auction)
    assert (row["auction_number"], row["status"], row["filled_quantity"]) == ("22", "OPEN", 0)
    simctl.prices({"NSE:INFY": 1490})
    assert _book_row(kite, auction)["status"] == "OPEN"
    assert kite.modify_order("auction", auction, price=1401) == auction
    assert kite.cancel_order("auction", auction) == auction
    assert _book_row(kite, auction)["status"] == "CANCELLED"


def test_amo_waits_for_the_nse_open(sim_config: SimConfig) -> None:
    """With NSE hours, a regular order is refused at night and an AMO is released at 09:15."""
    sim_config.market_hours = "nse"
    with SimServer.run_in_thread(sim_config) as sim:
        ctl = SimControl(sim.rest_root)
        ctl.set_clock("2026-01-05 20:00:00")  # a Monday evening
        kite = login(sim)
        ctl.prices({"NSE:INFY": 1500})
        with pytest.raises(kex.InputException) as exc_info:
            _limit_buy(kite, 1490)
        amo = _limit_buy(kite, 1490, variety="amo")
        assert _book_row(kite, amo)["status"] == "AMO REQ RECEIVED"
        ctl.set_clock("2026-01-06 09:15:00")
        kite = login(sim)  # the evening's token lapsed at 06:00
        assert _book_row(kite, amo)["status"] == "OPEN"
    assert "closed" in str(exc_info.value)


def test_unknown_order_is_an_order_exception(kite: KiteConnect) -> None:
    """Modifying, cancelling or reading an order that does not exist raises OrderException."""
    with pytest.raises(kex.OrderException) as exc_info:
        kite.modify_order("regular", "1234", price=1)
    assert "order_id" in str(exc_info.value)
    with pytest.raises(kex.OrderException):
        kite.cancel_order("regular", "1234")
    with pytest.raises(kex.OrderException):
        kite.order_history("1234")


def test_completed_order_is_not_modifiable(kite: KiteConnect, simctl: SimControl) -> None:
    """A COMPLETE order cannot be modified: OrderException."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _limit_buy(kite, 1500)
    with pytest.raises(kex.OrderException) as exc_info:
        kite.modify_order("regular", order_id, price=1499)
    assert "complete" in str(exc_info.value)


def test_more_than_25_modifications_is_refused(kite: KiteConnect, simctl: SimControl) -> None:
    """The 26th modification of one order raises OrderException."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _limit_buy(kite, 1400)
    for i in range(25):
        kite.modify_order("regular", order_id, price=1400 + i)
    with pytest.raises(kex.OrderException) as exc_info:
        kite.modify_order("regular", order_id, price=1430)
    assert "modifications" in str(exc_info.value)


def test_bad_input_is_input_exception(kite: KiteConnect) -> None:
    """Missing price, bad enum, unknown symbol, long tag and bad market_protection are 400s."""
    cases = [
        {"order_type": "LIMIT", "price": None},
        {"order_type": "STOP"},
        {"tradingsymbol": "NOSUCH"},
        {"tag": "x" * 21},
        {"order_type": "MARKET", "market_protection": 0},
        {"order_type": "MARKET", "market_protection": 101},
    ]
    for case in cases:
        params: dict[str, object] = {
            "variety": "regular",
            "exchange": "NSE",
            "tradingsymbol": "INFY",
            "transaction_type": "BUY",
            "quantity": 1,
            "product": "CNC",
            "order_type": "LIMIT",
            "price": 1000,
        }
        params.update(case)
        with pytest.raises(kex.InputException) as exc_info:
            kite.place_order(**params)
        assert exc_info.value.code == 400, case


def test_market_protection_values(kite: KiteConnect, simctl: SimControl) -> None:
    """Market protection -1 and 1..100 are accepted on MARKET orders and recorded."""
    simctl.prices({"NSE:INFY": 1500})
    for value in (-1, 2):
        order_id = kite.place_order(
            variety="regular",
            exchange="NSE",
            tradingsymbol="INFY",
            transaction_type="BUY",
            quantity=1,
            product="CNC",
            order_type="MARKET",
            market_protection=value,
        )
        assert _book_row(kite, order_id)["market_protection"] == value


def test_insufficient_funds_rejects_like_kite(kite: KiteConnect, simctl: SimControl) -> None:
    """Too little cash gives a REJECTED row with RMS text; the switch makes it MarginException."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _limit_buy(kite, 1500, quantity=1000)
    row = _book_row(kite, order_id)
    assert row["status"] == "REJECTED"
    assert str(row["status_message"]).startswith("Insufficient funds. Required margin is")
    assert _statuses(kite, order_id) == ["PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "REJECTED"]
    simctl.faults(margin_exception=True)
    with pytest.raises(kex.GeneralException) as exc_info:
        _limit_buy(kite, 1500, quantity=1000)
    assert exc_info.value.code == 400
    assert type(exc_info.value) is kex.GeneralException


def test_freeze_limit_and_autoslice(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """Above the freeze quantity a plain order is refused; autoslice splits it into children."""
    future = next(
        i
        for i in sim_thread.master
        if i.instrument_type == "FUT" and i.freeze_quantity and i.lot_size > 1
    )
    freeze = future.freeze_quantity
    assert freeze is not None
    whole = freeze // future.lot_size * future.lot_size  # slices of whole lots: 1,755 of 1,800
    simctl.prices({f"NFO:{future.tradingsymbol}": 100})
    params = {
        "variety": "regular",
        "exchange": "NFO",
        "tradingsymbol": future.tradingsymbol,
        "transaction_type": "BUY",
        "quantity": 2 * whole + future.lot_size,
        "product": "NRML",
        "order_type": "MARKET",
        "market_protection": -1,
    }
    with pytest.raises(kex.InputException) as exc_info:
        kite.place_order(**params)
    assert "freeze" in str(exc_info.value)
    data = kite.place_autoslice_order(**params)
    children = data["children"]
    assert len(children) == 3
    ids = [c["order_id"] for c in children]
    rows = {o["order_id"]: o for o in kite.orders()}
    assert [rows[i]["quantity"] for i in ids] == [whole, whole, future.lot_size]
    assert rows[ids[0]]["tags"] == ["autoslice", f"autoslice:{data['order_id']}"]
    with pytest.raises(kex.InputException):
        kite.place_autoslice_order(**(params | {"quantity": whole * 11}))


def test_the_freeze_limit_holds_an_icebergs_legs_and_a_modify(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """An iceberg is Kite's way past the freeze limit: its legs are held to it, not its total
    (which was refused, "use autoslice"); a modify of a plain order is held to it as its
    placement is (one raised past it was taken, and filled)."""
    option = next(
        i
        for i in sim_thread.master
        if i.instrument_type == "CE" and i.freeze_quantity and i.lot_size > 1
    )
    freeze = option.freeze_quantity
    assert freeze is not None
    whole = freeze // option.lot_size * option.lot_size
    key = f"NFO:{option.tradingsymbol}"
    simctl.prices({key: 20})
    # Resting, inside the day's circuit band: its lower limit, a whole number of ticks.
    price = float(math.ceil(kite.quote([key])[key]["lower_circuit_limit"]))
    params = {
        "exchange": "NFO",
        "tradingsymbol": option.tradingsymbol,
        "transaction_type": "BUY",
        "product": "NRML",
        "order_type": "LIMIT",
        "price": price,
    }
    iceberg = kite.place_order(
        variety="iceberg", quantity=2 * whole, iceberg_legs=2, iceberg_quantity=whole, **params
    )
    assert _book_row(kite, iceberg)["status"] == "OPEN"
    with pytest.raises(kex.InputException) as leg_above:
        kite.place_order(
            variety="iceberg",
            quantity=2 * (whole + option.lot_size),
            iceberg_legs=2,
            iceberg_quantity=whole + option.lot_size,
            **params,
        )
    assert "freeze" in str(leg_above.value)
    plain = kite.place_order(variety="regular", quantity=whole, **params)
    with pytest.raises(kex.InputException) as raised:
        kite.modify_order(variety="regular", order_id=plain, quantity=2 * whole)
    assert "freeze" in str(raised.value)
    assert _book_row(kite, plain)["quantity"] == whole


def test_partial_fill_fault(kite: KiteConnect, simctl: SimControl) -> None:
    """With partial_fill=0.5 an order fills half of what is open per price update."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = _limit_buy(kite, 1400, quantity=8)
    simctl.faults(partial_fill=0.5)
    simctl.prices({"NSE:INFY": 1399})
    row = _book_row(kite, order_id)
    assert (row["status"], row["filled_quantity"], row["pending_quantity"]) == ("OPEN", 4, 4)
    simctl.prices({"NSE:INFY": 1398})
    assert _book_row(kite, order_id)["filled_quantity"] == 6
    assert len(kite.order_trades(order_id)) == 2


def test_external_orders_have_no_tag(kite: KiteConnect, simctl: SimControl) -> None:
    """An order placed as if from Kite web shows in the API's book without a tag."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = simctl.external_order(
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=1,
        product="CNC",
        order_type="LIMIT",
        price=1400,
        tag="ignored",
    )
    row = _book_row(kite, order_id)
    assert row["tag"] is None
    assert row["status"] == "OPEN"


def test_updates_pushed_only_for_kite_pushed_changes(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """Placement acceptance pushes nothing; fills, modifications and cancels push."""
    simctl.prices({"NSE:INFY": 1500})
    pushed: list[tuple[str, dict[str, object]]] = []
    sent: list[dict[str, object]] = []
    sim_thread.call(
        setattr, sim_thread.ticker, "publish_order_update", lambda u, p: pushed.append((u, p))
    )
    sim_thread.call(setattr, sim_thread.postbacks, "send", sent.append)
    order_id = _limit_buy(kite, 1400)
    assert pushed == []
    kite.modify_order("regular", order_id, price=1410)
    kite.cancel_order("regular", order_id)
    statuses = [p["status"] for _, p in pushed]
    assert statuses == ["OPEN", "CANCELLED"]
    assert [p["status"] for p in sent] == ["UPDATE", "CANCELLED"]
    assert all(u == "AB1234" for u, _ in pushed)
    assert pushed[-1][1]["unfilled_quantity"] == 10
    external = simctl.external_order(
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=1,
        product="CNC",
        order_type="MARKET",
    )
    assert pushed[-1][1]["order_id"] == external
    assert len(sent) == 2  # no postback for an order the app did not place


def test_book_rows_are_the_current_state(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """After fills, modifications, triggers and cancels each book row equals a fresh render."""
    simctl.prices({"NSE:INFY": 1500})
    resting = _limit_buy(kite, 1400, quantity=6)
    kite.modify_order("regular", resting, price=1410, quantity=7)
    simctl.faults(partial_fill=0.5)
    simctl.prices({"NSE:INFY": 1405})
    stop = kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=1,
        product="MIS",
        order_type="SL-M",
        trigger_price=1420,
        market_protection=-1,
    )
    simctl.prices({"NSE:INFY": 1421})
    kite.cancel_order("regular", resting)
    book = {o["order_id"]: o for o in kite.orders()}
    orders = sim_thread.call(sim_thread.exchange.orders_of, "AB1234")
    assert {stop, resting} <= set(book)
    for order in orders:
        fresh = sim_thread.call(order.to_wire)
        assert book[order.order_id]["status"] == fresh["status"]
        assert order.book_row() == fresh


def test_index_cannot_be_traded(kite: KiteConnect) -> None:
    """An order on an index (it has a price, no book) is refused with InputException."""
    with pytest.raises(kex.InputException) as exc_info:
        kite.place_order(
            variety="regular",
            exchange="NSE",
            tradingsymbol="NIFTY 50",
            transaction_type="BUY",
            quantity=1,
            order_type="MARKET",
            market_protection=-1,
            product="MIS",
        )
    assert "index" in str(exc_info.value)
