"""``orderdesk convert``: move a position to another product at the broker (no trade)."""

from __future__ import annotations

from typing import Annotated

import typer

from orderdesk.api.convert_schemas import ConvertIn, ConvertOut
from orderdesk.cli import app
from orderdesk.cli._common import (
    TRADING_EXIT_CODES,
    ConfigOption,
    JsonOption,
    UrlOption,
    build,
    console,
    print_json,
    with_client,
)
from orderdesk.cli.desk_commands import ProductArg, show_positions
from orderdesk.client import DeskClient


@app.command("convert", rich_help_panel="Trading", epilog=TRADING_EXIT_CODES)
def convert_position(
    instrument: Annotated[str, typer.Argument(help="EXCHANGE:SYMBOL, e.g. NSE:INFY.")],
    from_product: Annotated[
        ProductArg, typer.Option("--from", help="The position's product now, e.g. MIS.")
    ],
    to_product: Annotated[
        ProductArg, typer.Option("--to", help="The product to move it to, e.g. CNC or NRML.")
    ],
    quantity: Annotated[
        int | None, typer.Option(help="How much to move; left out, all there is to convert.")
    ] = None,
    overnight: Annotated[
        bool,
        typer.Option(
            "--overnight", help="Move the quantity carried in from an earlier day, not today's."
        ),
    ] = False,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Convert a position to another product at the broker, e.g. keep an MIS buy as CNC.

    No order is placed: the broker moves the quantity, at its cost, from one product's position
    to the other's, and the desk's positions follow once it has. Convert an MIS position before
    the broker's square-off (15:20 IST in equities) to keep it: as CNC it is delivered into
    holdings, as NRML it is carried to the next day. The cash market takes MIS, CNC and MTF;
    derivatives MIS and NRML. A position converted on Kite web is found by the desk's
    reconciliation, which moves its books the same way and alerts.
    """
    request = build(
        ConvertIn,
        instrument=instrument,
        from_product=from_product.value,
        to_product=to_product.value,
        quantity=quantity,
        overnight=overnight,
    )

    async def call(client: DeskClient) -> ConvertOut:
        return await client.convert_position(
            request.instrument,
            request.from_product,
            request.to_product,
            quantity=request.quantity,
            overnight=request.overnight,
        )

    result = with_client(config, url, call)
    if as_json:
        print_json(result)
    else:
        console.print(result.detail)
        # Only the converted instrument's lines: their sum is not the account's P&L.
        instrument = result.positions[0].instrument if result.positions else request.instrument
        show_positions(result.positions, f"{instrument} after the conversion")


__all__ = ["convert_position"]
