"""The order id in the reply to place, modify and cancel: read without pydantic when the reply
is well formed, and every other reply treated exactly as ``OrderIdData`` treats it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderdesk.brokers.kite import routes as r
from orderdesk.brokers.kite.client import KiteRestClient, _model, _order_id
from orderdesk.brokers.kite.errors import MalformedResponse
from orderdesk.brokers.kite.schemas import OrderIdData
from orderdesk.domain.values import Variety
from orderdesk.errors import UnknownOutcome

from .conftest import ACCESS_TOKEN, FakeKite, Reply, kite_config
from .test_rest_send_path import CLIENT_ID, _market_buy

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)
REPLY_DATA = (
    JSON
    | st.fixed_dictionaries({"order_id": JSON})
    | st.fixed_dictionaries({"order_id": st.text() | st.integers()}, optional={"x": JSON})
)


def _by_the_model(data: Any) -> str | MalformedResponse:
    try:
        return _model(r.PLACE_ORDER, OrderIdData, data).order_id
    except MalformedResponse as exc:
        return exc


@given(REPLY_DATA)
def test_the_order_id_is_what_the_model_makes_of_any_reply(data: Any) -> None:
    expected = _by_the_model(data)
    if isinstance(expected, str):
        assert _order_id(r.PLACE_ORDER, data) == expected
    else:
        with pytest.raises(MalformedResponse) as exc_info:
            _order_id(r.PLACE_ORDER, data)
        assert (exc_info.value.field, str(exc_info.value)) == (expected.field, str(expected))


@pytest.fixture
async def kite(fake_kite: FakeKite, no_backoff: None) -> AsyncIterator[KiteRestClient]:
    config = kite_config(fake_kite.root, timeout_seconds=2.0)
    async with KiteRestClient(config, access_token=ACCESS_TOKEN) as client:
        yield client


@pytest.mark.parametrize(
    ("data", "order_id"),
    [
        ({"order_id": "250101000000001"}, "250101000000001"),
        ({"order_id": 250101000000001}, "250101000000001"),  # a number becomes its text
        ({"order_id": "250101000000002", "later": [1]}, "250101000000002"),
    ],
    ids=["text", "number", "extra-field"],
)
async def test_a_placement_returns_the_order_id(
    fake_kite: FakeKite, kite: KiteRestClient, data: Any, order_id: str
) -> None:
    fake_kite.on("POST", "/orders/regular", Reply.json({"status": "success", "data": data}))
    assert await kite.place_order(_market_buy()) == order_id


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "data.order_id"),
        ({"order_id": None}, "data.order_id"),
        ({"order_id": ["250101000000001"]}, "data.order_id"),
        ([], "data"),
        ("250101000000001", "data"),
        (None, "data"),
    ],
    ids=["no-id", "null-id", "list-id", "list", "text", "null"],
)
async def test_an_unreadable_order_id_is_an_unknown_outcome_naming_the_field(
    fake_kite: FakeKite, kite: KiteRestClient, data: Any, field: str
) -> None:
    """Kite said success without a readable id: the order most likely exists, so the tag is
    to be looked for, and the cause names what was wrong."""
    fake_kite.on("POST", "/orders/regular", Reply.json({"status": "success", "data": data}))
    with pytest.raises(UnknownOutcome) as exc_info:
        await kite.place_order(_market_buy())
    assert exc_info.value.tag == CLIENT_ID
    cause = exc_info.value.__cause__
    assert isinstance(cause, MalformedResponse)
    assert (cause.endpoint, cause.field) == ("place_order", field)
    assert fake_kite.count("POST", "/orders/regular") == 1


async def test_modify_and_cancel_name_an_unreadable_order_id(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    no_id = Reply.json({"status": "success", "data": {"order_id": None}})
    fake_kite.on("DELETE", "/orders/regular/1", no_id)
    with pytest.raises(MalformedResponse) as cancelled:
        await kite.cancel_order("1", Variety.REGULAR)
    assert (cancelled.value.endpoint, cancelled.value.field) == ("cancel_order", "data.order_id")
    fake_kite.on(
        "DELETE", "/orders/regular/2", Reply.json({"status": "success", "data": {"order_id": 2}})
    )
    assert await kite.cancel_order("2", Variety.REGULAR) == "2"
