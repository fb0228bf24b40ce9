"""A request body at the API's edges: a key given twice is refused on every route (it was won
by its last value), a body nested past the interpreter's depth is a 400 (it was a 500), free
text an operator reads is one line, and the 400s and 422s for a body that is not JSON say why.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import Api

SIGNAL: dict[str, Any] = {
    "instrument": "NSE:INFY",
    "side": "BUY",
    "quantity": 10,
    "order_type": "LIMIT",
    "product": "CNC",
    "price": "1500.05",
}
JSON = {"Content-Type": "application/json"}
# Taken by the signal path (plain application/json) and by FastAPI's route (with a charset).
SIGNAL_CONTENT_TYPES = ["application/json", "application/json; charset=utf-8"]


def _signal_with(repeat: str) -> bytes:
    """The signal's JSON with a second ``repeat`` member added at its end."""
    second = {"side": "SELL", "quantity": 500}[repeat]
    return json.dumps(SIGNAL).encode()[:-1] + f', "{repeat}": {json.dumps(second)}}}'.encode()


async def _post(api: Api, path: str, body: bytes, content_type: str = "application/json") -> Any:
    async with api.client.post(path, data=body, headers={"Content-Type": content_type}) as reply:
        return reply.status, await reply.json()


@pytest.mark.parametrize("content_type", SIGNAL_CONTENT_TYPES)
@pytest.mark.parametrize("repeated", ["side", "quantity"])
async def test_a_signal_that_repeats_a_key_is_refused_naming_it(
    api: Api, content_type: str, repeated: str
) -> None:
    """``{"side": "BUY", …, "side": "SELL"}`` placed a SELL: it is a 422 naming the key, on
    the signal path and on FastAPI's route alike, and nothing is submitted."""
    status, answer = await _post(api, "/api/signals", _signal_with(repeated), content_type)
    assert status == 422, answer
    assert answer["error"] == "invalid_request"
    assert [f["field"] for f in answer["fields"]] == [repeated]
    assert "more than once" in answer["message"]
    assert api.desk.submitted == []


async def test_a_key_repeated_in_a_nested_object_is_refused(api: Api) -> None:
    """A repeat inside a nested object (an ATO's basket order) is found as well."""
    body = (
        b'{"name": "dip", "instrument": "NSE:INFY", "operator": "<=", "value": "1400",'
        b' "basket": [{"side": "BUY", "quantity": 1, "quantity": 500, "price": "1400"}]}'
    )
    status, answer = await _post(api, "/api/price-alerts", body)
    assert status == 422, answer
    assert [f["field"] for f in answer["fields"]] == ["quantity"]


async def test_the_kill_switch_is_not_released_by_a_repeated_key(api: Api) -> None:
    """``{"engaged": true, "engaged": false}`` released the switch; it is refused and the
    switch stays as it was."""
    status, _ = await _post(api, "/api/kill-switch", b'{"engaged": true}')
    assert status == 200
    status, answer = await _post(api, "/api/kill-switch", b'{"engaged": true, "engaged": false}')
    assert status == 422, answer
    assert [f["field"] for f in answer["fields"]] == ["engaged"]
    async with api.client.get("/api/kill-switch") as reply:
        assert (await reply.json())["engaged"] is True


async def test_a_modify_that_repeats_a_key_is_refused(api: Api) -> None:
    """``PATCH {"price": 1401, "price": 1402.5}`` of a working order is refused, the order's
    price unchanged."""
    status, placed = await _post(api, "/api/signals", json.dumps(SIGNAL).encode())
    assert status == 201, placed
    order_id = placed["order"]["order_id"]
    async with api.client.patch(
        f"/api/orders/{order_id}", data=b'{"price": "1401", "price": "1402.5"}', headers=JSON
    ) as reply:
        assert reply.status == 422
        assert [f["field"] for f in (await reply.json())["fields"]] == ["price"]
    async with api.client.get(f"/api/orders/{order_id}") as reply:
        assert (await reply.json())["price"] == "1500.05"


