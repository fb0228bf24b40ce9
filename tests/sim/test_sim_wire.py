"""Field names and JSON types of the simulator's replies against Kite's own samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
from kiteconnect import KiteConnect

from .conftest import SimControl


def _sample(kite_mocks: Path, name: str) -> Any:
    return json.loads((kite_mocks / name).read_text())["data"]


def _raw(kite: KiteConnect, path: str) -> Any:
    headers = {"Authorization": f"token {kite.api_key}:{kite.access_token}"}
    reply = requests.get(kite.root + path, headers=headers, timeout=10)
    assert reply.headers["Content-Type"].startswith("application/json")
    return reply.json()["data"]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _assert_like(mine: dict[str, Any], sample: dict[str, Any], optional: set[str]) -> None:
    missing = set(sample) - set(mine) - optional
    assert not missing, f"missing keys {missing}"
    for key, value in sample.items():
        if key in mine and value is not None and mine[key] is not None:
            assert _kind(mine[key]) == _kind(value), key


def test_order_trade_and_history_rows_match_samples(
    kite: KiteConnect, simctl: SimControl, kite_mocks: Path
) -> None:
    """Book rows, history rows and trades carry the sample's keys with the sample's types."""
    simctl.prices({"NSE:INFY": 1500})
    order_id = kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=1,
        product="CNC",
        order_type="MARKET",
        market_protection=-1,
    )
    book = _raw(kite, "/orders")
    for sample in _sample(kite_mocks, "orders.json"):
        _assert_like(book[0], sample, optional={"terminal_id", "auction_number"})
    history = _raw(kite, f"/orders/{order_id}")
    _assert_like(history[0], _sample(kite_mocks, "order_info.json")[0], optional=set())
    trades = _raw(kite, "/trades")
    _assert_like(trades[0], _sample(kite_mocks, "trades.json")[0], optional=set())
    assert len(trades[0]["order_timestamp"]) == 8


def test_portfolio_and_funds_match_samples(
    kite: KiteConnect, simctl: SimControl, kite_mocks: Path
) -> None:
    """Positions, holdings, margins and profile rows carry the samples' keys and types."""
    simctl.prices({"NSE:INFY": 1500})
    simctl.holdings(
        [{"exchange": "NSE", "tradingsymbol": "SBIN", "quantity": 1, "average_price": 700}]
    )
    kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=1,
        product="MIS",
        order_type="MARKET",
        market_protection=-1,
    )
    positions = _raw(kite, "/portfolio/positions")
    sample_positions = _sample(kite_mocks, "positions.json")
    _assert_like(positions["net"][0], sample_positions["net"][0], optional=set())
    _assert_like(positions["day"][0], sample_positions["day"][0], optional=set())
    holdings = _raw(kite, "/portfolio/holdings")
    _assert_like(holdings[0], _sample(kite_mocks, "holdings.json")[0], optional=set())
    margins = _raw(kite, "/user/margins")
    sample_margins = _sample(kite_mocks, "margins.json")
    for segment in ("equity", "commodity"):
        _assert_like(margins[segment], sample_margins[segment], optional=set())
        _assert_like(
            margins[segment]["available"], sample_margins[segment]["available"], optional=set()
        )
        _assert_like(
            margins[segment]["utilised"], sample_margins[segment]["utilised"], optional=set()
        )
    _assert_like(_raw(kite, "/user/profile"), _sample(kite_mocks, "profile.json"), set())
    _assert_like(_raw(kite, "/user/profile/full"), _sample(kite_mocks, "full_profile.json"), set())


def test_calculators_and_gtt_match_samples(
    kite: KiteConnect, simctl: SimControl, kite_mocks: Path
) -> None:
    """Margin, basket, charges and GTT replies carry the samples' keys."""
    simctl.prices({"NSE:INFY": 1500})
    order = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "variety": "regular",
        "product": "CNC",
        "order_type": "LIMIT",
        "quantity": 1,
        "price": 1500,
        "average_price": 1500,
    }
    _assert_like(
        kite.order_margins([order])[0], _sample(kite_mocks, "order_margins.json")[0], set()
    )
    basket = kite.basket_order_margins([order])
    sample = _sample(kite_mocks, "basket_margins.json")
    for key in ("initial", "final"):
        _assert_like(basket[key], sample[key], set())
    _assert_like(basket["orders"][0], sample["orders"][0], set())
    note = kite.get_virtual_contract_note([order])
    _assert_like(note[0], _sample(kite_mocks, "virtual_contract_note.json")[0], set())
    trigger_id = kite.place_gtt(
        "single",
        "INFY",
        "NSE",
        [1400],
        1500,
        [
            {
                "transaction_type": "BUY",
                "quantity": 1,
                "order_type": "LIMIT",
                "product": "CNC",
                "price": 1400,
            }
        ],
    )["trigger_id"]
    gtt = kite.get_gtt(trigger_id)
    sample_gtt = _sample(kite_mocks, "gtt_get_orders.json")[0]
    _assert_like(gtt, sample_gtt, optional={"meta"})
    _assert_like(gtt["condition"], sample_gtt["condition"], set())
    _assert_like(gtt["orders"][0], sample_gtt["orders"][0], set())


def test_session_reply_matches_sample(kite: KiteConnect, kite_mocks: Path) -> None:
    """POST /session/token answers with every key of generate_session.json."""
    sample = _sample(kite_mocks, "generate_session.json")
    reply = requests.get(
        kite.root + "/connect/login",
        params={"api_key": kite.api_key, "v": "3"},
        allow_redirects=False,
        timeout=10,
    )
    assert reply.status_code == 302
    session = KiteConnect(kite.api_key, root=kite.root)
    token = reply.headers["Location"].split("request_token=")[1].split("&")[0]
    data = session.generate_session(token, api_secret="sim_api_secret")
    assert set(sample) <= set(data)
