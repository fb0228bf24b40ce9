"""Kite postbacks (webhooks): verify the checksum, drop duplicates, hand the order on.

Kite POSTs the raw order JSON, plus ``checksum = hex(sha256(order_id + order_timestamp +
api_secret))``, to the app's postback URL when an order placed with that api_key changes state
(KITE_API.md §11). Anyone who knows the URL can POST to it, so a body is trusted only after the
checksum matches; a forged or malformed body is answered 401 and changes nothing — in particular
it does not occupy the dedupe key of the genuine postback that may follow.

The checksum signs the order id and its timestamp, nothing else: a captured postback replayed
with another ``status``, ``filled_quantity`` or ``status_message`` verifies all the same. A
verified body proves only that Kite spoke of that order; the Kite adapter reads the order's
state from Kite's REST API on it and never takes the body's word (``KiteBroker._on_postback``).

Kite gives no ordering or exactly-once guarantee, so a postback equal on (order_id, status,
filled_quantity, order_timestamp) to one already handled is acknowledged and ignored.

Two layers: :func:`verify_postback` and :class:`PostbackDeduper` are framework-agnostic;
:class:`PostbackReceiver` wires them into an aiohttp handler.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from aiohttp import web

__all__ = [
    "PostbackDeduper",
    "PostbackError",
    "PostbackKey",
    "PostbackReceiver",
    "postback_checksum",
    "postback_key",
    "verify_postback",
]


class PostbackError(ValueError):
    """A postback that is malformed or whose checksum does not match (treat as forged).

    The message names what was wrong, never the expected checksum or the secret.
    """


class PostbackKey(NamedTuple):
    """What makes two postbacks the same update."""

    order_id: str
    status: str
    filled_quantity: int
    order_timestamp: str


_REQUIRED_STR = ("order_id", "order_timestamp", "status", "checksum")


def postback_checksum(order_id: str, order_timestamp: str, api_secret: str) -> str:
    """Kite's postback checksum: hex SHA-256 of the three strings concatenated."""
    return hashlib.sha256((order_id + order_timestamp + api_secret).encode()).hexdigest()


def verify_postback(body: bytes, api_secret: str) -> dict[str, Any]:
    """Parse and authenticate a postback body; return the order dict as Kite sent it.

    Raises :class:`PostbackError` for anything that is not a JSON object with string
    ``order_id``, ``order_timestamp``, ``status`` and ``checksum``, an integer
    ``filled_quantity``, and a checksum matching ``api_secret``.
    """
    if not api_secret:
        raise ValueError("api_secret is empty; postbacks cannot be verified")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PostbackError("body is not JSON") from None
    if not isinstance(payload, dict):
        raise PostbackError("body is not a JSON object")
    for name in _REQUIRED_STR:
        if not isinstance(payload.get(name), str):
            raise PostbackError(f"{name} missing or not a string")
    filled = payload.get("filled_quantity")
    if isinstance(filled, bool) or not isinstance(filled, int):
        raise PostbackError("filled_quantity missing or not an integer")
    expected = postback_checksum(payload["order_id"], payload["order_timestamp"], api_secret)
    # Constant-time, on bytes: compare_digest refuses non-ASCII str, and the field is untrusted.
    if not hmac.compare_digest(expected.encode(), payload["checksum"].lower().encode()):
        raise PostbackError("checksum mismatch")
    return payload


def postback_key(payload: dict[str, Any]) -> PostbackKey:
    """The dedupe key of a verified postback."""
    return PostbackKey(
        payload["order_id"],
        payload["status"],
        payload["filled_quantity"],
        payload["order_timestamp"],
    )


class PostbackDeduper:
    """A bounded memory of postbacks already handled (oldest forgotten first).

    ``claim`` marks a key before the update is handled, so a duplicate arriving concurrently
    is refused; ``release`` undoes the claim when handling failed, so Kite's retry is not lost.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._seen: OrderedDict[PostbackKey, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, key: object) -> bool:
        return key in self._seen

    def claim(self, key: PostbackKey) -> bool:
        """Record ``key``; False if it was already recorded (a duplicate)."""
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True

    def release(self, key: PostbackKey) -> None:
        """Forget ``key`` (its handling failed and it may be delivered again)."""
        self._seen.pop(key, None)


class PostbackReceiver:
    """An aiohttp handler for Kite postbacks: ``app.router.add_post(path, receiver.handle)``.

    ``on_update`` receives each new verified order dict once. Answers: 200 for a handled or
    duplicate postback, 401 for a forged or malformed one (no side effect), and 500 if
    ``on_update`` raises (the claim is released so a retry is processed).
    """

    def __init__(
        self,
        api_secret: str,
        on_update: Callable[[dict[str, Any]], Awaitable[None]],
        *,
        dedupe: PostbackDeduper | None = None,
    ) -> None:
        if not api_secret:
            raise ValueError("api_secret is empty; postbacks cannot be verified")
        self._api_secret = api_secret
        self._on_update = on_update
        self.dedupe = dedupe if dedupe is not None else PostbackDeduper()

    def __repr__(self) -> str:
        return f"PostbackReceiver(seen={len(self.dedupe)})"  # never the secret

    async def receive(self, body: bytes) -> tuple[int, str]:
        """Verify, dedupe and dispatch one postback body; returns (HTTP status, text).

        Framework-agnostic so that any web server can mount it (the daemon's API does).
        """
        try:
            payload = verify_postback(body, self._api_secret)
        except PostbackError as exc:
            return 401, f"invalid postback: {exc}"
        key = postback_key(payload)
        if not self.dedupe.claim(key):
            return 200, "duplicate"
        try:
            await self._on_update(payload)
        except BaseException:
            self.dedupe.release(key)
            raise
        return 200, "ok"

    async def handle(self, request: web.Request) -> web.Response:
        """The aiohttp handler around :meth:`receive`."""
        status, text = await self.receive(await request.read())
        return web.Response(status=status, text=text)