async def test_a_body_without_repeats_is_still_taken(api: Api) -> None:
    """The same keys once each, nested objects included, pass as before."""
    status, answer = await _post(api, "/api/signals", json.dumps(SIGNAL).encode())
    assert status == 201, answer
    status, answer = await _post(api, "/api/kill-switch", b'{"engaged": false, "reason": "ok"}')
    assert status == 200, answer


@pytest.mark.parametrize("content_type", SIGNAL_CONTENT_TYPES)
async def test_a_body_nested_too_deeply_is_a_400(
    api: Api, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``{"instrument": [[[…`` 2000 deep was a 500 and a RecursionError traceback on the
    signal path; it is a 400 ``invalid_json`` saying so, on both paths."""
    body = b'{"instrument":' + b"[" * 2000
    async with api.client.post(
        "/api/signals", data=body, headers={"Content-Type": content_type}
    ) as reply:
        status, text = reply.status, await reply.text()
    assert not [r for r in caplog.records if r.exc_info and r.exc_info[0] is RecursionError]
    assert status == 400, text
    answer = json.loads(text)
    assert answer["error"] == "invalid_json"
    assert answer["message"] == "the body is not valid JSON: it is nested too deeply"


@pytest.mark.parametrize(
    ("path", "field", "body"),
    [
        ("/api/kill-switch", "reason", {"engaged": True, "reason": "halt\x1b[2J"}),
        ("/api/kill-switch", "reason", {"engaged": True, "reason": "ok\nINFO forged line"}),
        ("/api/kill-switch", "reason", {"engaged": True, "reason": "c1\x9bcontrol"}),
        ("/api/approvals/a-1/reject", "reason", {"reason": "no\r\nINFO approved"}),
        (
            "/api/price-alerts",
            "name",
            {"name": "dip\x07", "instrument": "NSE:INFY", "operator": "<=", "value": "1400"},
        ),
    ],
)
async def test_control_characters_in_free_text_are_refused(
    api: Api, path: str, field: str, body: dict[str, Any]
) -> None:
    """A reason or an alert's name reaches the operator's terminal and the log: an ESC
    sequence or a newline in it is a 422 naming the field, and the switch stays released."""
    async with api.client.post(path, json=body) as reply:
        assert reply.status == 422
        answer = await reply.json()
    assert [f["field"] for f in answer["fields"]] == [field]
    assert "one line without control characters" in answer["message"]
    async with api.client.get("/api/kill-switch") as reply:
        assert (await reply.json())["engaged"] is False


async def test_printable_text_in_a_reason_is_taken(api: Api) -> None:
    """Printable text, beyond ASCII too, is a reason as before."""
    status, answer = await _post(
        api, "/api/kill-switch", json.dumps({"engaged": True, "reason": "₹ loss — halt"}).encode()
    )
    assert status == 200, answer


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"engaged": true, "reason": "\xff"}', "the body is not valid UTF-8 JSON"),
        (
            b'{"engaged": ' + b"1" * 5000 + b"}",
            "the body is not valid JSON: Exceeds the limit (4300 digits) for integer string "
            "conversion: value has 5000 digits",
        ),
    ],
)
async def test_a_body_json_cannot_read_says_why(api: Api, body: bytes, message: str) -> None:
    """A body that is not UTF-8, or holds a number past Python's digits, got FastAPI's "There
    was an error parsing the body"; it is a 400 ``invalid_json`` with the reason."""
    status, answer = await _post(api, "/api/kill-switch", body)
    assert status == 400, answer
    assert answer["error"] == "invalid_json"
    assert answer["message"] == message


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_not_sent_as_json_says_so(api: Api, content_type: str) -> None:
    """A body whose content type is not JSON got "body: Input should be a valid dictionary";
    the 422 says the body must be JSON with ``Content-Type: application/json``."""
    status, answer = await _post(api, "/api/kill-switch", b'{"engaged": true}', content_type)
    assert status == 422, answer
    assert answer["message"] == ("the body must be JSON, sent with Content-Type: application/json")
    assert [f["field"] for f in answer["fields"]] == ["body"]
