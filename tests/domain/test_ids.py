"""Client order ids fit Kite's tag and are stable per signal."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from orderdesk.domain import child_order_id, client_order_id
from orderdesk.domain.ids import validate_tag

signal_ids = st.from_regex(r"[A-Za-z0-9_.:\-]{1,64}", fullmatch=True)


@given(strategy=st.from_regex(r"[a-z]{1,10}", fullmatch=True), signal_id=signal_ids)
def test_client_order_id_is_a_valid_stable_tag(strategy: str, signal_id: str) -> None:
    """The id is 20 alphanumerics, passes Kite's tag rule, and repeats for the same input."""
    first = client_order_id(strategy, signal_id)
    assert len(first) == 20
    assert validate_tag(first) == first
    assert client_order_id(strategy, signal_id) == first


def test_ids_differ_across_strategies_and_children() -> None:
    """Different strategies or slices never share an id."""
    ids = {client_order_id("a", "1"), client_order_id("b", "1"), client_order_id("a", "2")}
    parent = client_order_id("a", "1")
    ids |= {child_order_id(parent, i) for i in range(10)}
    assert len(ids) == 13
