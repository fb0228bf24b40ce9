"""``canonical_text`` is canonical JSON of the event's payload, and every value is put in UTC
the same way whichever path it takes.

The store hashes and persists ``canonical_text(event)``, while verification only checks that the
stored text is canonical JSON: a payload text that were not would make a freshly written row
fail ``verify``. Datetimes are the one thing the codec changes before msgspec writes a value, so
they are tested wherever they can sit.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from orderdesk.domain import Event, KillSwitchChanged, OrderStatus, Side, Variety
from orderdesk.domain.events import EVENT_TYPES
from orderdesk.store.codec import (
    FORMAT_KEY,
    canonical_json,
    canonical_text,
    encode,
    is_canonical_json,
    to_record,
    utc_isoformat,
)
from tests.store.test_codec import (
    AWARE_TIMES,
    every_event,
    reference_encode_2,
    reference_json,
)


class Colour(Enum):
    """A plain (not str) enum: written through its value rather than as a str subclass."""

    RED = "red"
    ONE = 1
    NONE = None


class Level(IntEnum):
    """An int subclass: written as its int."""

    LOW = 1
    HIGH = 2**40


@dataclasses.dataclass(frozen=True, slots=True)
class Nested:
    """A slotted dataclass, as the domain's are, outside the event registry: untyped fields
    (looked at value by value) out of alphabetical order, and fields that are not in __init__
    or repr (format 2 writes every field; format 1 left these out, and events have none)."""

    zeta: object
    alpha: object
    hidden: int = dataclasses.field(default=0, repr=False)
    derived: int = dataclasses.field(default=0, init=False)


def test_the_samples_cover_every_event_type() -> None:
    """The per-event test below sees every type the store can be asked to write."""
    assert {type(event).__name__ for event in every_event()} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", every_event(), ids=lambda e: type(e).__name__)
def test_every_event_type_is_canonical_json_led_by_the_marker(event: Event) -> None:
    """Each event type's text is canonical JSON of its payload, marker first."""
    text = canonical_text(event)
    assert is_canonical_json(text)
    assert text == canonical_json(to_record(event)[1])
    # Marker first; the payload's keys follow sorted ("algo_id" sorts before "at").
    assert text.startswith(f'{{"{FORMAT_KEY}":2,"')


_leaf = st.none() | st.booleans() | st.integers() | st.text()
_values = st.recursive(
    _leaf
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | AWARE_TIMES
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
def test_any_encodable_value_is_written_as_the_reference_says(value: object) -> None:
    """Leaves, enums of every kind, Decimals, aware datetimes, sequences, sets, dicts and
    nested dataclasses with untyped fields all give the format-2 reference's bytes."""
    assert canonical_json(encode(value)) == reference_json(reference_encode_2(value))


def test_an_instant_with_no_utc_time_is_refused_by_name() -> None:
    """Midnight of 1 January, year 1, east of Greenwich lies before datetime's first UTC
    instant: a ValueError saying so, not an OverflowError from deep inside."""
    first = datetime(1, 1, 1, tzinfo=ZoneInfo("Africa/Addis_Ababa"))
    last = datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=5)))
    for value in (first, last, {"at": [first]}):
        with pytest.raises(ValueError, match="has no UTC time"):
            encode(value)


@given(AWARE_TIMES, st.timezones())
def test_equal_instants_in_other_zones_give_the_same_text(at: datetime, zone: ZoneInfo) -> None:
    """Each zone's spelling of one instant is written as the same UTC text."""
    elsewhere = at.astimezone(zone)
    assume(elsewhere == at)  # an ambiguous wall time (fold) compares unequal across zones
    expected = at.astimezone(UTC).isoformat()
    assert utc_isoformat(at) == utc_isoformat(elsewhere) == expected
    assert encode(at) == encode(elsewhere) == expected.removesuffix("+00:00") + "Z"


@given(AWARE_TIMES | st.datetimes(timezones=st.just(UTC)))
def test_the_at_column_is_spelled_as_isoformat_in_utc(at: datetime) -> None:
    """utc_isoformat, derived from msgspec's text, is exactly isoformat() of the UTC time."""
    assert utc_isoformat(at) == at.astimezone(UTC).isoformat()


def test_a_time_in_another_zone_is_written_in_utc_inside_an_event() -> None:
    """An event holding IST and New York times is written as the same event in UTC."""
    ist = datetime(2031, 7, 9, 9, 15, 0, 250, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    new_york = ist.astimezone(ZoneInfo("America/New_York"))
    texts = [
        canonical_text(KillSwitchChanged(at=at, engaged=True, reason="x"))
        for at in (ist, new_york, ist.astimezone(UTC))
    ]
    assert texts[0] == texts[1] == texts[2]
    utc = "2031-07-09T03:45:00.000250Z"
    assert json.loads(texts[0])["at"] == utc
    assert encode([new_york, ist]) == [utc, utc]


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 5, 9, 15),
        [datetime(2026, 1, 5, 9, 15)],
        KillSwitchChanged(at=datetime(2026, 1, 5, 9, 15), engaged=True, reason="x"),
        {"at": datetime(2026, 1, 5, 9, 15)},
        Nested(zeta=(1, datetime(2026, 1, 5, 9, 15)), alpha=None),
    ],
    ids=["bare", "in_list", "in_event", "in_dict", "in_untyped_field"],
)
def test_a_naive_datetime_is_refused(value: object) -> None:
    """A time without a zone raises ValueError, wherever it sits."""
    with pytest.raises(ValueError, match="naive"):
        encode(value)


def test_a_naive_datetime_is_refused_by_canonical_text() -> None:
    """The store's own path refuses a naive time too, after aware ones went through."""
    aware = KillSwitchChanged(at=datetime(2026, 1, 5, 9, 15, tzinfo=UTC), engaged=True, reason="x")
    assert json.loads(canonical_text(aware))["at"] == "2026-01-05T09:15:00Z"
    with pytest.raises(ValueError, match="naive"):
        canonical_text(dataclasses.replace(aware, at=aware.at.replace(tzinfo=None)))


@pytest.mark.parametrize(
    "value",
    [object(), 1j, [1, 1j], (Decimal(1), object()), {"x": 1j}],
    ids=["object", "complex", "in_list", "in_tuple", "in_dict"],
)
def test_a_value_msgspec_cannot_write_is_refused(value: object) -> None:
    """Values of no JSON form raise TypeError naming their type."""
    with pytest.raises(TypeError, match="cannot encode") as exc_info:
        encode(value)
    assert type(exc_info.value) is TypeError


def test_a_refused_type_is_refused_again() -> None:
    """A type that failed once is refused the same way the next time."""
    for _ in range(2):
        with pytest.raises(TypeError, match="cannot encode complex"):
            encode(2j)
