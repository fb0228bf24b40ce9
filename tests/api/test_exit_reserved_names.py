"""An exit may not take a name the desk gives its own orders, as a signal may not: the same
status, the same words, and nothing asked of the desk; ``orderdesk exit`` exits as ``orderdesk
place`` does for the same name, before any daemon is asked."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from orderdesk.api.exit_schemas import ExitIn
from orderdesk.cli import _register_commands, app
from orderdesk.domain.signal import RESERVED_STRATEGIES, reserved_strategy
from tests.api.conftest import Api

_register_commands()
runner = CliRunner()

RESERVED = sorted(RESERVED_STRATEGIES)
SIGNAL = {
    "instrument": "NSE:INFY",
    "side": "BUY",
    "quantity": 1,
    "order_type": "LIMIT",
    "product": "CNC",
    "price": "1400",
}
NOWHERE = "http://127.0.0.1:9"
"""No daemon: a command that got as far as asking one would exit 1, not 3."""


async def _post(api: Api, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with api.client.post(path, json=body) as response:
        return response.status, await response.json()


def test_the_reserved_names_are_the_desks_three() -> None:
    assert RESERVED == ["account_exit", "external", "square_off"]


@pytest.mark.parametrize("name", RESERVED)
async def test_an_exit_is_refused_as_a_signal_is(api: Api, name: str) -> None:
    """``{"strategy": "external"}`` and its kin: 422 with the signal's words, no exit asked."""
    signal_status, signal_reply = await _post(api, "/api/signals", {**SIGNAL, "strategy": name})
    exit_status, exit_reply = await _post(
        api,
        "/api/positions/exit",
        {"instrument": "NSE:SBIN", "product": "CNC", "strategy": name},
    )
    assert exit_status == signal_status == 422, exit_reply
    reason = reserved_strategy(name)
    assert reason is not None
    assert reason in str(exit_reply)
    assert reason in str(signal_reply)
    assert "strategy" in str(exit_reply)
    assert api.desk.exits == []


async def test_any_other_strategy_still_reaches_the_desk(api: Api) -> None:
    """A strategy's own name, or none, is an exit as before."""
    for body in (
        {"instrument": "NSE:SBIN", "product": "CNC", "strategy": "alpha"},
        {"instrument": "NSE:SBIN", "product": "CNC"},
    ):
        status, reply = await _post(api, "/api/positions/exit", body)
        assert status == 200, reply
    assert [call["strategy"] for call in api.desk.exits] == ["alpha", "manual"]


@pytest.mark.parametrize("name", RESERVED)
def test_the_request_model_refuses_it_for_the_client_and_the_cli(name: str) -> None:
    """The model the client and the CLI build refuses it too, before anything is sent."""
    with pytest.raises(ValueError, match="the name of the desk's own orders"):
        ExitIn(instrument="NSE:RELIANCE", product="CNC", strategy=name)


@pytest.mark.parametrize("name", RESERVED)
def test_orderdesk_exit_exits_as_orderdesk_place_does(name: str) -> None:
    """``orderdesk exit NSE:RELIANCE --strategy square_off``: refused, exit 3 naming the field,
    the code ``orderdesk place`` gives the same name; no daemon was asked."""
    exited = runner.invoke(
        app, ["exit", "NSE:RELIANCE", "--strategy", name, "--product", "CNC", "--url", NOWHERE]
    )
    placed = runner.invoke(
        app,
        [
            *("place", "NSE:RELIANCE", "BUY", "1", "--type", "LIMIT", "--price", "1400"),
            *("--strategy", name, "--url", NOWHERE),
        ],
    )
    assert exited.exit_code == placed.exit_code == 3, (exited.output, placed.output)
    assert "strategy" in exited.output
    assert "the name of the desk's own orders" in exited.output
