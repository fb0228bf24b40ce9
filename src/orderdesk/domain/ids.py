"""Client order ids: the idempotency key that travels to Kite as the order's ``tag``.

Kite's tag takes at most 20 characters and the docs say alphanumeric, so an id is ``"od"``
followed by 18 base-36 characters derived from a SHA-256 digest. Deriving it from the strategy
and the caller's signal id makes "submit the same signal twice" land on the same order without
any lookup table.
"""

from __future__ import annotations

import hashlib
import re

from orderdesk.domain.errors import ValidationError

CLIENT_ID_PREFIX = "od"
CLIENT_ID_LENGTH = 20
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_TAG = re.compile(r"^[A-Za-z0-9]{1,20}$")
_SIGNAL_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


def _base36(digest: bytes, length: int) -> str:
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, remainder = divmod(number, 36)
        chars.append(_ALPHABET[remainder])
    return "".join(chars)


def client_order_id(strategy: str, signal_id: str) -> str:
    """The order id for ``signal_id`` of ``strategy``: stable, 20 alphanumeric characters."""
    validate_signal_id(signal_id)
    digest = hashlib.sha256(f"{strategy}\x00{signal_id}".encode()).digest()
    return CLIENT_ID_PREFIX + _base36(digest, CLIENT_ID_LENGTH - len(CLIENT_ID_PREFIX))


def child_order_id(parent_id: str, index: int) -> str:
    """The id of slice ``index`` of a parent order (freeze-quantity slicing, baskets)."""
    digest = hashlib.sha256(f"{parent_id}\x00child\x00{index}".encode()).digest()
    return CLIENT_ID_PREFIX + _base36(digest, CLIENT_ID_LENGTH - len(CLIENT_ID_PREFIX))


def slice_order_id(parent_id: str, broker_order_id: str) -> str:
    """The id of a child the broker cut from ``parent_id``'s autoslice placement: derived from
    its broker order id, so the stream, a book read and reconciliation all name one order."""
    digest = hashlib.sha256(f"{parent_id}\x00slice\x00{broker_order_id}".encode()).digest()
    return CLIENT_ID_PREFIX + _base36(digest, CLIENT_ID_LENGTH - len(CLIENT_ID_PREFIX))


def leg_order_id(parent_id: str) -> str:
    """The id of a cover order's second leg (its stop), which the broker creates itself."""
    digest = hashlib.sha256(f"{parent_id}\x00leg".encode()).digest()
    return CLIENT_ID_PREFIX + _base36(digest, CLIENT_ID_LENGTH - len(CLIENT_ID_PREFIX))


def validate_tag(tag: str, *, field: str = "tag") -> str:
    """Kite's tag rule: 1 to 20 alphanumeric characters (longer tags are rejected, not cut)."""
    if not _TAG.match(tag):
        raise ValidationError(field, "must be 1 to 20 letters or digits")
    return tag


def validate_signal_id(signal_id: str) -> str:
    """A caller's signal id: 1 to 64 characters of letters, digits and ``_ . : -``."""
    if not _SIGNAL_ID.match(signal_id):
        raise ValidationError("signal_id", "must be 1 to 64 letters, digits or _ . : -")
    return signal_id


__all__ = [
    "CLIENT_ID_LENGTH",
    "child_order_id",
    "client_order_id",
    "leg_order_id",
    "slice_order_id",
    "validate_signal_id",
    "validate_tag",
]
