"""Selling holdings without DDPI (``--holdings-authorisation``), refereed by the official client:
a CNC sale of unauthorised holdings is an HTTP 428, the authorisation request and page make
the day's quantity sellable, and the next trading day needs a new one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect.exceptions import KiteException

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.sim.conftest import SimControl, login

SELL = {
    "variety": "regular",
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "SELL",
    "product": "CNC",
    "order_type": "MARKET",
    "market_protection": -1,
}
LIMIT_SELL = {k: v for k, v in SELL.items() if k != "market_protection"} | {"order_type": "LIMIT"}
HELD = {"exchange": "NSE", "tradingsymbol": "INFY", "quantity": 10, "average_price": 1400}


def _sim(**overrides: Any) -> Iterator[SimServer]:
    config = SimConfig(port=0, seed=7, price_tick_interval=None, rate_limits=False, **overrides)
    with SimServer.run_in_thread(config) as server:
        SimControl(server.rest_root).prices({"NSE:INFY": 1500})
        SimControl(server.rest_root).holdings([HELD])
        yield server


@pytest.fixture
def no_ddpi() -> Iterator[SimServer]:
    """An account without DDPI, on NSE's days (Monday 7 December 2026, 10:00)."""
    yield from _sim(holdings_authorisation=True, market_hours="nse")


