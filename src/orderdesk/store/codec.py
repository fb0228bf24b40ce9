"""Events to canonical JSON and back, through msgspec, driven by the dataclasses' own type hints.

The event store hashes each row's payload text, so that text is a pure function of the event:
keys sorted (a nested dataclass's fields too), no whitespace, non-ASCII kept as UTF-8, Decimals
as strings (no float rounding), enums by value, dates as ``YYYY-MM-DD``, tuples as arrays,
datetimes in UTC. The form is versioned, and a payload says which form it is in:

- **format 1**, every row written before msgspec: datetimes as ``2026-11-23T03:45:00.123456+00:00``
  and no marker;
- **format 2**, written now: datetimes as ``2026-11-23T03:45:00.123456Z`` (msgspec writes a zero
  offset so), and ``"_format":2`` as the first key.

The marker sits inside the payload, so the hash covers it and an export carries it; it sorts
before every field name (a test holds that), so a format-2 payload is still canonical JSON. The
two forms differ in nothing else (tests hold both to a plain reference walk, and a log written
by the format-1 codec to its recorded head). Verifying a row needs neither: the chain hashes the
stored text and checks it is canonical JSON, never re-encoding the event. Decoding reads both,
as both spellings of a time are ISO 8601 (and an older orderdesk reads format 2 the same way);
:func:`from_record` refuses a format newer than :data:`FORMAT` rather than guess at it.

msgspec writes the bytes and builds the events; the codec only puts datetimes in UTC and refuses
naive ones first, as msgspec writes a time in whatever zone it carries. That step follows the
type hints, so it looks only at fields that can hold a datetime: values are trusted to be of
their declared types, which mypy --strict holds on ``src/`` (the codec no longer checks every
value's type at run time, so a float in a Decimal field is mypy's to catch).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, Final, Union

import msgspec

from orderdesk.domain.events import EVENT_TYPES, Event

JSONValue = Any

FORMAT: Final = 2
"""The canonical form :func:`canonical_text` writes."""

FORMAT_KEY: Final = "_format"
"""The payload key that names a payload's form; absent means format 1."""

_FORMAT_OPENING: Final = f'{{"{FORMAT_KEY}":{FORMAT},'
_ZERO = timedelta(0)

_Fix = Callable[[Any], Any]


def _refuse(value: object) -> Any:
    raise TypeError(f"cannot encode {type(value).__name__}")


_ENCODER = msgspec.json.Encoder(enc_hook=_refuse, decimal_format="string", order="sorted")


def canonical_json(payload: JSONValue) -> str:
    """The one byte-exact JSON form of plain JSON data (dict keys are strings)."""
    return _ENCODER.encode(payload).decode()


def is_canonical_json(text: str) -> bool:
    """Whether ``text`` is exactly :func:`canonical_json` of what it holds; raises ValueError
    for text that is not JSON."""
    return _ENCODER.encode(msgspec.json.decode(text)) == text.encode()


def canonical_text(event: Event) -> str:
    """The payload text the store writes and hashes for ``event``, in format 2."""
    body = _ENCODER.encode(_in_utc(event)).decode()
    # Every event has fields (``at`` at least), so the body opens with "{" and one of them.
    return _FORMAT_OPENING + body[1:]


def encode(value: object) -> JSONValue:
    """Any domain value as the JSON data its canonical form reads back as (no format marker)."""
    return msgspec.json.decode(_ENCODER.encode(_in_utc(value)))


def utc_isoformat(value: datetime) -> str:
    """An aware time as ISO 8601 in UTC with ``+00:00``, as ``value.astimezone(UTC).isoformat()``
    writes it: the store's ``at`` column, whose spelling has not changed with the format."""
    # msgspec writes the same digits with Z for the offset (a test holds the two equal):
    # 0.2 µs against 1.2 µs for isoformat() of an aware datetime (timeit, min of 9).
    text = _ENCODER.encode(_utc_datetime(value)).decode()
    return text[1:-2] + "+00:00"


def to_record(event: Event) -> tuple[str, dict[str, JSONValue]]:
    """``(type name, payload)``: the payload as the store holds it, format marker included."""
    payload = msgspec.json.decode(canonical_text(event))
    assert isinstance(payload, dict)
    return type(event).__name__, payload


def from_record(type_name: str, payload: dict[str, JSONValue]) -> Event:
    """The event a stored record describes, in either format; unknown types raise
    ``KeyError``, payloads that do not fit the type ``msgspec.ValidationError`` (a
    ValueError), and a format newer than this codec ValueError."""
    cls = EVENT_TYPES[type_name]
    form = payload.get(FORMAT_KEY, 1)
    if form != FORMAT and form != 1:
        raise ValueError(f"{type_name} payload is in format {form!r}; this codec reads 1 and 2")
    # msgspec ignores keys that are not fields (the marker) and gives a field missing from an
    # older row its default, calling __post_init__ as the constructor would.
    return msgspec.convert(payload, cls)


