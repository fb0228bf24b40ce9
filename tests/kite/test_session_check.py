"""KiteBroker.renew_session asks Kite about a token before switching to it: a refused one
changes nothing, so a mis-pasted token cannot end the session the desk is working with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orderdesk.brokers.kite import create_broker
from orderdesk.brokers.kite.errors import TokenException
from tests.kite.test_broker import _context, _ok
from tests.support import eventually

from .conftest import ACCESS_TOKEN, API_KEY, FakeKite, Reply

WRONG = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
FRESH = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def _options(root: str) -> dict[str, Any]:
    return {
        "api_key": API_KEY,
        "root": root,
        "stream": "poll",
        "poll_interval_seconds": 0.01,
        "rate_limits_enabled": False,
    }


def _poll_tokens(fake_kite: FakeKite, start: int = 0) -> list[str]:
    """The access tokens of the order-book polls seen from request ``start`` on."""
    return [
        s.headers["Authorization"].removeprefix(f"token {API_KEY}:")
        for s in fake_kite.seen[start:]
        if s.path == "/orders"
    ]


async def test_a_refused_token_changes_nothing_and_an_accepted_one_is_used(
    fake_kite: FakeKite, tmp_path: Path, no_backoff: None
) -> None:
    """A token Kite refuses at the profile check raises TokenException without its value, and
    REST, the stream and the secret store go on with the token in use; one Kite accepts is used
    from then on."""
    fake_kite.on("GET", "/orders", _ok([]))
    fake_kite.on("GET", "/trades", _ok([]))
    fake_kite.on(
        "GET",
        "/user/profile",
        Reply.error(403, "TokenException", "Incorrect `api_key` or `access_token`."),
        _ok({"user_id": "AB1234"}),
    )
    context = _context(tmp_path, kite__access_token=ACCESS_TOKEN)
    async with create_broker(_options(fake_kite.root), context) as broker:
        with pytest.raises(TokenException) as refused:
            await broker.renew_session(WRONG)
        start = len(fake_kite.seen)
        after_refusal = await eventually(
            lambda: _poll_tokens(fake_kite, start), what="a poll after the refusal"
        )
        stored_after_refusal = context.secrets.get("kite.access_token")
        await broker.renew_session(FRESH)
        await eventually(lambda: FRESH in _poll_tokens(fake_kite), what="a poll with FRESH")

    checks = [s.headers["Authorization"] for s in fake_kite.seen if s.path == "/user/profile"]
    assert checks == [f"token {API_KEY}:{WRONG}", f"token {API_KEY}:{FRESH}"]
    assert WRONG not in str(refused.value)
    assert set(after_refusal) == {ACCESS_TOKEN}
    assert WRONG not in _poll_tokens(fake_kite)  # nothing but the check ever carried it
    assert stored_after_refusal == ACCESS_TOKEN
    assert context.secrets.get("kite.access_token") == FRESH
