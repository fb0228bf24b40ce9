"""Postback verification, deduplication and the aiohttp receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st

from orderdesk.brokers.kite.postback import (
    PostbackDeduper,
    PostbackError,
    PostbackKey,
    PostbackReceiver,
    postback_checksum,
    postback_key,
    verify_postback,
)

SECRET = "test-api-secret-do-not-log"


def signed(payload: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    """The payload with the checksum Kite would compute for ``secret``."""
    checksum = postback_checksum(payload["order_id"], payload["order_timestamp"], secret)
    return payload | {"checksum": checksum}


def body(payload: Any) -> bytes:
    """A raw postback body."""
    return json.dumps(payload).encode()


@pytest.fixture
def sample(kite_mocks: Path) -> dict[str, Any]:
    """The upstream postback sample, re-signed with our test secret."""
    return signed(json.loads((kite_mocks / "postback.json").read_text()))


def test_the_sample_verifies_and_comes_back_unchanged(sample: dict[str, Any]) -> None:
    """A correctly signed sample postback verifies and is returned as sent."""
    assert verify_postback(body(sample), SECRET) == sample


def test_checksum_is_sha256_of_order_id_timestamp_and_secret() -> None:
    """The checksum is the hex SHA-256 of order_id + order_timestamp + api_secret."""
    assert postback_checksum("1", "2", "3") == (
        "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3"  # sha256(b"123")
    )


def test_the_samples_own_checksum_fails_under_another_secret(kite_mocks: Path) -> None:
    """The unmodified sample (signed with Zerodha's unknown secret) is refused under ours."""
    raw = (kite_mocks / "postback.json").read_bytes()
    with pytest.raises(PostbackError, match="checksum") as exc_info:
        verify_postback(raw, SECRET)
    assert SECRET not in str(exc_info.value)
    assert json.loads(raw)["checksum"] not in str(exc_info.value)


@given(
    field=st.sampled_from(["order_id", "order_timestamp", "checksum"]),
    replacement=st.text(max_size=70),
)
def test_changing_any_signed_field_breaks_the_checksum(field: str, replacement: str) -> None:
    """Altering order_id, order_timestamp or checksum after signing makes the postback forged."""
    good = signed(
        {
            "order_id": "220303000308932",
            "order_timestamp": "2022-03-03 09:24:25",
            "status": "COMPLETE",
            "filled_quantity": 1,
        }
    )
    if replacement == good[field] or (field == "checksum" and replacement == good[field].upper()):
        return
    with pytest.raises(PostbackError) as exc_info:
        verify_postback(body(good | {field: replacement}), SECRET)
    assert "checksum" in str(exc_info.value)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (
            body({"order_timestamp": "t", "status": "s", "checksum": "c", "filled_quantity": 1}),
            "order_id",
        ),
        (
            body(
                {
                    "order_id": 5,
                    "order_timestamp": "t",
                    "status": "s",
                    "checksum": "c",
                    "filled_quantity": 1,
                }
            ),
            "order_id",
        ),
        (
            body(
                {
                    "order_id": "1",
                    "order_timestamp": "t",
                    "status": "s",
                    "checksum": "c",
                    "filled_quantity": True,
                }
            ),
            "filled_quantity",
        ),
        (
            body(
                {
                    "order_id": "1",
                    "order_timestamp": "t",
                    "status": "s",
                    "checksum": "ü",
                    "filled_quantity": 1,
                }
            ),
            "checksum mismatch",
        ),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    """Non-JSON, non-objects, missing or mistyped fields and non-ASCII checksums are refused."""
    with pytest.raises(PostbackError) as exc_info:
        verify_postback(raw, SECRET)
    assert reason in str(exc_info.value)


def test_an_empty_secret_is_a_programming_error() -> None:
    """Verifying with an empty secret is refused outright instead of accepting sha256(id+ts)."""
    payload = signed(
        {"order_id": "1", "order_timestamp": "t", "status": "s", "filled_quantity": 0}, secret=""
    )
    with pytest.raises(ValueError, match="empty") as exc_info:
        verify_postback(body(payload), "")
    assert not isinstance(exc_info.value, PostbackError)


def test_deduper_refuses_repeats_forgets_the_oldest_and_releases() -> None:
    """A claimed key is refused again; capacity evicts the oldest; release allows a retry."""
    dedupe = PostbackDeduper(capacity=2)
    a, b, c = (PostbackKey(str(i), "COMPLETE", 1, "2022-03-03 09:24:25") for i in range(3))
    assert dedupe.claim(a)
    assert not dedupe.claim(a)
    assert dedupe.claim(b)
    assert dedupe.claim(c)
    assert a not in dedupe
    assert len(dedupe) == 2
    dedupe.release(c)
    assert dedupe.claim(c)


def test_the_dedupe_key_ignores_fields_outside_the_key(sample: dict[str, Any]) -> None:
    """Two postbacks differing only in non-key fields share one dedupe key."""
    assert postback_key(sample) == postback_key(sample | {"average_price": 471, "guid": "x"})
    assert postback_key(sample) != postback_key(sample | {"filled_quantity": 0})


@dataclass
class Harness:
    """A PostbackReceiver mounted on a local server; updates land in ``received``."""

    receiver: PostbackReceiver
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    failures_left: int = 0


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    """A running receiver whose downstream fails ``failures_left`` times before succeeding."""
    received: list[dict[str, Any]] = []
    h: Harness

    async def on_update(order: dict[str, Any]) -> None:
        if h.failures_left:
            h.failures_left -= 1
            raise RuntimeError("downstream unavailable")
        received.append(order)

    receiver = PostbackReceiver(SECRET, on_update)
    app = web.Application()
    app.router.add_post("/postback", receiver.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    h = Harness(receiver, str(server.make_url("/postback")), received)
    try:
        yield h
    finally:
        await server.close()


async def test_receiver_handles_once_ignores_duplicates_and_refuses_forgeries(
    harness: Harness, sample: dict[str, Any]
) -> None:
    """Forged → 401 with no side effect; genuine → 200 once; a duplicate → 200 and ignored."""
    receiver, received, url = harness.receiver, harness.received, harness.url
    guess = postback_checksum(sample["order_id"], sample["order_timestamp"], "guess")
    forged = sample | {"checksum": guess}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=body(forged)) as r:
            assert (r.status, await r.text()) == (401, "invalid postback: checksum mismatch")
        async with http.post(url, data=b"garbage") as r:
            assert r.status == 401
        assert received == []
        assert len(receiver.dedupe) == 0  # the forgery did not take the genuine one's key
        statuses = []
        for _ in range(2):
            async with http.post(url, data=body(sample)) as r:
                statuses.append((r.status, await r.text()))
    assert statuses == [(200, "ok"), (200, "duplicate")]
    assert received == [sample]
    assert SECRET not in repr(receiver)


async def test_a_failed_handler_releases_the_key_so_a_retry_is_processed(
    harness: Harness, sample: dict[str, Any]
) -> None:
    """If on_update raises, Kite gets a 500 and the same postback is handled when retried."""
    received, url = harness.received, harness.url
    harness.failures_left = 1
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=body(sample)) as r:
            assert r.status == 500
        async with http.post(url, data=body(sample)) as r:
            assert r.status == 200
    assert received == [sample]