def decode(kind: Any, data: JSONValue) -> Any:
    """Rebuild a value of type hint ``kind`` from :func:`encode`'s output."""
    return msgspec.convert(data, kind)


# -- datetimes to UTC --------------------------------------------------------------------------


def _utc_datetime(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("naive datetimes are not stored; convert to UTC at the edge")
    # A zero offset in another zone (ZoneInfo("UTC"), London in winter) is written as Z too.
    if offset == _ZERO:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of Greenwich, 9999-12-31 west of it
        raise ValueError(f"{value.isoformat()} has no UTC time: out of datetime's range") from None


def _in_utc(value: Any) -> Any:
    """``value`` with every datetime in it in UTC: ``value`` itself when they all are (the
    usual case, which builds nothing), else a copy; raises ValueError for a naive datetime, or
    one whose instant has no UTC time in datetime's range."""
    kind: type = type(value)
    fix = _value_fix(kind)
    return value if fix is None else fix(value)


@cache
def _value_fix(kind: type) -> _Fix | None:
    """What puts a value of exactly ``kind`` in UTC, or None when it cannot hold a datetime."""
    if issubclass(kind, datetime):
        return _utc_datetime
    if dataclasses.is_dataclass(kind):
        return _dataclass_fix(kind)
    if issubclass(kind, tuple | list | frozenset | set):
        return _fix_collection
    if issubclass(kind, dict):
        return _fix_dict
    return None


def _fix_collection(value: Any) -> Any:
    items = [_in_utc(item) for item in value]
    if all(new is old for new, old in zip(items, value, strict=True)):
        return value
    return type(value)(items)


def _fix_dict(value: dict[Any, Any]) -> dict[Any, Any]:
    items = {key: _in_utc(item) for key, item in value.items()}
    return value if all(items[key] is item for key, item in value.items()) else items


_NO_DATETIME = (str, int, bool, Decimal, Enum, type(None))
"""Types whose values cannot be or hold a datetime (``date`` is checked apart: datetime is one)."""


def _hint_fix(hint: Any) -> _Fix | None:
    """What puts a field declared as ``hint`` in UTC, or None when it cannot hold a datetime."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        fixes = [_hint_fix(member) for member in members]
        if all(fix is None for fix in fixes):
            return None
        if len(fixes) > 1:
            return _in_utc
        return _optional(fixes[0])
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            item_fix = _hint_fix(args[0])
            return None if item_fix is None else _items(item_fix)
        return _in_utc
    if isinstance(hint, type) and origin is None:
        if hint is datetime:
            return _utc_datetime
        if hint is date or issubclass(hint, _NO_DATETIME):
            return None
        if dataclasses.is_dataclass(hint):
            return _value_fix(hint)
    return _in_utc  # Any, object, list[...], dict[...]: look at the value itself


def _optional(fix: _Fix | None) -> _Fix:
    assert fix is not None

    def fix_optional(value: Any) -> Any:
        return value if value is None else fix(value)

    return fix_optional


def _items(fix: _Fix) -> _Fix:
    def fix_items(value: tuple[Any, ...]) -> tuple[Any, ...]:
        if not value:
            return value
        items = [fix(item) for item in value]
        for new, old in zip(items, value, strict=True):
            if new is not old:
                return tuple(items)
        return value

    return fix_items


def _dataclass_fix(kind: type) -> _Fix | None:
    # From the type hints, once per class: the fields that can hold a datetime, and nothing
    # else. Passing every field's value through _in_utc instead took canonical_text of a bench
    # event from 2.8 to 5.5 µs of CPU (median of 7 over 12,000 events, 3 interleaved runs).
    hints = typing.get_type_hints(kind)
    fixes = [
        (field.name, fix)
        for field in dataclasses.fields(kind)
        if (fix := _hint_fix(hints[field.name])) is not None
    ]
    if not fixes:
        return None

    def fix_fields(value: Any) -> Any:
        changes: dict[str, Any] | None = None
        for name, fix in fixes:
            old = getattr(value, name)
            new = fix(old)
            if new is not old:
                changes = changes or {}
                changes[name] = new
        return value if changes is None else dataclasses.replace(value, **changes)

    return fix_fields


__all__ = [
    "FORMAT",
    "FORMAT_KEY",
    "canonical_json",
    "canonical_text",
    "decode",
    "encode",
    "from_record",
    "is_canonical_json",
    "to_record",
    "utc_isoformat",
]
