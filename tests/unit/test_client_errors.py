"""DeskClient's arguments that no request can be made of: orderdesk's one-line ValidationError
naming the field (as README promises for the client), raised before anything is sent, never
pydantic's report of several lines with a link to its docs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from orderdesk import ValidationError
from orderdesk.client import DeskClient

NOBODY = "http://127.0.0.1:9"
"""No desk listens here: a call that sent anything would raise DeskUnavailable instead."""

Call = Callable[[DeskClient], Awaitable[object]]
BAD_ARGUMENTS: list[tuple[str, Call, str]] = [
    ("exit-product", lambda desk: desk.exit_position("NSE:TCS", "XYZ"), "product"),
    ("convert-product", lambda desk: desk.convert_position("NSE:TCS", "MIS", "XYZ"), "to_product"),
    ("modify-quantity", lambda desk: desk.modify("od-1", quantity=0), "quantity"),
    (
        "authorise-quantity",
        lambda desk: desk.authorise_holdings({"NSE:TCS": 0}),
        "holdings.0.quantity",
    ),
]


@pytest.mark.parametrize(
    ("call", "field"),
    [pytest.param(call, field, id=name) for name, call, field in BAD_ARGUMENTS],
)
async def test_bad_arguments_raise_one_line_naming_the_field(call: Call, field: str) -> None:
    """Each method building a request model refuses a bad argument with orderdesk's
    ValidationError: ``field: reason`` on one line, no pydantic docs link, nothing sent."""
    async with DeskClient(NOBODY, "token") as desk:
        with pytest.raises(ValidationError) as refused:
            await call(desk)
    message = str(refused.value)
    assert refused.value.field == field
    assert message.startswith(f"{field}: ")
    assert "\n" not in message
    assert "errors.pydantic.dev" not in message
