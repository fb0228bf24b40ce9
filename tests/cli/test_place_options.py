"""`orderdesk place` takes every order field the HTTP API does: iceberg legs and leg quantity,
a TTL's minutes, an auction number, a disclosed quantity and market protection reach the desk's
signal; an iceberg order without its legs is refused in one line naming the missing field."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from typer.testing import CliRunner, Result

from orderdesk.cli import _register_commands, app
from orderdesk.domain import Product, Validity, Variety
from tests.api.fakes import FakeDesk

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")


async def place(where: list[str], *args: str) -> Result:
    command = ["place", "NSE:ITC", "BUY", *args, *where]
    return await asyncio.to_thread(runner.invoke, app, command)


async def test_iceberg_ttl_auction_disclosed_and_protection_reach_the_desk(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """Each new option is passed through to the signal the desk is given."""
    desk, where = served
    iceberg = await place(
        where,
        "100",
        "--price",
        "430",
        "--variety",
        "iceberg",
        "--iceberg-legs",
        "4",
        "--iceberg-quantity",
        "25",
        "--disclosed-quantity",
        "10",
    )
    assert iceberg.exit_code == 0, iceberg.output
    sent = desk.submitted[-1]
    assert (sent.variety, sent.iceberg_legs, sent.iceberg_quantity) == (Variety.ICEBERG, 4, 25)
    assert sent.disclosed_quantity == 10

    ttl = await place(where, "1", "--price", "430", "--validity", "TTL", "--validity-ttl", "5")
    assert ttl.exit_code == 0, ttl.output
    assert (desk.submitted[-1].validity, desk.submitted[-1].validity_ttl) == (Validity.TTL, 5)

    auction = await place(
        where, "1", "--price", "430", "--variety", "auction", "--auction-number", "22"
    )
    assert auction.exit_code == 0, auction.output
    assert desk.submitted[-1].auction_number == "22"

    market = await place(where, "1", "--type", "MARKET", "--market-protection", "-1")
    assert market.exit_code == 0, market.output
    assert desk.submitted[-1].market_protection == Decimal(-1)


async def test_an_iceberg_without_its_legs_names_the_missing_field(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """No legs: "iceberg_legs: is required…"; legs without a leg quantity: the same for
    iceberg_quantity; never "iceberg_legs: and iceberg_quantity are both required"."""
    _, where = served
    bare = await place(where, "100", "--price", "430", "--variety", "iceberg")
    assert bare.exit_code == 3, bare.output
    assert bare.stderr.strip() == "error: iceberg_legs: is required for an iceberg order"
    half = await place(
        where, "100", "--price", "430", "--variety", "iceberg", "--iceberg-legs", "4"
    )
    assert half.exit_code == 3, half.output
    assert half.stderr.strip() == "error: iceberg_quantity: is required for an iceberg order"


async def test_the_product_defaults_to_nrml_on_a_derivatives_exchange(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """Without --product, a stock is CNC and a future or option NRML (CNC, the old default
    everywhere, is refused on NFO); a product given is kept."""
    desk, where = served
    for instrument, given, expected in (
        ("NSE:ITC", (), Product.CNC),
        ("nfo:NIFTY26DECFUT", (), Product.NRML),
        ("MCX:CRUDEOIL26DECFUT", (), Product.NRML),
        ("NFO:NIFTY26DECFUT", ("--product", "MIS"), Product.MIS),
    ):
        command = ["place", instrument, "BUY", "65", "--price", "100", *given, *where]
        result = await asyncio.to_thread(runner.invoke, app, command)
        assert result.exit_code == 0, result.output
        assert desk.submitted[-1].product is expected
