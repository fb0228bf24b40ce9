"""The words Kite's adapter gives a placement of unknown outcome: the reason the order's row and
the desk's alert quote. They name the tag to look for, and never tell a person to place the
order again (the desk may send it itself: a copy placed by hand makes two)."""

from __future__ import annotations

import pytest

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.errors import AmbiguousReply, UnknownOutcome

from .conftest import FakeKite, Reply
from .test_rest_send_path import CLIENT_ID, _market_buy


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply.error(503, "NetworkException", "Service unavailable"), UnknownOutcome),
        (Reply.error(400, "InputException", "Order request timed out."), AmbiguousReply),
    ],
)
async def test_an_unknown_outcome_names_the_tag_and_asks_nobody_to_place_it_again(
    fake_kite: FakeKite, kite: KiteRestClient, reply: Reply, error: type[UnknownOutcome]
) -> None:
    """A 5xx and Kite's "Order request timed out": the tag is said, placing again is not."""
    fake_kite.on("POST", "/orders/regular", reply)
    with pytest.raises(error) as exc_info:
        await kite.place_order(_market_buy())
    words = str(exc_info.value)
    assert CLIENT_ID in words
    assert "place it again" not in words
    assert "placing again" not in words
