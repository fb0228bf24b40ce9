"""The app's numeric id: Kite reports it in postbacks, in the ticker's order messages and in the
``meta`` of the order a GTT places (KITE_API.md §11, ``kite-mocks/gtt_get_order.json``); the
simulator reports one stable, non-zero id everywhere, configured or derived from the api_key."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from kiteconnect import KiteConnect

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.support import eventually

from .conftest import SimControl
from .test_sim_updates import LIMIT_BUY, _place, _postback_receiver


@pytest.fixture
def sim_config(sim_config: SimConfig) -> SimConfig:
    """The suite's config with an app id of Kite's sample."""
    sim_config.app_id = 12617
    return sim_config


def test_the_app_id_is_derived_from_the_api_key_unless_given() -> None:
    """The same api_key always gives the same five-digit id, another key another id, and a
    configured id wins; 0 or less is refused."""
    derived = SimConfig(api_key="sim_api_key").effective_app_id
    assert derived == SimConfig(api_key="sim_api_key").effective_app_id
    assert 10_000 <= derived <= 99_999
    assert SimConfig(api_key="another_key").effective_app_id != derived
    assert SimConfig(app_id=12617).effective_app_id == 12617
    with pytest.raises(ValueError, match="app_id"):
        SimConfig(app_id=0)


@pytest.mark.parametrize("app_id", [None, 4321], ids=["derived", "configured"])
async def test_postbacks_and_ticker_messages_carry_the_apps_id(
    sim_config: SimConfig, app_id: int | None
) -> None:
    """A cancelled order's postback and its ticker message both carry the app id, derived or
    configured, never 0."""
    sim_config.app_id = app_id
    expected = sim_config.effective_app_id
    received: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    async with _postback_receiver(received) as hook_url:
        sim_config.postback_url = hook_url
        async with SimServer(sim_config) as sim, aiohttp.ClientSession() as http:
            sim.market.set_prices({"NSE:INFY": 1500})
            token = sim.issue_access_token()
            url = f"{sim.ws_url}?api_key={sim.config.api_key}&access_token={token}"
            async with http.ws_connect(url) as ws:
                order_id = await _place(http, sim, token, **LIMIT_BUY)
                headers = {"Authorization": f"token {sim.config.api_key}:{token}"}
                cancel = f"{sim.rest_root}/orders/regular/{order_id}"
                async with http.delete(cancel, headers=headers) as reply:
                    assert reply.status == 200

                async def cancelled() -> bool:
                    msg = await ws.receive(timeout=5)
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        messages.append(json.loads(msg.data))
                    return any(m["data"].get("status") == "CANCELLED" for m in messages)

                await eventually(cancelled, what="the CANCELLED order message")
            await eventually(lambda: received, what="the CANCELLED postback")
    (pushed,) = [m["data"] for m in messages if m["type"] == "order"]
    (posted,) = received
    assert expected != 0
    assert (pushed["app_id"], posted["app_id"]) == (expected, expected)


def test_the_order_a_gtt_places_names_the_app_in_its_meta(
    kite: KiteConnect, simctl: SimControl, sim_thread: SimServer
) -> None:
    """A fired GTT's order result carries ``meta`` as Kite's sample writes it: compact JSON
    text with the app id and the trigger id."""
    simctl.prices({"NSE:INFY": 1500})
    order = {
        "transaction_type": "BUY",
        "quantity": 1,
        "order_type": "LIMIT",
        "product": "CNC",
        "price": 1451,
    }
    trigger_id = kite.place_gtt("single", "INFY", "NSE", [1450], 1500, [order])["trigger_id"]
    simctl.prices({"NSE:INFY": 1450})

    result = kite.get_gtt(trigger_id)["orders"][0]["result"]

    assert sim_thread.config.effective_app_id == 12617
    assert result["meta"] == f'{{"app_id":12617,"gtt":{trigger_id}}}'
    assert json.loads(result["meta"]) == {"app_id": 12617, "gtt": trigger_id}
