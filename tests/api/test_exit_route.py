"""``POST /api/positions/exit``: the request reaches the desk with its overrides, a position
that is not there is said so, and a bad override is refused naming the field."""

from __future__ import annotations

from decimal import Decimal

from tests.api.conftest import Api


async def test_overrides_reach_the_desk_and_nothing_to_exit_is_said(api: Api) -> None:
    """Each escalation setting of the request is handed to the desk; no position: no order."""
    body = {
        "instrument": "NSE:INFY",
        "product": "MIS",
        "strategy": "alpha",
        "reprice_after_seconds": 2.5,
        "max_reprices": 4,
        "band_percent": "1.5",
    }
    async with api.client.post("/api/positions/exit", json=body) as response:
        assert response.status == 200
        reply = await response.json()
    assert reply == {
        "order": None,
        "detail": "no MIS position in NSE:INFY",
        "cancelled": [],
        "warnings": [],
    }
    assert api.desk.exits == [
        {
            "instrument": "NSE:INFY",
            "product": "MIS",
            "strategy": "alpha",
            "reprice_after": 2.5,
            "max_reprices": 4,
            "band_percent": Decimal("1.5"),
            "cancel_working": True,
        }
    ]


async def test_left_out_settings_are_the_configs(api: Api) -> None:
    """Without overrides the desk gets None for each setting: ``[exit]``'s apply."""
    body = {"instrument": "NSE:INFY", "product": "CNC"}
    async with api.client.post("/api/positions/exit", json=body) as response:
        assert response.status == 200
    (call,) = api.desk.exits
    assert (call["reprice_after"], call["max_reprices"], call["band_percent"]) == (None, None, None)


async def test_a_bad_override_is_refused_naming_the_field(api: Api) -> None:
    """A band of 50% is beyond what an exit may go: 422 naming band_percent, nothing asked."""
    body = {"instrument": "NSE:INFY", "product": "MIS", "band_percent": "50"}
    async with api.client.post("/api/positions/exit", json=body) as response:
        assert response.status == 422
        text = await response.text()
    assert "band_percent" in text
    assert api.desk.exits == []


async def test_a_strategys_share_against_the_account_is_said_so(api: Api) -> None:
    """Gamma short 3 while alpha's 10 keep the account long 7: gamma's exit placed nothing and
    said "no MIS position in NSE:INFY" while positions showed INFY MIS +7."""
    for strategy, side, quantity in (("alpha", "BUY", 10), ("gamma", "SELL", 3)):
        signal = {
            "instrument": "NSE:INFY",
            "side": side,
            "quantity": quantity,
            "order_type": "MARKET",
            "product": "MIS",
            "strategy": strategy,
        }
        async with api.client.post("/api/signals", json=signal) as response:
            placed = await response.json()
        api.desk.fill(placed["order"]["order_id"], Decimal("1500"))
    exits = {"instrument": "NSE:INFY", "product": "MIS"}

    async with api.client.post("/api/positions/exit", json={**exits, "strategy": "gamma"}) as r:
        gamma = await r.json()
    async with api.client.post("/api/positions/exit", json={**exits, "strategy": "beta"}) as r:
        beta = await r.json()

    assert gamma["detail"] == (
        "nothing to exit for strategy gamma: its MIS share in NSE:INFY (-3) is against the "
        "account's position (+7), and an exit never adds to the account's exposure; close it "
        "with a signal"
    )
    assert beta["detail"] == "strategy beta holds no MIS position in NSE:INFY"


async def test_a_strategys_share_offset_by_another_is_said_so(api: Api) -> None:
    """Alpha long 4 and gamma short 4: the account holds nothing, and alpha's exit said only
    "no MIS position in NSE:INFY" while alpha's share showed +4 on the desk."""
    for strategy, side in (("alpha", "BUY"), ("gamma", "SELL")):
        signal = {
            "instrument": "NSE:INFY",
            "side": side,
            "quantity": 4,
            "order_type": "MARKET",
            "product": "MIS",
            "strategy": strategy,
        }
        async with api.client.post("/api/signals", json=signal) as response:
            placed = await response.json()
        api.desk.fill(placed["order"]["order_id"], Decimal("1500"))
    body = {"instrument": "NSE:INFY", "product": "MIS", "strategy": "alpha"}

    async with api.client.post("/api/positions/exit", json=body) as response:
        alpha = await response.json()

    assert alpha["detail"] == (
        "nothing to exit for strategy alpha: its MIS share in NSE:INFY (+4) is offset by other "
        "strategies' (the account holds none there), and an exit never adds to the account's "
        "exposure; close it with a signal"
    )
