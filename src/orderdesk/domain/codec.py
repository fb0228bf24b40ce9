"""Events to JSON-ready dicts and back, driven by the dataclasses' own type hints.

The event store writes ``canonical_json(to_payload(event))`` and hashes it, so the encoding must
be deterministic: Decimals as strings (no float rounding), datetimes as ISO-8601 UTC, enums by
value, nested dataclasses as dicts with sorted keys (sorting happens in canonical_json).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, Union

from orderdesk.domain.events import EVENT_TYPES, Event

JSONValue = Any


def encode(value: object) -> JSONValue:
    """Any domain value as JSON-ready data."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; convert to UTC at the edge")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, tuple | list | frozenset | set):
        items = [encode(item) for item in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: encode(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.init and f.repr
        }
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    raise TypeError(f"cannot encode {type(value).__name__}")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(kind: Any, data: JSONValue) -> Any:
    """Rebuild a value of type ``kind`` from :func:`encode`'s output."""
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(kind) if a is not type(None)]
        if data is None:
            return None
        return decode(members[0], data)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(decode(item, x) for x in data)
    if kind is Any:
        return data
    if isinstance(kind, type):
        if issubclass(kind, Enum):
            return kind(data)
        if kind is Decimal:
            return Decimal(data)
        if kind is datetime:
            return datetime.fromisoformat(data)
        if kind in (int, str, bool):
            return data
        if dataclasses.is_dataclass(kind):
            hints = _hints(kind)
            init = {
                f.name: decode(hints[f.name], data[f.name])
                for f in dataclasses.fields(kind)
                if f.init and f.name in data
            }
            return kind(**init)
    if origin is dict:
        return data
    raise TypeError(f"cannot decode {kind!r}")


def to_record(event: Event) -> tuple[str, dict[str, JSONValue]]:
    """``(type name, payload)`` for the store."""
    payload = encode(event)
    assert isinstance(payload, dict)
    return type(event).__name__, payload


def from_record(type_name: str, payload: dict[str, JSONValue]) -> Event:
    """The event a stored record describes; unknown types raise ``KeyError``."""
    cls = EVENT_TYPES[type_name]
    event = decode(cls, payload)
    assert isinstance(event, Event)
    return event


def canonical_json(payload: JSONValue) -> str:
    """The one byte-exact JSON form that the hash chain covers."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


__all__ = ["canonical_json", "decode", "encode", "from_record", "to_record"]
