"""``wire.form_body``, the placement path's form encoder, is ``urlencode`` byte for byte."""

from __future__ import annotations

from enum import Enum, StrEnum
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderdesk.wire import UNRESERVED, form_body

# Unreserved characters weighted up, so many pairs take the plain path and many do not; the
# rest are what quote_plus handles specially (space, "+", "%", "&", "=") and beyond ASCII (lone
# surrogates, which neither can encode, have their own test).
TRICKY = " +%&=/?#:;@!$'()*,[]\"\\\n\t\x00\x7féü€𝄞"
ALPHABET = st.sampled_from(UNRESERVED) | st.sampled_from(TRICKY) | st.characters(codec="utf-8")
FORMS = st.dictionaries(st.text(ALPHABET, max_size=12), st.text(ALPHABET, max_size=24))


@given(FORMS)
def test_form_body_is_urlencode_byte_for_byte(fields: dict[str, str]) -> None:
    assert form_body(fields) == urlencode(fields).encode()


PLAIN = st.text(UNRESERVED, max_size=12)
ONE_OFF = st.builds(
    lambda head, odd, tail: head + odd + tail,
    PLAIN,
    st.sampled_from(TRICKY) | st.characters(codec="utf-8"),
    PLAIN,
)
"""Plain text but for one character: the border between writing a pair as it is and quoting."""


@given(st.dictionaries(PLAIN, PLAIN))
def test_plain_forms_are_urlencode_byte_for_byte(fields: dict[str, str]) -> None:
    assert form_body(fields) == urlencode(fields).encode()


@given(st.lists(st.tuples(st.sampled_from(["isin", "quantity"]), st.text(ALPHABET, max_size=12))))
def test_pairs_repeat_a_name_as_urlencode_does(pairs: list[tuple[str, str]]) -> None:
    """A holdings authorisation repeats ``isin`` and ``quantity``: pairs, in their order."""
    assert form_body(pairs) == urlencode(pairs).encode()


@given(st.dictionaries(PLAIN | ONE_OFF, PLAIN | ONE_OFF))
def test_one_character_off_plain_is_urlencode_byte_for_byte(fields: dict[str, str]) -> None:
    assert form_body(fields) == urlencode(fields).encode()


def test_a_placement_form_and_an_empty_one() -> None:
    form = {"tradingsymbol": "M&M", "price": "1.05", "tag": "od 1", "quantity": "1"}
    assert form_body(form) == b"tradingsymbol=M%26M&price=1.05&tag=od+1&quantity=1"
    assert form_body({}) == b""


class Side(StrEnum):
    BUY = "BUY"


class Legacy(str, Enum):  # noqa: UP042 - the old kind of str enum is the point
    """A str subclass whose ``str()`` is not its value: left to urlencode, never formatted."""

    SELL = "SELL"


def test_str_subclasses_are_encoded_as_urlencode_encodes_them() -> None:
    fields: dict[str, str] = {"transaction_type": Side.BUY, "other": Legacy.SELL}
    assert form_body(fields) == urlencode(fields).encode()


def test_a_lone_surrogate_fails_as_in_urlencode() -> None:
    fields = {"tag": "od\ud800"}
    with pytest.raises(UnicodeEncodeError) as theirs:
        urlencode(fields)
    with pytest.raises(UnicodeEncodeError) as ours:
        form_body(fields)
    assert str(ours.value) == str(theirs.value)
