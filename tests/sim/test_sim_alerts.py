"""Kite alerts on the simulator, refereed by the official client.

kiteconnect 5.2.2 (the version installed) has no alerts methods (KITE_API.md §14.2), so the
official client is driven through its own generic request path: its ``_get/_post/_put/_delete``
with the alert routes added to the client's route table, which is how it sends every call of its
own (headers, form encoding, envelope and error classes all as for orders). The answers are
compared shape for shape with Kite's samples, read in place from ``kite-mocks/alerts_*.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kiteconnect import KiteConnect
from kiteconnect.exceptions import InputException

from orderdesk.sim.alerts import MAX_ACTIVE
from orderdesk.sim.app import SimServer

from .conftest import SimControl

ROUTES = {
    "alerts": "/alerts",
    "alert": "/alerts/{uuid}",
    "alert.history": "/alerts/{uuid}/history",
}


@pytest.fixture
def client(kite: KiteConnect) -> KiteConnect:
    assert not hasattr(kite, "create_alert"), "the installed client has alerts: use its methods"
    kite._routes = {**kite._routes, **ROUTES}
    return kite


def _sample(kite_mocks: Path, name: str) -> Any:
    return json.loads((kite_mocks / name).read_text())["data"]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _same_shape(mine: Any, sample: Any, where: str = "") -> None:
    """Same keys at every level, same JSON kinds (null in the sample matches anything)."""
    if sample is None:
        return
    assert _kind(mine) == _kind(sample), f"{where}: {_kind(mine)} vs {_kind(sample)}"
    if isinstance(sample, dict):
        assert set(mine) == set(sample), f"{where}: {set(mine) ^ set(sample)}"
        for key, value in sample.items():
            _same_shape(mine[key], value, f"{where}.{key}")
    elif isinstance(sample, list) and sample and mine:
        _same_shape(mine[0], sample[0], f"{where}[0]")


SIMPLE = {
    "name": "INFY up",
    "type": "simple",
    "lhs_exchange": "NSE",
    "lhs_tradingsymbol": "INFY",
    "lhs_attribute": "LastTradedPrice",
    "operator": ">=",
    "rhs_type": "constant",
    "rhs_constant": "1600",
}


def _ato(**params: Any) -> dict[str, Any]:
    item = {
        "type": "",
        "tradingsymbol": "INFY",
        "exchange": "NSE",
        "weight": 0,
        "params": {
            "transaction_type": "BUY",
            "product": "CNC",
            "order_type": "LIMIT",
            "validity": "DAY",
            "quantity": 2,
            "price": 1400,
            "variety": "regular",
        }
        | params,
    }
    basket = {"name": "buy the dip", "type": "", "tags": [], "items": [item]}
    return SIMPLE | {
        "name": "buy the dip",
        "type": "ato",
        "operator": "<=",
        "rhs_constant": "1400",
        "basket": json.dumps(basket),
    }


def test_alert_crud_and_history_match_the_samples(
    client: KiteConnect, simctl: SimControl, kite_mocks: Path
) -> None:
    simctl.prices({"NSE:INFY": 1500})
    created = client._post("alerts", params=SIMPLE)
    _same_shape(created, _sample(kite_mocks, "alerts_create.json"), "create")
    assert (created["status"], created["alert_count"]) == ("enabled", 0)

    ato = client._post("alerts", params=_ato())
    # The ATO create sample has no basket; the list sample's ATO row has it.
    listed = client._get("alerts")
    samples = _sample(kite_mocks, "alerts_get.json")
    by_type = {row["type"]: row for row in listed}
    _same_shape(by_type["simple"], samples[0], "list simple")
    _same_shape(by_type["ato"], samples[1], "list ato")
    assert {k: v for k, v in ato.items() if k != "basket"}.keys() == set(
        _sample(kite_mocks, "alerts_create_ato.json")
    )

    one = client._get("alert", url_args={"uuid": created["uuid"]})
    _same_shape(one, _sample(kite_mocks, "alerts_get_one.json"), "get one")

    modified = client._put(
        "alert", url_args={"uuid": created["uuid"]}, params=SIMPLE | {"rhs_constant": "1550"}
    )
    _same_shape(modified, _sample(kite_mocks, "alerts_modify.json"), "modify")
    assert modified["rhs_constant"] == 1550

    simctl.prices({"NSE:INFY": 1560})
    history = client._get("alert.history", url_args={"uuid": created["uuid"]})
    _same_shape(history, _sample(kite_mocks, "alerts_history.json"), "history")
    assert history[0]["condition"] == 'LastTradedPrice("NSE:INFY") >= 1550'
    assert history[0]["meta"][0]["last_price"] == 1560
    assert client._get("alert", url_args={"uuid": created["uuid"]})["alert_count"] == 1

    # Still true: no second firing until the condition has gone false and come back.
    simctl.prices({"NSE:INFY": 1570})
    simctl.prices({"NSE:INFY": 1500})
    simctl.prices({"NSE:INFY": 1555})
    history = client._get("alert.history", url_args={"uuid": created["uuid"]})
    assert len(history) == 2

    deleted = client._delete("alerts", params={"uuid": [created["uuid"], ato["uuid"]]})
    assert deleted is None
    assert client._get("alerts") == []


def test_an_ato_places_its_basket_when_the_price_gets_there(
    client: KiteConnect, simctl: SimControl
) -> None:
    simctl.prices({"NSE:INFY": 1500})
    ato = client._post("alerts", params=_ato())
    assert client.orders() == []
    simctl.prices({"NSE:INFY": 1390})
    orders = client.orders()
    assert len(orders) == 1
    order = orders[0]
    assert (order["tradingsymbol"], order["transaction_type"], order["quantity"]) == (
        "INFY",
        "BUY",
        2,
    )
    history = client._get("alert.history", url_args={"uuid": ato["uuid"]})
    meta = history[0]["order_meta"]
    assert [m["order_id"] for m in meta] == [order["order_id"]]
    assert meta[0]["status"] == "success"
    alert = client._get("alert", url_args={"uuid": ato["uuid"]})
    assert (alert["status"], alert["alert_count"]) == ("disabled", 1)
    # Fired once: a later dip places nothing more.
    simctl.prices({"NSE:INFY": 1500})
    simctl.prices({"NSE:INFY": 1380})
    assert len(client.orders()) == 1


def test_bad_alerts_are_refused_with_kites_errors(client: KiteConnect) -> None:
    with pytest.raises(InputException, match="operator"):
        client._post("alerts", params=SIMPLE | {"operator": "=>"})
    with pytest.raises(InputException, match="basket"):
        client._post("alerts", params=_ato() | {"basket": "not json"})
    with pytest.raises(InputException, match="basket"):
        client._post("alerts", params=_ato(quantity=0))


def test_the_501st_active_alert_is_refused(client: KiteConnect, simctl: SimControl) -> None:
    simctl.prices({"NSE:INFY": 1500})
    for _ in range(MAX_ACTIVE):
        client._post("alerts", params=SIMPLE)
    with pytest.raises(InputException, match="500 active alerts"):
        client._post("alerts", params=SIMPLE)
    assert len(client._get("alerts", params={"status": "enabled"})) == MAX_ACTIVE


def test_alerts_outlive_the_trading_day(
    client: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    simctl.prices({"NSE:INFY": 1500})
    created = client._post("alerts", params=SIMPLE)
    simctl.advance(24 * 3600)
    client.set_access_token(sim_thread.issue_access_token())  # yesterday's died at 06:00
    listed = client._get("alerts")
    assert [a["uuid"] for a in listed] == [created["uuid"]]


def test_an_index_alert_is_named_as_kites_samples_name_it(
    client: KiteConnect, simctl: SimControl, kite_mocks: Path
) -> None:
    """The samples' alert on INDICES:NIFTY 50 is accepted, echoed as sent and fires on the
    index's level, its history naming the index the same way."""
    sample = _sample(kite_mocks, "alerts_create.json")
    form = SIMPLE | {
        key: str(sample[key])
        for key in ("name", "lhs_exchange", "lhs_tradingsymbol", "operator", "rhs_constant")
    }
    simctl.prices({"NSE:NIFTY 50": 26000})
    created = client._post("alerts", params=form)
    _same_shape(created, sample, "create")
    assert (created["lhs_exchange"], created["lhs_tradingsymbol"]) == ("INDICES", "NIFTY 50")

    simctl.prices({"NSE:NIFTY 50": 27010})
    history = client._get("alert.history", url_args={"uuid": created["uuid"]})
    assert history[0]["condition"] == 'LastTradedPrice("INDICES:NIFTY 50") >= 27000'
    assert (history[0]["meta"][0]["exchange"], history[0]["meta"][0]["last_price"]) == (
        "INDICES",
        27010,
    )


def test_an_unknown_instrument_is_refused_in_an_alerts_words(client: KiteConnect) -> None:
    """An alert on an instrument the simulator does not list is an InputException naming it,
    not an order placement's refusal."""
    with pytest.raises(InputException) as exc_info:
        client._post(
            "alerts", params=SIMPLE | {"lhs_exchange": "INDICES", "lhs_tradingsymbol": "NIFTY 5"}
        )
    message = str(exc_info.value)
    assert "INDICES:NIFTY 5" in message
    assert "order" not in message.lower()
