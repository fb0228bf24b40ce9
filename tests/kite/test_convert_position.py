"""``PUT /portfolio/positions``: the form Kite reads, and a reply that is not ``true``."""

from __future__ import annotations

import pytest

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.errors import MalformedResponse
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.values import InstrumentKey, Product, Side

from .conftest import FakeKite, Reply

CARRIED_SHORT = PositionConversion(
    instrument=InstrumentKey.parse("NFO:NIFTY26DECFUT"),
    side=Side.SELL,
    quantity=65,
    old_product=Product.NRML,
    new_product=Product.MIS,
    overnight=True,
)


async def test_the_form_names_the_position_as_kite_does(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    fake_kite.on("PUT", "/portfolio/positions", Reply.json({"status": "success", "data": True}))
    await kite.convert_position(CARRIED_SHORT)
    (seen,) = fake_kite.seen
    assert (seen.method, seen.path) == ("PUT", "/portfolio/positions")
    assert seen.form == {
        "exchange": "NFO",
        "tradingsymbol": "NIFTY26DECFUT",
        "transaction_type": "SELL",
        "position_type": "overnight",
        "quantity": "65",
        "old_product": "NRML",
        "new_product": "MIS",
    }


@pytest.mark.parametrize("data", [False, None, {"ok": True}, "true"])
async def test_a_reply_that_is_not_true_is_malformed(
    fake_kite: FakeKite, kite: KiteRestClient, data: object
) -> None:
    """Kite answers ``data: true``; anything else does not say the position moved."""
    fake_kite.on("PUT", "/portfolio/positions", Reply.json({"status": "success", "data": data}))
    with pytest.raises(MalformedResponse) as malformed:
        await kite.convert_position(CARRIED_SHORT)
    assert (malformed.value.endpoint, malformed.value.field) == ("convert_position", "data")
