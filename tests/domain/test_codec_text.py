"""``canonical_text`` writes exactly the bytes of ``canonical_json(encode(value))``.

The store hashes and persists ``canonical_text(event)``, while verification re-derives the
canonical form through ``canonical_json``: any difference between the two would make a freshly
written row fail ``verify``, or change the hash chain's definition.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from orderdesk.domain import Event, KillSwitchChanged, OrderStatus, Side, Variety
from orderdesk.domain.codec import canonical_json, canonical_text, encode
from orderdesk.domain.events import EVENT_TYPES
from tests.domain.test_codec import every_event


class Colour(Enum):
    """A plain (not str) enum: written through its value rather than as a str subclass."""

    RED = "red"
    ONE = 1
    NONE = None


class Level(IntEnum):
    """An int subclass: written as its int, the way json writes int subclasses."""

    LOW = 1
    HIGH = 2**40


@dataclasses.dataclass(frozen=True)
class Nested:
    """A dataclass outside the event registry, with fields out of alphabetical order and
    fields that encode() leaves out (``init=False`` and ``repr=False``)."""

    zeta: object
    alpha: object
    hidden: int = dataclasses.field(default=0, repr=False)
    derived: int = dataclasses.field(default=0, init=False)


def two_step(value: object) -> str:
    """The definition canonical_text is held to."""
    return canonical_json(encode(value))


def test_the_samples_cover_every_event_type() -> None:
    """The per-event test below sees every type the store can be asked to write."""
    assert {type(event).__name__ for event in every_event()} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", every_event(), ids=lambda e: type(e).__name__)
def test_every_event_type_is_byte_identical(event: Event) -> None:
    """Each event type's text equals canonical_json of its payload, first and cached call."""
    expected = two_step(event)
    assert canonical_text(event) == expected
    # Again, once the generated writer and the datetime cache hold this event's pieces.
    assert canonical_text(event) == expected


_leaf = st.none() | st.booleans() | st.integers() | st.text()
_values = st.recursive(
    _leaf
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.datetimes(timezones=st.timezones())
    | st.sampled_from([*Side, *OrderStatus, *Variety, *Colour, *Level]),
    lambda inner: (
        st.lists(inner, max_size=3).map(tuple)
        | st.lists(inner, max_size=3)
        | st.frozensets(st.text(max_size=3), max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        | st.builds(Nested, zeta=inner, alpha=inner)
    ),
    max_leaves=12,
)


@given(_values)
def test_any_encodable_value_is_byte_identical(value: object) -> None:
    """Leaves, enums of every kind, Decimals, aware datetimes, sequences, sets, dicts and
    nested dataclasses all give canonical_json(encode(value)) exactly."""
    assert canonical_text(value) == two_step(value)


@given(st.datetimes(timezones=st.timezones()), st.timezones())
def test_equal_instants_in_other_zones_give_the_same_text(at: datetime, zone: ZoneInfo) -> None:
    """The datetime cache keys equal instants together, which is harmless: each zone's
    spelling of one instant gets the UTC text it would get uncached."""
    elsewhere = at.astimezone(zone)
    assume(elsewhere == at)  # an ambiguous wall time (fold) compares unequal across zones
    expected = at.astimezone(UTC).isoformat()
    assert encode(at) == encode(elsewhere) == expected
    assert canonical_text(at) == canonical_text(elsewhere) == f'"{expected}"'


def test_a_cached_instant_is_written_in_utc_whatever_zone_it_was_cached_from() -> None:
    """An instant first seen in IST and then asked for in UTC and in New York gives UTC text."""
    ist = datetime(2031, 7, 9, 9, 15, 0, 250, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    utc = ist.astimezone(UTC)
    new_york = ist.astimezone(ZoneInfo("America/New_York"))
    assert ist == utc == new_york
    texts = [canonical_text(value) for value in (ist, utc, new_york)]
    assert texts == ['"2031-07-09T03:45:00.000250+00:00"'] * 3
    assert canonical_text([new_york, ist]) == two_step([new_york, ist])


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 5, 9, 15),
        [datetime(2026, 1, 5, 9, 15)],
        KillSwitchChanged(at=datetime(2026, 1, 5, 9, 15), engaged=True, reason="x"),
        {"at": datetime(2026, 1, 5, 9, 15)},
    ],
    ids=["bare", "in_list", "in_event", "in_dict"],
)
def test_a_naive_datetime_is_refused(value: object) -> None:
    """A time without a zone raises ValueError, wherever it sits, as encode() does."""
    with pytest.raises(ValueError, match="naive"):
        encode(value)
    with pytest.raises(ValueError, match="naive"):
        canonical_text(value)


def test_a_naive_datetime_is_refused_after_its_aware_twin_was_cached() -> None:
    """Caching an aware instant does not let the same wall time without a zone through."""
    aware = datetime(2026, 1, 5, 9, 15, tzinfo=UTC)
    assert canonical_text(aware) == '"2026-01-05T09:15:00+00:00"'
    with pytest.raises(ValueError, match="naive"):
        canonical_text(aware.replace(tzinfo=None))


@pytest.mark.parametrize(
    "value",
    [object(), 1.5, float("nan"), 1j, b"bytes", [1, 2.5], (Decimal(1), 0.5), {"x": 1.5}],
    ids=["object", "float", "nan", "complex", "bytes", "in_list", "in_tuple", "in_dict"],
)
def test_an_unknown_type_is_refused_like_encode_refuses_it(value: object) -> None:
    """Values encode() cannot encode (floats included) raise the same TypeError here."""
    with pytest.raises(TypeError) as by_encode:
        encode(value)
    with pytest.raises(TypeError) as by_text:
        canonical_text(value)
    assert str(by_text.value) == str(by_encode.value)


def test_a_refused_type_is_refused_again() -> None:
    """A type that failed once is not left behind with a writer that accepts it next time."""
    for _ in range(2):
        with pytest.raises(TypeError, match="cannot encode float"):
            canonical_text(2.5)