def _authorise(sim: SimServer, kite: KiteConnect, form: list[tuple[str, str]]) -> str:
    """Ask for an authorisation as an app does, then open its page as the user would."""
    reply = requests.post(
        f"{sim.rest_root}/portfolio/holdings/authorise",
        data=form,
        headers={"Authorization": f"token {kite.api_key}:{kite.access_token}"},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    request_id: str = reply.json()["data"]["request_id"]
    page = requests.get(
        f"{sim.rest_root}/connect/portfolio/authorise/holdings/{kite.api_key}/{request_id}",
        timeout=10,
    )
    assert page.status_code == 200
    assert page.url.endswith(f"{request_id}/finish?status=success")
    return request_id


def test_unauthorised_holdings_are_not_sold_until_the_day_authorises_them(
    no_ddpi: SimServer,
) -> None:
    simctl = SimControl(no_ddpi.rest_root)
    simctl.set_clock("2026-12-07 10:00:00")
    kite = login(no_ddpi)
    (row,) = kite.holdings()
    isin = row["isin"]
    assert (row["authorised_quantity"], row["authorised_date"]) == (0, "")

    with pytest.raises(KiteException) as refused:
        kite.place_order(quantity=4, **SELL)
    assert refused.value.code == 428
    assert "authoris" in str(refused.value)
    assert kite.orders() == []  # nothing was placed

    _authorise(no_ddpi, kite, [("isin", isin), ("quantity", "4")])
    (row,) = kite.holdings()
    assert (row["authorised_quantity"], row["authorised_date"]) == (4, "2026-12-07 00:00:00")
    kite.place_order(quantity=4, **SELL)
    with pytest.raises(KiteException) as beyond:
        kite.place_order(quantity=1, **SELL)  # the four authorised are spent
    assert beyond.value.code == 428
    assert [o["status"] for o in kite.orders()] == ["COMPLETE"]

    simctl.set_clock("2026-12-08 10:00:00")  # the authorisation lasted Monday only
    kite = login(no_ddpi)
    with pytest.raises(KiteException) as tuesday:
        kite.place_order(quantity=1, **SELL)
    assert tuesday.value.code == 428
    kite.place_order(quantity=2, **{**SELL, "transaction_type": "BUY"})
    kite.place_order(quantity=2, **SELL)  # the day's own delivery buy: no holdings sold
    _authorise(no_ddpi, kite, [])  # no ISIN named: every holding, in full
    (row,) = kite.holdings()
    assert row["authorised_quantity"] == row["quantity"] + row["t1_quantity"] == 6
    kite.place_order(quantity=6, **SELL)


def test_a_request_is_approved_once_and_must_be_well_formed(no_ddpi: SimServer) -> None:
    simctl = SimControl(no_ddpi.rest_root)
    simctl.set_clock("2026-12-07 10:00:00")
    kite = login(no_ddpi)
    request_id = _authorise(no_ddpi, kite, [])
    again = requests.get(
        f"{no_ddpi.rest_root}/connect/portfolio/authorise/holdings/{kite.api_key}/{request_id}",
        timeout=10,
    )
    assert again.status_code == 400
    unpaired = requests.post(
        f"{no_ddpi.rest_root}/portfolio/holdings/authorise",
        data=[("isin", "INE009A01021")],
        headers={"Authorization": f"token {kite.api_key}:{kite.access_token}"},
        timeout=10,
    )
    assert (unpaired.status_code, unpaired.json()["error_type"]) == (400, "InputException")


def test_a_sale_beyond_the_holdings_is_a_holding_exception_not_428(no_ddpi: SimServer) -> None:
    """Without DDPI too, a CNC sale of more than the account holds is Kite's HoldingException
    (HTTP 400), whatever is authorised; the 428 is for stock held but not authorised."""
    SimControl(no_ddpi.rest_root).set_clock("2026-12-07 10:00:00")
    kite = login(no_ddpi)
    _authorise(no_ddpi, kite, [])
    with pytest.raises(KiteException) as refused:
        kite.place_order(quantity=11, **SELL)
    assert refused.value.code == 400
    assert "Insufficient holdings" in str(refused.value)
    kite.place_order(quantity=10, **SELL)


def test_an_account_with_ddpi_sells_without_authorising() -> None:
    for sim in _sim():
        kite = login(sim)
        kite.place_order(quantity=10, **SELL)
        assert [o["status"] for o in kite.orders()] == ["COMPLETE"]


def _used(kite: KiteConnect) -> tuple[int, int]:
    (row,) = kite.holdings()
    return row["authorised_quantity"], row["used_quantity"]


def test_a_cancelled_sale_gives_its_authorisation_back(no_ddpi: SimServer) -> None:
    """The day's authorisation is taken by sales, not attempts: a resting sell holds its part
    while open and gives it back when cancelled; what filled stays used, as the holdings row
    says; a new authorisation after a sale authorises more stock."""
    SimControl(no_ddpi.rest_root).set_clock("2026-12-07 10:00:00")
    kite = login(no_ddpi)
    (row,) = kite.holdings()
    _authorise(no_ddpi, kite, [("isin", row["isin"]), ("quantity", "5")])

    resting = kite.place_order(quantity=5, price=1550, **LIMIT_SELL)
    with pytest.raises(KiteException) as held:
        kite.place_order(quantity=1, **SELL)  # the open sell holds all five
    assert held.value.code == 428
    kite.cancel_order(variety="regular", order_id=resting)
    assert _used(kite) == (5, 0)

    kite.place_order(quantity=5, **SELL)
    assert [o["status"] for o in kite.orders()] == ["CANCELLED", "COMPLETE"]
    assert _used(kite) == (5, 5)
    with pytest.raises(KiteException) as spent:
        kite.place_order(quantity=1, **SELL)
    assert spent.value.code == 428
    assert "0 are authorised" in str(spent.value)

    _authorise(no_ddpi, kite, [("isin", row["isin"]), ("quantity", "5")])
    assert _used(kite) == (10, 5)
    kite.place_order(quantity=5, **SELL)
    assert _used(kite) == (10, 10)


def test_a_rejected_sale_gives_its_authorisation_back(no_ddpi: SimServer) -> None:
    """A sell the exchange rejects (a price beyond the circuit limit) sold nothing, so the
    quantity it was placed for may still be sold."""
    SimControl(no_ddpi.rest_root).set_clock("2026-12-07 10:00:00")
    kite = login(no_ddpi)
    (row,) = kite.holdings()
    _authorise(no_ddpi, kite, [("isin", row["isin"]), ("quantity", "5")])
    upper = kite.quote(["NSE:INFY"])["NSE:INFY"]["upper_circuit_limit"]
    kite.place_order(quantity=5, price=upper + 0.05, **LIMIT_SELL)
    assert [o["status"] for o in kite.orders()] == ["REJECTED"]
    assert _used(kite) == (5, 0)
    kite.place_order(quantity=5, **SELL)
    assert [o["status"] for o in kite.orders()] == ["REJECTED", "COMPLETE"]
    assert _used(kite) == (5, 5)


def test_a_sell_modified_upwards_needs_the_authorisation_a_sell_of_that_size_does(
    no_ddpi: SimServer,
) -> None:
    """A modify that sells more is a sale of more: with 5 authorised, a resting sell of 5
    raised to 10 was taken; it is refused as a sell of 10 placed is, and the order keeps 5."""
    SimControl(no_ddpi.rest_root).set_clock("2026-12-07 10:00:00")
    kite = login(no_ddpi)
    (row,) = kite.holdings()
    _authorise(no_ddpi, kite, [("isin", row["isin"]), ("quantity", "5")])
    resting = kite.place_order(quantity=5, price=1550, **LIMIT_SELL)
    with pytest.raises(KiteException) as refused:
        kite.modify_order(variety="regular", order_id=resting, quantity=10)
    assert refused.value.code == 428
    assert [o["quantity"] for o in kite.orders()] == [5]
